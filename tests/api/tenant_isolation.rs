//! One agency's settings cannot stop another agency's leads (issue 11, finding 1): the
//! lead-number template is checked in full when saved, a bad one stored earlier is formatted
//! within bounds, and the node stays ready.

use crate::both;
use serde_json::{json, Value};

both!(
    a_lead_number_template_with_a_huge_width_is_refused,
    |app| async move {
        for bad in [
            "{seq:70000}",
            "{seq:60000}",
            "L-{seq:13}",
            "{seq}{nome}",
            "L-{seq",
        ] {
            let r = app
                .put(
                    "/api/v1/settings/roulette",
                    &app.manager,
                    json!({ "lead_number_template": bad }),
                )
                .await;
            assert_eq!(r.status(), 422, "{bad}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["field"], "lead_number_template", "{bad}");
        }
        // The stored template did not change: leads are numbered as before.
        let r = app
            .post_lead(json!({"name": "Cliente", "phone": "11987650001"}))
            .await;
        assert_eq!(r.status(), 202);
        let lead: Value = r.json().await.unwrap();
        assert!(lead["number"].as_str().unwrap().len() < 20, "{lead}");
    }
);

both!(
    a_bad_template_stored_earlier_stops_no_agency,
    |app| async move {
        // Agency B, the victim, with its own source key.
        let now = app.state.clock.now_ms();
        let other = app.state.store.create_agency("Outra", now).await.unwrap();
        app.state
            .store
            .create_department(other, "Vendas", true, now)
            .await
            .unwrap();
        let other_key = app.new_api_key(other, "site").await;
        // A template saved before the full check existed.
        app.exec(&format!(
            "UPDATE agencies SET lead_number_template = '{{seq:70000}}' WHERE id = {}",
            app.agency
        ))
        .await;
        for i in 0..3 {
            let r = app
                .post_lead(json!({"name": "Cliente A", "phone": format!("1198765100{i}")}))
                .await;
            assert_eq!(r.status(), 202, "{:?}", r.text().await);
            let lead: Value = r.json().await.unwrap();
            assert_eq!(lead["number"].as_str().unwrap().len(), 12, "{lead}");
            let r = app
                .http
                .post(format!("{}/api/v1/leads", app.base))
                .bearer_auth(&other_key)
                .json(&json!({"name": "Cliente B", "phone": format!("1198765200{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202, "the other agency's lead is taken");
        }
        let r = app
            .http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
);
