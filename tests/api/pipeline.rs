//! Rules L1–L5: lead types and transitions, the phone match, the ad campaign report, due date
//! and urgency, lead numbers. L6 (notifications) is in `notifications.rs`.

use crate::both;
use crate::crm_helpers::*;
use roleta::model::Role;
use serde_json::{json, Value};
use std::collections::HashSet;

async fn lead_view(app: &crate::helpers::TestApp, id: &Value) -> Value {
    expect(
        app.get(&format!("/api/v1/leads/{id}"), &app.manager).await,
        200,
    )
    .await
}

// L1: each type has its initial status and allowed transitions; others are refused clearly.
both!(
    l1_lead_types_allow_only_their_transitions,
    |app| async move {
        let types = expect(app.get("/api/v1/lead-types", &app.manager).await, 200).await;
        assert_eq!(types[0]["name"], "Padrão");
        assert_eq!(types[0]["is_default"], true);
        let r = app
            .post_lead(json!({"name": "Maria", "phone": "(11) 91234-0001"}))
            .await;
        let id = expect(r, 202).await["lead_id"].clone();
        let v = lead_view(app, &id).await;
        assert_eq!(v["status"], "Novo");
        assert_eq!(v["next_statuses"], json!(["Em atendimento", "Perdido"]));
        let r = app
            .post(
                &format!("/api/v1/leads/{id}/status"),
                &app.manager,
                json!({"status": "Fechado"}),
            )
            .await;
        let e = expect(r, 409).await;
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("\"Novo\" to \"Fechado\"") && msg.contains("Em atendimento, Perdido"),
            "{msg}"
        );
        let r = app
            .post(
                &format!("/api/v1/leads/{id}/status"),
                &app.manager,
                json!({"status": "Em atendimento"}),
            )
            .await;
        assert_eq!(expect(r, 200).await["status"], "Em atendimento");

        // A type of the manager's own, with its own initial status.
        let def = json!({"name": "Locação", "initial_status": "Triagem",
        "statuses": [{"name": "Triagem"}, {"name": "Visita"}, {"name": "Contrato", "is_final": true}],
        "transitions": [{"from": "Triagem", "to": "Visita"}, {"from": "Visita", "to": "Contrato"}]});
        let t = expect(
            app.post("/api/v1/lead-types", &app.manager, def.clone())
                .await,
            201,
        )
        .await;
        expect(app.post("/api/v1/lead-types", &app.manager, def).await, 409).await;
        let r = app
            .post_lead(json!({"name": "João", "phone": "(11) 91234-0002", "lead_type_id": t["id"]}))
            .await;
        let id2 = expect(r, 202).await["lead_id"].clone();
        let v = lead_view(app, &id2).await;
        assert_eq!(
            (v["type_name"].as_str(), v["status"].as_str()),
            (Some("Locação"), Some("Triagem"))
        );
        let r = app
            .post(
                &format!("/api/v1/leads/{id2}/status"),
                &app.manager,
                json!({"status": "Contrato"}),
            )
            .await;
        expect(r, 409).await;
        // Bad definitions and unknown types are refused.
        let bad = json!({"name": "X", "initial_status": "Nada", "statuses": [{"name": "A"}], "transitions": []});
        assert_eq!(
            expect(app.post("/api/v1/lead-types", &app.manager, bad).await, 422).await["error"]
                ["field"],
            "initial_status"
        );
        let bad = json!({"name": "Y", "initial_status": "A", "statuses": [{"name": "A"}], "transitions": [{"from": "A", "to": "Z"}]});
        expect(app.post("/api/v1/lead-types", &app.manager, bad).await, 422).await;
        let r = app
            .post_lead(json!({"name": "Z", "phone": "(11) 91234-0003", "lead_type_id": 99999}))
            .await;
        assert_eq!(expect(r, 422).await["error"]["field"], "lead_type_id");
        // A broker moves only their own leads.
        let a = app.broker("Ana", &[app.sales]).await;
        let r = app
            .post(
                &format!("/api/v1/leads/{id2}/status"),
                &a.token,
                json!({"status": "Visita"}),
            )
            .await;
        expect(r, 404).await;
    }
);

