//! The agency's CRM for the webhook tests (docs/WEBHOOKS.md): a local receiver the test owns,
//! which checks every signature as a receiver should and keeps what it accepted; the app
//! settings (`webhooks.allow_insecure_endpoints`, the receiver being plain http on loopback, and
//! a backoff of tens of milliseconds) and the steps the scenarios share.

use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use roleta::Settings;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SECRET: &str = "segredo-do-crm-de-teste";

/// One event the receiver accepted (answered 2xx).
#[derive(Clone, Debug)]
pub(crate) struct Got {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) agency: i64,
    pub(crate) lead: Option<i64>,
    pub(crate) body: Value,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) got: Mutex<Vec<Got>>,
    /// Requests of any outcome.
    pub(crate) requests: AtomicUsize,
    /// Requests whose signature, timestamp or event id header did not check out.
    pub(crate) bad: AtomicUsize,
    pub(crate) failing: AtomicBool,
    /// Answer 503 to this many more requests.
    pub(crate) fail_next: AtomicI64,
}

/// The agency's CRM: verifies each request as docs/WEBHOOKS.md tells a receiver to.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) inner: Arc<Inner>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
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

    pub(crate) fn got(&self) -> Vec<Got> {
        self.inner.got.lock().unwrap().clone()
    }

    pub(crate) fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn fail(&self, on: bool) {
        self.inner.failing.store(on, Ordering::SeqCst);
    }

    /// Every event accepted exactly once, and each signature good.
    pub(crate) fn assert_once_each(&self) {
        assert_eq!(self.inner.bad.load(Ordering::SeqCst), 0, "a bad signature");
        let got = self.got();
        let ids: HashSet<i64> = got.iter().map(|g| g.id).collect();
        assert_eq!(ids.len(), got.len(), "an event accepted twice: {got:?}");
    }

    /// Each lead's events, in the order the receiver accepted them.
    pub(crate) fn by_lead(&self) -> BTreeMap<i64, Vec<Got>> {
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

pub(crate) fn fast(s: &mut Settings) {
    s.webhooks.allow_insecure_endpoints = true;
    s.webhooks.poll_interval_ms = 20;
    s.webhooks.base_delay_ms = 20;
    s.webhooks.max_delay_ms = 150;
    s.webhooks.attempts_before_pause = 1000;
    s.webhooks.request_timeout_ms = 2000;
}

/// Runs `async fn $name(app: TestApp) -> TestApp` on a fast-webhook app, once per backend.
#[macro_export]
macro_rules! webhook_test {
    ($name:ident) => {
        mod $name {
            use $crate::helpers::{spawn_app_with, Backend};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app_with(Backend::Sqlite, $crate::webhook_receiver::fast).await;
                super::$name(app).await.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = spawn_app_with(Backend::Postgres, $crate::webhook_receiver::fast).await;
                super::$name(app).await.finish().await;
            }
        }
    };
}

pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn subscribe(app: &TestApp, manager: &str, url: &str, events: &[&str]) -> Value {
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

pub(crate) const ALL: &[&str] = &[
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
pub(crate) async fn accepted_lead(app: &TestApp, ws: &mut Ws, name: &str, phone: &str) -> i64 {
    let lead = app.lead(name, phone).await;
    let offer = ws.offer().await;
    assert_eq!(offer["lead"]["id"], lead);
    ws.accept(&offer).await;
    lead
}

pub(crate) async fn deliveries(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app
        .get("/api/v1/webhooks/deliveries?limit=200", token)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub(crate) fn kinds(events: &[Got]) -> Vec<&str> {
    events.iter().map(|g| g.kind.as_str()).collect()
}

/// Per lead: accepted in outbox order, ids rising.
pub(crate) fn assert_in_order(rx: &Receiver) {
    for (lead, events) in rx.by_lead() {
        let ids: Vec<i64> = events.iter().map(|g| g.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "lead {lead}'s events out of order");
    }
}
