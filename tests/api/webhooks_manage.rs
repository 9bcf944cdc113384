//! Outbound webhooks (docs/WEBHOOKS.md), the manager's side: one agency's events never reach
//! another's subscription, a subscription that keeps failing is paused and the managers told,
//! resume and resend, and a subscription refused clearly when its URL or events are bad.

use crate::both;
use crate::helpers::*;
use crate::webhook_receiver::*;
use crate::webhook_test;
use roleta::model::Role;
use roleta::Settings;
use serde_json::{json, Value};
use std::time::Duration;

async fn an_agencys_events_never_reach_another_agencys_subscription(app: TestApp) -> TestApp {
    let store = &app.state.store;
    let now = app.state.clock.now_ms();
    let other = store.create_agency("Outra Imobiliária", now).await.unwrap();
    store
        .create_department(other, "Vendas", true, now)
        .await
        .unwrap();
    let (_, other_manager) = app.user_in(other, "gestora", Role::Manager).await;
    let other_key = app.new_api_key(other, "site").await;
    let rx_a = Receiver::start().await;
    let rx_b = Receiver::start().await;
    let sub_a = subscribe(&app, &app.manager, &rx_a.url, ALL).await;
    subscribe(&app, &other_manager, &rx_b.url, ALL).await;

    let lead_a = app.lead("Cliente A", "(11) 95555-0001").await;
    let r = app
        .http
        .post(format!("{}/api/v1/leads", app.base))
        .bearer_auth(&other_key)
        .json(&json!({"name": "Cliente B", "phone": "(11) 95555-0002"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let lead_b = r.json::<Value>().await.unwrap()["lead_id"]
        .as_i64()
        .unwrap();
    eventually("each agency's event", || {
        rx_a.got().len() == 1 && rx_b.got().len() == 1
    })
    .await;
    // Whatever else the worker does in a few more rounds goes nowhere else.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (a, b) = (rx_a.got(), rx_b.got());
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!((a[0].agency, a[0].lead), (app.agency.0, Some(lead_a)));
    assert_eq!((b[0].agency, b[0].lead), (other.0, Some(lead_b)));

    // Nor can the other agency's manager see or touch this agency's subscription.
    let mine = deliveries(&app, &app.manager).await;
    assert_eq!(mine.len(), 1);
    let theirs = deliveries(&app, &other_manager).await;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0]["id"], mine[0]["id"]);
    let id = sub_a["id"].as_i64().unwrap();
    let delivery = mine[0]["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/v1/webhooks/deliveries/{delivery}/resend"),
            &other_manager,
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .put(
            &format!("/api/v1/webhooks/{id}"),
            &other_manager,
            json!({"active": false}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .http
        .delete(format!("{}/api/v1/webhooks/{id}", app.base))
        .bearer_auth(&other_manager)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let listed: Vec<Value> = app
        .get("/api/v1/webhooks", &other_manager)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0]["id"], id);
    app
}
webhook_test!(an_agencys_events_never_reach_another_agencys_subscription);

fn pause_after_three(s: &mut Settings) {
    fast(s);
    s.webhooks.attempts_before_pause = 3;
}

async fn a_subscription_that_keeps_failing_is_paused_and_the_manager_told(backend: Backend) {
    let app = spawn_app_with(backend, pause_after_three).await;
    let rx = Receiver::start().await;
    let sub = subscribe(&app, &app.manager, &rx.url, &["lead.created"]).await;
    let id = sub["id"].as_i64().unwrap();
    rx.fail(true);
    let lead = app.lead("Cliente Um", "(11) 94444-0001").await;
    let mut paused = false;
    for _ in 0..500 {
        let list: Vec<Value> = app
            .get("/api/v1/webhooks", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        if list[0]["active"] == false {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(paused, "the subscription was paused");
    let d = &deliveries(&app, &app.manager).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(d["last_status_code"], 503);
    assert_eq!(d["lead_id"], lead);
    let n: Value = app
        .get("/api/v1/notifications", &app.manager)
        .await
        .json()
        .await
        .unwrap();
    let note = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["event"] == "webhook_paused")
        .expect("the manager is told");
    assert!(note["text"].as_str().unwrap().contains("pausado"), "{note}");
    assert!(
        note["text"].as_str().unwrap().contains("127.0.0.1"),
        "{note}"
    );

    // Paused: nothing more is tried, and a resend waits for the resume.
    let tried = rx.requests();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.requests(), tried);
    let delivery = d["id"].as_i64().unwrap();
    let resend = format!("/api/v1/webhooks/deliveries/{delivery}/resend");
    assert_eq!(
        app.post(&resend, &app.manager, json!({})).await.status(),
        409
    );

    // The CRM is fixed and the manager resumes: what waited goes out, once.
    rx.fail(false);
    let r = app
        .put(
            &format!("/api/v1/webhooks/{id}"),
            &app.manager,
            json!({"active": true}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["active"], true);
    assert_eq!(after["failures"], 0);
    eventually("the waiting event", || rx.got().len() == 1).await;
    rx.assert_once_each();

    // A resend of a delivered event carries the same event id (the receiver dedupes on it).
    assert_eq!(
        app.post(&resend, &app.manager, json!({})).await.status(),
        202
    );
    eventually("the resent event", || rx.got().len() == 2).await;
    let got = rx.got();
    assert_eq!(got[0].id, got[1].id);
    assert_eq!(got[1].body, got[0].body);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_keeps_failing_is_paused_and_the_manager_told_sqlite() {
    a_subscription_that_keeps_failing_is_paused_and_the_manager_told(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_keeps_failing_is_paused_and_the_manager_told_postgres() {
    a_subscription_that_keeps_failing_is_paused_and_the_manager_told(Backend::Postgres).await;
}

// With the production rules: https on a public address only; clear errors, nothing written.
both!(
    a_subscription_is_refused_clearly_unless_its_url_and_events_are_good,
    |app| async move {
        let bad = [
            (
                json!({"url": "http://203.0.114.10/hook", "events": ["lead.created"]}),
                "url",
            ),
            (
                json!({"url": "https://127.0.0.1/hook", "events": ["lead.created"]}),
                "url",
            ),
            (
                json!({"url": "https://10.1.2.3/hook", "events": ["lead.created"]}),
                "url",
            ),
            (
                json!({"url": "https://93.184.215.14/hook", "events": ["lead.sold"]}),
                "events",
            ),
            (
                json!({"url": "https://93.184.215.14/hook", "events": []}),
                "events",
            ),
            (
                json!({"url": "https://93.184.215.14/hook", "events": ["lead.created"], "secret": "curto"}),
                "secret",
            ),
        ];
        for (body, field) in bad {
            let r = app
                .post("/api/v1/webhooks", &app.manager, body.clone())
                .await;
            assert_eq!(r.status(), 422, "{body}");
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error"]["field"], field, "{body}: {e}");
        }
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM webhook_subscriptions")
                .await,
            0
        );

        let broker = app.broker("Ana", &[app.sales]).await;
        let good =
            json!({"url": "https://93.184.215.14/hook", "events": ["offer.made", "lead.created"]});
        let r = app
            .post("/api/v1/webhooks", &broker.token, good.clone())
            .await;
        assert_eq!(r.status(), 403);

        let r = app.post("/api/v1/webhooks", &app.manager, good).await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap();
        assert!(
            secret.starts_with("whsec_") && secret.len() > 40,
            "{secret}"
        );
        assert_eq!(created["events"], json!(["lead.created", "offer.made"]));
        assert_eq!(created["active"], true);
        let listed = app
            .get("/api/v1/webhooks", &app.manager)
            .await
            .text()
            .await
            .unwrap();
        assert!(!listed.contains(secret), "the secret is shown only once");
        assert_eq!(
            app.get("/api/v1/webhooks", &broker.token).await.status(),
            403
        );
    }
);
