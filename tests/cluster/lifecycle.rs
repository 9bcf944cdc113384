//! A user deactivated on one node while their socket is on another: the close crosses the bus
//! at once (long before that socket's own check at its next ping), and the offer they held is
//! handed to a broker connected to a third node.

use super::{next, run, Setup};
use crate::actors::{lead_body, post_lead};
use futures_util::StreamExt;
use roleta::model::Role;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str, token: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws
}

/// The close code the server sends, within `seconds`.
async fn close_code(ws: &mut Ws, seconds: u64) -> u16 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no close within {seconds} s"));
        match m {
            Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
            Some(Ok(Message::Close(None))) | None => return 1005,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("error instead of a close: {e}"),
        }
    }
}

#[test]
fn a_broker_deactivated_on_one_node_is_closed_on_another_at_once() {
    run("deactivation across nodes", async {
        let s = Setup::start("deactivate", 1, 2, 60, None).await;
        let a = &s.agencies[0];
        let now = super::now_ms();
        let manager = s
            .store
            .create_user(
                roleta::model::AgencyId(a.agency),
                "gestora@cluster.roleta",
                "Gestora",
                Role::Manager,
                "x",
                false,
                now,
            )
            .await
            .unwrap();
        let token = roleta::auth::new_token("rs_");
        let user = s
            .store
            .user(roleta::model::AgencyId(a.agency), manager)
            .await
            .unwrap();
        s.store
            .create_session(
                &user,
                &roleta::auth::token_hash(&token),
                "session",
                None,
                now,
                None,
            )
            .await
            .unwrap();

        // Broker 0's socket is on node 2; the lead is offered to them (the only one online).
        let mut ws0 = open(&s.nodes[1].ws(), &a.tokens[0]).await;
        next(&mut ws0, "hello").await;
        let http = reqwest::Client::new();
        let bases = s.bases();
        let post = post_lead(&http, &bases, 0, &a.api_key, "k-lifecycle", &lead_body(1)).await;
        assert_eq!(post.status, 202);
        let o = next(&mut ws0, "offer").await;
        assert_eq!(o["lead"]["id"].as_i64(), post.lead);
        // Broker 1 on node 3, free.
        let mut ws1 = open(&s.nodes[2].ws(), &a.tokens[1]).await;
        next(&mut ws1, "hello").await;

        // The manager, on node 1.
        let t0 = Instant::now();
        let r = http
            .post(format!(
                "{}/api/v1/users/{}/deactivate",
                bases[0], a.brokers[0]
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        // The sockets' own check runs every 20 s (ws.ping_interval_seconds): well within
        // that, only the bus can have closed it.
        assert_eq!(close_code(&mut ws0, 5).await, 4002);
        println!(
            "   closed on another node in {} ms",
            t0.elapsed().as_millis()
        );
        let handed = next(&mut ws1, "offer").await;
        assert_eq!(
            handed["lead"]["id"].as_i64(),
            post.lead,
            "handed to broker 1"
        );
        let id = handed["offer_id"].as_i64().unwrap();
        futures_util::SinkExt::send(
            &mut ws1,
            Message::text(format!(r#"{{"type":"accept","offer_id":{id}}}"#)),
        )
        .await
        .unwrap();
        next(&mut ws1, "assigned").await;
        s.settle_and_check().await;
    });
}

/// A rolling restart mixes two releases for a while: a node still reads the bus's previous
/// `deliver` shape (a frame the sending node encoded), so a broker on a new node keeps getting
/// what an old node sends; the new `event` shape carries a version, and one this node does
/// not know is dropped, not misread.
#[test]
fn a_node_still_delivers_the_previous_releases_bus_shape() {
    run("bus shapes across releases", async {
        let s = Setup::start("busshape", 1, 1, 60, None).await;
        let a = &s.agencies[0];
        let broker = a.brokers[0];
        let mut ws = open(&s.nodes[1].ws(), &a.tokens[0]).await;
        next(&mut ws, "hello").await;
        let channel = format!("{}:node:{}", s.prefix, s.nodes[1].name);
        let publish = |msg: serde_json::Value| {
            let (redis, channel) = (&s.redis, channel.clone());
            async move {
                let sent = redis.cmd(&["PUBLISH", &channel, &msg.to_string()]).await;
                assert!(
                    matches!(sent, Some(deadpool_redis::redis::Value::Int(1))),
                    "the node listens on {channel}: {sent:?}"
                );
            }
        };
        // The previous release's shape: the frame already encoded, passed through as it came.
        let frame = serde_json::json!({
            "type": "offer_closed", "offer_id": 4242, "outcome": "expired",
            "reason": "no answer within 30 s"
        });
        publish(serde_json::json!({
            "t": "deliver", "broker": broker, "text": frame.to_string(), "push": null
        }))
        .await;
        let got = next(&mut ws, "offer_closed").await;
        assert_eq!(got["offer_id"], 4242, "{got}");
        assert_eq!(got["outcome"], "expired", "{got}");

        // A version this node does not know is dropped; the current one is encoded here.
        let event = |v: u32, offer: i64| {
            serde_json::json!({
                "t": "event", "v": v, "broker": broker, "push": null,
                "event": {"event": "offer_ended", "offer": offer, "outcome": "refused",
                          "reason": "refused by broker"}
            })
        };
        publish(event(2, 4300)).await;
        publish(event(1, 4343)).await;
        let got = next(&mut ws, "offer_closed").await;
        assert_eq!(
            got["offer_id"], 4343,
            "the unknown version was not read: {got}"
        );
        assert_eq!(got["outcome"], "refused", "{got}");
        assert_eq!(got["reason"], "refused by broker", "{got}");
    });
}
