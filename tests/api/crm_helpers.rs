//! Shorthands for the CRM scenarios: clients made through the real endpoints, campaigns, and
//! answers checked for their status before their body is read.

use crate::helpers::{Broker, TestApp};
use serde_json::{json, Value};

/// Asserts the status and returns the JSON body (Null when empty).
pub async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "unexpected answer: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json")
    }
}

/// A client registered by a lead source (not linked to any broker). Returns the client id.
pub async fn client(app: &TestApp, name: &str, phone: &str) -> i64 {
    let v = expect(
        app.post_lead(json!({"name": name, "phone": phone})).await,
        202,
    )
    .await;
    v["client_id"].as_i64().expect("client id")
}

/// A client linked to `broker` (registered at reception and forwarded to them).
pub async fn linked_client(app: &TestApp, name: &str, phone: &str, broker: &Broker) -> i64 {
    let r = app
        .post(
            "/api/v1/reception/clients",
            &app.manager,
            json!({"name": name, "phone": phone, "broker_id": broker.id}),
        )
        .await;
    expect(r, 201).await["client_id"]
        .as_i64()
        .expect("client id")
}

pub async fn enable_campaigns(app: &TestApp) {
    let r = app
        .put(
            "/api/v1/settings/crm",
            &app.manager,
            json!({"active_offer_enabled": true, "quarantine_days": 10}),
        )
        .await;
    expect(r, 200).await;
}

/// A date `days` from today (negative: in the past), as forms send it.
/// A date `days` from today in Brasília (UTC−3), as the server reads dates: from 21:00 to
/// midnight Brasília time the UTC date is already tomorrow's.
pub fn day(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::hours(3) + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

pub async fn campaign(app: &TestApp, name: &str, brokers: &[&Broker]) -> i64 {
    let ids: Vec<i64> = brokers.iter().map(|b| b.id).collect();
    let r = app
        .post(
            "/api/v1/campaigns",
            &app.manager,
            json!({"name": name, "expires_at": day(30), "brokers": ids, "description": "Ligue e ofereça"}),
        )
        .await;
    expect(r, 201).await["id"].as_i64().expect("campaign id")
}

/// The O2 preview of adding `selection` to the campaign (asserting 200).
pub async fn preview(app: &TestApp, campaign: i64, selection: &Value) -> Value {
    let r = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/preview"),
            &app.manager,
            json!({ "selection": selection }),
        )
        .await;
    expect(r, 200).await
}

/// Previews and confirms adding `ids`; returns the confirmation's answer.
pub async fn add_clients(app: &TestApp, campaign: i64, ids: &[i64], route: &str) -> Value {
    let sel = json!({"ids": ids});
    let p = preview(app, campaign, &sel).await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/clients"),
            &app.manager,
            json!({"selection": sel, "route": route, "token": p["token"]}),
        )
        .await;
    expect(r, 201).await
}

/// "Atender": the next client's entry, or None when there is none (204).
pub async fn next(app: &TestApp, campaign: i64, b: &Broker) -> Option<Value> {
    let r = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/next"),
            &b.token,
            json!({}),
        )
        .await;
    match r.status().as_u16() {
        204 => None,
        _ => Some(expect(r, 200).await),
    }
}

pub async fn result(
    app: &TestApp,
    campaign: i64,
    b: &Broker,
    entry: &Value,
    outcome: &str,
) -> Value {
    let r = app
        .post(
            &format!(
                "/api/v1/campaigns/{campaign}/entries/{}/result",
                entry["entry_id"]
            ),
            &b.token,
            json!({"result": outcome, "comment": "ligação feita"}),
        )
        .await;
    expect(r, 200).await
}

pub async fn search(app: &TestApp, filter: Value) -> Vec<Value> {
    let r = app
        .post(
            "/api/v1/clients/search",
            &app.manager,
            json!({"filter": filter, "limit": 200}),
        )
        .await;
    let v = expect(r, 200).await;
    v["clients"].as_array().cloned().unwrap_or_default()
}
