//! The socket half of the malformed-input corpus: every frame of tests/corpus/ws/frames.txt
//! gets its documented answer, frames the protocol closes on get their close code, junk
//! handshakes are refused, and the broker still gets and accepts a lead afterwards.

use super::lines;
use crate::both;
use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// An offer id no test creates: its `offer_not_found` answer marks the end of a frame's answers.
const SENTINEL: i64 = -777;

/// The next text message, or the close code (1005 without one, 1006 when the stream broke).
async fn next(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.stream.next()).await {
            Err(_) => return Err(0),
            Ok(Some(Ok(Message::Text(t)))) => {
                return Ok(serde_json::from_str(t.as_str()).unwrap_or(Value::Null))
            }
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map_or(1005, |f| f.code.into())),
            Ok(Some(Ok(_))) => continue,
            Ok(None) | Ok(Some(Err(_))) => return Err(1006),
        }
    }
}

both!(
    malformed_socket_frames_get_an_error_or_a_close,
    |app| async move {
        let b = app.broker("Bia", &[app.sales]).await;
        let mut failures = Vec::new();
        let frames = lines("ws/frames.txt");
        for chunk in frames.chunks(10) {
            // A fresh connection every ten frames: the malformed-message limit is not the point here.
            let mut ws = app.connect(&b).await;
            for line in chunk {
                let (expect, frame) = line.split_once('\t').expect("expectation and frame");
                ws.stream
                    .send(Message::text(frame.to_string()))
                    .await
                    .expect("send");
                ws.send(json!({"type": "accept", "offer_id": SENTINEL}))
                    .await;
                // Everything the frame got, up to the sentinel's own answer.
                let mut got = Vec::new();
                loop {
                    match next(&mut ws).await {
                        Ok(v) if v["offer_id"] == SENTINEL => break,
                        Ok(v) if v["type"] == "error" => got.push(v["code"].to_string()),
                        Ok(v) => got.push(v["type"].to_string()),
                        Err(code) => {
                            got.push(format!("close {code}"));
                            break;
                        }
                    }
                }
                let want: Vec<String> = match expect {
                    "none" => Vec::new(),
                    e => vec![format!("{e:?}")],
                };
                if got != want {
                    failures.push(format!("{frame:?}: expected {want:?}, got {got:?}"));
                }
                if got.last().is_some_and(|g| g.starts_with("close")) {
                    break;
                }
            }
        }
        // Frames the protocol answers with a close: too big (1009), too many malformed (1008).
        let mut ws = app.connect(&b).await;
        let big = format!(
            "{{\"type\":\"refuse\",\"offer_id\":1,\"reason\":\"{}\"}}",
            "x".repeat(70_000)
        );
        ws.stream.send(Message::text(big)).await.expect("send");
        match next(&mut ws).await {
            Err(1009) => {}
            other => failures.push(format!("a 70 kB frame: expected close 1009, got {other:?}")),
        }
        let mut ws = app.connect(&b).await;
        for _ in 0..25 {
            if ws.stream.send(Message::text("{")).await.is_err() {
                break;
            }
        }
        let mut code = None;
        for _ in 0..30 {
            if let Err(c) = next(&mut ws).await {
                code = Some(c);
                break;
            }
        }
        if code != Some(1008) {
            failures.push(format!(
                "25 malformed frames: expected close 1008, got {code:?}"
            ));
        }
        // Binary frames are answered, not fatal; a fragmented ping is one ping.
        let mut ws = app.connect(&b).await;
        ws.stream
            .send(Message::binary(vec![0xff, 0, 1]))
            .await
            .expect("send");
        if !next(&mut ws)
            .await
            .is_ok_and(|v| v["code"] == "unsupported")
        {
            failures.push("a binary frame: expected unsupported".into());
        }
        let parts: [(&[u8], OpCode, bool); 3] = [
            (b"{\"type\"", OpCode::Data(Data::Text), false),
            (b":\"pi", OpCode::Data(Data::Continue), false),
            (b"ng\"}", OpCode::Data(Data::Continue), true),
        ];
        for (data, op, fin) in parts {
            let frame = Frame::message(data.to_vec(), op, fin);
            ws.stream.send(Message::Frame(frame)).await.expect("send");
        }
        if !next(&mut ws).await.is_ok_and(|v| v["type"] == "pong") {
            failures.push("a ping in three fragments: expected pong".into());
        }
        // Invalid UTF-8 in a text frame ends the connection (1007 is the code that says why).
        let bad = Frame::message(
            b"{\"type\":\"\xff\"}".to_vec(),
            OpCode::Data(Data::Text),
            true,
        );
        let _ = ws.stream.send(Message::Frame(bad)).await;
        match next(&mut ws).await {
            Err(1007 | 1002 | 1006 | 1005) => {}
            other => failures.push(format!(
                "invalid UTF-8: expected the connection to end, got {other:?}"
            )),
        }
        // Handshakes with junk credentials are refused, not failed.
        for token in ["x", "rs_' OR 1=1 --", &"a".repeat(6000), "%F0%9F%98%80"] {
            let r = app
                .http
                .get(format!("{}/ws", app.base))
                .bearer_auth(token)
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .send()
                .await;
            if !r.as_ref().is_ok_and(|r| r.status().is_client_error()) {
                failures.push(format!("handshake with token {:.20}: {r:?}", token));
            }
        }
        // Still serving: the broker gets and accepts a new lead.
        let mut ws = app.online(&b).await;
        app.lead("Depois", "(11) 96200-0001").await;
        let o = ws.offer().await;
        if ws.accept(&o).await["type"] != "assigned" {
            failures.push("a valid lead after the corpus was not assigned".into());
        }
        for f in &failures {
            eprintln!("malformed socket corpus ({:?}): {f}", app.backend);
        }
        assert!(
            failures.is_empty(),
            "{} socket frames failed",
            failures.len()
        );
    }
);
