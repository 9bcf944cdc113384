//! The plan's feature switches, set through the platform API (docs/PLATFORM.md): what a
//! manager, a broker and a lead source meet when the roulette or active-offer campaigns are
//! left out, and the manager's own switch coming back with the feature.

use crate::both;
use crate::platform::error_of;
use serde_json::{json, Value};

both!(
    campaigns_left_out_of_the_plan_answer_403_and_the_managers_switch_comes_back,
    |app| async move {
        let (agency, created) = app
            .platform_agency("Com Plano", "gestao@plano.com.br")
            .await;
        let otp = created["one_time_password"].as_str().unwrap();
        let token = app.first_sign_in("gestao@plano.com.br", otp).await;
        assert_eq!(app.get("/api/v1/campaigns", &token).await.status(), 200);

        let r = app
            .platform(
                reqwest::Method::PUT,
                &format!("/agencies/{agency}/features"),
                Some(json!({"campaigns": false})),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap()["features"],
            json!({"roulette": true, "campaigns": false})
        );
        let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["features"]["campaigns"], false);
        let r = app.get("/api/v1/campaigns", &token).await;
        assert_eq!(r.status(), 403);
        assert!(error_of(r).await["message"]
            .as_str()
            .unwrap()
            .contains("plano"));
        let r = app.get("/api/v1/me/campaigns", &token).await;
        assert_eq!(r.status(), 403);
        let crm: Value = app
            .get("/api/v1/settings/crm", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(crm["active_offer_enabled"], false);
        let r = app
            .put(
                "/api/v1/settings/crm",
                &token,
                json!({"active_offer_enabled": true, "quarantine_days": 10}),
            )
            .await;
        assert_eq!(
            r.status(),
            403,
            "the manager cannot switch on what the plan leaves out"
        );
        // Saving other settings meanwhile keeps the manager's switch for later.
        let r = app
            .put(
                "/api/v1/settings/crm",
                &token,
                json!({"active_offer_enabled": false, "quarantine_days": 20}),
            )
            .await;
        assert_eq!(r.status(), 200);
        // Another agency is untouched: the test agency's manager switches campaigns on.
        let r = app
            .put(
                "/api/v1/settings/crm",
                &app.manager,
                json!({"active_offer_enabled": true, "quarantine_days": 10}),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            app.get("/api/v1/campaigns", &app.manager).await.status(),
            200
        );

        app.platform(
            reqwest::Method::PUT,
            &format!("/agencies/{agency}/features"),
            Some(json!({"campaigns": true})),
        )
        .await;
        assert_eq!(app.get("/api/v1/campaigns", &token).await.status(), 200);
        let crm: Value = app
            .get("/api/v1/settings/crm", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            crm,
            json!({"active_offer_enabled": true, "quarantine_days": 20})
        );
    }
);

both!(
    with_the_roulette_out_of_the_plan_leads_are_registered_and_not_offered,
    |app| async move {
        let b = app.broker("Corretora", &[app.sales]).await;
        let mut ws = app.online(&b).await;
        let r = app
            .platform(
                reqwest::Method::PUT,
                &format!("/agencies/{}/features", app.agency),
                Some(json!({"roulette": false})),
            )
            .await;
        assert_eq!(r.status(), 200);
        let r = app
            .post_lead(json!({"name": "Sem Roleta", "phone": "11987650201"}))
            .await;
        assert_eq!(r.status(), 202);
        let lead: Value = r.json().await.unwrap();
        assert_eq!(lead["state"], "unrouted", "registered, not offered");
        // The manager sees it off and cannot switch it on.
        let s: Value = app
            .get("/api/v1/settings/roulette", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(s["roulette_enabled"], false);
        let r = app
            .put(
                "/api/v1/settings/roulette",
                &app.manager,
                json!({"roulette_enabled": true}),
            )
            .await;
        assert_eq!(r.status(), 403);
        assert!(error_of(r).await["message"]
            .as_str()
            .unwrap()
            .contains("roleta"));
        // Saving the form as the page does (the box unticked) keeps the manager's choice.
        app.settings(json!({"roulette_enabled": false, "answer_seconds": 45}))
            .await;
        // The lead waits in the list, without a broker, to be forwarded by hand.
        let id = lead["lead_id"].as_i64().unwrap();
        let view: Value = app
            .get(&format!("/api/v1/leads/{id}"), &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["state"], "unrouted");
        assert!(view["broker_id"].is_null());
        let offers = app
            .scalar(&format!("SELECT COUNT(*) FROM offers WHERE lead_id = {id}"))
            .await;
        assert_eq!(offers, 0);

        // Back in the plan: the manager's switch (on) counts again, new leads are offered.
        app.platform(
            reqwest::Method::PUT,
            &format!("/agencies/{}/features", app.agency),
            Some(json!({"roulette": true})),
        )
        .await;
        let s: Value = app
            .get("/api/v1/settings/roulette", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(s["roulette_enabled"], true);
        assert_eq!(s["answer_seconds"], 45);
        app.lead("Com Roleta", "11987650202").await;
        let offer = ws.offer().await;
        assert_eq!(offer["lead"]["client_name"], "Com Roleta");
        ws.refuse(&offer).await;
    }
);
