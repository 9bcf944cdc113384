//! The connection edge: idle and half-sent connections are closed, one address cannot hold
//! every descriptor, the WebSocket outlives the request timeout, every response carries the
//! security headers, `//js` does not redirect off-site, `/metrics` is not public. These are
//! about sockets, not storage: they run on SQLite only.

use crate::helpers::{spawn_app_with, Backend, TestApp, METRICS_TOKEN};
use roleta::settings::Secret;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: the configured timeouts are 1–2 s.
const BOUND: Duration = Duration::from_secs(10);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// True when the server closes (or resets) the connection within `bound`; what it wrote
/// before closing (a 408, a 503) is returned too.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(bound, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// Sends one request on a raw connection and returns the status line.
async fn status_line(stream: &mut TcpStream, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect("an answer within the bound")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_are_closed_while_real_requests_succeed() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.header_read_timeout_seconds = 1;
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(addr(&app)).await.expect("connect"));
    }
    let mut half = TcpStream::connect(addr(&app)).await.expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("write");

    let r = app.http.get(format!("{}/healthz", app.base)).send().await;
    assert_eq!(r.expect("a real request is answered").status(), 200);

    for s in silent.iter_mut().chain(std::iter::once(&mut half)) {
        assert!(
            closed_within(s, BOUND).await.is_some(),
            "an idle connection was kept open"
        );
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_connections_than_the_cap() {
    const CAP: usize = 4;
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.max_connections_per_address = CAP;
        s.server.header_read_timeout_seconds = 30;
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..CAP {
        open.push(TcpStream::connect(addr(&app)).await.expect("connect"));
    }
    let mut excess = TcpStream::connect(addr(&app)).await.expect("connect");
    let refused = closed_within(&mut excess, BOUND)
        .await
        .expect("the connection over the cap is closed at once");
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 503"),
        "{refused}"
    );

    // The first connections were accepted and still work.
    assert_eq!(
        status_line(&mut open[0], "/healthz").await,
        "HTTP/1.1 200 OK"
    );
    // A freed place can be taken again.
    drop(open.remove(0));
    let mut again = None;
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr(&app)).await.expect("connect");
        let req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        s.write_all(req).await.expect("write");
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) = tokio::time::timeout(BOUND, s.read(&mut buf)).await {
            if buf[..n].starts_with(b"HTTP/1.1 200") {
                again = Some(s);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "a closed connection's place was not freed");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_upgrade_that_never_finishes_its_request_is_closed() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.header_read_timeout_seconds = 1;
        s.server.ws_handshake_timeout_seconds = 1;
    })
    .await;
    let mut s = TcpStream::connect(addr(&app)).await.expect("connect");
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    )
    .await
    .expect("write");
    assert!(
        closed_within(&mut s, BOUND).await.is_some(),
        "a half-sent upgrade was kept open"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_websocket_outlives_the_request_and_header_timeouts() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.server.header_read_timeout_seconds = 1;
        s.server.request_timeout_seconds = 1;
        s.server.ws_handshake_timeout_seconds = 1;
    })
    .await;
    let broker = app.broker("ana", &[app.sales]).await;
    let mut ws = app.connect(&broker).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.send(json!({"type": "ping"})).await;
    ws.recv_type("pong").await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_api_response_carries_the_security_headers() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let mut paths: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
        .expect("static dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".html"))
        .map(|n| format!("/{n}"))
        .collect();
    assert!(paths.len() >= 5, "{paths:?}");
    paths.extend(
        [
            "/",
            "/js/api.js",
            "/css/app.css",
            "/healthz",
            "/api/openapi.json",
            "/api/v1/leads",
            "/api/v1/no-such-thing",
            "/no-such-page.html",
            "/ws",
        ]
        .map(String::from),
    );
    for path in &paths {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("answer");
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy"));
        for part in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    let r = app
        .post_lead(json!({"name": "Rita", "phone": "(11) 95555-0501"}))
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doubled_slash_never_redirects_to_another_host() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in [
        "//js",
        "//css",
        "//js/",
        "///js",
        "/js//",
        "//evil.example/js",
    ] {
        let mut s = TcpStream::connect(addr(&app)).await.expect("connect");
        let line = status_line(&mut s, path).await;
        assert_eq!(line, "HTTP/1.1 404 Not Found", "{path}");
    }
    // The plain directory still redirects, to a path on this host.
    let r = http
        .get(format!("{}/js", app.base))
        .send()
        .await
        .expect("answer");
    if r.status().is_redirection() {
        assert_eq!(r.headers()["location"], "/js/");
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_public() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.metrics.token = Secret::new("")).await;
    let r = app.http.get(format!("{}/metrics", app.base)).send().await;
    assert_eq!(r.expect("answer").status(), 404, "no token configured");
    app.finish().await;

    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let url = format!("{}/metrics", app.base);
    let r = app.http.get(&url).send().await.expect("answer");
    assert_eq!(r.status(), 401);
    let r = app.http.get(&url).bearer_auth("wrong").send().await;
    assert_eq!(r.expect("answer").status(), 401);
    let r = app.http.get(&url).bearer_auth(METRICS_TOKEN).send().await;
    let r = r.expect("answer");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains("roleta_"));
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_serves_metrics_and_nothing_else() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = free.local_addr().expect("addr").to_string();
    drop(free);
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.metrics.listen = listen.clone();
        s.metrics.token = Secret::new("");
    })
    .await;
    let mut text = None;
    for _ in 0..100 {
        match app
            .http
            .get(format!("http://{listen}/metrics"))
            .send()
            .await
        {
            Ok(r) => {
                assert_eq!(r.status(), 200);
                text = Some(r.text().await.expect("body"));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(text.expect("metrics listener answers").contains("roleta_"));
    let r = app
        .http
        .get(format!("http://{listen}/healthz"))
        .send()
        .await;
    assert_eq!(r.expect("answer").status(), 404);
    let r = app.http.get(format!("{}/metrics", app.base)).send().await;
    assert_eq!(r.expect("answer").status(), 404);
    app.finish().await;
}
