//! Bad input of every kind gets a clear error, never a 5xx, and loses nothing.

use crate::both;
use crate::helpers::*;
use futures_util::SinkExt;
use roleta::model::Role;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn raw(app: &TestApp, body: &'static str, content_type: &str) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/api/v1/leads", app.base))
        .bearer_auth(&app.api_key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

both!(
    malformed_ingest_requests_get_clear_errors,
    |app| async move {
        let (s, e) = raw(app, "{\"name\": \"x\",", "application/json").await;
        assert_eq!(s, 400);
        assert_eq!(e["error"]["code"], "bad_request");
        let (s, _) = raw(
            app,
            "{\"name\": 5, \"phone\": \"(11) 95555-1001\"}",
            "application/json",
        )
        .await;
        assert_eq!(s, 422, "wrong type");
        let (s, _) = raw(app, "{\"name\": \"x\"}", "application/json").await;
        assert_eq!(s, 422, "missing phone");
        let (s, e) = raw(
            app,
            "{\"name\": \"x\", \"phone\": \"abc\"}",
            "application/json",
        )
        .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("phone")));
        let (s, e) = raw(
            app,
            "{\"name\": \"x\", \"phone\": \"(11) 95555-1002\", \"department\": \"Marte\"}",
            "application/json",
        )
        .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("department")));
        let (s, _) = raw(app, "name=x", "application/x-www-form-urlencoded").await;
        assert_eq!(s, 415);
        let big = format!(
            "{{\"name\": \"x\", \"phone\": \"(11) 95555-1003\", \"comment\": \"{}\"}}",
            "a".repeat(70_000)
        );
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(&app.api_key)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth("rk_wrong")
            .json(&json!({"name": "x", "phone": "(11) 95555-1004"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM leads").await,
            0,
            "nothing half-written"
        );
        // And a good lead still goes through afterwards.
        app.lead("Boa", "(11) 95555-1005").await;
    }
);

both!(unknown_and_foreign_ids_are_not_found, |app| async move {
    let lead = app.lead("Minha", "(11) 95555-2001").await;
    let other_agency = app.state.store.create_agency("Outra", 0).await.unwrap();
    let (_, foreign_manager) = app.user_in(other_agency, "gestor2", Role::Manager).await;
    for path in [
        format!("/api/v1/leads/{lead}"),
        format!("/api/v1/leads/{lead}/audit"),
        "/api/v1/leads/999999".into(),
    ] {
        let r = app.get(&path, &foreign_manager).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = app.get("/api/v1/leads/abc", &app.manager).await;
    assert_eq!(r.status(), 400);
    let r = app
        .put(
            "/api/v1/users/999999/departments",
            &app.manager,
            json!({"departments": []}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let a = app.broker("A", &[app.sales]).await;
    let r = app
        .put(
            &format!("/api/v1/users/{}/departments", a.id),
            &foreign_manager,
            json!({"departments": []}),
        )
        .await;
    assert_eq!(
        r.status(),
        404,
        "a manager of another agency cannot touch this broker"
    );
    let r = app
        .post(
            &format!("/api/v1/leads/{lead}/contacts"),
            &a.token,
            json!({"kind": "call", "note": "x"}),
        )
        .await;
    assert_eq!(r.status(), 404, "not this broker's lead: as if missing");
    let r = app
        .post("/api/v1/offers/424242/accept", &a.token, json!({}))
        .await;
    assert_eq!(r.status(), 404);
    let r = app.get("/api/v1/nothing-here", &app.manager).await;
    assert_eq!(r.status(), 404);
    let r = app
        .put(
            "/api/v1/settings/roulette",
            &app.manager,
            json!({"answer_seconds": 0}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .put(
            "/api/v1/settings/roulette",
            &app.manager,
            json!({"everyone_refused": "fallback"}),
        )
        .await;
    assert_eq!(r.status(), 422, "fallback needs a broker");
});

both!(
    the_socket_rejects_bad_handshakes_and_bad_messages_without_dropping_work,
    |app| async move {
        // No credentials: refused before any message can be sent.
        let err = tokio_tungstenite::connect_async(app.ws_url.as_str())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        // A manager is not a broker.
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = app.ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", app.manager).parse().unwrap(),
        );
        assert!(tokio_tungstenite::connect_async(req).await.is_err());

        let a = app.broker("A", &[app.sales]).await;
        let mut ws = app.online(&a).await;
        ws.stream.send(Message::text("not json")).await.unwrap();
        assert_eq!(ws.recv().await["code"], "bad_message");
        ws.send(json!({"type": "accept"})).await;
        assert_eq!(ws.recv().await["code"], "bad_message");
        ws.send(json!({"type": "accept", "offer_id": 999999})).await;
        assert_eq!(ws.recv().await["code"], "offer_not_found");
        ws.stream
            .send(Message::binary(vec![1, 2, 3]))
            .await
            .unwrap();
        assert_eq!(ws.recv().await["code"], "unsupported");
        // Still working after all that.
        app.lead("Ok", "(11) 95555-3001").await;
        let o = ws.offer().await;
        assert_eq!(ws.accept(&o).await["type"], "assigned");
        // Over 64 KiB: closed with 1009.
        ws.stream
            .send(Message::text("x".repeat(70_000)))
            .await
            .unwrap();
        assert_eq!(ws.close_code().await, 1009);
    }
);
