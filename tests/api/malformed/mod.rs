//! The malformed-input corpus (tests/corpus/): bad bodies, bad values in every field, bad
//! content types, paths and lead-number templates over HTTP, bad frames over the broker
//! WebSocket. Replayed as an outsider, a lead source, a broker and a manager: no answer is a
//! 5xx or a dropped connection, the socket closes with the code docs/PROTOCOL.md names, and the
//! server still answers `/healthz` and takes a valid lead afterwards. Every failing entry is
//! listed before the test fails.

mod socket;

use crate::both;
use crate::helpers::*;
use roleta::model::Role;
use serde_json::{json, Value};
use std::time::Duration;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
const MARK: &str = "\u{1}MARK\u{1}";

/// Lines of a corpus file, comments and the trailing newline left out.
fn lines(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{CORPUS}/{file}")).expect("corpus file");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Raw bodies: the files of tests/corpus/http/bodies and a few too big to keep there.
fn raw_bodies() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(format!("{CORPUS}/http/bodies"))
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("body"))
        })
        .collect();
    out.sort();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    out.push(("deep_array_129".into(), deep(129)));
    out.push(("deep_array_30000".into(), deep(30_000)));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    out.push(("deep_object_10000".into(), deep_obj.into_bytes()));
    let many: Vec<String> = (0..5000).map(|i| format!("\"k{i}\":{i}")).collect();
    out.push((
        "many_keys".into(),
        format!("{{{}}}", many.join(",")).into_bytes(),
    ));
    let big = format!("{{\"name\":\"{}\",\"phone\":\"1\"}}", "é".repeat(40_000));
    out.push(("body_over_limit".into(), big.into_bytes()));
    out.push(("body_1mib".into(), vec![b'{'; 1 << 20]));
    out
}

/// (label, raw JSON text) from tests/corpus/http/values.txt.
fn values() -> Vec<(String, String)> {
    lines("http/values.txt")
        .into_iter()
        .map(|l| {
            let (label, raw) = l.split_once(' ').expect("label and value");
            let raw = if raw == "\"LONG_TEXT\"" {
                format!("\"{}\"", "ção".repeat(2000))
            } else {
                raw.to_string()
            };
            (label.to_string(), raw)
        })
        .collect()
}

/// `base` with the field at `path` (dotted) replaced by raw JSON text.
fn with_field(base: &Value, path: &str, raw: &str) -> Vec<u8> {
    let mut v = base.clone();
    let mut at = &mut v;
    for key in path.split('.') {
        at = &mut at[key];
    }
    *at = Value::String(MARK.into());
    let marker = serde_json::to_string(MARK).expect("marker");
    v.to_string().replace(&marker, raw).into_bytes()
}

struct Endpoint {
    method: reqwest::Method,
    path: String,
    token: Option<String>,
    base: Value,
    fields: &'static [&'static str],
}

struct Tally {
    /// A fresh connection per request: a 413 closes its connection, and the next request must
    /// not fail for having been sent on it.
    http: reqwest::Client,
    sent: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        Tally {
            http,
            sent: 0,
            failures: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        app: &TestApp,
        e: &Endpoint,
        ct: Option<&str>,
        body: Vec<u8>,
        what: &str,
    ) {
        let mut r = self
            .http
            .request(e.method.clone(), format!("{}{}", app.base, e.path));
        if let Some(t) = &e.token {
            r = r.bearer_auth(t);
        }
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        self.sent += 1;
        match r.body(body).timeout(Duration::from_secs(30)).send().await {
            Ok(resp) if resp.status().is_server_error() => {
                let s = resp.status();
                let text = resp.text().await.unwrap_or_default();
                self.failures
                    .push(format!("{} {} [{what}]: {s} {text}", e.method, e.path));
            }
            Ok(_) => {}
            Err(err) => self.failures.push(format!(
                "{} {} [{what}]: no answer: {err}",
                e.method, e.path
            )),
        }
    }

