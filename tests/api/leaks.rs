//! Answers that must not tell a user about what they may not see: whether an e-mail address
//! belongs to another agency, and whether a lead id is another broker's or does not exist.

use crate::both;
use crate::crm_helpers::*;
use roleta::model::Role;
use serde_json::{json, Value};

// E-mails are unique across Roleta (sign-in is by e-mail alone): a taken address answers the
// same 409 whether it is taken in the manager's own agency or in another, naming neither.
both!(
    a_manager_cannot_tell_another_agencys_email_from_their_own,
    |app| async move {
        let store = &app.state.store;
        let now = app.state.clock.now_ms();
        let other = store
            .create_agency("Imobiliária Vizinha", now)
            .await
            .unwrap();
        store
            .create_user(
                other,
                "vizinha@teste.roleta",
                "Vera Vizinha",
                Role::Broker,
                "x",
                false,
                now,
            )
            .await
            .unwrap();
        store
            .create_user(
                app.agency,
                "nossa@teste.roleta",
                "Nina Nossa",
                Role::Broker,
                "x",
                false,
                now,
            )
            .await
            .unwrap();
        let create = |email: &str| json!({"email": email, "name": "Novo Corretor", "role": "broker", "password": "senha-forte-1"});
        let foreign = app
            .post(
                "/api/v1/users",
                &app.manager,
                create("Vizinha@teste.roleta"),
            )
            .await;
        let foreign: Value = expect(foreign, 409).await;
        let own = app
            .post("/api/v1/users", &app.manager, create("nossa@teste.roleta"))
            .await;
        let own: Value = expect(own, 409).await;
        assert_eq!(foreign, own, "the same answer for either agency");
        assert_eq!(
            foreign["error"]["message"],
            "Este e-mail não pode ser usado; escolha outro."
        );
        let text = foreign.to_string();
        assert!(
            !text.contains("Vizinha") && !text.contains("Vera"),
            "{text}"
        );
        // A free address is still taken at once.
        let free = app
            .post("/api/v1/users", &app.manager, create("livre@teste.roleta"))
            .await;
        expect(free, 201).await;
        let n = app
            .scalar("SELECT COUNT(*) FROM users WHERE email = 'vizinha@teste.roleta'")
            .await;
        assert_eq!(n, 1, "the other agency's user is untouched");
    }
);

// A broker's work on a lead: another broker's lead answers exactly as a missing one (404), and
// nothing is written.
both!(
    another_brokers_lead_looks_like_a_missing_one,
    |app| async move {
        let ana = app.broker("Ana", &[app.sales]).await;
        let bruno = app.broker("Bruno", &[app.sales]).await;
        let r = app
            .post(
                "/api/v1/reception/clients",
                &app.manager,
                json!({"name": "Carla", "phone": "(11) 91234-0000", "broker_id": ana.id}),
            )
            .await;
        let lead = expect(r, 201).await["lead_id"].as_i64().unwrap();
        let missing = lead + 1000;
        for id in [lead, missing] {
            let r = app
                .post(
                    &format!("/api/v1/leads/{id}/contacts"),
                    &bruno.token,
                    json!({"kind": "call", "note": "tentei"}),
                )
                .await;
            assert_eq!(
                expect(r, 404).await["error"]["code"],
                "not_found",
                "lead {id}"
            );
            let r = app
                .http
                .patch(format!("{}/api/v1/leads/{id}", app.base))
                .bearer_auth(&bruno.token)
                .json(&json!({"comment": "meu agora"}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                expect(r, 404).await["error"]["code"],
                "not_found",
                "lead {id}"
            );
            let moves = [
                ("status", json!({"status": "Em atendimento"})),
                ("pipeline", json!({})),
            ];
            for (route, body) in moves {
                let r = app
                    .post(&format!("/api/v1/leads/{id}/{route}"), &bruno.token, body)
                    .await;
                assert_eq!(r.status(), 404, "{route} of lead {id}");
            }
        }
        let logs = app.scalar("SELECT COUNT(*) FROM contact_logs").await;
        assert_eq!(logs, 0, "nothing was logged");
        let v = expect(
            app.get(&format!("/api/v1/leads/{lead}"), &ana.token).await,
            200,
        )
        .await;
        assert_eq!(v["comment"], Value::Null, "nothing was edited");
    }
);
