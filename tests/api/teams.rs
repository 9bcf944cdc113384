//! Rules T1–T4: teams, distribution of the first N matching clients, the "already worked"
//! mark, and the contact reports per broker and team.

use crate::both;
use crate::crm_helpers::*;
use roleta::model::Role;
use serde_json::{json, Value};
use std::collections::HashSet;

async fn team(app: &crate::helpers::TestApp, name: &str, brokers: &[i64]) -> i64 {
    let (sup, _) = app.user(&format!("Supervisor {name}"), Role::Manager).await;
    let r = app
        .post(
            "/api/v1/teams",
            &app.manager,
            json!({"name": name, "supervisor_id": sup, "brokers": brokers}),
        )
        .await;
    expect(r, 201).await["id"].as_i64().expect("team id")
}

async fn my_clients(app: &crate::helpers::TestApp, b: &crate::helpers::Broker) -> Vec<i64> {
    let v = expect(app.get("/api/v1/me/clients", &b.token).await, 200).await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

// T1: a team groups brokers under a supervisor.
both!(t1_a_team_has_a_supervisor_and_brokers, |app| async move {
    let a = app.broker("Ana", &[app.sales]).await;
    let b = app.broker("Bruno", &[app.sales]).await;
    let (sup, _) = app.user("Sueli", Role::Manager).await;
    let r = app
        .post(
            "/api/v1/teams",
            &app.manager,
            json!({"name": "Equipe Sul", "supervisor_id": sup, "brokers": [a.id, b.id]}),
        )
        .await;
    let t = expect(r, 201).await;
    assert_eq!(t["supervisor_name"], "Sueli");
    assert_eq!(t["brokers"].as_array().unwrap().len(), 2);
    let again = app
        .post(
            "/api/v1/teams",
            &app.manager,
            json!({"name": "Equipe Sul", "supervisor_id": sup, "brokers": []}),
        )
        .await;
    expect(again, 409).await;
    let bad = app
        .post(
            "/api/v1/teams",
            &app.manager,
            json!({"name": "Outra", "supervisor_id": sup, "brokers": [sup]}),
        )
        .await;
    assert_eq!(expect(bad, 422).await["error"]["field"], "brokers");
    let r = app
        .put(
            &format!("/api/v1/teams/{}", t["id"]),
            &app.manager,
            json!({"name": "Equipe Sul", "supervisor_id": sup, "brokers": [a.id]}),
        )
        .await;
    assert_eq!(expect(r, 200).await["brokers"].as_array().unwrap().len(), 1);
    expect(app.get("/api/v1/teams", &a.token).await, 403).await;
});

// T2: the first N matching clients go to a team, evenly, each to one broker alone.
both!(t2_distribution_is_even_and_exclusive, |app| async move {
    let a = app.broker("Ana", &[app.sales]).await;
    let b = app.broker("Bruno", &[app.sales]).await;
    let c = app.broker("Carla", &[app.sales]).await;
    let t1 = team(app, "Um", &[a.id, b.id]).await;
    let t2 = team(app, "Dois", &[c.id]).await;
    let mut lote = Vec::new();
    for i in 0..10 {
        lote.push(
            client(
                app,
                &format!("Lote Jardim {i}"),
                &format!("(11) 97777-{i:04}"),
            )
            .await,
        );
    }
    client(app, "Fora do perfil", "(11) 97777-9999").await;
    let filter = json!({"q": "lote jardim"});
    let r = app
        .post(
            "/api/v1/distributions",
            &app.manager,
            json!({"filter": filter, "limit": 6, "team_id": t1}),
        )
        .await;
    let d = expect(r, 201).await;
    assert_eq!(d["distributed"], 6);
    let (ma, mb) = (my_clients(app, &a).await, my_clients(app, &b).await);
    assert_eq!((ma.len(), mb.len()), (3, 3));
    // The first six are the newest six (the search's order).
    let first: HashSet<i64> = lote[4..].iter().copied().collect();
    assert_eq!(
        ma.iter().chain(mb.iter()).copied().collect::<HashSet<_>>(),
        first
    );
    // A second distribution never hands out a client already given.
    let r = app
        .post(
            "/api/v1/distributions",
            &app.manager,
            json!({"filter": filter, "limit": 10, "team_id": t2}),
        )
        .await;
    assert_eq!(expect(r, 201).await["distributed"], 4);
    let mc = my_clients(app, &c).await;
    assert_eq!(
        mc.iter().copied().collect::<HashSet<_>>(),
        lote[..4].iter().copied().collect()
    );
    assert_eq!(
        search(app, json!({"distributed": false, "q": "lote"}))
            .await
            .len(),
        0
    );
    // Bad requests.
    let r = app
        .post(
            "/api/v1/distributions",
            &app.manager,
            json!({"filter": filter, "limit": 0, "team_id": t1}),
        )
        .await;
    expect(r, 422).await;
    let r = app
        .post(
            "/api/v1/distributions",
            &app.manager,
            json!({"filter": filter, "limit": 3}),
        )
        .await;
    expect(r, 422).await;
});

// T2: two distributions at once over the same clients never give one client to two brokers.
both!(
    t2_concurrent_distributions_never_share_a_client,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let t1 = team(app, "Um", &[a.id]).await;
        let t2 = team(app, "Dois", &[b.id]).await;
        for i in 0..20 {
            client(app, &format!("Disputa {i}"), &format!("(11) 98888-{i:04}")).await;
        }
        let go = |t: i64| {
            let app = &app;
            async move {
                let r = app
                    .post(
                        "/api/v1/distributions",
                        &app.manager,
                        json!({"filter": {"q": "disputa"}, "limit": 20, "team_id": t}),
                    )
                    .await;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (status, body)
            }
        };
        let ((s1, _), (s2, _)) = tokio::join!(go(t1), go(t2));
        // One may be refused under contention (409); none may double-assign.
        assert!(
            [201, 409].contains(&s1) && [201, 409].contains(&s2),
            "{s1} {s2}"
        );
        let (ma, mb) = (my_clients(app, &a).await, my_clients(app, &b).await);
        let sa: HashSet<i64> = ma.iter().copied().collect();
        assert!(
            mb.iter().all(|c| !sa.contains(c)),
            "a client given to two brokers"
        );
        assert_eq!(ma.len() + mb.len(), 20);
    }
);