    /// Every raw body and every value in every field, then the base body with odd content types.
    async fn replay(&mut self, app: &TestApp, e: &Endpoint) {
        let json = Some("application/json");
        for (name, body) in raw_bodies() {
            self.send(app, e, json, body, &format!("body {name}")).await;
        }
        for field in e.fields {
            for (label, raw) in values() {
                let body = with_field(&e.base, field, &raw);
                self.send(app, e, json, body, &format!("{field}={label}"))
                    .await;
            }
        }
        let base = e.base.to_string().into_bytes();
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/json; charset=utf-16"),
            Some("application/json-patch+json"),
            Some("application/jsonx"),
            Some("*/*"),
            Some(""),
        ] {
            let what = format!("content-type {ct:?}");
            self.send(app, e, ct, base.clone(), &what).await;
        }
    }

    /// `/healthz` answers 200 and a valid lead is still taken.
    async fn still_healthy(&mut self, app: &TestApp, phone: &str, after: &str) {
        let health = self.http.get(format!("{}/healthz", app.base)).send().await;
        if !health.is_ok_and(|r| r.status() == 200) {
            self.failures
                .push(format!("/healthz not 200 after {after}"));
        }
        let r = self
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(&app.api_key)
            .json(&json!({"name": "Válida", "phone": phone}))
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 202 => {}
            Ok(r) => {
                let s = r.status();
                let text = r.text().await.unwrap_or_default();
                self.failures
                    .push(format!("a valid lead got {s} after {after}: {text}"));
            }
            Err(e) => self
                .failures
                .push(format!("a valid lead got no answer after {after}: {e}")),
        }
    }

    fn verdict(self, backend: Backend) {
        for f in &self.failures {
            eprintln!("malformed corpus ({backend:?}): {f}");
        }
        assert!(
            self.failures.is_empty(),
            "{} of {} malformed requests failed on {backend:?} (listed above)",
            self.failures.len(),
            self.sent
        );
    }
}

