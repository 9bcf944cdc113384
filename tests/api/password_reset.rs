//! Passwords set by someone else: a manager's reset answers a one-time password once and signs
//! the user out everywhere; whoever signs in with such a password can do nothing but choose
//! their own (403 `password_change_required` everywhere else), which signs out every other
//! session.

use crate::both;
use crate::crm_helpers::expect;
use crate::helpers::{TestApp, PASSWORD};
use crate::user_lifecycle::{email_of, login};
use roleta::model::Role;
use serde_json::{json, Value};

async fn reset(app: &TestApp, id: i64) -> reqwest::Response {
    app.post(
        &format!("/api/v1/users/{id}/password-reset"),
        &app.manager,
        json!({}),
    )
    .await
}

async fn session(app: &TestApp, email: &str, password: &str) -> (String, Value) {
    let body = expect(login(app, email, password).await, 200).await;
    (body["token"].as_str().unwrap().to_string(), body)
}

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> reqwest::Response {
    app.put(
        "/api/v1/me/password",
        token,
        json!({"current_password": current, "new_password": new}),
    )
    .await
}

both!(
    a_reset_signs_the_user_out_and_the_one_time_password_must_be_replaced,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        let mut ws = app.online(&ana).await;
        let email = email_of(app, ana.id).await;

        let r = reset(app, ana.id).await;
        assert_eq!(r.headers()["cache-control"], "no-store");
        let otp = expect(r, 200).await["one_time_password"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(otp.len() >= 16, "{otp}");
        assert_eq!(ws.close_code().await, 4003, "her page is signed out");
        assert_eq!(app.get("/api/v1/me", &ana.token).await.status(), 401);
        assert_eq!(login(app, &email, PASSWORD).await.status(), 401);
        let stored = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM users WHERE password_hash LIKE '%{otp}%'"
            ))
            .await;
        assert_eq!(stored, 0, "only its hash is kept");

        // Signed in with it: the sign-in says so, and everything else waits for a new one.
        let (token, body) = session(app, &email, &otp).await;
        assert_eq!(body["user"]["must_change_password"], true);
        let me = expect(app.get("/api/v1/me", &token).await, 200).await;
        assert_eq!(me["user"]["must_change_password"], true);
        for r in [
            app.get("/api/v1/attendances/pending", &token).await,
            app.get("/api/v1/departments", &token).await,
            app.post("/api/v1/auth/tokens", &token, json!({"label": "x"}))
                .await,
        ] {
            let body = expect(r, 403).await;
            assert_eq!(body["error"]["code"], "password_change_required");
            assert!(body["error"]["message"].as_str().unwrap().contains("senha"));
        }
        let socket = tokio_tungstenite::connect_async({
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = app.ws_url.as_str().into_client_request().unwrap();
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            req
        })
        .await;
        assert!(socket.is_err(), "no broker page before the change");

        let r = change(app, &token, &otp, &otp).await;
        assert_eq!(expect(r, 422).await["error"]["field"], "new_password");
        let r = change(app, &token, &otp, "a-senha-da-ana").await;
        assert_eq!(r.status(), 204);
        let me = expect(app.get("/api/v1/me", &token).await, 200).await;
        assert_eq!(me["user"]["must_change_password"], false);
        assert_eq!(
            app.get("/api/v1/attendances/pending", &token)
                .await
                .status(),
            200
        );
        assert_eq!(
            login(app, &email, &otp).await.status(),
            401,
            "one time only"
        );
        assert_eq!(login(app, &email, "a-senha-da-ana").await.status(), 200);
    }
);

both!(
    the_forced_change_signs_out_every_other_session,
    |app| async move {
        let (id, _) = app.user("Caio", Role::Receptionist).await;
        let email = email_of(app, id).await;
        let otp = expect(reset(app, id).await, 200).await["one_time_password"]
            .as_str()
            .unwrap()
            .to_string();
        let (laptop, _) = session(app, &email, &otp).await;
        let (phone, _) = session(app, &email, &otp).await;
        // Logout stays open to them.
        let (third, _) = session(app, &email, &otp).await;
        let r = app.post("/api/v1/auth/logout", &third, json!({})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(
            change(app, &laptop, &otp, "minha-senha-nova")
                .await
                .status(),
            204
        );
        assert_eq!(app.get("/api/v1/me", &phone).await.status(), 401);
        assert_eq!(app.get("/api/v1/me", &laptop).await.status(), 200);
    }
);

both!(
    a_new_user_gets_a_one_time_password_or_changes_the_given_one,
    |app| async move {
        let r = app
            .post(
                "/api/v1/users",
                &app.manager,
                json!({"email": "dani@teste.roleta", "name": "Dani", "role": "broker",
                       "departments": [app.sales]}),
            )
            .await;
        assert_eq!(r.headers()["cache-control"], "no-store");
        let otp = expect(r, 201).await["one_time_password"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, body) = session(app, "dani@teste.roleta", &otp).await;
        assert_eq!(body["user"]["must_change_password"], true);

        let r = app
            .post(
                "/api/v1/users",
                &app.manager,
                json!({"email": "edu@teste.roleta", "name": "Edu", "role": "receptionist",
                       "password": "senha-do-gestor"}),
            )
            .await;
        let created = expect(r, 201).await;
        assert!(created.get("one_time_password").is_none(), "{created}");
        let (token, body) = session(app, "edu@teste.roleta", "senha-do-gestor").await;
        assert_eq!(body["user"]["must_change_password"], true);
        let r = app.get("/api/v1/users", &token).await;
        assert_eq!(r.status(), 403);

        let r = app
            .post(
                "/api/v1/users",
                &app.manager,
                json!({"email": "fabi@teste.roleta", "name": "Fabi", "role": "broker", "password": "curta"}),
            )
            .await;
        assert_eq!(expect(r, 422).await["error"]["field"], "password");
        let r = app
            .post(
                "/api/v1/users",
                &app.manager,
                json!({"email": "gil@teste.roleta", "name": "Gil", "role": "receptionist",
                       "departments": [app.sales]}),
            )
            .await;
        assert_eq!(expect(r, 422).await["error"]["field"], "departments");
        let n = app
            .scalar("SELECT COUNT(*) FROM users WHERE email IN ('fabi@teste.roleta', 'gil@teste.roleta')")
            .await;
        assert_eq!(n, 0, "nothing half-written");
    }
);

both!(
    only_an_admin_resets_or_deactivates_an_admin,
    |app| async move {
        let (admin, admin_token) = app.user("Ada", Role::Admin).await;
        assert_eq!(reset(app, admin).await.status(), 403);
        let r = app
            .post(
                &format!("/api/v1/users/{admin}/deactivate"),
                &app.manager,
                json!({}),
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(app.get("/api/v1/me", &admin_token).await.status(), 200);
        let (broker, _) = app.user("Beto", Role::Broker).await;
        let r = app
            .post(
                &format!("/api/v1/users/{broker}/password-reset"),
                &admin_token,
                json!({}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let r = reset(app, 999_999).await;
        assert_eq!(r.status(), 404);
    }
);
