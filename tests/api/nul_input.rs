//! The NUL character (which PostgreSQL cannot store in text) is refused at the edge with 422
//! naming the field — in a JSON body, a query parameter or a path — the same on both
//! databases, before anything is written.

use crate::both;
use crate::crm_helpers::*;
use crate::helpers::TestApp;
use serde_json::Value;

/// Sends a raw JSON text (serde_json would escape our backslashes) with a bearer token.
async fn send_raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> reqwest::Response {
    let url = format!("{}{path}", app.base);
    let req = match method {
        "PATCH" => app.http.patch(url),
        _ => app.http.post(url),
    };
    req.bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Asserts a 422 that names `field` and says why.
async fn refused(r: reqwest::Response, field: &str) {
    let e: Value = expect(r, 422).await;
    assert_eq!(e["error"]["field"], field, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("NUL"), "{msg}");
}

both!(
    nul_characters_are_refused_naming_the_field,
    |app| async move {
        let leads = app.scalar("SELECT COUNT(*) FROM leads").await;
        let sessions = app.scalar("SELECT COUNT(*) FROM sessions").await;

        // The sign-in, before any account is known.
        let r = send_raw(
            app,
            "POST",
            "/api/v1/auth/login",
            "",
            r#"{"email": "ana\u0000@teste.roleta", "password": "x"}"#,
        )
        .await;
        refused(r, "email").await;
        assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, sessions);

        // A lead source: nothing is stored.
        let r = send_raw(
            app,
            "POST",
            "/api/v1/leads",
            &app.api_key,
            r#"{"name": "Ma\u0000ria", "phone": "(11) 91234-5678"}"#,
        )
        .await;
        refused(r, "name").await;
        let r = send_raw(app, "POST", "/api/v1/leads", &app.api_key, r#"{"name": "Maria", "phone": "(11) 91234-5678", "interest": {"neighbourhood": "Centro\u0000"}}"#).await;
        refused(r, "interest.neighbourhood").await;
        let r = send_raw(
            app,
            "POST",
            "/api/v1/reception/clients",
            &app.manager,
            r#"{"name": "Jo\u0000ão", "phone": "(11) 91234-5679"}"#,
        )
        .await;
        refused(r, "name").await;
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, leads);

        // A broker's edit of their lead, and a nested field of a manager's lead type.
        let a = app.broker("Ana", &[app.sales]).await;
        let r = app
            .post(
                "/api/v1/reception/clients",
                &app.manager,
                serde_json::json!({"name": "Carla", "phone": "(11) 91234-0000", "broker_id": a.id}),
            )
            .await;
        let lead = expect(r, 201).await["lead_id"].as_i64().unwrap();
        let path = format!("/api/v1/leads/{lead}");
        let r = send_raw(
            app,
            "PATCH",
            &path,
            &a.token,
            r#"{"comment": "liga\u0000r amanhã"}"#,
        )
        .await;
        refused(r, "comment").await;
        let v = expect(app.get(&path, &app.manager).await, 200).await;
        assert_eq!(v["comment"], Value::Null, "the edit was not written");
        let def = r#"{"name": "T", "initial_status": "A", "statuses": [{"name": "A"}, {"name": "B\u0000"}], "transitions": []}"#;
        refused(
            send_raw(app, "POST", "/api/v1/lead-types", &app.manager, def).await,
            "statuses[1].name",
        )
        .await;

        // A query parameter and a path segment.
        refused(
            app.get("/api/v1/leads?ad_campaign=x%00y", &app.manager)
                .await,
            "ad_campaign",
        )
        .await;
        refused(app.get("/api/v1/leads/1%00", &app.manager).await, "id").await;

        // An escaped backslash followed by "u0000" is plain text, not NUL.
        let r = send_raw(app, "PATCH", &path, &a.token, r#"{"comment": "C:\\u0000"}"#).await;
        expect(r, 200).await;
        let v = expect(app.get(&path, &app.manager).await, 200).await;
        assert_eq!(v["comment"], "C:\\u0000");
    }
);
