//! Outbound webhooks (docs/WEBHOOKS.md), delivery: every event reaches the agency's CRM signed,
//! once per event id and in order per lead — through a receiver that fails for a while and
//! through a restart in the middle of retries.

use crate::helpers::*;
use crate::webhook_receiver::*;
use crate::webhook_test;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn the_crm_receives_every_event_signed_once_and_in_order(app: TestApp) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let first = accepted_lead(&app, &mut ws, "Cliente Um", "(11) 98765-4321").await;
    let r = app
        .post(
            &format!("/api/v1/leads/{first}/contacts"),
            &ana.token,
            json!({"kind": "call", "note": "Liguei, quer visitar"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let second = app.lead("Cliente Dois", "(11) 98765-0002").await;
    let offer = ws.offer().await;
    ws.refuse(&offer).await;

    eventually("both leads' events", || {
        let l = rx.by_lead();
        l.get(&first).map_or(0, Vec::len) == 5 && l.get(&second).map_or(0, Vec::len) >= 3
    })
    .await;
    rx.assert_once_each();
    assert_in_order(&rx);
    let leads = rx.by_lead();
    assert_eq!(
        kinds(&leads[&first]),
        [
            "lead.created",
            "offer.made",
            "offer.accepted",
            "lead.assigned",
            "attendance.concluded"
        ]
    );
    assert_eq!(
        kinds(&leads[&second][..3]),
        ["lead.created", "offer.made", "offer.refused"]
    );
    let got = rx.got();
    let online = got
        .iter()
        .find(|g| g.kind == "broker.online")
        .expect("broker.online");
    assert_eq!(online.body["data"]["broker"]["name"], "Ana");

    // What a CRM needs, and nothing secret.
    let created = &leads[&first][0].body;
    assert_eq!(created["agency_id"], app.agency.0);
    assert_eq!(created["data"]["lead"]["client"]["name"], "Cliente Um");
    assert_eq!(created["data"]["lead"]["client"]["phone"], "+5511987654321");
    assert_eq!(created["data"]["lead"]["department"]["name"], "Vendas");
    assert!(created["data"]["lead"]["number"].is_string());
    let at = created["occurred_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{at}"
    );
    let accepted = &leads[&first][2].body;
    assert_eq!(accepted["data"]["broker"]["id"], ana.id);
    assert_eq!(accepted["data"]["broker"]["name"], "Ana");
    for g in &got {
        assert!(
            !g.body.to_string().contains(SECRET),
            "a secret in {}",
            g.body
        );
        assert_eq!(g.agency, app.agency.0);
    }

    // The manager's page reads each delivery as delivered at the first attempt.
    let list = deliveries(&app, &app.manager).await;
    for g in &got {
        let d = list.iter().find(|d| d["event_id"] == g.id).expect("listed");
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["event_type"], g.kind.as_str(), "{d}");
    }
    drop(ws);
    app
}
webhook_test!(the_crm_receives_every_event_signed_once_and_in_order);

async fn a_receiver_that_fails_for_a_while_loses_nothing_and_keeps_each_leads_order(
    app: TestApp,
) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    rx.inner.fail_next.store(25, Ordering::SeqCst);
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let mut leads = Vec::new();
    for i in 0..4 {
        leads.push(
            accepted_lead(
                &app,
                &mut ws,
                &format!("Cliente {i}"),
                &format!("(11) 97777-000{i}"),
            )
            .await,
        );
    }
    let events = app.scalar("SELECT COUNT(*) FROM webhook_outbox").await as usize;
    assert_eq!(events, 1 + 4 * 4, "broker.online, then 4 events a lead");
    eventually("every event accepted", || rx.got().len() == events).await;
    assert!(rx.requests() > events, "the receiver did fail some");
    rx.assert_once_each();
    assert_in_order(&rx);
    for lead in &leads {
        assert_eq!(
            kinds(&rx.by_lead()[lead]),
            [
                "lead.created",
                "offer.made",
                "offer.accepted",
                "lead.assigned"
            ]
        );
    }
    // The receiver counts a request as it answers it; the sender records the delivery just
    // after: wait for that record rather than race it.
    let mut list = deliveries(&app, &app.manager).await;
    for _ in 0..100 {
        if list.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        list = deliveries(&app, &app.manager).await;
    }
    assert!(list.iter().all(|d| d["status"] == "delivered"));
    assert!(list.iter().any(|d| d["attempts"].as_i64() > Some(1)));
    drop(ws);
    app
}
webhook_test!(a_receiver_that_fails_for_a_while_loses_nothing_and_keeps_each_leads_order);

async fn a_restart_in_the_middle_of_retries_loses_nothing(app: TestApp) -> TestApp {
    let rx = Receiver::start().await;
    subscribe(&app, &app.manager, &rx.url, ALL).await;
    rx.fail(true);
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let mut leads = Vec::new();
    for i in 0..3 {
        leads.push(
            accepted_lead(
                &app,
                &mut ws,
                &format!("Cliente {i}"),
                &format!("(11) 96666-000{i}"),
            )
            .await,
        );
    }
    drop(ws);
    let events = 1 + 3 * 4;
    // Retrying: the first of each lead's events (and broker.online) failed more than once.
    let mut retried = false;
    for _ in 0..500 {
        let list = deliveries(&app, &app.manager).await;
        retried = list.len() == events
            && list
                .iter()
                .filter(|d| d["attempts"].as_i64() >= Some(2))
                .count()
                >= 4;
        if retried {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(retried, "deliveries were being retried");
    assert!(rx.got().is_empty());

    let app = app.restart_with(fast).await;
    rx.fail(false);
    eventually("every event accepted after the restart", || {
        rx.got().len() == events
    })
    .await;
    rx.assert_once_each();
    assert_in_order(&rx);
    for lead in &leads {
        assert_eq!(
            kinds(&rx.by_lead()[lead]),
            [
                "lead.created",
                "offer.made",
                "offer.accepted",
                "lead.assigned"
            ]
        );
    }
    app
}
webhook_test!(a_restart_in_the_middle_of_retries_loses_nothing);

async fn an_offer_nobody_answers_is_told_as_expired(app: TestApp) -> TestApp {
    app.settings(json!({"answer_seconds": 1})).await;
    let rx = Receiver::start().await;
    subscribe(
        &app,
        &app.manager,
        &rx.url,
        &["lead.created", "offer.made", "offer.expired"],
    )
    .await;
    let ana = app.broker("Ana", &[app.sales]).await;
    let mut ws = app.online(&ana).await;
    let lead = app.lead("Cliente Calado", "(11) 93333-0001").await;
    let offer = ws.offer().await;
    ws.recv_type("offer_closed").await;
    eventually("the expiry", || {
        rx.by_lead().get(&lead).map_or(0, Vec::len) >= 3
    })
    .await;
    rx.assert_once_each();
    let events = &rx.by_lead()[&lead];
    assert_eq!(
        kinds(&events[..3]),
        ["lead.created", "offer.made", "offer.expired"]
    );
    assert_eq!(events[2].body["data"]["offer_id"], offer["offer_id"]);
    assert_eq!(events[2].body["data"]["broker"]["id"], ana.id);
    assert!(
        rx.got().iter().all(|g| g.kind != "broker.online"),
        "not subscribed"
    );
    drop(ws);
    app
}
webhook_test!(an_offer_nobody_answers_is_told_as_expired);
