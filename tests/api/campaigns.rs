//! Rules O1–O3 and O6: active-offer campaigns, the manager's side (the broker's calling flow,
//! O4–O5, is in `campaign_calls.rs`).

use crate::both;
use crate::crm_helpers::*;
use roleta::model::Role;
use serde_json::json;
use std::collections::HashSet;

// O6: the feature is switched on per agency; until then every campaign route says so.
both!(o6_campaigns_are_switched_on_per_agency, |app| async move {
    let s = expect(app.get("/api/v1/settings/crm", &app.manager).await, 200).await;
    assert_eq!(s["active_offer_enabled"], false);
    assert_eq!(s["quarantine_days"], 10);
    let r = app.get("/api/v1/campaigns", &app.manager).await;
    let e = expect(r, 403).await;
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not enabled"));
    let a = app.broker("A", &[app.sales]).await;
    expect(app.get("/api/v1/me/campaigns", &a.token).await, 403).await;
    enable_campaigns(app).await;
    expect(app.get("/api/v1/campaigns", &app.manager).await, 200).await;
    // Only managers change it.
    let r = app
        .put(
            "/api/v1/settings/crm",
            &a.token,
            json!({"active_offer_enabled": false, "quarantine_days": 1}),
        )
        .await;
    expect(r, 403).await;
    let r = app
        .put(
            "/api/v1/settings/crm",
            &app.manager,
            json!({"active_offer_enabled": true, "quarantine_days": -1}),
        )
        .await;
    expect(r, 422).await;
});

// O1: name, expiry and participating brokers are required; property and description optional.
both!(
    o1_a_campaign_needs_name_expiry_and_brokers,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let (recep, _) = app.user("Recepção", Role::Receptionist).await;
        let bad = [
            (
                json!({"name": " ", "expires_at": day(5), "brokers": [a.id]}),
                "name",
            ),
            (
                json!({"name": "X", "expires_at": day(-1), "brokers": [a.id]}),
                "expires_at",
            ),
            (
                json!({"name": "X", "expires_at": "31/12/2026", "brokers": [a.id]}),
                "expires_at",
            ),
            (
                json!({"name": "X", "expires_at": day(5), "brokers": []}),
                "brokers",
            ),
            (
                json!({"name": "X", "expires_at": day(5), "brokers": [recep]}),
                "brokers",
            ),
            (
                json!({"name": "X", "expires_at": day(5), "brokers": [a.id], "property_id": 999}),
                "property_id",
            ),
        ];
        for (body, field) in bad {
            let e = expect(app.post("/api/v1/campaigns", &app.manager, body).await, 422).await;
            assert_eq!(e["error"]["field"], field, "{e}");
        }
        let r = app
        .post(
            "/api/v1/campaigns",
            &app.manager,
            json!({"name": "Lançamento Parque", "expires_at": day(20), "development": "Residencial Parque",
                   "description": "Ofereça o decorado", "brokers": [a.id]}),
        )
        .await;
        let k = expect(r, 201).await;
        assert_eq!(k["name"], "Lançamento Parque");
        assert_eq!(k["development"], "Residencial Parque");
        assert_eq!(k["brokers"][0]["id"], a.id);
        assert_eq!(k["expired"], false);
        // A participating broker sees it; another does not.
        let mine = expect(app.get("/api/v1/me/campaigns", &a.token).await, 200).await;
        assert_eq!(mine.as_array().unwrap().len(), 1);
        let theirs = expect(app.get("/api/v1/me/campaigns", &b.token).await, 200).await;
        assert!(theirs.as_array().unwrap().is_empty());
        let r = app
            .post(
                &format!("/api/v1/campaigns/{}/next", k["id"]),
                &b.token,
                json!({}),
            )
            .await;
        expect(r, 404).await;
    }
);

