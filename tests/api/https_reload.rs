//! Certificates change under a running server: a rewritten file is served to the next
//! connection, a SIGHUP reloads (the real binary, as `systemctl reload` does), a reload that
//! fails keeps the certificate being served and logs why; a certificate that cannot be used is
//! a clear error at start, naming the file. Files and signals, not storage: SQLite only.

use crate::helpers::{settings_for, spawn_app_with, Backend, TestApp, METRICS_TOKEN};
use crate::tls_helpers::{client, free_port, https, served, spawn_tls_app, Ca, CertFiles, Leaf};
use roleta::{App, Settings};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Long enough for the watcher (every 2 s) several times over.
const BOUND: Duration = Duration::from_secs(15);

async fn served_now(http: &reqwest::Client, base: &str) -> Vec<u8> {
    let r = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("https answers");
    assert_eq!(r.status(), 200);
    served(&r)
}

/// Waits (bounded) until the next connection is served `want`.
async fn until_served(http: &reqwest::Client, base: &str, want: &Leaf, what: &str) {
    let deadline = Instant::now() + BOUND;
    while served_now(http, base).await != want.der {
        assert!(
            Instant::now() < deadline,
            "{what}: still the old certificate"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `roleta_tls_reloads_total{result}` from the app's `/metrics`.
async fn reloads(app: &TestApp, http: &reqwest::Client, result: &str) -> u64 {
    let text = http
        .get(format!("{}/metrics", https(app)))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let series = format!("roleta_tls_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_certificate_is_served_next_and_a_broken_one_is_not() {
    let ca = Ca::new();
    let first = ca.leaf("first");
    let files = CertFiles::new(&first);
    let app = spawn_tls_app(Backend::Sqlite, &files, |_| {}).await;
    let http = client(&ca);
    let base = https(&app);
    assert_eq!(served_now(&http, &base).await, first.der);

    let renewed = ca.leaf("renewed");
    files.write(&renewed);
    until_served(&http, &base, &renewed, "after a file change").await;

    // Half-written or wrong: the reload fails, the renewed certificate is still served.
    let failed = reloads(&app, &http, "failed").await;
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").expect("write");
    let deadline = Instant::now() + BOUND;
    while reloads(&app, &http, "failed").await <= failed {
        assert!(Instant::now() < deadline, "the broken file was never read");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(served_now(&http, &base).await, renewed.der);

    // Fixed again: picked up without a restart.
    let fixed = ca.leaf("fixed");
    files.write(&fixed);
    until_served(&http, &base, &fixed, "after the fix").await;
    app.finish().await;
}

/// Starts the binary; why it could not start if it exits instead.
fn start_binary(dir: &Path, port: u16, files: &CertFiles, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log");
    Command::new(env!("CARGO_BIN_EXE_roleta"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--no-demo",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}/roleta.db?mode=rwc", dir.display()))
        .env("ROLETA__SERVER__TLS_CERT", &files.cert)
        .env("ROLETA__SERVER__TLS_KEY", &files.key)
        .env("ROLETA__PUSH__ENABLED", "false")
        .env("ROLETA__LOG__FILTER", "warn,roleta=info")
        .env_remove("RUST_LOG")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start roleta")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig}");
}

/// Writes `leaf` over the files so that the watcher cannot tell: the same inode, length
/// (PEM allows trailing blank lines) and modification time as before.
fn write_unnoticed(files: &CertFiles, leaf: &Leaf, len: usize) {
    for (path, pem) in [(&files.key, &leaf.key_pem), (&files.cert, &leaf.cert_pem)] {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::fs::write(path, padded(pem, len)).expect("write");
        let f = std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open");
        f.set_modified(modified).expect("set mtime");
    }
}

fn padded(pem: &str, len: usize) -> String {
    assert!(pem.len() <= len);
    format!("{pem}{}", "\n".repeat(len - pem.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_a_failed_reload_keeps_the_old_one() {
    const LEN: usize = 4096;
    let ca = Ca::new();
    let first = ca.leaf("first");
    let files = CertFiles::new(&first);
    write_unnoticed(&files, &first, LEN);
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("roleta.log");
    let port = free_port();
    let mut child = start_binary(dir.path(), port, &files, &log);
    let base = format!("https://127.0.0.1:{port}");
    let http = client(&ca);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            assert_eq!(served(&r), first.der);
            break;
        }
        let exited = child.try_wait().expect("wait");
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "{}",
            read(&log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let second = ca.leaf("second");
    write_unnoticed(&files, &second, LEN);
    // Past two polls of the watcher: the files look unchanged, nothing is reloaded...
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(served_now(&http, &base).await, first.der, "{}", read(&log));
    // ...until SIGHUP.
    signal(&child, "HUP");
    until_served(&http, &base, &second, "after SIGHUP").await;

    std::fs::write(&files.cert, "this is not a certificate\n").expect("write");
    signal(&child, "HUP");
    let deadline = Instant::now() + BOUND;
    while !read(&log).contains("certificate reload failed") {
        assert!(
            Instant::now() < deadline,
            "no failure logged: {}",
            read(&log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logged = read(&log);
    let line = logged
        .lines()
        .find(|l| l.contains("certificate reload failed"))
        .expect("line");
    assert!(line.contains(&files.cert.display().to_string()), "{line}");
    assert!(line.contains("no certificate in the file"), "{line}");
    assert_eq!(served_now(&http, &base).await, second.der);

    signal(&child, "TERM");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "{}", read(&log));
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_stops_the_binary_at_start_naming_the_file() {
    let ca = Ca::new();
    let files = CertFiles::new(&ca.leaf("roleta"));
    std::fs::write(&files.cert, "garbage\n").expect("write");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("roleta.log");
    let mut child = start_binary(dir.path(), free_port(), &files, &log);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(!status.success());
    let out = read(&log);
    assert!(out.contains(&files.cert.display().to_string()), "{out}");
    assert!(out.contains("no certificate in the file"), "{out}");
}

type Adjust<'a> = Box<dyn Fn(&mut Settings) + 'a>;

/// Each setting mistake, and the words that must be in its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unusable_tls_setting_is_a_clear_error_at_start() {
    let ca = Ca::new();
    let good_leaf = ca.leaf("good");
    let good = CertFiles::new(&good_leaf);
    let other = CertFiles::new(&ca.leaf("other"));
    let dir = tempfile::tempdir().expect("dir");
    let cert = good.cert.display().to_string();
    let key = good.key.display().to_string();
    let missing = dir.path().join("missing.pem").display().to_string();
    let cases: Vec<(&str, Adjust, Vec<String>)> = vec![
        (
            "missing certificate file",
            Box::new(|s| {
                s.server.tls_cert = missing.clone();
                s.server.tls_key = key.clone();
            }),
            vec![format!("server.tls_cert {missing}"), "cannot read".into()],
        ),
        (
            "key of another certificate",
            Box::new(|s| {
                s.server.tls_cert = cert.clone();
                s.server.tls_key = other.key.display().to_string();
            }),
            vec!["does not belong".into(), cert.clone()],
        ),
        (
            "files swapped",
            Box::new(|s| {
                s.server.tls_cert = key.clone();
                s.server.tls_key = cert.clone();
            }),
            vec![format!("server.tls_cert {key}"), "swapped".into()],
        ),
        (
            "certificate without key",
            Box::new(|s| s.server.tls_cert = cert.clone()),
            vec!["server.tls_key".into(), "go together".into()],
        ),
        (
            "redirect port without HTTPS",
            Box::new(|s| s.server.http_redirect_port = 8081),
            vec!["server.http_redirect_port".into()],
        ),
    ];
    for (what, adjust, words) in cases {
        let db = tempfile::tempdir().expect("db");
        let mut s = settings_for(&format!(
            "sqlite://{}/roleta.db?mode=rwc",
            db.path().display()
        ));
        adjust(&mut s);
        let app = App::build(s).await.expect("builds");
        let stop = app.shutdown_token();
        let err = tokio::time::timeout(BOUND, app.run_until_stopped())
            .await
            .expect("stops at once")
            .expect_err(what);
        stop.cancel();
        let text = format!("{err:#}");
        for w in &words {
            assert!(text.contains(w.as_str()), "{what}: {text:?} lacks {w:?}");
        }
    }
    // And the good pair starts.
    let app = spawn_app_with(Backend::Sqlite, |s| good.set(s)).await;
    assert_eq!(served_now(&client(&ca), &https(&app)).await, good_leaf.der);
    app.finish().await;
}
