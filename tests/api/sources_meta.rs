//! Meta lead ads against a local Graph API the test owns, speaking Meta's contract: the
//! subscription handshake, signed deliveries (X-Hub-Signature-256), the lead read by its
//! `leadgen_id` with the page token, and a Graph outage that delays a lead and never loses it.

use crate::helpers::*;
use crate::sources::integration;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const APP_SECRET: &str = "segredo-do-app-meta";
const PAGE_TOKEN: &str = "EAAtokenDaPagina";
const PAGE_ID: &str = "1029384756";

/// The local Graph API: answers `GET /{leadgen_id}` like Meta's, or 503 while `down`.
#[derive(Clone, Default)]
struct Graph {
    down: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    tokens_ok: Arc<AtomicUsize>,
}

async fn graph_lead(
    State(g): State<Graph>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    g.asked.fetch_add(1, Ordering::SeqCst);
    if g.down.load(Ordering::SeqCst) {
        let e = json!({"error": {"message": "Service temporarily unavailable", "type": "OAuthException", "is_transient": true, "code": 2}});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(e));
    }
    if q.get("access_token").map(String::as_str) != Some(PAGE_TOKEN) {
        let e = json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}});
        return (StatusCode::BAD_REQUEST, axum::Json(e));
    }
    g.tokens_ok.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        axum::Json(json!({
            "created_time": "2026-12-03T12:49:14+0000",
            "id": id,
            "ad_id": "23851234567890",
            "form_id": "4455667788",
            "field_data": [
                {"name": "full_name", "values": ["Joana Prado"]},
                {"name": "phone_number", "values": ["+5511944443333"]},
                {"name": "email", "values": ["joana@exemplo.com"]},
                {"name": "qual_bairro_voce_procura?", "values": ["Moema"]}
            ]
        })),
    )
}

async fn start_graph() -> (Graph, String) {
    let g = Graph::default();
    let app = axum::Router::new()
        .route("/v21.0/{id}", get(graph_lead))
        .with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (g, format!("http://{addr}/v21.0"))
}

/// The app's Graph API is the test's, with short waits between fetches.
fn graph_at(url: String) -> impl FnOnce(&mut roleta::Settings) {
    move |s| {
        s.sources.meta_graph_url = url;
        s.sources.poll_ms = 20;
        s.sources.retry_first_ms = 40;
        s.sources.retry_max_ms = 160;
    }
}

async fn meta_app(backend: Backend) -> (TestApp, Graph, String) {
    let (graph, url) = start_graph().await;
    let app = spawn_app_with(backend, graph_at(url.clone())).await;
    (app, graph, url)
}

fn delivery(leadgen: &str) -> String {
    json!({"object": "page", "entry": [{"id": PAGE_ID, "time": 1764766154, "changes": [{"field": "leadgen", "value": {
        "ad_id": "23851234567890", "form_id": "4455667788", "leadgen_id": leadgen,
        "created_time": 1764766154, "page_id": PAGE_ID, "adgroup_id": "23851234567890"}}]}]})
    .to_string()
}

fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(app: &TestApp, path: &str, body: &str, sig: Option<String>) -> reqwest::Response {
    let mut r = app
        .http
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(s) = sig {
        r = r.header("X-Hub-Signature-256", s);
    }
    r.send().await.unwrap()
}

async fn meta_integration(app: &TestApp) -> (String, String) {
    integration(
        app,
        json!({"kind": "meta", "app_secret": APP_SECRET, "page_token": PAGE_TOKEN, "page_id": PAGE_ID}),
    )
    .await
}

async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::helpers::Backend::Postgres).await
            }
        }
    };
}

