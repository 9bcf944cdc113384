//! Rules R1–R9 of the roulette, one scenario each.

use crate::both;
use roleta::model::Role;
use serde_json::json;

// R1: with the roulette off, an API lead is not dispatched; it waits for a person to forward it.
both!(
    r1_roulette_off_leaves_leads_for_a_person_to_forward,
    |app| async move {
        app.settings(json!({"roulette_enabled": false})).await;
        let ana = app.broker("Ana", &[app.sales]).await;
        let mut ws = app.online(&ana).await;
        let lead = app.lead("Cliente Um", "(11) 98765-4321").await;
        let view: serde_json::Value = app
            .get(&format!("/api/v1/leads/{lead}"), &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["state"], "unrouted");
        ws.silent_for(500).await;
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/assign"),
                &app.manager,
                json!({"broker_id": ana.id}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let assigned = ws.recv_type("assigned").await;
        assert_eq!(assigned["lead_id"], lead);
        assert_eq!(app.pending(&ana).await.len(), 1);
        app.settings(json!({"roulette_enabled": true})).await;
        let second = app.lead("Cliente Dois", "(11) 98765-0002").await;
        assert_eq!(ws.offer().await["lead"]["id"], second);
    }
);

// R2 + "back of the rotation": three brokers get three leads in turn, then the first again.
both!(
    r2_new_leads_go_round_the_online_brokers_in_turn,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let b = app.broker("B", &[app.sales]).await;
        let c = app.broker("C", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let mut wb = app.online(&b).await;
        let mut wc = app.online(&c).await;
        let mut order = Vec::new();
        for i in 0..6 {
            app.lead(&format!("Cliente {i}"), &format!("(11) 98765-10{i:02}"))
                .await;
            // Exactly one of them gets it; find who, and have them accept to free them.
            let (who, offer) = tokio::select! {
                o = wa.offer() => ("A", o),
                o = wb.offer() => ("B", o),
                o = wc.offer() => ("C", o),
            };
            let ws = match who {
                "A" => &mut wa,
                "B" => &mut wb,
                _ => &mut wc,
            };
            assert_eq!(ws.accept(&offer).await["type"], "assigned");
            order.push(who);
        }
        assert_eq!(
            order[0..3]
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            3,
            "{order:?}"
        );
        assert_eq!(
            order[0..3],
            order[3..6],
            "the rotation repeats in the same order: {order:?}"
        );
    }
);

// R3: a returning client's own broker gets the first offer, whatever the rotation says.
both!(
    r3_a_returning_client_goes_first_to_their_own_broker,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let b = app.broker("B", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let mut wb = app.online(&b).await;
        let lead = app.lead("Cliente", "(21) 99876-5432").await;
        let (first, offer) = tokio::select! { o = wa.offer() => (0, o), o = wb.offer() => (1, o) };
        let (owner, other) = if first == 0 {
            (&mut wa, &mut wb)
        } else {
            (&mut wb, &mut wa)
        };
        owner.accept(&offer).await;
        // That deal is closed (L8: while it is open, a new contact is written on it).
        app.close_lead(lead).await;
        // The owner just had a turn, so the rotation would pick the other broker; R3 overrides.
        let r = app
            .post_lead(json!({"name": "Cliente de volta", "phone": "+55 21 99876-5432"}))
            .await;
        assert_eq!(r.status(), 202);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["linked_existing_client"], true);
        let again = owner.offer().await;
        assert!(again["lead"]["id"] == body["lead_id"]);
        assert_eq!(owner.accept(&again).await["attendance_kind"], "returning");
        other.silent_for(300).await;
    }
);

// R4: a refusal moves the lead to the next broker; so does silence until the deadline.
both!(r4_refusal_and_silence_move_the_lead_on, |app| async move {
    app.settings(json!({"answer_seconds": 1})).await;
    let a = app.broker("A", &[app.sales]).await;
    let b = app.broker("B", &[app.sales]).await;
    let mut wa = app.online(&a).await;
    let mut wb = app.online(&b).await;
    let lead = app.lead("Cliente", "(11) 98765-2000").await;
    let (first, offer) = tokio::select! { o = wa.offer() => (0, o), o = wb.offer() => (1, o) };
    let (x, y) = if first == 0 {
        (&mut wa, &mut wb)
    } else {
        (&mut wb, &mut wa)
    };
    let closed = x.refuse(&offer).await;
    assert_eq!(closed["outcome"], "refused");
    let second = y.offer().await;
    assert_eq!(second["lead"]["id"], lead);
    // y stays silent: the offer expires and, as x refused in this round, a new round starts.
    let expired = y.recv_type("offer_closed").await;
    assert_eq!(expired["outcome"], "expired");
    let audit: Vec<serde_json::Value> = app
        .get(&format!("/api/v1/leads/{lead}/audit"), &app.manager)
        .await
        .json()
        .await
        .unwrap();
    let decisions: Vec<&str> = audit
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions[..4],
        ["offered", "refused", "offered", "expired"],
        "{decisions:?}"
    );
});

