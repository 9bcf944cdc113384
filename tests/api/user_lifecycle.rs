//! A user's life as their manager runs it: deactivated while working (their socket closed with
//! its code, their offer handed on, their history kept), reactivated, edited; and the guards
//! that keep an agency with someone to manage it.

use crate::both;
use crate::crm_helpers::expect;
use crate::helpers::{Broker, TestApp, PASSWORD};
use roleta::model::Role;
use serde_json::{json, Value};
use std::time::Duration;

pub async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

pub async fn email_of(app: &TestApp, id: i64) -> String {
    app.state.store.user(app.agency, id).await.unwrap().email
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.http
        .patch(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", token).await.status().as_u16()
}

async fn my_id(app: &TestApp, token: &str) -> i64 {
    expect(app.get("/api/v1/me", token).await, 200).await["user"]["id"]
        .as_i64()
        .unwrap()
}

async fn deactivate(app: &TestApp, id: i64) -> reqwest::Response {
    app.post(
        &format!("/api/v1/users/{id}/deactivate"),
        &app.manager,
        json!({}),
    )
    .await
}

both!(
    deactivating_a_broker_who_holds_an_offer_hands_it_on_and_keeps_their_history,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        let bruno = app.broker("Bruno", &[app.sales]).await;
        let mut wa = app.online(&ana).await;
        // Earlier work of Ana's, which must stay readable.
        let first = app.lead("Cliente Antigo", "(11) 98765-7001").await;
        let o = wa.offer().await;
        assert_eq!(wa.accept(&o).await["type"], "assigned");
        // Ana holds the next lead's offer when she is deactivated.
        let lead = app.lead("Cliente Novo", "(11) 98765-7002").await;
        let held = wa.offer().await;
        assert_eq!(held["lead"]["id"], lead);
        let mut wb = app.online(&bruno).await;

        let out = expect(deactivate(app, ana.id).await, 200).await;
        assert_eq!(out["active"], false);
        assert!(out["deactivated_at_ms"].as_i64().is_some());

        assert_eq!(
            wa.close_code().await,
            4002,
            "Ana's socket closed as deactivated"
        );
        let next = wb.offer().await;
        assert_eq!(
            next["lead"]["id"], lead,
            "the offer went to the next broker"
        );
        assert_eq!(me_status(app, &ana.token).await, 401, "her session ended");

        let email = email_of(app, ana.id).await;
        let r = login(app, &email, PASSWORD).await;
        let body = expect(r, 403).await;
        assert_eq!(body["error"]["code"], "account_deactivated");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("desativada"),
            "{body}"
        );
        // Without the password nothing is told: the usual wrong-password answer.
        let r = login(app, &email, "nao-e-a-senha").await;
        assert_eq!(r.status(), 401);

        // History: her lead, the offer handed back, her place in the user list.
        let view = expect(
            app.get(&format!("/api/v1/leads/{first}"), &app.manager)
                .await,
            200,
        )
        .await;
        assert_eq!(view["broker_id"], ana.id);
        assert_eq!(view["broker_name"], "Ana");
        let audit = expect(
            app.get(&format!("/api/v1/leads/{lead}/audit"), &app.manager)
                .await,
            200,
        )
        .await;
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["broker_id"] == ana.id && e["reason"] == "broker deactivated"),
            "{audit}"
        );
        let users = expect(app.get("/api/v1/users", &app.manager).await, 200).await;
        let listed = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == ana.id)
            .cloned()
            .unwrap();
        assert_eq!(listed["active"], false);
        assert_eq!(
            listed["departments"],
            json!([app.sales]),
            "kept for a return"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM sessions WHERE user_id = {}",
                ana.id
            ))
            .await,
            0
        );

        // Back again: she signs in with her password, offline until she says otherwise.
        let r = app
            .post(
                &format!("/api/v1/users/{}/reactivate", ana.id),
                &app.manager,
                json!({}),
            )
            .await;
        let back = expect(r, 200).await;
        assert_eq!(back["active"], true);
        assert_eq!(back["online"], false);
        assert_eq!(login(app, &email, PASSWORD).await.status(), 200);
        assert_eq!(wb.accept(&next).await["type"], "assigned");
    }
);

both!(
    a_deactivated_broker_gets_no_leads_by_hand_nor_as_fallback,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        app.settings(json!({"everyone_refused": "fallback", "fallback_broker_id": ana.id}))
            .await;
        expect(deactivate(app, ana.id).await, 200).await;
        let s = expect(
            app.get("/api/v1/settings/roulette", &app.manager).await,
            200,
        )
        .await;
        assert_eq!(
            s["fallback_broker_id"],
            Value::Null,
            "no longer the fallback"
        );
        let r = app
            .post(
                "/api/v1/reception/clients",
                &app.manager,
                json!({"name": "Carla", "phone": "(11) 91234-7003", "broker_id": ana.id}),
            )
            .await;
        assert_eq!(r.status(), 422, "not an active broker");
        let r = app
            .put(
                "/api/v1/settings/roulette",
                &app.manager,
                json!({"fallback_broker_id": ana.id}),
            )
            .await;
        assert_eq!(r.status(), 422);
    }
);

