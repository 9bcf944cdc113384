//! Suspending an agency through the platform API (docs/PLATFORM.md): its sources get 403, its
//! users are signed out and cannot sign in, the offer that was out is handed back and its
//! leads wait; another agency works throughout; reactivation resumes where it stopped.

use crate::both;
use crate::helpers::{Broker, TestApp, PASSWORD};
use roleta::model::Role;
use serde_json::{json, Value};

/// A second agency with its own department, source, manager and online broker.
struct Other {
    agency: roleta::model::AgencyId,
    key: String,
    manager: String,
    broker: Broker,
}

async fn other_agency(app: &TestApp) -> Other {
    let store = &app.state.store;
    let now = app.state.clock.now_ms();
    let agency = store.create_agency("Vizinha", now).await.unwrap();
    let dept = store
        .create_department(agency, "Vendas", true, now)
        .await
        .unwrap();
    let key = app.new_api_key(agency, "portal").await;
    let manager = app
        .user_in(agency, "gestora-vizinha", Role::Manager)
        .await
        .1;
    let (id, token) = app.user_in(agency, "corretor-vizinho", Role::Broker).await;
    store
        .set_broker_departments(agency, roleta::model::BrokerId(id), &[dept])
        .await
        .unwrap();
    Other {
        agency,
        key,
        manager,
        broker: Broker { id, token },
    }
}

async fn post_with(app: &TestApp, key: &str, name: &str, phone: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/leads", app.base))
        .bearer_auth(key)
        .json(&json!({"name": name, "phone": phone}))
        .send()
        .await
        .unwrap()
}

async fn email_of(app: &TestApp, agency: roleta::model::AgencyId, id: i64) -> String {
    app.state.store.user(agency, id).await.unwrap().email
}

both!(
    a_suspended_agency_is_signed_out_and_refused_and_another_is_untouched,
    |app| async move {
        let other = other_agency(app).await;
        let mut other_ws = app.online(&other.broker).await;
        let b = app.broker("corretora", &[app.sales]).await;
        let email = email_of(app, app.agency, b.id).await;
        let mut ws = app.online(&b).await;
        let held = app.lead("Cliente Em Oferta", "11987650301").await;
        let offer = ws.offer().await;

        let r = app
            .platform(
                reqwest::Method::POST,
                &format!("/agencies/{}/suspend", app.agency),
                None,
            )
            .await;
        assert_eq!(r.status(), 200);
        let out: Value = r.json().await.unwrap();
        assert!(out["agency"]["suspended_at_ms"].is_i64(), "{out}");
        assert_eq!(out["suspension"]["offers_cancelled"], 1);
        assert_eq!(out["suspension"]["leads_waiting"], 1);
        assert!(
            out["suspension"]["sessions_ended"].as_u64().unwrap() >= 2,
            "{out}"
        );

        // The popup closes at once, then the socket (4004); the lead waits, held by nobody.
        let closed = ws.recv_type("offer_closed").await;
        assert_eq!(closed["offer_id"], offer["offer_id"]);
        assert_eq!(closed["outcome"], "cancelled");
        assert_eq!(ws.close_code().await, 4004);
        let state = app.scalar(&format!("SELECT COUNT(*) FROM leads WHERE id = {held} AND state = 'waiting' AND broker_id IS NULL")).await;
        assert_eq!(state, 1);

        // Its source: 403 with a message, the lead not kept.
        let before = app.scalar("SELECT COUNT(*) FROM leads").await;
        let r = app
            .post_lead(json!({"name": "Recusado", "phone": "11987650302"}))
            .await;
        assert_eq!(r.status(), 403);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains("suspensa"),
            "{e}"
        );
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, before);

        // Its users: signed out everywhere, and sign-in refused once the password is right.
        for token in [&b.token, &app.manager] {
            assert_eq!(app.get("/api/v1/me", token).await.status(), 401);
        }
        let r = app.login(&email, PASSWORD).await;
        assert_eq!(r.status(), 403);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains("suspenso"),
            "{e}"
        );
        assert_eq!(app.login(&email, "wrong-password").await.status(), 401);

        // The other agency: its source ingests, its manager works, its broker gets the offer.
        let r = post_with(app, &other.key, "Cliente Vizinho", "11987650303").await;
        assert_eq!(r.status(), 202);
        assert_eq!(app.get("/api/v1/me", &other.manager).await.status(), 200);
        let o = other_ws.offer().await;
        assert_eq!(o["lead"]["client_name"], "Cliente Vizinho");
        other_ws.accept(&o).await;
        let list: Value = app
            .platform(reqwest::Method::GET, "/agencies", None)
            .await
            .json()
            .await
            .unwrap();
        let vizinha = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == other.agency.0)
            .unwrap();
        assert!(vizinha["suspended_at_ms"].is_null());

        // Suspending again changes nothing.
        let again: Value = app
            .platform(
                reqwest::Method::POST,
                &format!("/agencies/{}/suspend", app.agency),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            again["agency"]["suspended_at_ms"],
            out["agency"]["suspended_at_ms"]
        );
        assert_eq!(again["suspension"]["offers_cancelled"], 0);
        // The audit says why the offer ended.
        let why = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM dispatch_audit WHERE lead_id = {held} AND decision = 'cancelled' \
                 AND reason = 'agency suspended'"
            ))
            .await;
        assert_eq!(why, 1);
    }
);

