//! A5, A6, L7: "Meus clientes", the client record and its timeline, the one-tap contact attempt
//! and the agency's first WhatsApp message.

use crate::both;
use serde_json::{json, Value};

async fn body(r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

// The timeline of a client refused by one broker, left to expire by another and accepted by a
// third shows all three with their brokers, then the attempt and the contact the third logged.
both!(
    a5_the_timeline_tells_the_whole_story_and_the_client_stays_in_meus_clientes,
    |app| async move {
        app.settings(json!({"answer_seconds": 1, "retry_pause_seconds": 1}))
            .await;
        let a = app.broker("Ana", &[app.sales]).await;
        let b = app.broker("Bruno", &[app.sales]).await;
        let c = app.broker("Carla", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let mut wb = app.online(&b).await;
        let lead = app.lead("Paula Cliente", "(11) 98765-3100").await;
        let (first, offer) = tokio::select! { o = wa.offer() => (0, o), o = wb.offer() => (1, o) };
        let (x, y, refuser, silent) = if first == 0 {
            (&mut wa, &mut wb, &a, &b)
        } else {
            (&mut wb, &mut wa, &b, &a)
        };
        x.send(json!({"type": "refuse", "offer_id": offer["offer_id"], "reason": "sem agenda"}))
            .await;
        assert_eq!(x.recv_type("offer_closed").await["outcome"], "refused");
        let second = y.offer().await;
        assert_eq!(second["lead"]["id"], lead);
        assert_eq!(y.recv_type("offer_closed").await["outcome"], "expired");
        x.set_online(false).await;
        y.set_online(false).await;
        let mut wc = app.online(&c).await;
        let third = wc.offer().await;
        assert_eq!(third["lead"]["id"], lead);
        wc.accept(&third).await;

        // One tap after opening WhatsApp: kept, and the attendance stays pending.
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/contact-attempts"),
                &c.token,
                json!({"channel": "whatsapp"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        assert_eq!(
            app.pending(&c).await.len(),
            1,
            "an attempt does not conclude the attendance"
        );
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/contact-attempts"),
                &c.token,
                json!({"channel": "pombo"}),
            )
            .await;
        assert_eq!(r.status(), 422);
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/contact-attempts"),
                &a.token,
                json!({"channel": "phone"}),
            )
            .await;
        assert_eq!(
            r.status(),
            404,
            "another broker's lead is not theirs to log"
        );
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/contacts"),
                &c.token,
                json!({"kind": "call", "note": "Quer visitar sábado"}),
            )
            .await;
        assert!(r.status().is_success(), "{:?}", r.text().await);
        assert!(app.pending(&c).await.is_empty());

        // Logged and concluded, the client is still in Carla's list; not in the others'.
        let mine = body(app.get("/api/v1/clients", &c.token).await).await;
        let rows = mine["clients"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{mine}");
        assert_eq!(rows[0]["name"], "Paula Cliente");
        assert_eq!(rows[0]["last_lead_id"], lead);
        let client = rows[0]["id"].as_i64().unwrap();
        for other in [refuser, silent] {
            let theirs = body(app.get("/api/v1/clients", &other.token).await).await;
            assert!(theirs["clients"].as_array().unwrap().is_empty(), "{theirs}");
            let r = app
                .get(&format!("/api/v1/clients/{client}"), &other.token)
                .await;
            assert_eq!(r.status(), 404);
        }
        let found = body(app.get("/api/v1/clients?q=paula", &c.token).await).await;
        assert_eq!(found["clients"].as_array().unwrap().len(), 1);
        let none = body(app.get("/api/v1/clients?q=ninguem", &c.token).await).await;
        assert!(none["clients"].as_array().unwrap().is_empty());

        // Carla moves the lead along the pipeline: the timeline names her.
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/status"),
                &c.token,
                json!({"status": "Em atendimento"}),
            )
            .await;
        assert!(r.status().is_success(), "{:?}", r.text().await);

        let timeline = body(
            app.get(&format!("/api/v1/clients/{client}/timeline"), &app.manager)
                .await,
        )
        .await;
        let entries = timeline.as_array().unwrap();
        let find = |kind: &str| {
            entries
                .iter()
                .find(|e| e["kind"] == kind)
                .unwrap_or_else(|| panic!("no {kind} in {timeline}"))
        };
        assert_eq!(find("offer_refused")["broker_id"], refuser.id);
        assert_eq!(find("offer_refused")["note"], "sem agenda");
        assert_eq!(find("offer_expired")["broker_id"], silent.id);
        assert_eq!(find("offer_accepted")["broker_name"], "Carla");
        assert_eq!(find("contact_attempt")["code"], "whatsapp");
        assert_eq!(find("contact_logged")["note"], "Quer visitar sábado");
        assert_eq!(find("lead_created")["lead_id"], lead);
        assert_eq!(find("status_changed")["broker_name"], "Carla");
        assert_eq!(find("status_changed")["to"], "Em atendimento");
        // Newest first: the contact comes before the offers, the lead last.
        let pos = |kind: &str| entries.iter().position(|e| e["kind"] == kind).unwrap();
        assert!(pos("contact_logged") < pos("offer_accepted"));
        assert!(pos("offer_accepted") < pos("offer_refused"));
        assert_eq!(entries.last().unwrap()["kind"], "lead_created");
        let r = app
            .get(&format!("/api/v1/clients/{client}/timeline"), &a.token)
            .await;
        assert_eq!(r.status(), 404);
        wc.silent_for(100).await;
    }
);

// A5, A6: the profile entered by hand replaces the lead's and sets the objective.
both!(a6_the_profile_is_edited_by_hand, |app| async move {
    let a = app.broker("Ana", &[app.sales]).await;
    let mut wa = app.online(&a).await;
    let lead = app.lead("Rui", "(11) 98765-3200").await;
    let offer = wa.offer().await;
    wa.accept(&offer).await;
    let lead_view = body(app.get(&format!("/api/v1/leads/{lead}"), &a.token).await).await;
    let client = lead_view["client_id"].as_i64().unwrap();
    let rec = body(
        app.get(&format!("/api/v1/clients/{client}"), &a.token)
            .await,
    )
    .await;
    assert_eq!(rec["interest_source"], "none");
    assert!(rec["objective"].is_null());
    let r = app
        .put(
            &format!("/api/v1/clients/{client}/profile"),
            &a.token,
            json!({"objective": "rent", "interest": {"kind": "apartment", "neighbourhood": "Moema",
                   "price_cents": 350000, "bedrooms": 2}, "condominium": "Ed. Sol"}),
        )
        .await;
    assert_eq!(r.status(), 204, "{:?}", r.text().await);
    let rec = body(
        app.get(&format!("/api/v1/clients/{client}"), &app.manager)
            .await,
    )
    .await;
    assert_eq!(rec["objective"], "rent");
    assert_eq!(rec["interest_source"], "manual");
    assert_eq!(rec["interest"]["neighbourhood"], "Moema");
    assert_eq!(rec["condominium"], "Ed. Sol");
    assert_eq!(rec["leads"][0]["id"], lead);
    let r = app
        .put(
            &format!("/api/v1/clients/{client}/profile"),
            &a.token,
            json!({"objective": "steal"}),
        )
        .await;
    assert!(r.status() == 400 || r.status() == 422, "{}", r.status());
    let r = app
        .put(
            &format!("/api/v1/clients/{client}/profile"),
            &a.token,
            json!({"interest": {"bedrooms": -1}}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let timeline = body(
        app.get(&format!("/api/v1/clients/{client}/timeline"), &a.token)
            .await,
    )
    .await;
    assert_eq!(timeline[0]["kind"], "profile_edited");
    assert_eq!(timeline[0]["broker_name"], "Ana");
});

// L7: the agency's first WhatsApp message reaches every page through /me.
both!(
    l7_the_agency_writes_its_whatsapp_message,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        let me = body(app.get("/api/v1/me", &a.token).await).await;
        let default = me["agency"]["whatsapp_template"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            default.contains("{corretor}") && default.starts_with("Olá"),
            "{default}"
        );
        let t = "Oi {cliente}! Sou {corretor}, da {imobiliaria}.";
        let out = body(
            app.put(
                "/api/v1/settings/messages",
                &app.manager,
                json!({"whatsapp_template": t}),
            )
            .await,
        )
        .await;
        assert_eq!(out["custom"], true);
        let me = body(app.get("/api/v1/me", &a.token).await).await;
        assert_eq!(me["agency"]["whatsapp_template"], t);
        let r = app
            .put(
                "/api/v1/settings/messages",
                &a.token,
                json!({"whatsapp_template": "x"}),
            )
            .await;
        assert_eq!(r.status(), 403);
        let out = body(
            app.put(
                "/api/v1/settings/messages",
                &app.manager,
                json!({"whatsapp_template": null}),
            )
            .await,
        )
        .await;
        assert_eq!(out["whatsapp_template"], default.as_str());
    }
);