// O2: the preview counts selected, quarantined, already in, to add, active clients, and the
// linked brokers outside the campaign; confirming writes exactly that.
both!(o2_the_preview_is_what_confirming_writes, |app| async move {
    enable_campaigns(app).await;
    let a = app.broker("Ana", &[app.sales]).await;
    let b = app.broker("Bruno", &[app.sales]).await;
    let x = app.broker("Xavier", &[app.sales]).await;
    let other = campaign(app, "Outra", &[&b]).await;
    let k = campaign(app, "Oferta", &[&a, &b]).await;
    let c1 = client(app, "Cliente 1", "(11) 91111-0001").await;
    let c2 = client(app, "Cliente 2", "(11) 91111-0002").await;
    let c3 = linked_client(app, "Cliente da Ana", "(11) 91111-0003", &a).await;
    let c4 = linked_client(app, "Cliente do Xavier", "(11) 91111-0004", &x).await;
    let c5 = client(app, "Já na campanha", "(11) 91111-0005").await;
    let c6 = client(app, "Em quarentena", "(11) 91111-0006").await;
    add_clients(app, k, &[c5], "any").await;
    add_clients(app, other, &[c6], "any").await;

    let sel = json!({"ids": [c1, c2, c3, c4, c5, c6]});
    let p = preview(app, k, &sel).await;
    assert_eq!(p["selected"], 6);
    assert_eq!(p["in_quarantine"], 1);
    assert_eq!(p["already_in_campaign"], 1);
    assert_eq!(p["to_add"], 4);
    assert_eq!(p["active_clients"], 2);
    assert_eq!(
        p["outside_brokers"],
        json!([{"id": x.id, "name": "Xavier", "clients": 1}])
    );
    assert_eq!(p["campaign"]["name"], "Oferta");
    // The preview wrote nothing.
    let again = expect(
        app.get(&format!("/api/v1/campaigns/{k}"), &app.manager)
            .await,
        200,
    )
    .await;
    assert_eq!(again["queued"], 1);

    // Data changes between preview and confirmation: refused, nothing written.
    add_clients(app, other, &[c2], "any").await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{k}/clients"),
            &app.manager,
            json!({"selection": sel, "route": "own", "token": p["token"]}),
        )
        .await;
    let e = expect(r, 409).await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed since the preview"),
        "{e}"
    );
    let unchanged = expect(
        app.get(&format!("/api/v1/campaigns/{k}"), &app.manager)
            .await,
        200,
    )
    .await;
    assert_eq!(unchanged["queued"], 1);

    // Preview again and confirm, routing each to their own broker and adding Xavier.
    let p = preview(app, k, &sel).await;
    assert_eq!(p["in_quarantine"], 2);
    assert_eq!(p["to_add"], 3);
    let r = app
        .post(
            &format!("/api/v1/campaigns/{k}/clients"),
            &app.manager,
            json!({"selection": sel, "route": "own", "add_brokers": [x.id], "token": p["token"]}),
        )
        .await;
    let done = expect(r, 201).await;
    assert_eq!(done["added"], 3);
    assert_eq!(done["routed_to_own_broker"], 2);
    // Xavier now takes part and is handed his own client first; Bruno never gets Ana's.
    let xc = next(app, k, &x).await.expect("Xavier's client");
    assert_eq!(xc["client_id"], c4);
    assert_eq!(xc["routed_to_me"], 1);
    let mut bruno = HashSet::new();
    while let Some(e) = next(app, k, &b).await {
        bruno.insert(e["client_id"].as_i64().unwrap());
        result(app, k, &b, &e, "no_answer").await;
    }
    assert_eq!(bruno, HashSet::from([c1, c5]));
    let ac = next(app, k, &a).await.expect("Ana's client");
    assert_eq!(ac["client_id"], c3);
    // Selecting nothing, or too much, is refused.
    let r = app
        .post(
            &format!("/api/v1/campaigns/{k}/preview"),
            &app.manager,
            json!({"selection": {"ids": []}}),
        )
        .await;
    expect(r, 422).await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{k}/clients"),
            &app.manager,
            json!({"selection": sel, "route": "nobody", "token": "x"}),
        )
        .await;
    expect(r, 422).await;
});

// O2 from a search: "the first N matching" is a selection too.
both!(o2_clients_are_selected_from_a_search, |app| async move {
    enable_campaigns(app).await;
    let a = app.broker("Ana", &[app.sales]).await;
    let k = campaign(app, "Busca", &[&a]).await;
    for i in 0..5 {
        client(
            app,
            &format!("Condomínio Sol {i}"),
            &format!("(11) 92222-000{i}"),
        )
        .await;
    }
    client(app, "Outra pessoa", "(11) 92222-0099").await;
    let sel = json!({"search": {"filter": {"q": "condominio sol"}, "limit": 3}});
    let p = preview(app, k, &sel).await;
    assert_eq!(p["selected"], 3);
    assert_eq!(p["to_add"], 3);
    let r = app
        .post(
            &format!("/api/v1/campaigns/{k}/clients"),
            &app.manager,
            json!({"selection": sel, "route": "any", "token": p["token"]}),
        )
        .await;
    assert_eq!(expect(r, 201).await["added"], 3);
    let inside = search(app, json!({"campaign_id": k})).await;
    assert_eq!(inside.len(), 3);
    assert!(inside
        .iter()
        .all(|c| c["name"].as_str().unwrap().starts_with("Condomínio Sol")));
});

// O3: a client may join another campaign only N days after the last one's expiry.
both!(o3_quarantine_lasts_n_days_after_expiry, |app| async move {
    enable_campaigns(app).await;
    let a = app.broker("Ana", &[app.sales]).await;
    let first = campaign(app, "Primeira", &[&a]).await;
    let second = campaign(app, "Segunda", &[&a]).await;
    let c = client(app, "Cliente", "(11) 93333-0001").await;
    add_clients(app, first, &[c], "any").await;
    let just_c = json!({ "ids": [c] });
    let of_c = |k: i64| preview(app, k, &just_c);
    assert_eq!(of_c(second).await["in_quarantine"], 1);
    assert_eq!(search(app, json!({"quarantine": true})).await.len(), 1);
    // The first campaign ended 11 days ago: with the default 10 days the client is free.
    let end = |days: i64| json!({"name": "Primeira", "expires_at": day(days), "brokers": [a.id]});
    expect(
        app.put(
            &format!("/api/v1/campaigns/{first}"),
            &app.manager,
            end(-11),
        )
        .await,
        200,
    )
    .await;
    let p = of_c(second).await;
    assert_eq!(p["in_quarantine"], 0);
    assert_eq!(p["to_add"], 1);
    assert!(search(app, json!({"quarantine": true})).await.is_empty());
    // Ended 8 days ago: still resting.
    expect(
        app.put(&format!("/api/v1/campaigns/{first}"), &app.manager, end(-8))
            .await,
        200,
    )
    .await;
    assert_eq!(of_c(second).await["in_quarantine"], 1);
    // N is per agency.
    let r = app
        .put(
            "/api/v1/settings/crm",
            &app.manager,
            json!({"active_offer_enabled": true, "quarantine_days": 5}),
        )
        .await;
    expect(r, 200).await;
    assert_eq!(of_c(second).await["in_quarantine"], 0);
});