// L2: an exact phone match offers to link instead of duplicating the client.
both!(
    l2_a_matching_phone_links_instead_of_duplicating,
    |app| async move {
        let c = client(app, "Maria Souza", "(11) 98765-4321").await;
        let m = expect(
            app.get(
                "/api/v1/clients/match?phone=%2B55%2011%2098765%204321",
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(m["client"]["id"], c);
        assert_eq!(m["client"]["name"], "Maria Souza");
        let none = expect(
            app.get(
                "/api/v1/clients/match?phone=(11)%2098765-0000",
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        assert!(none["client"].is_null());
        expect(
            app.get("/api/v1/clients/match?phone=abc", &app.manager)
                .await,
            422,
        )
        .await;
        // Declining the link refuses the lead rather than duplicating the client.
        let body =
            |link: bool| json!({"name": "Maria S.", "phone": "11987654321", "link_client": link});
        let e = expect(
            app.post("/api/v1/reception/clients", &app.manager, body(false))
                .await,
            409,
        )
        .await;
        assert!(e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Maria Souza"));
        let ok = expect(
            app.post("/api/v1/reception/clients", &app.manager, body(true))
                .await,
            201,
        )
        .await;
        assert_eq!(ok["client_id"], c);
        assert_eq!(ok["linked_existing_client"], true);
        assert_eq!(
            search(app, json!({"phone": "(11) 98765-4321"})).await.len(),
            1
        );
    }
);

// L3: the ad campaign feeds the marketing-efficiency report.
both!(
    l3_marketing_report_per_ad_campaign_and_source,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        for (i, camp) in ["Black Friday", "Black Friday", "Verão"].iter().enumerate() {
            let r = app.post_lead(json!({"name": format!("L{i}"), "phone": format!("(11) 93456-000{i}"), "ad_campaign": camp})).await;
            expect(r, 202).await;
        }
        // One Black Friday lead taken by a broker and concluded with a contact.
        let r = app
        .post("/api/v1/reception/clients", &app.manager,
              json!({"name": "Balcão", "phone": "(11) 93456-0009", "ad_campaign": "Black Friday", "broker_id": a.id}))
        .await;
        let lead = expect(r, 201).await["lead_id"].clone();
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/contacts"),
                &a.token,
                json!({"kind": "call", "note": "falei"}),
            )
            .await;
        expect(r, 201).await;
        let rep = expect(
            app.get("/api/v1/reports/marketing", &app.manager).await,
            200,
        )
        .await;
        let row = |camp: &str, source: &str| {
            rep.as_array()
                .unwrap()
                .iter()
                .find(|r| r["ad_campaign"] == camp && r["source"] == source)
                .cloned()
                .unwrap()
        };
        let bf = row("Black Friday", "portal");
        assert_eq!(
            (
                bf["leads"].as_i64(),
                bf["accepted"].as_i64(),
                bf["concluded"].as_i64()
            ),
            (Some(2), Some(0), Some(0))
        );
        let desk = row("Black Friday", "reception");
        assert_eq!(
            (
                desk["leads"].as_i64(),
                desk["accepted"].as_i64(),
                desk["concluded"].as_i64()
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(row("Verão", "portal")["leads"], 1);
        let (_, recep) = app.user("Recepção", Role::Receptionist).await;
        expect(app.get("/api/v1/reports/marketing", &recep).await, 403).await;
    }
);

// L4: due date with overdue badge and how long, urgent, location, responsible manager.
both!(
    l4_due_date_overdue_urgent_location_and_manager,
    |app| async move {
        let (mgr, _) = app.user("Gerente Paula", Role::Manager).await;
        let r = app
        .post("/api/v1/reception/clients", &app.manager,
              json!({"name": "Atrasado", "phone": "(11) 94567-0001", "due_at": day(-2), "urgent": true, "location": "Moema"}))
        .await;
        let late = expect(r, 201).await["lead_id"].clone();
        let v = lead_view(app, &late).await;
        assert_eq!(v["urgent"], 1);
        assert_eq!(v["location"], "Moema");
        let overdue = v["overdue_ms"].as_i64().expect("overdue");
        assert!(overdue > 24 * 3_600_000, "about a day and more: {overdue}");
        let me = expect(app.get("/api/v1/me", &app.manager).await, 200).await;
        assert_eq!(v["manager_id"], me["user"]["id"], "the creator by default");
        let r = app
        .post("/api/v1/reception/clients", &app.manager,
              json!({"name": "No prazo", "phone": "(11) 94567-0002", "due_at": day(3), "manager_id": mgr}))
        .await;
        let fine = expect(r, 201).await["lead_id"].clone();
        let v = lead_view(app, &fine).await;
        assert!(v["overdue_ms"].is_null());
        assert_eq!(v["manager_name"], "Gerente Paula");
        let list = expect(
            app.get("/api/v1/leads?overdue=true", &app.manager).await,
            200,
        )
        .await;
        let ids: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].clone())
            .collect();
        assert_eq!(ids, vec![late.clone()]);
        let urgent = expect(
            app.get("/api/v1/leads?urgent=true", &app.manager).await,
            200,
        )
        .await;
        assert_eq!(urgent.as_array().unwrap().len(), 1);
        // A final status ends the overdue badge; clearing the due date too.
        for s in ["Perdido"] {
            let r = app
                .post(
                    &format!("/api/v1/leads/{late}/status"),
                    &app.manager,
                    json!({"status": s}),
                )
                .await;
            expect(r, 200).await;
        }
        assert!(lead_view(app, &late).await["overdue_ms"].is_null());
        let r = app
            .post(
                &format!("/api/v1/leads/{fine}/pipeline"),
                &app.manager,
                json!({"due_at": day(-1)}),
            )
            .await;
        assert!(expect(r, 200).await["overdue_ms"].as_i64().is_some());
        let r = app
            .post(
                &format!("/api/v1/leads/{fine}/pipeline"),
                &app.manager,
                json!({"clear_due": true, "urgent": true}),
            )
            .await;
        let v = expect(r, 200).await;
        assert!(v["due_at_ms"].is_null() && v["urgent"] == 1);
        let r = app
            .post(
                &format!("/api/v1/leads/{fine}/pipeline"),
                &app.manager,
                json!({"manager_id": 424242}),
            )
            .await;
        assert_eq!(expect(r, 422).await["error"]["field"], "manager_id");
        let r = app
            .post(
                &format!("/api/v1/leads/{fine}/pipeline"),
                &app.manager,
                json!({"due_at": "amanhã"}),
            )
            .await;
        assert_eq!(expect(r, 422).await["error"]["field"], "due_at");
    }
);

// L5: numbers from the agency's template, unique when many leads arrive at once.
both!(
    l5_two_leads_numbered_at_once_get_different_numbers,
    |app| async move {
        app.settings(json!({"lead_number_template": "IMB-{year}-{seq:04}"}))
            .await;
        let posts = (0..24).map(|i| {
        let app = &app;
        async move {
            let r = app.post_lead(json!({"name": format!("Corrida {i}"), "phone": format!("(11) 95678-{i:04}")})).await;
            expect(r, 202).await["number"].as_str().unwrap().to_string()
        }
    });
        let numbers = futures_util::future::join_all(posts).await;
        let unique: HashSet<&String> = numbers.iter().collect();
        assert_eq!(unique.len(), 24);
        assert!(
            numbers
                .iter()
                .all(|n| n.starts_with("IMB-") && n.len() == "IMB-2026-0001".len()),
            "{numbers:?}"
        );
    }
);
