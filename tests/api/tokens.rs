//! Finding 7: personal tokens expire, are listed and revoked (by their owner, and by a
//! manager within the agency only), and a password change signs the user out everywhere else.

use crate::helpers::*;
use roleta::model::Role;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;

async fn create_token(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/auth/tokens", token, body).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> u16 {
    app.http
        .delete(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", token).await.status().as_u16()
}

crate::both!(
    personal_tokens_expire_and_are_listed_and_revoked_within_the_agency,
    |app| async move {
        let broker = app.broker("Gil", &[app.sales]).await;
        let now = app.state.clock.now_ms();
        let week = create_token(
            app,
            &broker.token,
            json!({"label": "script", "expires_in_days": 7}),
        )
        .await;
        let expires = week["expires_at_ms"].as_i64().unwrap();
        assert!((expires - (now + 7 * DAY_MS)).abs() < 60_000, "{week}");
        let week_token = week["token"].as_str().unwrap().to_string();
        assert_eq!(me(app, &week_token).await, 200);
        let default = create_token(app, &broker.token, json!({"label": "padrão"})).await;
        let expires = default["expires_at_ms"].as_i64().unwrap();
        assert!((expires - (now + 90 * DAY_MS)).abs() < 60_000, "{default}");
        for days in [0, 366, -1] {
            let r = app
                .post(
                    "/api/v1/auth/tokens",
                    &broker.token,
                    json!({"label": "x", "expires_in_days": days}),
                )
                .await;
            assert_eq!(r.status(), 422);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["field"], "expires_in_days");
        }

        // The owner lists their tokens; no token and no hash ever comes back.
        let r = app.get("/api/v1/auth/tokens", &broker.token).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(
            !text.contains(&week_token) && !text.contains("hash"),
            "{text}"
        );
        let own: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(own.len(), 2);
        assert_eq!(own[0]["label"], "script");
        assert_eq!(own[0]["user_id"], broker.id);
        // The agency's list is for managers.
        let r = app
            .get("/api/v1/auth/tokens?scope=agency", &broker.token)
            .await;
        assert_eq!(r.status(), 403);
        let manager_token = create_token(app, &app.manager, json!({"label": "painel"})).await;
        let r = app
            .get("/api/v1/auth/tokens?scope=agency", &app.manager)
            .await;
        let all: Vec<Value> = r.json().await.unwrap();
        assert_eq!(all.len(), 3);
        let r = app
            .get("/api/v1/auth/tokens?scope=everyone", &app.manager)
            .await;
        assert_eq!(r.status(), 400);

        // A broker cannot revoke the manager's token; the owner revokes their own.
        let id = |v: &Value| v["id"].as_i64().unwrap();
        let path = |v: &Value| format!("/api/v1/auth/tokens/{}", id(v));
        assert_eq!(delete(app, &path(&manager_token), &broker.token).await, 404);
        assert_eq!(delete(app, &path(&week), &broker.token).await, 204);
        assert_eq!(me(app, &week_token).await, 401);
        assert_eq!(delete(app, &path(&week), &broker.token).await, 404);

        // Another agency's manager sees none of this agency's tokens and cannot revoke them.
        let now = app.state.clock.now_ms();
        let other = app.state.store.create_agency("Outra", now).await.unwrap();
        let (_, other_manager) = app.user_in(other, "outro", Role::Manager).await;
        let theirs: Vec<Value> = app
            .get("/api/v1/auth/tokens?scope=agency", &other_manager)
            .await
            .json()
            .await
            .unwrap();
        assert!(theirs.is_empty(), "{theirs:?}");
        assert_eq!(delete(app, &path(&default), &other_manager).await, 404);
        let default_token = default["token"].as_str().unwrap().to_string();
        assert_eq!(me(app, &default_token).await, 200);
        // This agency's manager may revoke the broker's token.
        assert_eq!(delete(app, &path(&default), &app.manager).await, 204);
        assert_eq!(me(app, &default_token).await, 401);

        // An expired token answers 401.
        let old = create_token(
            app,
            &broker.token,
            json!({"label": "velho", "expires_in_days": 1}),
        )
        .await;
        let old_token = old["token"].as_str().unwrap().to_string();
        assert_eq!(me(app, &old_token).await, 200);
        app.exec(&format!(
            "UPDATE sessions SET expires_at_ms = {} WHERE id = {}",
            now - 1,
            id(&old)
        ))
        .await;
        assert_eq!(me(app, &old_token).await, 401);
    }
);

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn session_of(app: &TestApp, email: &str, password: &str) -> String {
    let r = login(app, email, password).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

crate::both!(
    a_password_change_signs_out_every_other_session_and_token,
    |app| async move {
        let (id, first) = app.user("helena", Role::Broker).await;
        let email = app.state.store.user(app.agency, id).await.unwrap().email;
        let laptop = session_of(app, &email, PASSWORD).await;
        let phone = session_of(app, &email, PASSWORD).await;
        let script = create_token(app, &laptop, json!({"label": "script"})).await;
        let script = script["token"].as_str().unwrap().to_string();

        let change = |current: &str, new: &str| {
            app.put(
                "/api/v1/me/password",
                &laptop,
                json!({"current_password": current, "new_password": new}),
            )
        };
        let r = change("errada-123", "nova-senha-forte").await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], "current_password");
        let r = change(PASSWORD, "curta").await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], "new_password");
        // Nothing changed so far.
        assert_eq!(me(app, &phone).await, 200);

        let r = change(PASSWORD, "nova-senha-forte").await;
        assert_eq!(r.status(), 204);
        assert_eq!(
            me(app, &laptop).await,
            200,
            "the session that changed it stays"
        );
        for other in [&phone, &script, &first] {
            assert_eq!(me(app, other).await, 401);
        }
        assert_eq!(login(app, &email, PASSWORD).await.status(), 401);
        assert_eq!(login(app, &email, "nova-senha-forte").await.status(), 200);
    }
);
