//! The operators' wallboard: live numbers per department, without lead personal data.

use crate::both;
use roleta::model::Role;
use serde_json::{json, Value};

both!(
    the_wallboard_follows_offers_live_and_shows_no_personal_data,
    |app| async move {
        let (_, ops) = app.user("Operador", Role::Ops).await;
        let a = app.broker("Ana Corretora", &[app.sales]).await;
        let mut wa = app.online(&a).await;
        let resp = app
            .http
            .get(format!("{}/api/v1/ops/stream", app.base))
            .bearer_auth(&ops)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut resp = resp;
        let mut buf = String::new();
        // Reads SSE events until one satisfies `want`.
        let mut next_board = async |want: &dyn Fn(&Value) -> bool| -> Value {
            loop {
                if let Some(end) = buf.find("\n\n") {
                    let event: String = buf.drain(..end + 2).collect();
                    if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                        let v: Value = serde_json::from_str(data).unwrap();
                        if want(&v) {
                            return v;
                        }
                    }
                    continue;
                }
                let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk())
                    .await
                    .unwrap()
                    .unwrap()
                    .expect("the stream goes on");
                buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        let sales = |v: &Value| {
            v["departments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["name"] == "Vendas")
                .cloned()
                .unwrap()
        };
        let b = next_board(&|v| sales(v)["online"] == json!(["Ana Corretora"])).await;
        assert_eq!(sales(&b)["waiting"], 0);
        app.lead("Cliente Secreto", "(11) 91111-0001").await;
        let offer = wa.offer().await;
        let b = next_board(&|v| sales(v)["in_flight"].as_array().unwrap().len() == 1).await;
        let flight = &sales(&b)["in_flight"][0];
        assert_eq!(flight["broker"], "Ana Corretora");
        assert_eq!(flight["offer_id"], offer["offer_id"]);
        let text = b.to_string();
        assert!(
            !text.contains("Cliente Secreto") && !text.contains("91111"),
            "no lead personal data: {text}"
        );
        wa.accept(&offer).await;
        let b = next_board(&|v| sales(v)["last_hour"]["accepted"] == 1).await;
        assert!(sales(&b)["time_to_accept_p50_ms"].as_i64().unwrap() >= 0);
        let minutes = sales(&b)["minutes"].as_array().unwrap().clone();
        assert_eq!(minutes.len(), 60);
        assert_eq!(
            minutes
                .iter()
                .map(|m| m["accepted"].as_i64().unwrap())
                .sum::<i64>(),
            1
        );
        // The ops viewer sees the board but no lead.
        let lead: i64 = offer["lead"]["id"].as_i64().unwrap();
        assert_eq!(
            app.get(&format!("/api/v1/leads/{lead}"), &ops)
                .await
                .status(),
            403
        );
        assert_eq!(
            app.get("/api/v1/ops/wallboard", &a.token).await.status(),
            403,
            "brokers do not see the board"
        );
    }
);
