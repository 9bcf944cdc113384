//! Built-in HTTPS: a server with a certificate of the test's own answers over https, its
//! session cookie is `Secure`, HSTS is on, the broker socket opens from the https origin;
//! plain HTTP to the TLS port fails without harming the server, and a silent TLS client is cut
//! by the handshake timeout and counted against the per-address cap; the redirect port sends
//! plain HTTP to https. Over plain HTTP, `X-Forwarded-Proto: https` counts only from a trusted
//! proxy. Where a sign-in writes a session, on both databases.

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, PASSWORD};
use crate::tls_helpers::{
    client, email, free_port, hsts, https, port, set_cookie, spawn_tls_app, tls_stream, Ca,
    CertFiles,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const BOUND: Duration = Duration::from_secs(10);

/// Runs `f(backend)` once on SQLite and once on PostgreSQL.
macro_rules! on_both {
    ($name:ident, $f:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$f(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$f(crate::helpers::Backend::Postgres).await
            }
        }
    };
}

async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    proto: Option<&str>,
) -> reqwest::Response {
    let mut req = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }));
    if let Some(p) = proto {
        req = req.header("x-forwarded-proto", p);
    }
    req.send().await.expect("sign-in answered")
}

fn flags(cookie: &str) -> Vec<String> {
    cookie.split(';').map(|p| p.trim().to_string()).collect()
}

async fn signing_in_over_https(backend: Backend) {
    let ca = Ca::new();
    let files = CertFiles::new(&ca.leaf("roleta"));
    let app = spawn_tls_app(backend, &files, |_| {}).await;
    let http = client(&ca);
    let broker = app.broker("ana", &[app.sales]).await;
    let r = sign_in(&http, &https(&app), &email(&app, broker.id).await, None).await;
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r);
    let cookie_flags = flags(&cookie);
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie_flags.iter().any(|f| f == flag), "{flag}: {cookie}");
    }
    assert_eq!(hsts(&r).as_deref(), Some("max-age=31536000"));
    let page = http
        .get(format!("{}/healthz", https(&app)))
        .send()
        .await
        .expect("healthz");
    assert_eq!(hsts(&page).as_deref(), Some("max-age=31536000"));

    // The broker's page opens its socket with the cookie, from the https origin.
    let session = cookie.split(';').next().expect("name=value").to_string();
    let mut ws = wss(&ca, &app, &session, &https(&app))
        .await
        .expect("the https origin may open the socket");
    assert_eq!(first_message(&mut ws).await["type"], "hello");
    // The same port speaks only https: an http origin for it is nobody's page.
    let refused = wss(&ca, &app, &session, &app.base).await;
    assert_eq!(refused.err(), Some(403));
    app.finish().await;
}
on_both!(
    signing_in_over_https_gives_a_secure_cookie_hsts_and_the_socket,
    signing_in_over_https
);

type TlsWs = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// Opens `/ws` over TLS as a browser does (cookie and `Origin`); the refusal's status if not.
async fn wss(ca: &Ca, app: &TestApp, cookie: &str, origin: &str) -> Result<TlsWs, u16> {
    let addr = format!("127.0.0.1:{}", port(app));
    let mut req = format!("wss://{addr}/ws")
        .into_client_request()
        .expect("request");
    let h = req.headers_mut();
    h.insert("cookie", cookie.parse().expect("cookie"));
    h.insert("origin", origin.parse().expect("origin"));
    let stream = tls_stream(ca, &addr).await;
    match tokio_tungstenite::client_async(req, stream).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("websocket over TLS: {e}"),
    }
}

