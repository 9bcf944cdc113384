//! The documented nginx front (config/nginx-tls.conf) run for real, with a certificate the test
//! makes, in front of one Roleta that trusts it: sign-in through it gets a `Secure` cookie and
//! HSTS, `/ws` upgrades, the client address throttled is the browser's (the test's clients
//! come from other loopback addresses than nginx's), plain HTTP is redirected. Both databases.

use crate::helpers::{spawn_app_with, Backend, PASSWORD};
use crate::tls_helpers::{
    client_from, email, free_port, hsts, set_cookie, tls_stream, Ca, CertFiles,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// nginx started on the documented site file, stopped (SIGTERM, workers with it) on drop.
struct Nginx {
    child: Child,
    _prefix: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// The site file with this test's ports and certificate; each replaced line must exist.
fn site(https_port: u16, http_port: u16, upstream: u16, files: &CertFiles, acme: &Path) -> String {
    let mut conf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/nginx-tls.conf"
    ))
    .expect("config/nginx-tls.conf");
    let cert = files.cert.display().to_string();
    let key = files.key.display().to_string();
    let acme = acme.display().to_string();
    let edits = [
        ("    listen [::]:80;\n", String::new()),
        ("    listen [::]:443 ssl http2;\n", String::new()),
        ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{https_port} ssl http2;"),
        ),
        (
            "server 127.0.0.1:8080;",
            format!("server 127.0.0.1:{upstream};"),
        ),
        (
            "/etc/letsencrypt/live/roleta.exemplo.com.br/fullchain.pem",
            cert,
        ),
        (
            "/etc/letsencrypt/live/roleta.exemplo.com.br/privkey.pem",
            key,
        ),
        ("/var/www/letsencrypt", acme),
    ];
    for (from, to) in edits {
        assert!(
            conf.contains(from),
            "config/nginx-tls.conf no longer has {from:?}"
        );
        conf = conf.replace(from, &to);
    }
    conf
}

/// What Debian's /etc/nginx/nginx.conf gives a site file, reduced to a folder of the test's.
async fn start_nginx(site_conf: &str, https_port: u16) -> Nginx {
    let prefix = tempfile::tempdir().expect("prefix");
    std::fs::write(prefix.path().join("roleta.conf"), site_conf).expect("site");
    let main = "worker_processes 1;\ndaemon off;\npid nginx.pid;\nerror_log stderr warn;\n\
        events { worker_connections 256; }\n\
        http {\n  access_log off;\n  client_body_temp_path body;\n  proxy_temp_path proxy;\n\
        include roleta.conf;\n}\n";
    let conf = prefix.path().join("nginx.conf");
    std::fs::write(&conf, main).expect("nginx.conf");
    let child = Command::new("nginx")
        .arg("-p")
        .arg(prefix.path())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx must be installed (scripts/test installs nginx-light)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", https_port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Nginx {
        child,
        _prefix: prefix,
    }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

async fn behind_nginx(backend: Backend) {
    let ca = Ca::new();
    let files = CertFiles::new(&ca.leaf("roleta.exemplo.com.br"));
    let (https_port, http_port) = (free_port(), free_port());
    let origin = format!("https://127.0.0.1:{https_port}");
    let app = spawn_app_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.server.allowed_origins = vec![origin.clone()];
        s.server.max_connections_per_address = 0;
        s.auth.login_per_address_burst = 3;
        s.auth.login_per_address_period_ms = 600_000;
    })
    .await;
    let upstream = app
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let acme = tempfile::tempdir().expect("acme");
    let _nginx = start_nginx(
        &site(https_port, http_port, upstream, &files, acme.path()),
        https_port,
    )
    .await;

    // A broker signs in through nginx: Secure cookie, HSTS.
    let browser = client_from(&ca, Some(loopback(2)));
    let broker = app.broker("dora", &[app.sales]).await;
    let r = browser
        .post(format!("{origin}/api/v1/auth/login"))
        .header("origin", &origin)
        .json(&json!({ "email": email(&app, broker.id).await, "password": PASSWORD }))
        .send()
        .await
        .expect("sign-in through nginx");
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r);
    assert!(cookie.split("; ").any(|f| f == "Secure"), "{cookie}");
    assert_eq!(hsts(&r).as_deref(), Some("max-age=31536000"));

    // Their page's socket upgrades through nginx and the broker goes online.
    let session = cookie.split(';').next().expect("name=value");
    let addr = format!("127.0.0.1:{https_port}");
    let mut req = format!("wss://{addr}/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("cookie", session.parse().expect("cookie"));
    req.headers_mut()
        .insert("origin", origin.parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::client_async(req, tls_stream(&ca, &addr).await)
        .await
        .expect("/ws upgrades through nginx");
    assert_eq!(next(&mut ws).await["type"], "hello");
    ws.send(Message::text(
        json!({"type": "set_online", "online": true}).to_string(),
    ))
    .await
    .expect("send");
    loop {
        let m = next(&mut ws).await;
        if m["type"] == "presence" {
            assert_eq!(m["online"], true);
            break;
        }
    }

    // Sign-in is throttled per real client: 127.0.0.3 is refused after its burst whatever
    // X-Forwarded-For it makes up, while 127.0.0.4 is not (nginx's own address is not the key).
    let attempt = |from: u8, forged: Option<&'static str>| {
        let http = client_from(&ca, Some(loopback(from)));
        let url = format!("{origin}/api/v1/auth/login");
        async move {
            let mut req = http
                .post(url)
                .json(&json!({ "email": format!("ninguem{from}@teste.roleta"), "password": "x" }));
            if let Some(f) = forged {
                req = req.header("x-forwarded-for", f);
            }
            req.send().await.expect("answer").status().as_u16()
        }
    };
    let forged = [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ];
    let mut statuses = Vec::new();
    for f in forged {
        statuses.push(attempt(3, Some(f)).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    assert_eq!(attempt(4, None).await, 401);

    // Plain HTTP on nginx's port 80 goes to https.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = plain
        .get(format!(
            "http://127.0.0.1:{http_port}/gestor.html?aba=leads"
        ))
        .send()
        .await
        .expect("port 80");
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("https://127.0.0.1/gestor.html?aba=leads")
    );
    drop(ws);
    app.finish().await;
}

type TlsWs =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut TlsWs) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_documented_nginx_sqlite() {
    behind_nginx(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_documented_nginx_postgres() {
    behind_nginx(Backend::Postgres).await;
}
