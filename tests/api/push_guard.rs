//! Web push cannot be turned against the server's own network or against another broker:
//! endpoints must be https on public addresses (and on the allowlist when one is set), a push
//! service's redirect is not followed, and a subscription belongs to the broker who made it.

use crate::both;
use crate::helpers::*;
use crate::push::{next_delivery, push_service, spawn_insecure_push_app};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;

/// A subscription body with a browser's keys (an uncompressed P-256 point, a 16-byte secret).
fn subscription(endpoint: &str) -> Value {
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    json!({
        "endpoint": endpoint,
        "keys": {"p256dh": URL_SAFE_NO_PAD.encode(keys.pub_as_raw().unwrap()), "auth": URL_SAFE_NO_PAD.encode(auth)}
    })
}

/// Posts a subscription and returns the status and the `error.field` of a refusal.
async fn subscribe(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app.post("/api/v1/push/subscriptions", token, body).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].clone())
}

async fn unsubscribe(app: &TestApp, token: &str, endpoint: &str) -> u16 {
    app.http
        .delete(format!("{}/api/v1/push/subscriptions", app.base))
        .bearer_auth(token)
        .json(&json!({ "endpoint": endpoint }))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

both!(
    endpoints_off_the_public_internet_are_refused,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        for endpoint in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://127.0.0.1/push/1",
            "https://10.0.0.1/push/1",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/push/1",
            "https://[::ffff:127.0.0.1]/push/1",
            "https://2130706433/push/1",
            "https://localhost/push/1",
            "https://localhost:8443/push/1",
            "ftp://fcm.googleapis.com/x",
            "not a url",
        ] {
            let (status, error) = subscribe(app, &a.token, subscription(endpoint)).await;
            assert_eq!(status, 422, "{endpoint} must be refused: {error}");
            assert_eq!(error["field"], "endpoint", "{endpoint}: {error}");
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{error}"
            );
        }
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM push_subscriptions").await,
            0
        );
        // A public address is fine (no name to resolve here, so no network needed).
        let (status, error) =
            subscribe(app, &a.token, subscription("https://8.8.8.8/push/1")).await;
        assert_eq!(status, 201, "{error}");
    }
);

both!(push_keys_must_have_their_sizes, |app| async move {
    let a = app.broker("A", &[app.sales]).await;
    let ok = "https://8.8.8.8/push/keys";
    let short_point = URL_SAFE_NO_PAD.encode([4u8; 33]);
    let compressed = URL_SAFE_NO_PAD.encode([2u8; 65]);
    let mut off_curve = [7u8; 65];
    off_curve[0] = 0x04;
    let off_curve = URL_SAFE_NO_PAD.encode(off_curve);
    let long_auth = URL_SAFE_NO_PAD.encode([1u8; 32]);
    let good_auth = URL_SAFE_NO_PAD.encode([1u8; 16]);
    let good_point = subscription(ok)["keys"]["p256dh"].clone();
    for (p256dh, auth, field) in [
        (json!(short_point), json!(good_auth), "keys.p256dh"),
        (json!(compressed), json!(good_auth), "keys.p256dh"),
        (json!(off_curve), json!(good_auth), "keys.p256dh"),
        (json!("not*base64"), json!(good_auth), "keys.p256dh"),
        (good_point.clone(), json!(long_auth), "keys.auth"),
        (good_point.clone(), json!(""), "keys.auth"),
    ] {
        let body = json!({"endpoint": ok, "keys": {"p256dh": p256dh, "auth": auth}});
        let (status, error) = subscribe(app, &a.token, body).await;
        assert_eq!(status, 422, "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    let long = format!("https://8.8.8.8/{}", "a".repeat(2000));
    let (status, error) = subscribe(app, &a.token, subscription(&long)).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("endpoint")));
});

