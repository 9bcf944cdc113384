//! Connection lifecycle: idle timeout, graceful shutdown, personal tokens, cookie origin checks.

use crate::helpers::*;
use serde_json::{json, Value};

async fn idle_connections_are_closed(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.ws.ping_interval_seconds = 1;
        s.ws.idle_timeout_seconds = 1;
    })
    .await;
    let a = app.broker("A", &[app.sales]).await;
    let mut ws = app.connect(&a).await;
    // Not reading means not answering pings: after the idle timeout the server closes with 4000.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(ws.close_code().await, 4000);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_sqlite() {
    idle_connections_are_closed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_postgres() {
    idle_connections_are_closed(Backend::Postgres).await;
}

async fn shutdown_tells_brokers_to_reconnect_and_keeps_their_offer(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.broker("A", &[app.sales]).await;
    let mut ws = app.online(&a).await;
    let lead = app.lead("Cliente", "(11) 93333-0001").await;
    let offer = ws.offer().await;
    let c = crate::invariants::check(&app.state.store, app.state.clock.now_ms()).await;
    assert!(c.all_zero(), "{c:?}");
    let db = app.db_url.clone();
    let mut app = app;
    let dir = app.keep_dir();
    app.shutdown().await;
    assert_eq!(ws.close_code().await, 1012, "server restarting: reconnect");
    // The offer is still there for the next start.
    let next = start(&db, backend, dir).await;
    let state: String = sqlx::query_scalar(&format!(
        "SELECT state FROM offers WHERE id = {}",
        offer["offer_id"]
    ))
    .fetch_one(next.state.store.pool())
    .await
    .unwrap();
    assert_eq!(state, "pending");
    let lead_state: String =
        sqlx::query_scalar(&format!("SELECT state FROM leads WHERE id = {lead}"))
            .fetch_one(next.state.store.pool())
            .await
            .unwrap();
    assert_eq!(lead_state, "offered");
    next.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_brokers_to_reconnect_and_keeps_their_offer_sqlite() {
    shutdown_tells_brokers_to_reconnect_and_keeps_their_offer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_brokers_to_reconnect_and_keeps_their_offer_postgres() {
    shutdown_tells_brokers_to_reconnect_and_keeps_their_offer(Backend::Postgres).await;
}

crate::both!(
    personal_tokens_work_and_cookies_need_our_origin,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let r = app
            .post("/api/v1/auth/tokens", &a.token, json!({"label": "script"}))
            .await;
        assert_eq!(r.status(), 201);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["user"]["id"], a.id);
        assert_eq!(me["departments"], json!([app.sales]));
        // A cookie-authenticated state change from a foreign page is refused.
        let cookie = format!("roleta_session={}", app.manager);
        let r = app
            .http
            .put(format!("{}/api/v1/settings/roulette", app.base))
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .json(&json!({"answer_seconds": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = app
            .http
            .put(format!("{}/api/v1/settings/roulette", app.base))
            .header("cookie", &cookie)
            .header("origin", app.base.as_str())
            .json(&json!({"answer_seconds": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
);
