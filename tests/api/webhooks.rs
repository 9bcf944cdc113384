//! Outbound webhooks (docs/WEBHOOKS.md): the agency's CRM is played by a local receiver the
//! test owns, which checks every signature and keeps what it accepted. Each app runs with
//! `webhooks.allow_insecure_endpoints` (the receiver is plain http on loopback) and a backoff of
//! tens of milliseconds.

use crate::both;
use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use roleta::model::Role;
use roleta::Settings;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "segredo-do-crm-de-teste";

/// One event the receiver accepted (answered 2xx).
#[derive(Clone, Debug)]
struct Got {
    id: i64,
    kind: String,
    agency: i64,
    lead: Option<i64>,
    body: Value,
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Got>>,
    /// Requests of any outcome.
    requests: AtomicUsize,
    /// Requests whose signature, timestamp or event id header did not check out.
    bad: AtomicUsize,
    failing: AtomicBool,
    /// Answer 503 to this many more requests.
    fail_next: AtomicI64,
}

/// The agency's CRM: verifies each request as docs/WEBHOOKS.md tells a receiver to.
#[derive(Clone)]
struct Receiver {
    url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let state = inner.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let inner = state.clone();
                async move { receive(&inner, &headers, &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            inner,
        }
    }

    fn got(&self) -> Vec<Got> {
        self.inner.got.lock().unwrap().clone()
    }

    fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    fn fail(&self, on: bool) {
        self.inner.failing.store(on, Ordering::SeqCst);
    }

    /// Every event accepted exactly once, and each signature good.
    fn assert_once_each(&self) {
        assert_eq!(self.inner.bad.load(Ordering::SeqCst), 0, "a bad signature");
        let got = self.got();
        let ids: HashSet<i64> = got.iter().map(|g| g.id).collect();
        assert_eq!(ids.len(), got.len(), "an event accepted twice: {got:?}");
    }

    /// Each lead's events, in the order the receiver accepted them.
    fn by_lead(&self) -> BTreeMap<i64, Vec<Got>> {
        let mut out: BTreeMap<i64, Vec<Got>> = BTreeMap::new();
        for g in self.got() {
            if let Some(l) = g.lead {
                out.entry(l).or_default().push(g);
            }
        }
        out
    }
}

