#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The load generator's smoke run (issue: benchmarks stay runnable): a real server on SQLite,
//! 300 brokers (nobody answers, so one lead each), 300 leads at 200/s through `roleta-load b2`. It asserts no times — only that
//! every lead was answered, offered once, and none offered twice.
//!
//! The server is the root package's `roleta` binary (Cargo hands a test the paths of its own
//! package's binaries only): `ROLETA_BIN` when set, else `roleta` in the target directory this
//! test was built into (`cargo test --workspace` builds it alongside), built here with
//! `cargo build -p roleta` when it is missing there.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary to run; panics with what to do when there is none.
fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ROLETA_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "ROLETA_BIN={} is not a file: point it at a built `roleta` binary",
            bin.display()
        );
        return bin;
    }
    // This test runs from <target>/<profile>/deps/; the package's binaries sit in <profile>/.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()));
    let bin = profile_dir.join(format!("roleta{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        build_server(profile_dir);
    }
    assert!(
        bin.is_file(),
        "the server binary {} is missing: run `cargo build -p roleta` first (or set ROLETA_BIN)",
        bin.display()
    );
    bin
}

/// Builds the root package's `roleta` binary into the target directory and profile of this test.
fn build_server(profile_dir: &std::path::Path) {
    let target_dir = profile_dir.parent().unwrap_or(profile_dir);
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "roleta",
            "--bin",
            "roleta",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!(
            "could not build the server ({other:?}): run `cargo build -p roleta` first (or set ROLETA_BIN)"
        ),
    }
}

#[test]
fn the_load_generator_offers_every_lead_once() {
    let server_bin = server_bin();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/smoke.db?mode=rwc", dir.path().display());
    let seed = dir.path().join("seed.json");
    let load = env!("CARGO_BIN_EXE_roleta-load");
    let ok = Command::new(load)
        .args(["seed", "--database-url", &db, "--brokers", "300", "--out"])
        .arg(&seed)
        .status()
        .unwrap();
    assert!(ok.success(), "seeding");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(&server_bin)
        .args([
            "--no-demo",
            "--port",
            &port.to_string(),
            "--database-url",
            &db,
        ])
        .env("ROLETA__LOG__FILTER", "warn")
        .env("ROLETA__PUSH__ENABLED", "false")
        // 300 brokers from one loopback address: the per-address cap is for the open internet.
        .env("ROLETA__SERVER__MAX_CONNECTIONS_PER_ADDRESS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::new(load)
        .args(["b2", "--server", &base, "--seed"])
        .arg(&seed)
        .args([
            "--rate", "200", "--leads", "300", "--procs", "2", "--settle", "3",
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("B2 "))
        .unwrap_or_else(|| panic!("no result line: {text}"));
    println!("{line}");
    assert!(
        line.contains("n=300 "),
        "every lead answered and offered: {line}"
    );
    assert!(line.contains(" 0 leads without an offer"), "{line}");
    assert!(line.contains(" 0 offered twice"), "{line}");
    assert!(line.contains(" 0 posts failed"), "{line}");
}
