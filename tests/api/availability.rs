//! "Participa da roleta" and absence periods (issue 12): an excluded or absent broker gets no
//! roulette offer, not even as the client's own broker, and keeps their clients and pending
//! attendances; the manager sets it, bad input names its field.

use crate::both;
use crate::helpers::{Broker, TestApp};
use roleta::model::Role;
use serde_json::{json, Value};

/// A day of the agencies' calendar (Brasília time), `days` from today, as `YYYY-MM-DD`.
fn agency_day(days: i64) -> String {
    let offset = time::UtcOffset::from_hms(-3, 0, 0).unwrap();
    let today = time::OffsetDateTime::now_utc().to_offset(offset).date();
    (today + time::Duration::days(days)).to_string()
}

/// `DD/MM` of [`agency_day`], as the audit writes it.
fn day_month(days: i64) -> String {
    let d = agency_day(days);
    format!("{}/{}", &d[8..10], &d[5..7])
}

async fn set(app: &TestApp, b: &Broker, body: Value) -> reqwest::Response {
    app.put(
        &format!("/api/v1/users/{}/availability", b.id),
        &app.manager,
        body,
    )
    .await
}

async fn set_ok(app: &TestApp, b: &Broker, body: Value) -> Value {
    let r = set(app, b, body).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    r.json().await.unwrap()
}

async fn audit(app: &TestApp, lead: i64) -> Vec<Value> {
    app.get(&format!("/api/v1/leads/{lead}/audit"), &app.manager)
        .await
        .json()
        .await
        .unwrap()
}

async fn lead_state(app: &TestApp, lead: i64) -> Value {
    let v: Value = app
        .get(&format!("/api/v1/leads/{lead}"), &app.manager)
        .await
        .json()
        .await
        .unwrap();
    v["state"].clone()
}

// Out of the roulette: never offered, even as the only one online; back in, offered at once.
both!(
    an_excluded_broker_is_never_offered_a_lead,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let b = app.broker("B", &[app.sales]).await;
        set_ok(app, &b, json!({"in_roulette": false, "absence": null})).await;
        let mut wa = app.online(&a).await;
        let mut wb = app.online(&b).await;
        for i in 0..3 {
            app.lead(&format!("Cliente {i}"), &format!("(11) 98111-00{i:02}"))
                .await;
            // B never had a turn, so the rotation would pick B; B is out of it.
            let o = wa.offer().await;
            assert_eq!(wa.accept(&o).await["type"], "assigned");
        }
        // With A away too (offline), a lead waits rather than reach B.
        wa.set_online(false).await;
        let waiting = app.lead("Espera", "(11) 98111-0099").await;
        wb.silent_for(600).await;
        assert_eq!(lead_state(app, waiting).await, "waiting");
        // Back in the roulette: the next offer is B's, with no reconnect.
        let back = set_ok(app, &b, json!({"in_roulette": true})).await;
        assert_eq!(back["receives_offers"], true);
        let o = wb.offer().await;
        assert_eq!(o["lead"]["id"], waiting);
        let offered_to: Vec<String> = audit(app, waiting)
            .await
            .iter()
            .filter(|r| r["decision"] == "offered")
            .map(|r| r["broker_id"].to_string())
            .collect();
        assert_eq!(
            offered_to,
            vec![b.id.to_string()],
            "only B was ever offered it"
        );
    }
);