/// A lead of the agency held by broker `b` (given by hand with the roulette off).
async fn held_lead(app: &TestApp, b: &Broker) -> i64 {
    let lead = app.lead("Editável", "(11) 96000-0001").await;
    let r = app
        .post(
            &format!("/api/v1/leads/{lead}/assign"),
            &app.manager,
            json!({"broker_id": b.id}),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    lead
}

both!(
    malformed_http_requests_never_get_a_server_error,
    |app| async move {
        app.settings(json!({"roulette_enabled": false})).await;
        let b = app.broker("Bia", &[app.sales]).await;
        let lead = held_lead(app, &b).await;
        let (_, receptionist) = app.user("Recepção", Role::Receptionist).await;
        let m = || Some(app.manager.clone());
        let post = reqwest::Method::POST;
        let endpoints = [
            Endpoint {
                method: post.clone(),
                path: "/api/v1/auth/login".into(),
                token: None,
                base: json!({"email": "gestor@teste.roleta", "password": "errada"}),
                fields: &["email", "password"],
            },
            Endpoint {
                method: post.clone(),
                path: "/api/v1/leads".into(),
                token: Some(app.api_key.clone()),
                base: json!({"name": "Ana", "phone": "(11) 96000-0002"}),
                fields: &[
                    "name",
                    "phone",
                    "email",
                    "external_id",
                    "department",
                    "channel",
                    "client_role",
                    "property_code",
                    "interest",
                    "interest.price_cents",
                    "lead_type_id",
                    "due_at",
                    "urgent",
                    "manager_id",
                    "comment",
                ],
            },
            Endpoint {
                method: post.clone(),
                path: "/api/v1/reception/clients".into(),
                token: Some(receptionist),
                base: json!({"name": "Ana", "phone": "(11) 96000-0003"}),
                fields: &["name", "phone", "department"],
            },
            Endpoint {
                method: reqwest::Method::PATCH,
                path: format!("/api/v1/leads/{lead}"),
                token: Some(b.token.clone()),
                base: json!({"name": "Ana Maria"}),
                fields: &[
                    "name",
                    "email",
                    "comment",
                    "appraisal_address",
                    "condominium",
                ],
            },
            Endpoint {
                method: post.clone(),
                path: format!("/api/v1/leads/{lead}/contacts"),
                token: Some(b.token.clone()),
                base: json!({"kind": "note", "note": "ligar amanhã"}),
                fields: &["kind", "note"],
            },
            Endpoint {
                method: post.clone(),
                path: format!("/api/v1/leads/{lead}/pipeline"),
                token: m(),
                base: json!({"urgent": true}),
                fields: &[
                    "ad_campaign",
                    "due_at",
                    "clear_due",
                    "urgent",
                    "location",
                    "manager_id",
                ],
            },
            Endpoint {
                method: reqwest::Method::PUT,
                path: "/api/v1/settings/roulette".into(),
                token: m(),
                base: json!({"answer_seconds": 30}),
                fields: &[
                    "roulette_enabled",
                    "answer_seconds",
                    "max_missed_in_row",
                    "everyone_refused",
                    "retry_pause_seconds",
                    "fallback_broker_id",
                    "lead_number_template",
                ],
            },
            Endpoint {
                method: post.clone(),
                path: "/api/v1/clients/search".into(),
                token: m(),
                base: json!({"filter": {"q": "Ana"}, "limit": 10}),
                fields: &[
                    "filter",
                    "filter.q",
                    "filter.phone",
                    "filter.department_id",
                    "filter.status",
                    "filter.created_from_ms",
                    "before",
                    "limit",
                ],
            },
        ];
        let mut tally = Tally::new();
        for e in &endpoints {
            tally.replay(app, e).await;
        }
        // Odd ids and queries in the path, as the manager.
        for bad in [
            "-1",
            "0",
            "99999999999999999999",
            "1e3",
            "abc",
            "%00",
            "%F0%9F%98%80",
            "1%20OR%201=1",
            "..%2F..%2Fetc",
            "%27%3B--",
        ] {
            for path in [
                format!("/api/v1/leads/{bad}"),
                format!("/api/v1/leads/{bad}/audit"),
                format!("/api/v1/clients/match?phone={bad}"),
                format!("/api/v1/reports/marketing?from={bad}&to={bad}"),
            ] {
                let e = Endpoint {
                    method: reqwest::Method::GET,
                    path,
                    token: m(),
                    base: Value::Null,
                    fields: &[],
                };
                tally.send(app, &e, None, Vec::new(), "path").await;
            }
        }
        tally
            .still_healthy(app, "(11) 96000-0009", "the corpus")
            .await;
        tally.verdict(app.backend);
    }
);

both!(
    a_lead_number_template_never_stops_lead_intake,
    |app| async move {
        let mut tally = Tally::new();
        let e = Endpoint {
            method: reqwest::Method::PUT,
            path: "/api/v1/settings/roulette".into(),
            token: Some(app.manager.clone()),
            base: Value::Null,
            fields: &[],
        };
        for (i, raw) in lines("http/templates.txt").iter().enumerate() {
            let body = format!("{{\"lead_number_template\":{raw}}}").into_bytes();
            tally
                .send(app, &e, Some("application/json"), body, raw)
                .await;
            let phone = format!("(11) 96100-{:04}", i + 1);
            tally
                .still_healthy(app, &phone, &format!("template {raw}"))
                .await;
        }
        let longest = app
            .scalar("SELECT CAST(COALESCE(MAX(LENGTH(number)), 0) AS BIGINT) FROM leads")
            .await;
        if longest > 200 {
            tally
                .failures
                .push(format!("a lead number of {longest} characters was stored"));
        }
        tally.verdict(app.backend);
    }
);