both!(
    reactivation_lets_users_back_in_and_the_waiting_leads_go_out,
    |app| async move {
        let b = app.broker("corretor", &[app.sales]).await;
        let email = email_of(app, app.agency, b.id).await;
        // Nobody online: the lead waits when the agency is suspended.
        let waiting = app.lead("Cliente Antigo", "11987650401").await;
        let personal = roleta::auth::new_token("rt_");
        let user = app.state.store.user(app.agency, b.id).await.unwrap();
        app.state
            .store
            .create_session(
                &user,
                &roleta::auth::token_hash(&personal),
                "personal",
                Some("crm"),
                0,
                None,
            )
            .await
            .unwrap();
        assert_eq!(app.get("/api/v1/me", &personal).await.status(), 200);
        app.platform(
            reqwest::Method::POST,
            &format!("/agencies/{}/suspend", app.agency),
            None,
        )
        .await;
        // Personal tokens end with the sessions.
        assert_eq!(app.get("/api/v1/me", &b.token).await.status(), 401);
        assert_eq!(app.get("/api/v1/me", &personal).await.status(), 401);
        assert_eq!(
            app.post_lead(json!({"name": "X", "phone": "11987650402"}))
                .await
                .status(),
            403
        );

        let r = app
            .platform(
                reqwest::Method::POST,
                &format!("/agencies/{}/reactivate", app.agency),
                None,
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r.json::<Value>().await.unwrap()["suspended_at_ms"].is_null());
        // Old sessions stay ended; signing in works again.
        assert_eq!(app.get("/api/v1/me", &b.token).await.status(), 401);
        let r = app.login(&email, PASSWORD).await;
        assert_eq!(r.status(), 200);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let fresh = Broker { id: b.id, token };
        let mut ws = app.online(&fresh).await;
        let offer = ws.offer().await;
        assert_eq!(
            offer["lead"]["id"], waiting,
            "the lead that waited goes out first"
        );
        ws.accept(&offer).await;
        assert_eq!(
            app.post_lead(json!({"name": "Novo", "phone": "11987650403"}))
                .await
                .status(),
            202
        );
        let second = ws.offer().await;
        assert_eq!(second["lead"]["client_name"], "Novo");
        ws.refuse(&second).await;
        let r = app
            .platform(reqwest::Method::POST, "/agencies/999999/reactivate", None)
            .await;
        assert_eq!(r.status(), 404);
    }
);

both!(
    suspended_from_the_command_line_no_offer_goes_out_even_to_a_connected_broker,
    |app| async move {
        // The command line suspends through the store alone: the server's dispatcher is not
        // told, and still holds the agency with brokers connected.
        app.settings(json!({"answer_seconds": 1})).await;
        let b1 = app.broker("primeira", &[app.sales]).await;
        let b2 = app.broker("segunda", &[app.sales]).await;
        let mut ws1 = app.online(&b1).await;
        let lead = app.lead("Cliente", "11987650501").await;
        let offer = ws1.offer().await;
        let mut ws2 = app.online(&b2).await;
        let s = app
            .state
            .store
            .suspend_agency(app.agency, app.state.clock.now_ms())
            .await
            .unwrap();
        assert_eq!(s.offers_cancelled, 1);
        // When the offer's timer fires the dispatcher's write is refused: it lets the agency
        // go, closing the popup, and offers the lead to nobody.
        let closed = ws1.recv_type("offer_closed").await;
        assert_eq!(closed["offer_id"], offer["offer_id"]);
        assert_eq!(closed["outcome"], "cancelled");
        ws2.silent_for(1500).await;
        let offers = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM offers WHERE lead_id = {lead}"
            ))
            .await;
        assert_eq!(offers, 1, "no second offer");
        let waiting = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM leads WHERE id = {lead} AND state = 'waiting'"
            ))
            .await;
        assert_eq!(waiting, 1);
    }
);

/// Suspended from the command line, no close reaches the server's sockets: each finds its
/// session gone at its next ping and closes with the suspension's code.
async fn sockets_close_at_the_next_ping(backend: crate::helpers::Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.ws.ping_interval_seconds = 1).await;
    let b = app.broker("corretora", &[app.sales]).await;
    let mut ws = app.online(&b).await;
    let now = app.state.clock.now_ms();
    app.state
        .store
        .suspend_agency(app.agency, now)
        .await
        .unwrap();
    assert_eq!(ws.close_code().await, 4004);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_from_the_command_line_sockets_close_at_the_next_ping_sqlite() {
    sockets_close_at_the_next_ping(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_from_the_command_line_sockets_close_at_the_next_ping_postgres() {
    sockets_close_at_the_next_ping(crate::helpers::Backend::Postgres).await;
}
