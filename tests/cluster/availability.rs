//! "Participa da roleta" and absence periods in a cluster: the manager saves them through a node
//! that does not dispatch the agency, and the node that does honours them from the next offer.

use super::{next, run, Setup};
use crate::actors::{lead_body, post_lead};
use futures_util::SinkExt;
use roleta::model::Role;
use serde_json::json;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn online(ws_url: &str, token: &str) -> Socket {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    next(&mut ws, "hello").await;
    ws.send(Message::text(r#"{"type":"set_online","online":true}"#))
        .await
        .unwrap();
    next(&mut ws, "presence").await;
    ws
}

async fn accept(ws: &mut Socket, lead: Option<i64>) {
    let offer = next(ws, "offer").await;
    assert_eq!(offer["lead"]["id"].as_i64(), lead);
    let id = offer["offer_id"].as_i64().unwrap();
    ws.send(Message::text(format!(
        r#"{{"type":"accept","offer_id":{id}}}"#
    )))
    .await
    .unwrap();
    next(ws, "assigned").await;
}

fn agency_day(days: i64) -> String {
    let offset = time::UtcOffset::from_hms(-3, 0, 0).unwrap();
    let today = time::OffsetDateTime::now_utc().to_offset(offset).date();
    (today + time::Duration::days(days)).to_string()
}

#[test]
fn availability_saved_through_any_node_holds_on_the_dispatching_one() {
    run("availability across nodes", async {
        let s = Setup::start("availability", 1, 2, 30, None).await;
        let owner = s.busiest().await;
        let other = (owner + 1) % s.nodes.len();
        let third = (owner + 2) % s.nodes.len();
        let bases = s.bases();
        let a = &s.agencies[0];
        let (away, worker) = (a.brokers[0], a.brokers[1]);

        // A manager of the agency, signed in (a session token straight into the store).
        let now = super::harness::now_ms();
        let manager = s
            .store
            .create_user(
                roleta::model::AgencyId(a.agency),
                "gestor@cluster.roleta",
                "Gestor",
                Role::Manager,
                "x",
                false,
                now,
            )
            .await
            .unwrap();
        let user = s
            .store
            .user(roleta::model::AgencyId(a.agency), manager)
            .await
            .unwrap();
        let token = roleta::auth::new_token("rs_");
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
        let http = reqwest::Client::new();
        let set = |body: serde_json::Value| {
            let (http, token, url) = (
                http.clone(),
                token.clone(),
                format!("{}/api/v1/users/{away}/availability", bases[other]),
            );
            async move {
                let r = http
                    .put(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{:?}", r.text().await);
            }
        };

        // Brokers on two different nodes, neither necessarily the dispatching one.
        let ws_urls = s.ws_urls();
        let mut w_away = online(&ws_urls[owner], &a.tokens[0]).await;
        let mut w_worker = online(&ws_urls[third], &a.tokens[1]).await;

        set(json!({"in_roulette": false, "absence": null})).await;
        let mut i = 0;
        let mut lead = || {
            i += 1;
            (format!("avail-{i}"), lead_body(100 + i))
        };
        for _ in 0..2 {
            let (key, body) = lead();
            let p = post_lead(
                &http,
                std::slice::from_ref(&bases[other]),
                0,
                &a.api_key,
                &key,
                &body,
            )
            .await;
            assert_eq!(p.status, 202);
            accept(&mut w_worker, p.lead).await;
        }
        set(json!({"in_roulette": true,
                   "absence": {"from": agency_day(0), "to": agency_day(1), "reason": "ferias"}}))
        .await;
        let (key, body) = lead();
        let p = post_lead(
            &http,
            std::slice::from_ref(&bases[other]),
            0,
            &a.api_key,
            &key,
            &body,
        )
        .await;
        accept(&mut w_worker, p.lead).await;
        let offered_away = format!("SELECT COUNT(*) FROM offers WHERE broker_id = {away}");
        assert_eq!(
            s.scalar(&offered_away).await,
            0,
            "an away broker was offered a lead"
        );

        // Back: the next lead is theirs (they never had a turn), decided by the owner node.
        set(json!({"in_roulette": true, "absence": null})).await;
        let (key, body) = lead();
        let p = post_lead(
            &http,
            std::slice::from_ref(&bases[other]),
            0,
            &a.api_key,
            &key,
            &body,
        )
        .await;
        accept(&mut w_away, p.lead).await;
        println!(
            "   set through {}, dispatched by {}: honoured from the next offer",
            s.nodes[other].name, s.nodes[owner].name
        );
        assert_eq!(
            s.scalar(&format!(
                "SELECT COUNT(*) FROM offers WHERE broker_id = {worker}"
            ))
            .await,
            3
        );
        s.settle_and_check().await;
    });
}
