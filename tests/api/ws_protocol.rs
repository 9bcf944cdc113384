//! The broker WebSocket as docs/PROTOCOL.md describes it, probed the way a client written from
//! that document alone would: close codes that arrive (no reset), answers in request order, every
//! message refusing unknown fields, the malformed-message window; and the lead and settings
//! documents that the protocol's clients and sources read (department by id, the real ranges).

use crate::both;
use crate::helpers::Ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Reads until the server's close frame: its code, or what came instead (a reset, an end
/// without a close frame, silence).
async fn close_outcome(ws: &mut Ws) -> Result<u16, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.stream.next()).await {
            Err(_) => return Err("no close within 15 s".into()),
            Ok(Some(Ok(Message::Close(Some(f))))) => return Ok(f.code.into()),
            Ok(Some(Ok(Message::Close(None)))) => return Err("close without a code".into()),
            Ok(None) => return Err("connection ended without a close frame".into()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(format!("error instead of close: {e}")),
        }
    }
}

both!(
    an_oversized_message_is_closed_with_1009_on_every_connection,
    |app| async move {
        let b = app.broker("A", &[app.sales]).await;
        let mut conns = Vec::new();
        for _ in 0..20 {
            conns.push(app.connect(&b).await);
        }
        let runs = conns.into_iter().map(|mut ws| {
            tokio::spawn(async move {
                // A large legal message first: a ping padded to just under the 64 KiB limit.
                let legal = format!("{{\"type\":\"ping\"{}}}", " ".repeat(60_000));
                ws.stream
                    .send(Message::text(legal))
                    .await
                    .map_err(|e| e.to_string())?;
                assert_eq!(ws.recv().await["type"], "pong");
                // Then one over the limit; the server may close before it is all written.
                let _ = ws.stream.send(Message::text("x".repeat(1_000_000))).await;
                close_outcome(&mut ws).await
            })
        });
        let outcomes: Vec<_> = futures_util::future::join_all(runs).await;
        let codes: Vec<Result<u16, String>> = outcomes.into_iter().map(|r| r.unwrap()).collect();
        assert!(
            codes.iter().all(|c| c == &Ok(1009)),
            "every connection should see 1009: {codes:?}"
        );
    }
);

both!(
    answers_on_one_connection_come_in_request_order,
    |app| async move {
        let b = app.broker("A", &[app.sales]).await;
        let mut ws = app.online(&b).await;
        for i in 0..20 {
            app.lead(
                &format!("Ordem {i}"),
                &format!("(11) 95555-{:04}", 4000 + i),
            )
            .await;
            let offer = ws.offer().await;
            let accept = json!({"type": "accept", "offer_id": offer["offer_id"]});
            // Back to back, without waiting for the first answer.
            ws.stream
                .feed(Message::text(accept.to_string()))
                .await
                .unwrap();
            ws.stream
                .feed(Message::text(accept.to_string()))
                .await
                .unwrap();
            ws.stream.flush().await.unwrap();
            let first = ws.recv().await;
            assert_eq!(first["type"], "assigned", "trial {i}: {first}");
            let second = ws.recv().await;
            assert_eq!(second["type"], "error", "trial {i}: {second}");
            assert_eq!(second["code"], "offer_closed", "trial {i}: {second}");
            assert_eq!(second["offer_id"], offer["offer_id"]);
        }
    }
);

both!(
    ping_refuses_unknown_fields_like_every_message,
    |app| async move {
        let b = app.broker("A", &[app.sales]).await;
        let mut ws = app.connect(&b).await;
        ws.send(json!({"type": "ping", "x": 1})).await;
        let r = ws.recv().await;
        assert_eq!(r["type"], "error", "{r}");
        assert_eq!(r["code"], "bad_message", "{r}");
        // The plain ping still works.
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.recv().await["type"], "pong");
    }
);

both!(
    malformed_messages_between_good_ones_still_close_with_1008,
    |app| async move {
        let b = app.broker("A", &[app.sales]).await;
        let mut ws = app.connect(&b).await;
        let mut bad_sent = 0;
        let code = loop {
            assert!(
                bad_sent <= 20,
                "still open after {bad_sent} malformed messages"
            );
            ws.stream.send(Message::text("not json")).await.unwrap();
            bad_sent += 1;
            let closed = loop {
                match tokio::time::timeout(Duration::from_secs(15), ws.stream.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        assert!(t.contains("bad_message"), "{t}");
                        break None;
                    }
                    Ok(Some(Ok(Message::Close(Some(f))))) => break Some(u16::from(f.code)),
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                    other => panic!("unexpected after a malformed message: {other:?}"),
                }
            };
            if let Some(code) = closed {
                break code;
            }
            // A valid message in between must not wipe the count.
            ws.send(json!({"type": "ping"})).await;
            assert_eq!(ws.recv().await["type"], "pong");
        };
        assert_eq!(code, 1008);
        assert_eq!(bad_sent, 20, "closed at the 20th malformed message");
    }
);

both!(
    a_lead_names_its_department_by_id_number_or_name,
    |app| async move {
        let b = app.broker("Locadora", &[app.rentals]).await;
        let mut ws = app.online(&b).await;
        // A JSON number: the department's id.
        let r = app
            .post_lead(
                json!({"name": "Por id", "phone": "(11) 95555-5001", "department": app.rentals}),
            )
            .await;
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        let o = ws.offer().await;
        assert_eq!(o["lead"]["department_id"], app.rentals);
        ws.refuse(&o).await;
        // A numeric string and a name keep working.
        for (i, d) in [json!(app.rentals.to_string()), json!("locação")]
            .iter()
            .enumerate()
        {
            let phone = format!("(11) 95555-50{:02}", 10 + i);
            let r = app
                .post_lead(json!({"name": "Outro", "phone": phone, "department": d}))
                .await;
            assert_eq!(r.status(), 202, "{d}: {:?}", r.text().await);
        }
        // An unknown department, by number or by name: a clear 422 naming the field.
        for d in [json!(987_654), json!("Piscinas"), json!(true)] {
            let r = app
                .post_lead(json!({"name": "Nada", "phone": "(11) 95555-5099", "department": d}))
                .await;
            assert_eq!(r.status(), 422, "{d}");
            let body: Value = r.json().await.unwrap();
            let err = &body["error"];
            assert!(
                err["field"] == "department"
                    || err["message"].as_str().unwrap().contains("department"),
                "{d}: {body}"
            );
        }
    }
);

both!(the_settings_document_matches_the_server, |app| async move {
    let doc: Value = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let props = &doc["components"]["schemas"]["RouletteSettingsIn"]["properties"];
    let answer = &props["answer_seconds"];
    assert_eq!(answer["minimum"], 1, "{answer}");
    assert_eq!(answer["maximum"], 600, "{answer}");
    let pause = &props["retry_pause_seconds"];
    assert_eq!(pause["minimum"], 0, "{pause}");
    assert_eq!(pause["maximum"], 86_400, "{pause}");
    // The server takes exactly that range.
    for (v, ok) in [(0, false), (1, true), (600, true), (601, false)] {
        let r = app
            .put(
                "/api/v1/settings/roulette",
                &app.manager,
                json!({"answer_seconds": v}),
            )
            .await;
        assert_eq!(r.status().is_success(), ok, "answer_seconds {v}");
    }
    // A new agency's defaults, as docs/ROUTING.md lists them.
    let s: Value = app
        .get("/api/v1/settings/roulette", &app.manager)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["retry_pause_seconds"], 60);
    assert_eq!(s["max_missed_in_row"], 3);
    assert_eq!(s["everyone_refused"], "retry");
});