// R5: accepting links the broker to the lead and opens a pending attendance.
both!(
    r5_accept_links_the_broker_and_opens_the_attendance,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let lead = app.lead("Maria", "(11) 98765-3000").await;
        let offer = wa.offer().await;
        let assigned = wa.accept(&offer).await;
        assert_eq!(assigned["type"], "assigned");
        assert_eq!(assigned["attendance_kind"], "new");
        let view: serde_json::Value = app
            .get(&format!("/api/v1/leads/{lead}"), &a.token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["broker_id"], a.id);
        assert_eq!(view["state"], "assigned");
        let pending = app.pending(&a).await;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0]["lead_id"], lead);
        assert_eq!(pending[0]["client_phone"], "+5511987653000");
    }
);

// R6/A3: the attendance stays pending until a contact is logged or the lead is edited.
both!(
    r6_contact_log_or_edit_concludes_the_attendance,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let l1 = app.lead("Um", "(11) 98765-4001").await;
        let o = wa.offer().await;
        wa.accept(&o).await;
        let l2 = app.lead("Dois", "(11) 98765-4002").await;
        let o = wa.offer().await;
        wa.accept(&o).await;
        assert_eq!(app.pending(&a).await.len(), 2);
        let r = app
            .post(
                &format!("/api/v1/leads/{l1}/contacts"),
                &a.token,
                json!({"kind": "call", "note": "Ligou, quer visitar"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let left: Vec<i64> = app
            .pending(&a)
            .await
            .iter()
            .map(|p| p["lead_id"].as_i64().unwrap())
            .collect();
        assert_eq!(left, vec![l2]);
        let r = app
            .http
            .patch(format!("{}/api/v1/leads/{l2}", app.base))
            .bearer_auth(&a.token)
            .json(&json!({"comment": "Prefere contato à tarde"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(app.pending(&a).await.is_empty());
    }
);

// R7: only brokers whose toggle is on get offers; toggling off hands an open offer back.
both!(r7_only_online_brokers_receive_offers, |app| async move {
    let a = app.broker("A", &[app.sales]).await;
    let b = app.broker("B", &[app.sales]).await;
    let mut wa = app.connect(&a).await; // connected, toggle off
    let mut wb = app.online(&b).await;
    for i in 0..2 {
        app.lead(&format!("C{i}"), &format!("(11) 98765-50{i:02}"))
            .await;
        let o = wb.offer().await;
        wb.accept(&o).await;
    }
    wa.silent_for(300).await;
    wa.set_online(true).await;
    let lead = app.lead("C9", "(11) 98765-5099").await;
    let o = wa.offer().await; // A never had a turn: A is first
    wa.set_online(false).await;
    let closed = wa.recv_type("offer_closed").await;
    assert_eq!(closed["outcome"], "cancelled");
    let o2 = wb.offer().await;
    assert_eq!(o2["lead"]["id"], lead);
    assert_ne!(o2["offer_id"], o["offer_id"]);
});

// R8: the offer carries its deadline and seconds left; a reconnect shows the open offer again.
both!(
    r8_offer_shows_a_countdown_and_survives_a_reconnect,
    |app| async move {
        app.settings(json!({"answer_seconds": 45})).await;
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        app.lead("Cliente", "(11) 98765-6000").await;
        let offer = wa.offer().await;
        let left = offer["seconds_left"].as_i64().unwrap();
        assert!((40..=45).contains(&left), "{offer}");
        assert!(
            offer["deadline_ms"].as_i64().unwrap() - offer["server_time_ms"].as_i64().unwrap()
                <= 45_000
        );
        assert!(
            offer["lead"].get("phone").is_none(),
            "no phone in the popup before accepting"
        );
        drop(wa);
        let mut again = app.connect(&a).await;
        let resent = again.offer().await;
        assert_eq!(resent["offer_id"], offer["offer_id"]);
        assert_eq!(again.accept(&resent).await["type"], "assigned");
    }
);

// R9: the manager's answer time and department memberships shape the offers.
both!(
    r9_manager_sets_answer_time_and_departments,
    |app| async move {
        app.settings(json!({"answer_seconds": 12})).await;
        let a = app.broker("A", &[app.rentals]).await;
        let mut wa = app.online(&a).await;
        let r = app
            .post_lead(json!({"name": "Vendas", "phone": "(11) 98765-7000"}))
            .await;
        assert_eq!(r.status(), 202);
        wa.silent_for(300).await; // A is not in Sales
        let r = app
            .put(
                &format!("/api/v1/users/{}/departments", a.id),
                &app.manager,
                json!({"departments": [app.sales]}),
            )
            .await;
        assert_eq!(r.status(), 204);
        let offer = wa.offer().await;
        let left = offer["seconds_left"].as_i64().unwrap();
        assert!((10..=12).contains(&left), "{offer}");
        let (_, other_manager) = app.user("outro", Role::Receptionist).await;
        let r = app
            .put(
                "/api/v1/settings/roulette",
                &other_manager,
                json!({"answer_seconds": 5}),
            )
            .await;
        assert_eq!(r.status(), 403);
    }
);