both!(
    nobody_deactivates_themself_nor_leaves_the_agency_without_a_manager,
    |app| async move {
        let me = my_id(app, &app.manager).await;
        let body = expect(deactivate(app, me).await, 409).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("própria conta"),
            "{body}"
        );
        let (other, other_token) = app.user("Outra Gestora", Role::Manager).await;
        // Two managers: the harness's can go, and then the other is the last.
        let r = app
            .post(
                &format!("/api/v1/users/{me}/deactivate"),
                &other_token,
                json!({}),
            )
            .await;
        expect(r, 200).await;
        let r = patch(
            app,
            &format!("/api/v1/users/{other}"),
            &other_token,
            json!({"role": "broker"}),
        )
        .await;
        let body = expect(r, 409).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("última"),
            "{body}"
        );
        // The same guard holds below the API (the command line uses the store).
        let err = app
            .state
            .store
            .deactivate_user(app.agency, other, app.state.clock.now_ms())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("última"), "{err}");
        let still = app.state.store.user(app.agency, other).await.unwrap();
        assert!(still.active && still.role == Role::Manager);
        assert_eq!(me_status(app, &other_token).await, 200);
    }
);

both!(
    a_manager_edits_name_email_role_and_departments,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        let path = format!("/api/v1/users/{}", ana.id);
        let r = patch(
            app,
            &path,
            &app.manager,
            json!({"name": "Ana Paula", "email": " Ana.Paula@Teste.Roleta ",
                   "departments": [app.sales, app.rentals]}),
        )
        .await;
        let out = expect(r, 200).await;
        assert_eq!(out["name"], "Ana Paula");
        assert_eq!(out["email"], "ana.paula@teste.roleta");
        assert_eq!(out["departments"], json!([app.sales, app.rentals]));
        assert_eq!(me_status(app, &ana.token).await, 200, "still signed in");

        // Another's e-mail: a clear 409, nothing changed.
        let (bia, _) = app.user("Bia", Role::Receptionist).await;
        let taken = email_of(app, bia).await;
        let r = patch(
            app,
            &path,
            &app.manager,
            json!({"name": "Outro", "email": taken}),
        )
        .await;
        let body = expect(r, 409).await;
        assert_eq!(
            body["error"]["message"],
            "Este e-mail não pode ser usado; escolha outro."
        );
        assert_eq!(
            app.state.store.user(app.agency, ana.id).await.unwrap().name,
            "Ana Paula"
        );
        for (body, field) in [
            (json!({"email": "sem-arroba"}), "email"),
            (json!({"name": "  "}), "name"),
            (json!({"departments": [999999]}), "departments"),
        ] {
            let r = patch(app, &path, &app.manager, body).await;
            assert_eq!(expect(r, 422).await["error"]["field"], field);
        }
        let r = patch(app, &path, &app.manager, json!({"role": "admin"})).await;
        assert_eq!(r.status(), 403, "only an admin makes an admin");
        let r = patch(
            app,
            "/api/v1/users/999999",
            &app.manager,
            json!({"name": "X"}),
        )
        .await;
        assert_eq!(r.status(), 404);
    }
);

both!(
    a_broker_made_receptionist_leaves_the_rotation_and_their_broker_page,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        let bruno = app.broker("Bruno", &[app.sales]).await;
        let mut wa = app.online(&ana).await;
        let lead = app.lead("Cliente", "(11) 98765-7004").await;
        assert_eq!(wa.offer().await["lead"]["id"], lead);
        let mut wb = app.online(&bruno).await;
        let r = patch(
            app,
            &format!("/api/v1/users/{}", ana.id),
            &app.manager,
            json!({"role": "receptionist"}),
        )
        .await;
        let out = expect(r, 200).await;
        assert_eq!(out["role"], "receptionist");
        assert_eq!(out["departments"], json!([]));
        assert_eq!(wa.close_code().await, 4003);
        assert_eq!(wb.offer().await["lead"]["id"], lead);
        // She works as a receptionist now, with the same session.
        assert_eq!(me_status(app, &ana.token).await, 200);
        let r = app.get("/api/v1/users", &ana.token).await;
        assert_eq!(r.status(), 200);
    }
);

/// A socket the server must close by itself, with no request telling it to: its next check
/// of the session does (ping interval 1 s here).
async fn closes_on_its_own(app: &TestApp, b: &Broker) -> u16 {
    let mut ws = app.online(b).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.close_code().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_notice_changes_made_behind_the_servers_back() {
    for backend in [
        crate::helpers::Backend::Sqlite,
        crate::helpers::Backend::Postgres,
    ] {
        let app = crate::helpers::spawn_app_with(backend, |s| s.ws.ping_interval_seconds = 1).await;
        let ana = app.broker("Ana", &[app.sales]).await;
        // Deactivated from the command line (the store, no HTTP): 4002 at the next ping.
        let mut ws = app.online(&ana).await;
        app.state
            .store
            .deactivate_user(app.agency, ana.id, app.state.clock.now_ms())
            .await
            .unwrap();
        assert_eq!(ws.close_code().await, 4002, "{backend:?}");

        // A personal token revoked while its socket is open: 4003.
        let bruno = app.broker("Bruno", &[app.sales]).await;
        let r = app
            .post(
                "/api/v1/auth/tokens",
                &bruno.token,
                json!({"label": "celular"}),
            )
            .await;
        let t = expect(r, 201).await;
        let by_token = Broker {
            id: bruno.id,
            token: t["token"].as_str().unwrap().to_string(),
        };
        let revoke = {
            let (http, base, id) = (
                app.http.clone(),
                app.base.clone(),
                t["id"].as_i64().unwrap(),
            );
            let token = bruno.token.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let r = http
                    .delete(format!("{base}/api/v1/auth/tokens/{id}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 204);
            }
        };
        let (code, ()) = tokio::join!(closes_on_its_own(&app, &by_token), revoke);
        assert_eq!(code, 4003, "{backend:?}");
        assert_eq!(
            me_status(&app, &bruno.token).await,
            200,
            "his session stays"
        );
        app.finish().await;
    }
}