// Absent today (férias from yesterday to tomorrow): not offered; once the period is over, the
// broker is offered again by time alone — no reconnect, no restart, no manager action.
both!(
    an_absent_broker_is_offered_nothing_during_the_period_and_again_after,
    |app| async move {
        let b = app.broker("B", &[app.sales]).await;
        let saved = set_ok(
            app,
            &b,
            json!({"in_roulette": true,
                   "absence": {"from": agency_day(-1), "to": agency_day(1), "reason": "ferias"}}),
        )
        .await;
        assert_eq!(saved["absent_now"], true);
        assert_eq!(saved["receives_offers"], false);
        assert_eq!(saved["absence"]["reason"], "ferias");
        let users: Vec<Value> = app
            .get("/api/v1/users", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        let row = users.iter().find(|u| u["id"] == b.id).unwrap();
        assert_eq!(row["availability"]["absence"]["to"], agency_day(1));
        assert_eq!(row["availability"]["receives_offers"], false);
        let me = users.iter().find(|u| u["role"] == "manager").unwrap();
        assert!(
            me["availability"].is_null(),
            "managers have no roulette place"
        );

        let mut wb = app.online(&b).await;
        let lead = app.lead("Cliente", "(11) 98222-0001").await;
        wb.silent_for(800).await;
        assert_eq!(lead_state(app, lead).await, "waiting");

        // The stored period now ends two seconds from now (as if it were the evening of the
        // last day); the broker's page reconnects, which is when the roulette reads it again.
        let until = app.state.clock.now_ms() + 2_000;
        app.exec(&format!(
            "UPDATE broker_availability SET absent_until_ms = {until} WHERE broker_id = {}",
            b.id
        ))
        .await;
        wb.set_online(false).await;
        wb.set_online(true).await;
        let o = wb.offer().await;
        assert!(
            app.state.clock.now_ms() >= until,
            "offered before the absence ended"
        );
        assert_eq!(o["lead"]["id"], lead);

        // An absence that is over (or not yet begun) does not keep anyone out.
        let past = set_ok(
            app,
            &b,
            json!({"in_roulette": true,
                   "absence": {"from": agency_day(-5), "to": agency_day(-1), "reason": "ausencia"}}),
        )
        .await;
        assert_eq!(past["absent_now"], false);
        assert_eq!(past["receives_offers"], true);
        let r = app.get("/api/v1/me/availability", &b.token).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), past);
    }
);

// R3 meets an absence: the client's own broker is on holiday, so the lead goes to the
// rotation and the audit says why in words the manager reads; the owner keeps the client and
// their pending attendance. Then out of the roulette altogether: the same, with its reason.
both!(
    a_sticky_owner_who_is_away_is_passed_over_and_keeps_the_client,
    |app| async move {
        let x = app.broker("X", &[app.sales]).await;
        let y = app.broker("Y", &[app.sales]).await;
        let mut wx = app.online(&x).await;
        let first = app.lead("Dona Rosa", "(21) 98333-0001").await;
        let o = wx.offer().await;
        assert_eq!(wx.accept(&o).await["type"], "assigned");
        app.close_lead(first).await;
        let mut wy = app.online(&y).await;

        set_ok(
            app,
            &x,
            json!({"in_roulette": true,
                   "absence": {"from": agency_day(0), "to": agency_day(3), "reason": "ferias"}}),
        )
        .await;
        let r = app
            .post_lead(json!({"name": "Dona Rosa", "phone": "+55 21 98333-0001"}))
            .await;
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["linked_existing_client"], true);
        let second = body["lead_id"].as_i64().unwrap();
        let o = wy.offer().await;
        assert_eq!(o["lead"]["id"], second);
        wx.silent_for(300).await;
        let offered = audit(app, second)
            .await
            .into_iter()
            .find(|r| r["decision"] == "offered")
            .unwrap();
        assert_eq!(offered["broker_id"], y.id);
        let why = format!(
            "Corretor dono do cliente está de férias até {}; lead foi para a roleta",
            day_month(3)
        );
        assert!(
            offered["reason"].as_str().unwrap().starts_with(&why),
            "{offered}"
        );
        // Y covers for the owner (a "Rule" attendance); the client stays X's.
        assert_eq!(wy.accept(&o).await["attendance_kind"], "rule");
        let view: Value = app
            .get(&format!("/api/v1/leads/{second}"), &app.manager)
            .await
            .json()
            .await
            .unwrap();
        let client = view["client_id"].as_i64().unwrap();
        let owner = app
            .scalar(&format!(
                "SELECT broker_id FROM clients WHERE id = {client}"
            ))
            .await;
        assert_eq!(owner, x.id);
        let pending: Vec<i64> = app
            .pending(&x)
            .await
            .iter()
            .map(|p| p["lead_id"].as_i64().unwrap())
            .collect();
        assert_eq!(pending, vec![first], "X's pending attendance stays X's");
        let r = app.get(&format!("/api/v1/leads/{first}"), &x.token).await;
        assert_eq!(r.status(), 200, "X still opens their own lead");

        // Out of the roulette, no absence: passed over again, with that reason.
        set_ok(app, &x, json!({"in_roulette": false, "absence": null})).await;
        app.close_lead(second).await;
        let third = app.lead("Dona Rosa", "(21) 98333-0001").await;
        let o = wy.offer().await;
        assert_eq!(o["lead"]["id"], third);
        let offered = audit(app, third)
            .await
            .into_iter()
            .find(|r| r["decision"] == "offered")
            .unwrap();
        assert!(
            offered["reason"].as_str().unwrap().starts_with(
                "Corretor dono do cliente não participa da roleta; lead foi para a roleta"
            ),
            "{offered}"
        );
        wx.silent_for(300).await;
    }
);

