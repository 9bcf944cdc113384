//! Rules O4–O5: the broker's calling flow — next client, results, continue later, two brokers at
//! once, an expired campaign.

use crate::both;
use crate::crm_helpers::*;
use serde_json::json;
use std::collections::HashSet;

// O4, O5: attend, results, save and continue later; positive results open a pending attendance.
both!(
    o4_o5_the_broker_calls_clients_and_records_results,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let k = campaign(app, "Oferta", &[&a, &b]).await;
        let c1 = client(app, "Primeiro", "(11) 94444-0001").await;
        let c2 = client(app, "Segundo", "(11) 94444-0002").await;
        let c3 = client(app, "Terceiro", "(11) 94444-0003").await;
        add_clients(app, k, &[c1, c2, c3], "any").await;

        // Oldest first.
        let e1 = next(app, k, &a).await.expect("first");
        assert_eq!(e1["client_id"], c1);
        assert_eq!(e1["phone"], "+5511944440001");
        let out = result(app, k, &a, &e1, "high_interest").await;
        assert_eq!(out["positive"], true);
        let pending = app.pending(&a).await;
        assert_eq!(
            pending.len(),
            1,
            "a positive result opens a pending attendance"
        );
        assert_eq!(pending[0]["lead_id"], out["lead_id"]);
        assert_eq!(pending[0]["client_name"], "Primeiro");
        let linked = search(app, json!({"broker_id": a.id})).await;
        assert_eq!(linked.len(), 1);
        assert_eq!(
            linked[0]["id"], c1,
            "the broker became the client's attending broker"
        );

        let e2 = next(app, k, &a).await.expect("second");
        assert_eq!(e2["client_id"], c2);
        let out = result(app, k, &a, &e2, "no_interest").await;
        assert_eq!(out["positive"], false);
        assert!(out["lead_id"].is_null());
        assert_eq!(app.pending(&a).await.len(), 1);

        // Continue later keeps the client for this broker.
        let e3 = next(app, k, &a).await.expect("third");
        let r = app
            .post(
                &format!("/api/v1/campaigns/{k}/entries/{}/later", e3["entry_id"]),
                &a.token,
                json!({"comment": "ligar à tarde"}),
            )
            .await;
        expect(r, 204).await;
        assert!(
            next(app, k, &b).await.is_none(),
            "kept for Ana, not handed to Bruno"
        );
        let again = next(app, k, &a).await.expect("kept client");
        assert_eq!(again["entry_id"], e3["entry_id"]);
        assert_eq!(again["comment"], "ligar à tarde");
        // Bruno cannot classify Ana's client; a bad result is refused.
        let r = app
            .post(
                &format!("/api/v1/campaigns/{k}/entries/{}/result", e3["entry_id"]),
                &b.token,
                json!({"result": "no_answer"}),
            )
            .await;
        expect(r, 409).await;
        let r = app
            .post(
                &format!("/api/v1/campaigns/{k}/entries/{}/result", e3["entry_id"]),
                &a.token,
                json!({"result": "maybe"}),
            )
            .await;
        expect(r, 422).await;
        result(app, k, &a, &again, "asked_info").await;
        assert_eq!(app.pending(&a).await.len(), 2);
        assert!(next(app, k, &a).await.is_none());
        let kk = expect(
            app.get(&format!("/api/v1/campaigns/{k}"), &app.manager)
                .await,
            200,
        )
        .await;
        assert_eq!(
            (kk["queued"].as_i64(), kk["held"].as_i64()),
            (Some(0), Some(0))
        );
        assert_eq!(
            (kk["done"].as_i64(), kk["inactive"].as_i64()),
            (Some(2), Some(1))
        );
    }
);