fn receive(inner: &Inner, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if inner.failing.load(Ordering::SeqCst) || inner.fail_next.fetch_sub(1, Ordering::SeqCst) > 0 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let timestamp = header("x-roleta-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now - t).abs() < 300);
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    if header("x-roleta-signature") != expected
        || !fresh
        || header("x-roleta-event-id").parse::<i64>().ok() != v["id"].as_i64()
    {
        inner.bad.fetch_add(1, Ordering::SeqCst);
        return StatusCode::BAD_REQUEST;
    }
    inner.got.lock().unwrap().push(Got {
        id: v["id"].as_i64().unwrap_or_default(),
        kind: v["type"].as_str().unwrap_or_default().to_string(),
        agency: v["agency_id"].as_i64().unwrap_or_default(),
        lead: v["data"]["lead"]["id"].as_i64(),
        body: v,
    });
    StatusCode::NO_CONTENT
}

fn fast(s: &mut Settings) {
    s.webhooks.allow_insecure_endpoints = true;
    s.webhooks.poll_interval_ms = 20;
    s.webhooks.base_delay_ms = 20;
    s.webhooks.max_delay_ms = 150;
    s.webhooks.attempts_before_pause = 1000;
    s.webhooks.request_timeout_ms = 2000;
}

/// Runs `async fn $name(app: TestApp) -> TestApp` on a fast-webhook app, once per backend.
macro_rules! webhook_test {
    ($name:ident) => {
        mod $name {
            use crate::helpers::{spawn_app_with, Backend};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app_with(Backend::Sqlite, super::fast).await;
                super::$name(app).await.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = spawn_app_with(Backend::Postgres, super::fast).await;
                super::$name(app).await.finish().await;
            }
        }
    };
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn subscribe(app: &TestApp, manager: &str, url: &str, events: &[&str]) -> Value {
    let r = app
        .post(
            "/api/v1/webhooks",
            manager,
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.json().await.unwrap()
}

const ALL: &[&str] = &[
    "lead.created",
    "offer.made",
    "offer.accepted",
    "offer.refused",
    "offer.expired",
    "lead.assigned",
    "attendance.concluded",
    "broker.online",
    "broker.offline",
];

/// A lead the broker is offered and accepts; its id.
async fn accepted_lead(app: &TestApp, ws: &mut Ws, name: &str, phone: &str) -> i64 {
    let lead = app.lead(name, phone).await;
    let offer = ws.offer().await;
    assert_eq!(offer["lead"]["id"], lead);
    ws.accept(&offer).await;
    lead
}

async fn deliveries(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app
        .get("/api/v1/webhooks/deliveries?limit=200", token)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn kinds(events: &[Got]) -> Vec<&str> {
    events.iter().map(|g| g.kind.as_str()).collect()
}

/// Per lead: accepted in outbox order, ids rising.
fn assert_in_order(rx: &Receiver) {
    for (lead, events) in rx.by_lead() {
        let ids: Vec<i64> = events.iter().map(|g| g.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "lead {lead}'s events out of order");
    }
}

async fn the_crm_receives_every_event_signed_once_and_in_order(app: TestApp) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let first = accepted_lead(&app, &mut ws, "Cliente Um", "(11) 98765-4321").await;
    let r = app
        .post(
            &format!("/api/v1/leads/{first}/contacts"),
            &ana.token,
            json!({"kind": "call", "note": "Liguei, quer visitar"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let second = app.lead("Cliente Dois", "(11) 98765-0002").await;
    let offer = ws.offer().await;
    ws.refuse(&offer).await;

    eventually("both leads' events", || {
        let l = rx.by_lead();
        l.get(&first).map_or(0, Vec::len) == 5 && l.get(&second).map_or(0, Vec::len) >= 3
    })
    .await;
    rx.assert_once_each();
    assert_in_order(&rx);
    let leads = rx.by_lead();
    assert_eq!(
        kinds(&leads[&first]),
        [
            "lead.created",
            "offer.made",
            "offer.accepted",
            "lead.assigned",
            "attendance.concluded"
        ]
    );
    assert_eq!(
        kinds(&leads[&second][..3]),
        ["lead.created", "offer.made", "offer.refused"]
    );
    let got = rx.got();
    let online = got
        .iter()
        .find(|g| g.kind == "broker.online")
        .expect("broker.online");
    assert_eq!(online.body["data"]["broker"]["name"], "Ana");

    // What a CRM needs, and nothing secret.
    let created = &leads[&first][0].body;
    assert_eq!(created["agency_id"], app.agency.0);
    assert_eq!(created["data"]["lead"]["client"]["name"], "Cliente Um");
    assert_eq!(created["data"]["lead"]["client"]["phone"], "+5511987654321");
    assert_eq!(created["data"]["lead"]["department"]["name"], "Vendas");
    assert!(created["data"]["lead"]["number"].is_string());
    let at = created["occurred_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{at}"
    );
    let accepted = &leads[&first][2].body;
    assert_eq!(accepted["data"]["broker"]["id"], ana.id);
    assert_eq!(accepted["data"]["broker"]["name"], "Ana");
    for g in &got {
        assert!(
            !g.body.to_string().contains(SECRET),
            "a secret in {}",
            g.body
        );
        assert_eq!(g.agency, app.agency.0);
    }

    // The manager's page reads each delivery as delivered at the first attempt.
    let list = deliveries(&app, &app.manager).await;
    for g in &got {
        let d = list.iter().find(|d| d["event_id"] == g.id).expect("listed");
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["event_type"], g.kind.as_str(), "{d}");
    }
    drop(ws);
    app
}
webhook_test!(the_crm_receives_every_event_signed_once_and_in_order);

async fn a_receiver_that_fails_for_a_while_loses_nothing_and_keeps_each_leads_order(
    app: TestApp,
) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    rx.inner.fail_next.store(25, Ordering::SeqCst);
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let mut leads = Vec::new();
    for i in 0..4 {
        leads.push(
            accepted_lead(
                &app,
                &mut ws,
                &format!("Cliente {i}"),
                &format!("(11) 97777-000{i}"),
            )
            .await,
        );
    }
    let events = app.scalar("SELECT COUNT(*) FROM webhook_outbox").await as usize;
    assert_eq!(events, 1 + 4 * 4, "broker.online, then 4 events a lead");
    eventually("every event accepted", || rx.got().len() == events).await;
    assert!(rx.requests() > events, "the receiver did fail some");
    rx.assert_once_each();
    assert_in_order(&rx);
    for lead in &leads {
        assert_eq!(
            kinds(&rx.by_lead()[lead]),
            [
                "lead.created",
                "offer.made",
                "offer.accepted",
                "lead.assigned"
            ]
        );
    }
    let list = deliveries(&app, &app.manager).await;
    assert!(list.iter().all(|d| d["status"] == "delivered"));
    assert!(list.iter().any(|d| d["attempts"].as_i64() > Some(1)));
    drop(ws);
    app
}
webhook_test!(a_receiver_that_fails_for_a_while_loses_nothing_and_keeps_each_leads_order);

async fn a_restart_in_the_middle_of_retries_loses_nothing(app: TestApp) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    rx.fail(true);
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let mut leads = Vec::new();
    for i in 0..3 {
        leads.push(
            accepted_lead(
                &app,
                &mut ws,
                &format!("Cliente {i}"),
                &format!("(11) 96666-000{i}"),
            )
            .await,
        );
    }
    drop(ws);
    let events = 1 + 3 * 4;
    // Retrying: the first of each lead's events (and broker.online) failed more than once.
    let mut retried = false;
    for _ in 0..500 {
        let list = deliveries(&app, &app.manager).await;
        retried = list.len() == events
            && list
                .iter()
                .filter(|d| d["attempts"].as_i64() >= Some(2))
                .count()
                >= 4;
        if retried {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(retried, "deliveries were being retried");
    assert!(rx.got().is_empty());

    let app = app.restart_with(fast).await;
    rx.fail(false);
    eventually("every event accepted after the restart", || {
        rx.got().len() == events
    })
    .await;
    rx.assert_once_each();
    assert_in_order(&rx);
    for lead in &leads {
        assert_eq!(
            kinds(&rx.by_lead()[lead]),
            [
                "lead.created",
                "offer.made",
                "offer.accepted",
                "lead.assigned"
            ]
        );
    }
    app
}
webhook_test!(a_restart_in_the_middle_of_retries_loses_nothing);

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

async fn an_offer_nobody_answers_is_told_as_expired(app: TestApp) -> TestApp {
    app.settings(json!({"answer_seconds": 1})).await;
    let rx = Receiver::start().await;
    subscribe(
        &app,
        &app.manager,
        &rx.url,
        &["lead.created", "offer.made", "offer.expired"],
    )
    .await;
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let lead = app.lead("Cliente Calado", "(11) 93333-0001").await;
    let offer = ws.offer().await;
    ws.recv_type("offer_closed").await;
    eventually("the expiry", || {
        rx.by_lead().get(&lead).map_or(0, Vec::len) >= 3
    })
    .await;
    rx.assert_once_each();
    let events = &rx.by_lead()[&lead];
    assert_eq!(
        kinds(&events[..3]),
        ["lead.created", "offer.made", "offer.expired"]
    );
    assert_eq!(events[2].body["data"]["offer_id"], offer["offer_id"]);
    assert_eq!(events[2].body["data"]["broker"]["id"], ana.id);
    assert!(
        rx.got().iter().all(|g| g.kind != "broker.online"),
        "not subscribed"
    );
    drop(ws);
    app
}
webhook_test!(an_offer_nobody_answers_is_told_as_expired);
