//! Web push for real: a local HTTP endpoint plays the push service; the test owns the
//! subscription's key pair, decrypts what arrives (RFC 8291, aes128gcm) and checks the VAPID
//! header (RFC 8292: ES256, `aud`, `exp`) and the TTL. The push service is on 127.0.0.1 over
//! http, so these apps run with the test-only `push.allow_insecure_endpoints`.

use crate::helpers::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_simple::prelude::*;
use serde_json::{json, Value};
use tokio::sync::mpsc;

pub struct Delivery {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// An app whose push sender accepts the local push service below.
pub async fn spawn_insecure_push_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.push.allow_insecure_endpoints = true).await
}

/// Answers 201 on /push/{id} and 410 on /gone/{id}, and hands every request to the test.
pub async fn push_service() -> (String, mpsc::Receiver<Delivery>) {
    let (tx, rx) = mpsc::channel(16);
    async fn take(
        State(tx): State<mpsc::Sender<Delivery>>,
        Path((kind, id)): Path<(String, String)>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let _ = tx
            .send(Delivery {
                path: format!("/{kind}/{id}"),
                headers,
                body: body.to_vec(),
            })
            .await;
        if kind == "gone" {
            StatusCode::GONE
        } else {
            StatusCode::CREATED
        }
    }
    let router = axum::Router::new()
        .route("/{kind}/{id}", axum::routing::post(take))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (origin, rx)
}

pub async fn next_delivery(rx: &mut mpsc::Receiver<Delivery>) -> Delivery {
    tokio::time::timeout(std::time::Duration::from_secs(15), rx.recv())
        .await
        .expect("a push within the wait")
        .expect("open")
}

async fn offers_reach_background_pages_by_web_push(backend: Backend) {
    let app = spawn_insecure_push_app(backend).await;
    app.settings(json!({"answer_seconds": 40})).await;
    let (origin, mut deliveries) = push_service().await;
    let a = app.broker("A", &[app.sales]).await;
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    let sub = json!({
        "endpoint": format!("{origin}/push/device-1"),
        "keys": {"p256dh": URL_SAFE_NO_PAD.encode(keys.pub_as_raw().unwrap()), "auth": URL_SAFE_NO_PAD.encode(auth)}
    });
    assert_eq!(
        app.post("/api/v1/push/subscriptions", &a.token, sub)
            .await
            .status(),
        201
    );
    let server_key: Value = app
        .get("/api/v1/push/key", &a.token)
        .await
        .json()
        .await
        .unwrap();
    let server_key = server_key["public_key"].as_str().unwrap().to_string();

    let mut ws = app.online(&a).await;
    ws.send(json!({"type": "visibility", "visible": false}))
        .await;
    ws.send(json!({"type": "ping"})).await;
    ws.recv_type("pong").await; // the visibility change has been handled
    app.post_lead(json!({"name": "Rita Push", "phone": "(11) 92222-0001"}))
        .await;
    let offer = ws.offer().await;

    let d = next_delivery(&mut deliveries).await;
    assert_eq!(d.path, "/push/device-1");
    assert_eq!(d.headers["content-encoding"], "aes128gcm");
    let ttl: i64 = d.headers["ttl"].to_str().unwrap().parse().unwrap();
    assert!((1..=40).contains(&ttl), "TTL is the seconds left: {ttl}");
    let plain = ece::decrypt(&keys.raw_components().unwrap(), &auth, &d.body)
        .expect("decrypts with our keys");
    let payload: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(payload["offer_id"], offer["offer_id"]);
    assert!(payload["body"].as_str().unwrap().contains("Rita Push"));
    assert!(
        !String::from_utf8_lossy(&plain).contains("92222"),
        "no phone number in a push"
    );

    // VAPID: Authorization: vapid t=<ES256 JWT>, k=<server key>
    let header = d.headers["authorization"].to_str().unwrap().to_string();
    let rest = header.strip_prefix("vapid ").expect("vapid scheme");
    let (mut t, mut k) = ("", "");
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("t=") {
            t = v;
        }
        if let Some(v) = part.strip_prefix("k=") {
            k = v;
        }
    }
    assert_eq!(k, server_key, "k is the key the browser subscribed with");
    let jwt_header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
    let claims = public
        .verify_token::<NoCustomClaims>(
            t,
            Some(VerificationOptions {
                allowed_audiences: Some(HashSet::from_strings(&[&origin])),
                ..Default::default()
            }),
        )
        .expect("signature and audience check out");
    let exp = claims.expires_at.expect("exp").as_secs() as i64;
    let now = (app.state.clock.now_ms() / 1000) as i64;
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp within 24 h (RFC 8292)"
    );

    // A page in front: no push. (The next delivery, if any, must be for the gone device below.)
    ws.send(json!({"type": "visibility", "visible": true}))
        .await;
    ws.accept(&offer).await;
    app.post_lead(json!({"name": "Visível", "phone": "(11) 92222-0002"}))
        .await;
    let o2 = ws.offer().await;
    ws.accept(&o2).await;

    // A subscription the push service says is gone (410) is deleted.
    let gone = json!({
        "endpoint": format!("{origin}/gone/device-2"),
        "keys": {"p256dh": URL_SAFE_NO_PAD.encode(keys.pub_as_raw().unwrap()), "auth": URL_SAFE_NO_PAD.encode(auth)}
    });
    app.exec("DELETE FROM push_subscriptions").await;
    assert_eq!(
        app.post("/api/v1/push/subscriptions", &a.token, gone)
            .await
            .status(),
        201
    );
    ws.send(json!({"type": "visibility", "visible": false}))
        .await;
    ws.send(json!({"type": "ping"})).await;
    ws.recv_type("pong").await;
    app.post_lead(json!({"name": "Sumiu", "phone": "(11) 92222-0003"}))
        .await;
    ws.offer().await;
    let d = next_delivery(&mut deliveries).await;
    assert_eq!(
        d.path, "/gone/device-2",
        "the visible page's offer was not pushed"
    );
    let mut left = 1;
    for _ in 0..100 {
        left = app.scalar("SELECT COUNT(*) FROM push_subscriptions").await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "a 410 deletes the subscription");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_reach_background_pages_by_web_push_sqlite() {
    offers_reach_background_pages_by_web_push(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_reach_background_pages_by_web_push_postgres() {
    offers_reach_background_pages_by_web_push(Backend::Postgres).await;
}
