//! Rules A1–A4: the receptionist's forward and the pending-attendances list.

use crate::both;
use roleta::model::Role;
use serde_json::json;

// A1: a receptionist registers a walk-in client and forwards them to a broker.
both!(
    a1_receptionist_forwards_a_client_to_a_broker,
    |app| async move {
        let (_, recep) = app.user("Recepção", Role::Receptionist).await;
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.connect(&a).await;
        let r = app
            .post(
                "/api/v1/reception/clients",
                &recep,
                json!({
                    "name": "João Balcão", "phone": "(11) 3333-4444", "broker_id": a.id
                }),
            )
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let assigned = wa.recv_type("assigned").await;
        let pending = app.pending(&a).await;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0]["lead_id"], assigned["lead_id"]);
        assert_eq!(pending[0]["client_name"], "João Balcão");
        assert_eq!(pending[0]["channel"], "walk_in");
        assert_eq!(pending[0]["kind"], "new");
        // Without a broker the client goes to the roulette.
        let b = app.broker("B", &[app.sales]).await;
        let mut wb = app.online(&b).await;
        let r = app
            .post(
                "/api/v1/reception/clients",
                &recep,
                json!({"name": "Sem corretor", "phone": "(11) 3333-5555"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        wb.offer().await;
        // A broker may not use the reception form.
        let r = app
            .post(
                "/api/v1/reception/clients",
                &a.token,
                json!({"name": "x", "phone": "(11) 3333-6666"}),
            )
            .await;
        assert_eq!(r.status(), 403);
    }
);

// A2: each row carries client, interest profile built from the property, property, appraisal
// address, condominium, channel and attendance type.
both!(
    a2_pending_rows_carry_the_interest_profile_and_channel,
    |app| async move {
        let r = app.post("/api/v1/properties", &app.manager, json!({
        "code": "AP-101", "kind": "apartment", "purpose": "sale", "price_cents": 85000000,
        "neighbourhood": "Pinheiros", "address": "Rua dos Pinheiros, 100", "bedrooms": 3,
        "parking_spaces": 2, "status": "available", "owner_client_id": null
    })).await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let fb = app.new_api_key(app.agency, "facebook").await;
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(&fb)
            .json(&json!({
                "name": "Paula", "phone": "(11) 97777-1234", "property_code": "AP-101",
                "appraisal_address": "Rua Augusta, 5", "condominium": "Condomínio Jardim"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let o = wa.offer().await;
        assert_eq!(o["lead"]["interest_neighbourhood"], "Pinheiros");
        wa.accept(&o).await;
        let row = &app.pending(&a).await[0];
        assert_eq!(row["channel"], "lf");
        assert_eq!(row["property_code"], "AP-101");
        assert_eq!(row["interest_kind"], "apartment");
        assert_eq!(row["interest_price_cents"], 85000000);
        assert_eq!(row["interest_bedrooms"], 3);
        assert_eq!(row["interest_parking"], 2);
        assert_eq!(row["appraisal_address"], "Rua Augusta, 5");
        assert_eq!(row["condominium"], "Condomínio Jardim");
        assert_eq!(row["kind"], "new");
    }
);

// A4: an owner's transfer is pending only if the owner is recent or has a property on sale.
both!(
    a4_owner_transfers_are_pending_only_when_recent_or_on_the_market,
    |app| async move {
        let (_, recep) = app.user("Recepção", Role::Receptionist).await;
        let a = app.broker("A", &[app.sales]).await;
        let forward = |phone: &'static str| {
            app.post(
                "/api/v1/reception/clients",
                &recep,
                json!({
                    "name": "Proprietário", "phone": phone, "client_role": "owner",
                    "broker_id": a.id, "attendance_kind": "transfer"
                }),
            )
        };
        let r = forward("(11) 96666-0001").await;
        assert_eq!(r.status(), 201);
        let recent: serde_json::Value = r.json().await.unwrap();
        assert_eq!(app.pending(&a).await.len(), 1, "a recent owner is pending");
        // Make the owner 40 days old: no longer pending.
        let old = app.state.clock.now_ms() - 40 * 86_400_000;
        app.exec(&format!(
            "UPDATE clients SET created_at_ms = {old} WHERE id = {}",
            recent["client_id"]
        ))
        .await;
        assert!(
            app.pending(&a).await.is_empty(),
            "an old owner without a property on the market is not pending"
        );
        // The same old owner with an available property is pending again.
        let r = app.post("/api/v1/properties", &app.manager, json!({
        "code": "CASA-9", "kind": "house", "purpose": "sale", "price_cents": null, "neighbourhood": null,
        "address": "Rua X, 9", "bedrooms": null, "parking_spaces": null, "status": "available",
        "owner_client_id": recent["client_id"]
    })).await;
        assert_eq!(r.status(), 201);
        assert_eq!(app.pending(&a).await.len(), 1);
        app.exec("UPDATE properties SET status = 'sold'").await;
        assert!(
            app.pending(&a).await.is_empty(),
            "a sold property does not count"
        );
    }
);