on_both!(the_handshake_echoes_the_challenge_only_for_the_verify_token);
async fn the_handshake_echoes_the_challenge_only_for_the_verify_token(backend: Backend) {
    let (app, _graph, _) = meta_app(backend).await;
    let (path, verify_token) = meta_integration(&app).await;
    let url = |mode: &str, token: &str| {
        format!(
            "{}{path}?hub.mode={mode}&hub.verify_token={token}&hub.challenge=1158201444",
            app.base
        )
    };
    let r = app
        .http
        .get(url("subscribe", &verify_token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = app
        .http
        .get(url("subscribe", "wrong-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .get(url("unsubscribe", &verify_token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.finish().await;
}

on_both!(a_signed_delivery_is_fetched_from_graph_and_offered);
async fn a_signed_delivery_is_fetched_from_graph_and_offered(backend: Backend) {
    let (app, graph, _) = meta_app(backend).await;
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let (path, _) = meta_integration(&app).await;
    let body = delivery("444555666777");
    let r = deliver(&app, &path, &body, Some(signature(APP_SECRET, &body))).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(r.json::<Value>().await.unwrap()["queued"], 1);
    let offer = ws.offer().await;
    assert_eq!(offer["lead"]["channel"], "lf");
    assert_eq!(offer["lead"]["client_name"], "Joana Prado", "{offer}");
    assert_eq!(
        graph.tokens_ok.load(Ordering::SeqCst),
        1,
        "asked once, with the page token"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM clients WHERE phone = '+5511944443333'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM leads WHERE source = 'Facebook/Instagram' AND external_id = '444555666777' AND comment LIKE '%Moema%'").await, 1);
    // Meta delivers again (it retries whatever it was not sure of): queued once, one lead.
    let r = deliver(&app, &path, &body, Some(signature(APP_SECRET, &body))).await;
    assert_eq!(r.json::<Value>().await.unwrap()["queued"], 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
    app.finish().await;
}

on_both!(a_bad_signature_is_refused_and_nothing_is_stored);
async fn a_bad_signature_is_refused_and_nothing_is_stored(backend: Backend) {
    let (app, graph, _) = meta_app(backend).await;
    let (path, _) = meta_integration(&app).await;
    let body = delivery("1");
    assert_eq!(
        deliver(&app, &path, &body, Some(signature("another-secret", &body)))
            .await
            .status(),
        401
    );
    assert_eq!(deliver(&app, &path, &body, None).await.status(), 401);
    let tampered = body.replace("\"1\"", "\"2\"");
    assert_eq!(
        deliver(&app, &path, &tampered, Some(signature(APP_SECRET, &body)))
            .await
            .status(),
        401
    );
    assert_eq!(
        deliver(
            &app,
            "/hooks/meta/nobody",
            &body,
            Some(signature(APP_SECRET, &body))
        )
        .await
        .status(),
        401,
        "an unknown id is refused like a bad signature"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM source_jobs").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 0);
    assert_eq!(graph.asked.load(Ordering::SeqCst), 0);
    app.finish().await;
}

on_both!(a_graph_outage_delays_the_lead_and_loses_nothing);
async fn a_graph_outage_delays_the_lead_and_loses_nothing(backend: Backend) {
    let (app, graph, url) = meta_app(backend).await;
    let (path, _) = meta_integration(&app).await;
    graph.down.store(true, Ordering::SeqCst);
    let body = delivery("987654321");
    let r = deliver(&app, &path, &body, Some(signature(APP_SECRET, &body))).await;
    assert_eq!(r.status(), 200, "answered at once, whatever Graph does");
    until("three failed fetches", async || {
        graph.asked.load(Ordering::SeqCst) >= 3
    })
    .await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 0);
    let list: Value = app
        .get("/api/v1/integrations", &app.manager)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["waiting"], 1, "{list}");
    assert_eq!(list[0]["last_error"], "graph_503", "{list}");
    // A restart while it waits loses nothing either: the job is in the database.
    let app = app.restart_with(graph_at(url)).await;
    graph.down.store(false, Ordering::SeqCst);
    until("the lead", async || {
        app.scalar("SELECT COUNT(*) FROM leads").await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM leads WHERE channel = 'lf'")
            .await,
        1
    );
    assert_eq!(
        graph.tokens_ok.load(Ordering::SeqCst),
        1,
        "fetched once it was back, once"
    );
    let list: Value = app
        .get("/api/v1/integrations", &app.manager)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["waiting"], 0, "{list}");
    app.finish().await;
}