// T2 to a campaign, and T3: clients marked worked stay out of further distribution.
both!(
    t3_worked_clients_stay_out_of_distribution,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let t = team(app, "Um", &[a.id]).await;
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(client(app, &format!("Base {i}"), &format!("(11) 96000-{i:04}")).await);
        }
        let r = app
            .post(
                "/api/v1/clients/worked",
                &app.manager,
                json!({"client_ids": [ids[0], ids[1]], "worked": true}),
            )
            .await;
        assert_eq!(expect(r, 200).await["changed"], 2);
        assert_eq!(search(app, json!({"worked": true})).await.len(), 2);
        let k = campaign(app, "Base", &[&a]).await;
        let r = app
            .post(
                "/api/v1/distributions",
                &app.manager,
                json!({"filter": {"q": "base"}, "limit": 10, "campaign_id": k}),
            )
            .await;
        assert_eq!(expect(r, 201).await["distributed"], 2);
        let inside: HashSet<i64> = search(app, json!({"campaign_id": k}))
            .await
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert_eq!(inside, HashSet::from([ids[2], ids[3]]));
        // Clearing the mark brings them back.
        let r = app
            .post(
                "/api/v1/clients/worked",
                &app.manager,
                json!({"client_ids": [ids[0]], "worked": false}),
            )
            .await;
        expect(r, 200).await;
        let r = app
            .post(
                "/api/v1/distributions",
                &app.manager,
                json!({"filter": {"q": "base"}, "limit": 10, "team_id": t}),
            )
            .await;
        assert_eq!(expect(r, 201).await["distributed"], 3);
        assert!(!my_clients(app, &a).await.contains(&ids[1]));
        // A contact outcome marks the client worked.
        let r = app
            .post(
                &format!("/api/v1/clients/{}/contacts", ids[2]),
                &a.token,
                json!({"outcome": "no_answer"}),
            )
            .await;
        expect(r, 201).await;
        let worked: HashSet<i64> = search(app, json!({"worked": true}))
            .await
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect();
        assert!(worked.contains(&ids[2]));
    }
);

