//! Departments renamed, made the default and removed (docs/ROUTING.md): a removed department's
//! members leave it, its waiting leads move to the default department and are offered there,
//! its history keeps it, and the default department stays.

use crate::both;
use crate::crm_helpers::expect;
use crate::helpers::TestApp;
use crate::user_lifecycle::patch;
use serde_json::{json, Value};

async fn remove(app: &TestApp, id: i64) -> reqwest::Response {
    app.http
        .delete(format!("{}/api/v1/departments/{id}", app.base))
        .bearer_auth(&app.manager)
        .send()
        .await
        .unwrap()
}

async fn listed(app: &TestApp) -> Vec<Value> {
    let v = expect(app.get("/api/v1/departments", &app.manager).await, 200).await;
    v.as_array().unwrap().clone()
}

both!(
    removing_a_department_moves_its_waiting_leads_to_the_default_one,
    |app| async move {
        // Rentals has a member who is offline, so its lead waits.
        let rosa = app.broker("Rosa", &[app.rentals]).await;
        let vitor = app.broker("Vítor", &[app.sales]).await;
        let r = app
            .post_lead(json!({"name": "Lia", "phone": "(11) 98765-7101", "department": "Locação"}))
            .await;
        let lead = expect(r, 202).await["lead_id"].as_i64().unwrap();
        let mut wv = app.online(&vitor).await;
        wv.silent_for(300).await;

        let out = expect(remove(app, app.rentals).await, 200).await;
        assert_eq!(out, json!({"moved_leads": 1, "members": 1}));
        let offer = wv.offer().await;
        assert_eq!(
            offer["lead"]["id"], lead,
            "offered in the default department"
        );
        assert_eq!(offer["lead"]["department_id"], app.sales);

        assert!(listed(app).await.iter().all(|d| d["id"] != app.rentals));
        let me = expect(app.get("/api/v1/me", &rosa.token).await, 200).await;
        assert_eq!(me["departments"], json!([]), "Rosa left it");
        let audit = expect(
            app.get(&format!("/api/v1/leads/{lead}/audit"), &app.manager)
                .await,
            200,
        )
        .await;
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["decision"] == "department_removed"),
            "{audit}"
        );
        // A source still sending to it loses nothing: the lead lands in the default one.
        let r = app
            .post_lead(json!({"name": "Téo", "phone": "(11) 98765-7102", "department": "Locação"}))
            .await;
        assert_eq!(r.status(), 202);
        let dept = app
            .scalar("SELECT department_id FROM leads ORDER BY id DESC LIMIT 1")
            .await;
        assert_eq!(dept, app.sales);
        // Brokers cannot be put in it any more; its name brings it back, memberless.
        let r = app
            .put(
                &format!("/api/v1/users/{}/departments", rosa.id),
                &app.manager,
                json!({"departments": [app.rentals]}),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(remove(app, app.rentals).await.status(), 404);
        let r = app
            .post(
                "/api/v1/departments",
                &app.manager,
                json!({"name": "Locação"}),
            )
            .await;
        assert_eq!(expect(r, 201).await["id"], app.rentals);
        assert_eq!(wv.accept(&offer).await["type"], "assigned");
    }
);

both!(
    the_default_department_stays_and_names_stay_unique,
    |app| async move {
        let body = expect(remove(app, app.sales).await, 409).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("padrão"),
            "{body}"
        );
        let path = format!("/api/v1/departments/{}", app.rentals);
        let r = patch(app, &path, &app.manager, json!({"name": "Vendas"})).await;
        assert_eq!(r.status(), 409);
        let r = patch(app, &path, &app.manager, json!({"name": "  "})).await;
        assert_eq!(expect(r, 422).await["error"]["field"], "name");
        let r = patch(app, &path, &app.manager, json!({"is_default": false})).await;
        assert_eq!(expect(r, 422).await["error"]["field"], "is_default");
        let r = patch(
            app,
            &path,
            &app.manager,
            json!({"name": "Aluguel", "is_default": true}),
        )
        .await;
        assert_eq!(r.status(), 204);
        let deps = listed(app).await;
        let rentals = deps.iter().find(|d| d["id"] == app.rentals).unwrap();
        assert_eq!(rentals["name"], "Aluguel");
        assert_eq!(rentals["is_default"], 1);
        assert_eq!(deps.iter().filter(|d| d["is_default"] == 1).count(), 1);
        // Now the old default can go.
        assert_eq!(remove(app, app.sales).await.status(), 200);
        let r = patch(
            app,
            "/api/v1/departments/999999",
            &app.manager,
            json!({"name": "X"}),
        )
        .await;
        assert_eq!(r.status(), 404);
    }
);
