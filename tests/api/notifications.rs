//! Rule L6: which events notify whom is configurable, and the notifications users read.

use crate::both;
use crate::crm_helpers::*;
use roleta::model::Role;
use serde_json::json;

// L6: which events notify whom is configurable.
both!(l6_notification_rules_decide_who_is_told, |app| async move {
    let a = app.broker("Ana", &[app.sales]).await;
    let (mgr, mgr_token) = app.user("Gerente Paula", Role::Manager).await;
    let unread = |token: String| {
        let app = &app;
        async move { expect(app.get("/api/v1/notifications", &token).await, 200).await }
    };
    let r = app
        .post("/api/v1/reception/clients", &app.manager,
              json!({"name": "Notificado", "phone": "(11) 96789-0001", "broker_id": a.id, "manager_id": mgr}))
        .await;
    let lead = expect(r, 201).await["lead_id"].clone();
    // Defaults: the responsible manager hears of the new lead, the broker of the assignment.
    let n = unread(mgr_token.clone()).await;
    assert_eq!(n["unread"], 1);
    assert_eq!(n["notifications"][0]["event"], "lead_created");
    let n = unread(a.token.clone()).await;
    assert_eq!(n["notifications"][0]["event"], "lead_assigned");
    expect(
        app.post("/api/v1/notifications/read", &a.token, json!({}))
            .await,
        204,
    )
    .await;
    assert_eq!(unread(a.token.clone()).await["unread"], 0);
    // The manager changes the rules: status changes go to the broker and every manager.
    let rules = json!({"rules": [{"event": "lead_status_changed", "recipient": "broker"},
                                 {"event": "lead_status_changed", "recipient": "managers"}]});
    let got = expect(
        app.put("/api/v1/settings/notifications", &app.manager, rules)
            .await,
        200,
    )
    .await;
    assert_eq!(got["rules"].as_array().unwrap().len(), 2);
    let r = app
        .post(
            &format!("/api/v1/leads/{lead}/status"),
            &a.token,
            json!({"status": "Em atendimento"}),
        )
        .await;
    expect(r, 200).await;
    assert_eq!(
        unread(a.token.clone()).await["notifications"][0]["event"],
        "lead_status_changed"
    );
    assert_eq!(unread(mgr_token.clone()).await["unread"], 2);
    // lead_created no longer notifies anyone.
    let r = app
        .post(
            "/api/v1/reception/clients",
            &app.manager,
            json!({"name": "Silencioso", "phone": "(11) 96789-0002", "manager_id": mgr}),
        )
        .await;
    expect(r, 201).await;
    assert_eq!(unread(mgr_token.clone()).await["unread"], 2);
    let bad = json!({"rules": [{"event": "lead_created", "recipient": "everyone"}]});
    assert_eq!(
        expect(
            app.put("/api/v1/settings/notifications", &app.manager, bad)
                .await,
            422
        )
        .await["error"]["field"],
        "rules"
    );
});