// T4: contact outcomes move clients along (positive: pending attendance) and feed the reports.
both!(
    t4_contacts_feed_the_broker_and_team_reports,
    |app| async move {
        enable_campaigns(app).await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let t = team(app, "Um", &[a.id, b.id]).await;
        for i in 0..4 {
            client(app, &format!("Relato {i}"), &format!("(11) 95000-{i:04}")).await;
        }
        let r = app
            .post(
                "/api/v1/distributions",
                &app.manager,
                json!({"filter": {"q": "relato"}, "limit": 4, "team_id": t}),
            )
            .await;
        expect(r, 201).await;
        let ma = my_clients(app, &a).await;
        let mb = my_clients(app, &b).await;
        let contact = |who: &crate::helpers::Broker, client: i64, outcome: &'static str| {
            let (app, token) = (app, who.token.clone());
            async move {
                let r = app
                    .post(
                        &format!("/api/v1/clients/{client}/contacts"),
                        &token,
                        json!({"outcome": outcome, "comment": "ok"}),
                    )
                    .await;
                expect(r, 201).await
            }
        };
        let pos = contact(&a, ma[0], "asked_info").await;
        assert_eq!(pos["positive"], true);
        assert_eq!(app.pending(&a).await.len(), 1);
        contact(&a, ma[1], "no_answer").await;
        contact(&b, mb[0], "low_interest").await;
        // Nobody records a contact with another broker's client.
        let r = app
            .post(
                &format!("/api/v1/clients/{}/contacts", mb[1]),
                &a.token,
                json!({"outcome": "no_answer"}),
            )
            .await;
        expect(r, 404).await;
        // A campaign call counts too.
        let k = campaign(app, "Relato", &[&b]).await;
        let c = client(app, "Chamada", "(11) 95000-9999").await;
        add_clients(app, k, &[c], "any").await;
        let e = next(app, k, &b).await.expect("client");
        result(app, k, &b, &e, "high_interest").await;

        let rep = expect(app.get("/api/v1/reports/contacts", &app.manager).await, 200).await;
        let row = |id: i64| {
            rep["brokers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["broker_id"] == id)
                .cloned()
                .unwrap()
        };
        let (ra, rb) = (row(a.id), row(b.id));
        assert_eq!(
            (
                ra["asked_info"].as_i64(),
                ra["no_answer"].as_i64(),
                ra["total"].as_i64()
            ),
            (Some(1), Some(1), Some(2))
        );
        assert_eq!(
            (
                rb["low_interest"].as_i64(),
                rb["high_interest"].as_i64(),
                rb["total"].as_i64()
            ),
            (Some(1), Some(1), Some(2))
        );
        let team_row = &rep["teams"][0];
        assert_eq!(team_row["totals"]["total"], 4);
        assert_eq!(team_row["brokers"].as_array().unwrap().len(), 2);
        // A period with nothing in it.
        let empty = expect(
            app.get(
                "/api/v1/reports/contacts?from=2020-01-01&to=2020-01-31",
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        assert!(empty["brokers"].as_array().unwrap().is_empty());
        let r = app
            .get(
                "/api/v1/reports/contacts?from=2020-02-01&to=2020-01-01",
                &app.manager,
            )
            .await;
        expect(r, 422).await;
    }
);