async fn hosts_outside_the_allowlist_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.push.allowed_hosts = vec!["fcm.googleapis.com".into(), "*.notify.windows.com".into()]
    })
    .await;
    let a = app.broker("A", &[app.sales]).await;
    for endpoint in [
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://fcm.googleapis.com.attacker.example/fcm/send/abc",
        "https://8.8.8.8/push/1",
    ] {
        let (status, error) = subscribe(&app, &a.token, subscription(endpoint)).await;
        assert_eq!(status, 422, "{endpoint}: {error}");
        assert_eq!(error["field"], "endpoint");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("not an allowed push service")),
            "{error}"
        );
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_the_allowlist_are_refused_sqlite() {
    hosts_outside_the_allowlist_are_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_the_allowlist_are_refused_postgres() {
    hosts_outside_the_allowlist_are_refused(Backend::Postgres).await;
}

/// Records every request (any method and path) and answers `status`, with `Location` if given.
async fn recorder(
    status: StatusCode,
    location: Option<String>,
) -> (String, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel(16);
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (tx, location) = (tx.clone(), location.clone());
        async move {
            let _ = tx.send(format!("{} {}", req.method(), req.uri())).await;
            match location {
                Some(to) => (status, [(header::LOCATION, to)]).into_response(),
                None => status.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (origin, rx)
}
/// Puts the broker's only page in the background and offers them a lead.
async fn offer_in_background(app: &TestApp, b: &Broker, name: &str, phone: &str) -> Ws {
    let mut ws = app.online(b).await;
    ws.send(json!({"type": "visibility", "visible": false}))
        .await;
    ws.send(json!({"type": "ping"})).await;
    ws.recv_type("pong").await;
    app.post_lead(json!({"name": name, "phone": phone})).await;
    ws.offer().await;
    ws
}

async fn a_push_service_redirect_is_not_followed(backend: Backend) {
    let app = spawn_insecure_push_app(backend).await;
    let (target, mut stolen) = recorder(StatusCode::OK, None).await;
    let (origin, mut asked) = recorder(
        StatusCode::TEMPORARY_REDIRECT,
        Some(format!("{target}/internal")),
    )
    .await;
    let a = app.broker("A", &[app.sales]).await;
    let endpoint = format!("{origin}/push/device-r");
    let (status, error) = subscribe(&app, &a.token, subscription(&endpoint)).await;
    assert_eq!(status, 201, "{error}");
    let _ws = offer_in_background(&app, &a, "Rita Redireciona", "(11) 92222-0101").await;
    let first = tokio::time::timeout(Duration::from_secs(15), asked.recv())
        .await
        .expect("the push service is asked")
        .expect("open");
    assert_eq!(first, "POST /push/device-r");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        stolen.try_recv().is_err(),
        "the redirect target received nothing"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_service_redirect_is_not_followed_sqlite() {
    a_push_service_redirect_is_not_followed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_service_redirect_is_not_followed_postgres() {
    a_push_service_redirect_is_not_followed(Backend::Postgres).await;
}

async fn another_agency_cannot_take_over_a_subscription(backend: Backend) {
    let app = spawn_insecure_push_app(backend).await;
    let (origin, mut deliveries) = push_service().await;
    let a = app.broker("A", &[app.sales]).await;
    let other = app.state.store.create_agency("Outra", 0).await.unwrap();
    let (_, b_token) = app.user_in(other, "B", roleta::model::Role::Broker).await;

    let endpoint = format!("{origin}/push/device-a");
    let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
    let a_point = URL_SAFE_NO_PAD.encode(keys.pub_as_raw().unwrap());
    let a_sub = json!({
        "endpoint": endpoint,
        "keys": {"p256dh": a_point, "auth": URL_SAFE_NO_PAD.encode(auth)}
    });
    assert_eq!(subscribe(&app, &a.token, a_sub).await.0, 201);

    // B registers A's endpoint with keys of their own, then deletes it (twice).
    assert_eq!(
        subscribe(&app, &b_token, subscription(&endpoint)).await.0,
        201
    );
    assert_eq!(unsubscribe(&app, &b_token, &endpoint).await, 204);
    assert_eq!(unsubscribe(&app, &b_token, &endpoint).await, 404);
    let a_rows = format!(
        "SELECT COUNT(*) FROM push_subscriptions WHERE broker_id = {} AND agency_id = {} AND p256dh = '{a_point}'",
        a.id, app.agency
    );
    assert_eq!(app.scalar(&a_rows).await, 1, "A's subscription is intact");

    // And A still gets the push, readable with A's keys.
    let _ws = offer_in_background(&app, &a, "Rita Escopo", "(11) 92222-0201").await;
    let d = next_delivery(&mut deliveries).await;
    assert_eq!(d.path, "/push/device-a");
    let plain = ece::decrypt(&keys.raw_components().unwrap(), &auth, &d.body)
        .expect("encrypted for A's browser");
    let payload: Value = serde_json::from_slice(&plain).unwrap();
    assert!(payload["body"].as_str().unwrap().contains("Rita Escopo"));

    // A's own unsubscribe removes A's row.
    assert_eq!(unsubscribe(&app, &a.token, &endpoint).await, 204);
    assert_eq!(app.scalar(&a_rows).await, 0);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_agency_cannot_take_over_a_subscription_sqlite() {
    another_agency_cannot_take_over_a_subscription(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_agency_cannot_take_over_a_subscription_postgres() {
    another_agency_cannot_take_over_a_subscription(Backend::Postgres).await;
}