// "Everyone refused" with a fallback broker who is on holiday: the lead is not handed to them;
// it goes round again instead.
both!(
    an_away_fallback_broker_is_not_given_the_lead,
    |app| async move {
        let f = app.broker("Plantão", &[app.rentals]).await;
        let a = app.broker("A", &[app.sales]).await;
        app.settings(
            json!({"everyone_refused": "fallback", "fallback_broker_id": f.id,
                            "retry_pause_seconds": 3600}),
        )
        .await;
        set_ok(
            app,
            &f,
            json!({"in_roulette": true,
                   "absence": {"from": agency_day(0), "to": agency_day(0), "reason": "ausencia"}}),
        )
        .await;
        let mut wa = app.online(&a).await;
        let lead = app.lead("Cliente", "(11) 98444-0001").await;
        let o = wa.offer().await;
        wa.refuse(&o).await;
        let decisions = || async {
            audit(app, lead)
                .await
                .iter()
                .map(|r| r["decision"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        for _ in 0..50 {
            if decisions().await.iter().any(|d| d == "everyone_refused") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let d = decisions().await;
        assert!(d.iter().any(|d| d == "everyone_refused"), "{d:?}");
        assert!(!d.iter().any(|d| d == "assigned"), "{d:?}");
        assert_eq!(lead_state(app, lead).await, "waiting");
        assert!(app.pending(&f).await.is_empty());
    }
);

// The manager's form: each bad field is named (pt-BR message), nothing is half-written; only
// managers set it, only for brokers of their own agency.
both!(setting_availability_checks_its_input, |app| async move {
    let b = app.broker("B", &[app.sales]).await;
    let good = json!({"in_roulette": false,
                          "absence": {"from": agency_day(1), "to": agency_day(2), "reason": "ferias"}});
    let before = set_ok(app, &b, good.clone()).await;
    let cases = [
        (json!({"absence": null}), "in_roulette"),
        (
            json!({"in_roulette": true, "absence": {"from": agency_day(3), "to": agency_day(2), "reason": "ferias"}}),
            "absence.to",
        ),
        (
            json!({"in_roulette": true, "absence": {"from": "02/01/2026", "to": agency_day(2), "reason": "ferias"}}),
            "absence.from",
        ),
        (
            json!({"in_roulette": true, "absence": {"from": agency_day(1), "to": "2026-02-30", "reason": "ferias"}}),
            "absence.to",
        ),
        (
            json!({"in_roulette": true, "absence": {"from": agency_day(1), "to": agency_day(1), "reason": "licença"}}),
            "absence.reason",
        ),
        (
            json!({"in_roulette": true, "absence": {"to": agency_day(1), "reason": "ferias"}}),
            "absence.from",
        ),
        (
            json!({"in_roulette": true, "absence": {"from": agency_day(0), "to": agency_day(400), "reason": "ferias"}}),
            "absence.to",
        ),
        (
            json!({"in_roulette": true, "absence": {"from": "1999-12-31", "to": agency_day(1), "reason": "ferias"}}),
            "absence.from",
        ),
    ];
    for (body, field) in cases {
        let r = set(app, &b, body.clone()).await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.contains('`'), "{message}");
    }
    let r = app
        .get(
            &format!("/api/v1/users/{}/availability", b.id),
            &app.manager,
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        before,
        "nothing half-written"
    );

    // Only a manager sets it; only for a broker; only in their agency.
    let r = app
        .put(
            &format!("/api/v1/users/{}/availability", b.id),
            &b.token,
            good.clone(),
        )
        .await;
    assert_eq!(r.status(), 403);
    let (receptionist, _) = app.user("recepcao", Role::Receptionist).await;
    let r = app
        .put(
            &format!("/api/v1/users/{receptionist}/availability"),
            &app.manager,
            good.clone(),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "id");
    let other = app
        .state
        .store
        .create_agency("Outra", app.state.clock.now_ms())
        .await
        .unwrap();
    let (stranger, _) = app.user_in(other, "estranho", Role::Broker).await;
    let r = app
        .put(
            &format!("/api/v1/users/{stranger}/availability"),
            &app.manager,
            good.clone(),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .get(
            &format!("/api/v1/users/{stranger}/availability"),
            &app.manager,
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app.get("/api/v1/me/availability", &app.manager).await;
    assert_eq!(
        r.status(),
        403,
        "a manager has no place of their own in the roulette"
    );
});
