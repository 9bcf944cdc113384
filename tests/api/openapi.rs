//! The OpenAPI document is true to the server: every operation says how to authenticate and
//! which errors it can answer, and the server does refuse an unauthenticated call to each
//! operation the document says needs credentials. (tests/schemathesis/run.sh fuzzes the rest.)

use crate::both;
use serde_json::{json, Value};

const PUBLIC: &[&str] = &[
    "post /api/v1/auth/login",
    "get /healthz",
    "get /readyz",
    "get /metrics",
    "get /api/v1/push/key",
];

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone(), op));
        }
    }
    ops
}

both!(
    every_operation_documents_its_security_errors_and_summary,
    |app| async move {
        let doc: Value = app
            .http
            .get(format!("{}/api/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["session"]["in"], "cookie");
        assert_eq!(schemes["session"]["name"], "roleta_session");
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["source_key"]["scheme"], "bearer");
        assert_eq!(schemes["source_key_header"]["name"], "X-Api-Key");
        assert_eq!(schemes["platform"]["scheme"], "bearer");
        assert_eq!(schemes["grupozap_basic"]["scheme"], "basic");
        assert_eq!(schemes["meta_signature"]["name"], "X-Hub-Signature-256");
        let error_body = &doc["components"]["schemas"]["ErrorBody"];
        assert!(error_body.is_object(), "no ErrorBody schema");

        let ops = operations(&doc);
        assert!(ops.len() > 60, "only {} operations documented", ops.len());
        for (method, path, op) in &ops {
            let key = format!("{method} {path}");
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.trim().is_empty(), "{key} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{key} documents no success"
            );
            let security = op["security"].as_array().map(Vec::len).unwrap_or(0);
            if PUBLIC.contains(&key.as_str()) {
                assert_eq!(security, 0, "{key} is public but asks for credentials");
            } else {
                assert!(security > 0, "{key} has no security requirement");
                assert!(responses.contains_key("401"), "{key} lacks 401");
                assert!(responses.contains_key("429"), "{key} lacks 429");
            }
            if key == "post /api/v1/leads" {
                assert!(op["security"].to_string().contains("source_key"), "{key}");
            }
            if path.starts_with("/hooks/") {
                // A sender's door: its own contract's credential, never a user's session.
                let s = op["security"].to_string();
                assert!(
                    !s.contains("session") && !s.contains("bearer"),
                    "{key}: {s}"
                );
            }
            if path.starts_with("/api/v1/platform/") {
                // The vendor's token only: no user's session opens these.
                assert_eq!(op["security"], json!([{"platform": []}]), "{key}");
                assert!(responses.contains_key("404"), "{key}: off answers 404");
            }
            if op["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{key} has a body, lacks {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{key} has an id, lacks 404");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{key} {status} is not the error body"
                    );
                }
            }
        }

        // What the document says is what the server does: without credentials, every operation
        // that asks for them answers 401 with the error body, and the public ones do not.
        for (method, path, _) in &ops {
            if path == "/api/v1/ops/stream" {
                continue; // an endless stream when it opens; its 401 is the same extractor's
            }
            let url = format!(
                "{}{}",
                app.base,
                path.replace("{id}", "1").replace("{entry}", "1")
            );
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let key = format!("{} {path}", method.as_str().to_lowercase());
            if key == "get /metrics" {
                // Its own bearer token (metrics.token), documented in its 401, not a user's.
                assert_eq!(r.status(), 401, "{key} asks for the metrics token");
            } else if key == "get /hooks/meta/{public_id}" {
                // Meta's subscription check: a missing or wrong verify token is 403, as Meta's
                // own contract has it (docs/SOURCES.md).
                assert_eq!(r.status(), 403, "{key}");
            } else if PUBLIC.contains(&key.as_str()) {
                assert_ne!(r.status(), 401, "{key} is documented public");
            } else {
                assert_eq!(r.status(), 401, "{key} answered without credentials");
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized", "{key}");
            }
        }
    }
);
