//! The cases the seed is silent on, decided in docs/ROUTING.md.

use crate::both;
use serde_json::json;

// Nobody online: leads wait, then go out oldest first, one offer per broker at a time.
both!(
    leads_wait_for_someone_online_and_go_out_oldest_first,
    |app| async move {
        let first = app.lead("Primeiro", "(11) 98765-8001").await;
        let second = app.lead("Segundo", "(11) 98765-8002").await;
        let third = app.lead("Terceiro", "(11) 98765-8003").await;
        let a = app.broker("A", &[app.sales]).await;
        let b = app.broker("B", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let o1 = wa.offer().await;
        assert_eq!(o1["lead"]["id"], first);
        wa.silent_for(300).await; // one offer at a time: A does not get the second lead yet
        let mut wb = app.online(&b).await;
        let o2 = wb.offer().await;
        assert_eq!(o2["lead"]["id"], second);
        wa.accept(&o1).await;
        let o3 = wa.offer().await;
        assert_eq!(o3["lead"]["id"], third);
    }
);

// Everyone refused: after the configured pause the lead goes round again.
both!(
    a_lead_refused_by_everyone_goes_round_again_after_the_pause,
    |app| async move {
        app.settings(json!({"everyone_refused": "retry", "retry_pause_seconds": 1}))
            .await;
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let lead = app.lead("Cliente", "(11) 98765-8101").await;
        let o = wa.offer().await;
        wa.refuse(&o).await;
        let again = wa.offer().await; // after ~1 s, round two
        assert_eq!(again["lead"]["id"], lead);
        assert_ne!(again["offer_id"], o["offer_id"]);
        let rounds = app
            .scalar(&format!("SELECT round FROM leads WHERE id = {lead}"))
            .await;
        assert_eq!(rounds, 1);
    }
);

// Everyone refused with a fallback broker configured: the lead goes straight to them.
both!(
    a_lead_refused_by_everyone_goes_to_the_fallback_broker,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let f = app.broker("Plantão", &[app.rentals]).await;
        app.settings(json!({"everyone_refused": "fallback", "fallback_broker_id": f.id}))
            .await;
        let mut wa = app.online(&a).await;
        let mut wf = app.connect(&f).await; // the fallback need not be online
        let lead = app.lead("Cliente", "(11) 98765-8201").await;
        let o = wa.offer().await;
        wa.refuse(&o).await;
        let assigned = wf.recv_type("assigned").await;
        assert_eq!(assigned["lead_id"], lead);
        assert_eq!(app.pending(&f).await.len(), 1);
    }
);

// N silent timeouts in a row set the broker offline, and they are told why.
both!(
    a_broker_who_lets_offers_expire_n_times_is_set_offline,
    |app| async move {
        app.settings(
            json!({"answer_seconds": 1, "max_missed_in_row": 2, "retry_pause_seconds": 0}),
        )
        .await;
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        app.lead("Cliente", "(11) 98765-8301").await;
        wa.offer().await;
        assert_eq!(wa.recv_type("offer_closed").await["outcome"], "expired");
        wa.offer().await; // round two, same broker
        assert_eq!(wa.recv_type("offer_closed").await["outcome"], "expired");
        let p = wa.recv_type("presence").await;
        assert_eq!(p["online"], false);
        assert!(p["reason"].as_str().unwrap().contains("2 offers"), "{p}");
        // The page words it in pt-BR from the cause, never from the reason's text.
        assert_eq!(p["cause"], "missed_offers", "{p}");
        assert_eq!(p["missed"], 2, "{p}");
        let me: serde_json::Value = app.get("/api/v1/me", &a.token).await.json().await.unwrap();
        assert_eq!(me["user"]["online"], false);
        wa.silent_for(1500).await; // no further offers while offline
    }
);

// A late accept and a second accept both get a clear rejection; the lead is held once.
both!(late_and_repeated_accepts_are_rejected, |app| async move {
    app.settings(json!({"answer_seconds": 1, "retry_pause_seconds": 60}))
        .await;
    let a = app.broker("A", &[app.sales]).await;
    let b = app.broker("B", &[app.sales]).await;
    let mut wa = app.online(&a).await;
    app.lead("Cliente", "(11) 98765-8401").await;
    let o = wa.offer().await;
    wa.recv_type("offer_closed").await; // expired
    let late = wa.accept(&o).await;
    assert_eq!(late["type"], "error");
    assert_eq!(late["code"], "offer_closed");
    app.settings(json!({"answer_seconds": 30})).await;
    let mut wb = app.online(&b).await;
    let o2 = wb.offer().await;
    assert_eq!(wb.accept(&o2).await["type"], "assigned");
    let twice = wb.accept(&o2).await;
    assert_eq!(twice["code"], "offer_closed");
    // A tries B's offer over HTTP: someone else's offer.
    let r = app
        .post(
            &format!("/api/v1/offers/{}/accept", o2["offer_id"]),
            &a.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 403);
});

// The deadline is enforced by the store even if the accept arrives before the timer fires.
both!(
    an_accept_after_the_deadline_is_refused_by_the_store,
    |app| async move {
        let a = app.broker("A", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        app.lead("Cliente", "(11) 98765-8501").await;
        let o = wa.offer().await;
        // Move the deadline into the past behind the dispatcher's back.
        app.exec(&format!(
            "UPDATE offers SET deadline_ms = 1 WHERE id = {}",
            o["offer_id"]
        ))
        .await;
        let r = wa.accept(&o).await;
        assert_eq!(r["code"], "deadline_passed");
        app.exec(&format!(
            "UPDATE offers SET deadline_ms = {} WHERE id = {}",
            i64::MAX / 4,
            o["offer_id"]
        ))
        .await;
        assert_eq!(wa.accept(&o).await["type"], "assigned");
    }
);