async fn first_message(ws: &mut TlsWs) -> Value {
    loop {
        let m = tokio::time::timeout(BOUND, ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

/// Reads until the server closes; what it sent, or `None` if it kept the connection open.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Vec<u8>> {
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
    Some(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_and_silent_clients_on_the_tls_port_are_closed_and_harm_nothing() {
    const CAP: usize = 3;
    let ca = Ca::new();
    let files = CertFiles::new(&ca.leaf("roleta"));
    let app = spawn_tls_app(Backend::Sqlite, &files, |s| {
        s.server.header_read_timeout_seconds = 1;
        s.server.max_connections_per_address = CAP;
    })
    .await;
    let http = client(&ca);
    let addr = format!("127.0.0.1:{}", port(&app));

    // A plain-HTTP client gets an error at once, not a hang and not a page.
    let plain = reqwest::Client::builder()
        .timeout(BOUND)
        .build()
        .expect("client");
    let started = Instant::now();
    let err = plain
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect_err("plain HTTP to the TLS port");
    assert!(!err.is_timeout() && started.elapsed() < BOUND, "{err}");
    let mut raw = TcpStream::connect(&addr).await.expect("connect");
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let answer = closed_within(&mut raw, BOUND)
        .await
        .expect("the plain-HTTP connection is closed");
    assert!(!answer.starts_with(b"HTTP/1.1 200"));

    // Clients that never start their handshake hold places of the cap, then are cut.
    let mut silent = Vec::new();
    for _ in 0..CAP {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let over = http.get(format!("{}/healthz", https(&app))).send().await;
    assert!(over.is_err(), "a connection over the cap was served");
    for s in &mut silent {
        assert!(
            closed_within(s, BOUND).await.is_some(),
            "a silent TLS client was kept past the handshake timeout"
        );
    }
    let after = http
        .get(format!("{}/healthz", https(&app)))
        .send()
        .await
        .expect("https still answers");
    assert_eq!(after.status(), 200);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_port_sends_plain_http_to_the_same_path_on_https() {
    let ca = Ca::new();
    let files = CertFiles::new(&ca.leaf("roleta"));
    let redirect = free_port();
    let app = spawn_tls_app(Backend::Sqlite, &files, |s| {
        s.server.http_redirect_port = redirect;
    })
    .await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let location = |r: &reqwest::Response| {
        r.headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .expect("a Location")
            .to_string()
    };
    let r = plain
        .get(format!("http://127.0.0.1:{redirect}/healthz?probe=1"))
        .send()
        .await
        .expect("the redirect port answers");
    assert_eq!(r.status(), 308);
    let to = location(&r);
    assert_eq!(
        to,
        format!("https://127.0.0.1:{}/healthz?probe=1", port(&app))
    );
    assert!(hsts(&r).is_none(), "HSTS over plain HTTP");

    // The host the browser asked for is kept, and a POST stays a POST (308).
    let r = plain
        .post(format!("http://127.0.0.1:{redirect}/api/v1/auth/login"))
        .header(reqwest::header::HOST, "roleta.exemplo.com.br")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 308);
    assert_eq!(
        location(&r),
        format!(
            "https://roleta.exemplo.com.br:{}/api/v1/auth/login",
            port(&app)
        )
    );

    let landed = client(&ca).get(to).send().await.expect("https");
    assert_eq!(landed.status(), 200);
    app.finish().await;
}

async fn forwarded_proto_from_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let broker = app.broker("bia", &[app.sales]).await;
    let r = sign_in(
        &app.http,
        &app.base,
        &email(&app, broker.id).await,
        Some("https"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r);
    assert!(!flags(&cookie).iter().any(|f| f == "Secure"), "{cookie}");
    assert!(flags(&cookie).iter().any(|f| f == "HttpOnly"), "{cookie}");
    assert!(hsts(&r).is_none());
    app.finish().await;
}
on_both!(
    x_forwarded_proto_from_an_untrusted_peer_changes_nothing,
    forwarded_proto_from_anyone
);

async fn forwarded_proto_from_a_trusted_proxy(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let broker = app.broker("caio", &[app.sales]).await;
    let email = email(&app, broker.id).await;
    let cases = [
        (Some("https"), true),
        (Some("http"), false),
        // The client's own "https", appended to by a proxy that saw plain HTTP.
        (Some("https, http"), false),
        (None, false),
    ];
    for (proto, secure) in cases {
        let r = sign_in(&app.http, &app.base, &email, proto).await;
        assert_eq!(r.status(), 200);
        let cookie = set_cookie(&r);
        assert_eq!(
            flags(&cookie).iter().any(|f| f == "Secure"),
            secure,
            "{proto:?}: {cookie}"
        );
        assert_eq!(hsts(&r).is_some(), secure, "{proto:?}");
    }
    app.finish().await;
}
on_both!(
    x_forwarded_proto_from_a_trusted_proxy_means_https,
    forwarded_proto_from_a_trusted_proxy
);