// O4: two brokers asking for the next client at once never get the same one.
both!(
    o4_two_brokers_asking_at_once_never_share_a_client,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let k = campaign(app, "Corrida", &[&a, &b]).await;
        let mut ids = Vec::new();
        for i in 0..30 {
            ids.push(client(app, &format!("Cliente {i}"), &format!("(11) 95555-{i:04}")).await);
        }
        add_clients(app, k, &ids, "any").await;
        let work = |who: &crate::helpers::Broker| {
            let (app, who) = (app, who.clone());
            async move {
                let mut got = Vec::new();
                while let Some(e) = next(app, k, &who).await {
                    got.push(e["client_id"].as_i64().unwrap());
                    result(app, k, &who, &e, "no_answer").await;
                }
                got
            }
        };
        let (ga, gb) = tokio::join!(work(&a), work(&b));
        let all: HashSet<i64> = ga.iter().chain(gb.iter()).copied().collect();
        assert_eq!(ga.len() + gb.len(), 30, "every client handed out once");
        assert_eq!(all, ids.iter().copied().collect::<HashSet<_>>());
    }
);

// Expired campaigns hand out nothing and leave the broker's list.
both!(o4_an_expired_campaign_hands_out_nothing, |app| async move {
    enable_campaigns(app).await;
    let a = app.broker("Ana", &[app.sales]).await;
    let k = campaign(app, "Curta", &[&a]).await;
    let c = client(app, "Cliente", "(11) 96666-0001").await;
    let c2 = client(app, "Outro", "(11) 96666-0002").await;
    add_clients(app, k, &[c, c2], "any").await;
    // Ana is on a call when the campaign ends: she may still save it.
    let call = next(app, k, &a).await.expect("a client");
    let body = json!({"name": "Curta", "expires_at": day(-1), "brokers": [a.id]});
    expect(
        app.put(&format!("/api/v1/campaigns/{k}"), &app.manager, body)
            .await,
        200,
    )
    .await;
    let r = app
        .post(&format!("/api/v1/campaigns/{k}/next"), &a.token, json!({}))
        .await;
    let e = expect(r, 409).await;
    assert!(e["error"]["message"].as_str().unwrap().contains("expired"));
    assert_eq!(
        result(app, k, &a, &call, "no_answer").await["positive"],
        false
    );
    let mine = expect(app.get("/api/v1/me/campaigns", &a.token).await, 200).await;
    assert!(mine.as_array().unwrap().is_empty());
    let all = expect(app.get("/api/v1/campaigns", &app.manager).await, 200).await;
    assert_eq!(all[0]["expired"], true);
});

// A manager puts the clients brokers hold back in the queue (a broker who left).
both!(
    o5_a_manager_releases_the_clients_brokers_hold,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let k = campaign(app, "Guardados", &[&a, &b]).await;
        let c = client(app, "Guardado", "(11) 96777-0001").await;
        add_clients(app, k, &[c], "any").await;
        let e = next(app, k, &a).await.expect("Ana's client");
        let r = app
            .post(
                &format!("/api/v1/campaigns/{k}/entries/{}/later", e["entry_id"]),
                &a.token,
                json!({}),
            )
            .await;
        expect(r, 204).await;
        assert!(next(app, k, &b).await.is_none(), "kept for Ana");
        expect(
            app.post(
                &format!("/api/v1/campaigns/{k}/release"),
                &a.token,
                json!({}),
            )
            .await,
            403,
        )
        .await;
        let r = expect(
            app.post(
                &format!("/api/v1/campaigns/{k}/release"),
                &app.manager,
                json!({}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(r["released"], 1);
        let again = next(app, k, &b).await.expect("back in the queue");
        assert_eq!(again["client_id"], c);
        // Ana's old call can no longer be saved.
        let r = app
            .post(
                &format!("/api/v1/campaigns/{k}/entries/{}/result", e["entry_id"]),
                &a.token,
                json!({"result": "no_answer"}),
            )
            .await;
        expect(r, 409).await;
        expect(
            app.post("/api/v1/campaigns/99999/release", &app.manager, json!({}))
                .await,
            404,
        )
        .await;
    }
);
