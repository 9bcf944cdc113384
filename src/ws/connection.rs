//! One broker connection: registers with the hub, sends the hello snapshot (and any offer
//! still open, so a reconnect loses nothing), then relays messages both ways until either
//! side ends it. One task per connection; every exit path unregisters.

use super::protocol::{close, ClientMsg, ServerMsg};
use crate::dispatch::{Answer, AnswerError, Event};
use crate::state::AppState;
use crate::store::{OfferRejection, User};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{interval, Instant, MissedTickBehavior};

/// After this many malformed messages in a row the connection is closed (1008).
const MAX_BAD_MESSAGES: u32 = 20;

pub async fn run(app: AppState, user: User, mut socket: WebSocket) {
    let (agency, broker) = (user.agency_id, user.id);
    // The handshake read the user (and their stored toggle) from the store just now.
    let toggle = user.online;
    let mut reg = app
        .hub
        .register(agency, broker, toggle, app.settings.ws.outbound_queue);
    let _ = app.dispatcher.broker_changed(agency, broker).await;

    let code = match hello(&app, &user, toggle, &mut socket).await {
        Ok(()) => relay(&app, &user, &mut socket, &mut reg).await,
        Err(()) => None,
    };
    if let Some((code, reason)) = code {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
    app.hub.unregister(broker, reg.conn_id);
    let _ = app.dispatcher.broker_changed(agency, broker).await;
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> Result<(), ()> {
    socket
        .send(Message::text(msg.to_json()))
        .await
        .map_err(|_| ())
}

async fn hello(
    app: &AppState,
    user: &User,
    toggle: bool,
    socket: &mut WebSocket,
) -> Result<(), ()> {
    let now = app.clock.now_ms();
    let departments = app
        .store
        .broker_departments(user.agency_id, user.id)
        .await
        .unwrap_or_default();
    let msg = ServerMsg::Hello {
        broker_id: user.id,
        name: user.name.clone(),
        agency_id: user.agency_id,
        online: toggle,
        departments,
        server_time_ms: now,
    };
    send(socket, &msg).await?;
    if let Ok(Some(offer)) = app
        .store
        .pending_offer_for_broker(user.agency_id, user.id, now)
        .await
    {
        if let Ok(lead) = app.store.lead_summary(user.agency_id, offer.lead_id).await {
            let ev = Event::Offered {
                offer,
                lead: Arc::new(lead),
            };
            send(socket, &ServerMsg::from_event(&ev, app.clock.now_ms())).await?;
        }
    }
    Ok(())
}

/// Returns the close frame to send, if any.
async fn relay(
    app: &AppState,
    user: &User,
    socket: &mut WebSocket,
    reg: &mut crate::presence::Registration,
) -> Option<(u16, &'static str)> {
    let ws = &app.settings.ws;
    let idle = Duration::from_secs(ws.idle_timeout_seconds.max(1));
    let mut ping = interval(Duration::from_secs(ws.ping_interval_seconds.max(1)));
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut bad = 0u32;
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => return Some((close::RESTART, "server restarting")),
            _ = reg.kick.cancelled() => return Some((close::SLOW, "slow consumer")),
            out = reg.rx.recv() => match out {
                Some(text) => if socket.send(Message::Text(text)).await.is_err() { return None },
                None => return None,
            },
            _ = ping.tick() => {
                if last_seen.elapsed() > idle {
                    return Some((close::IDLE, "idle timeout"));
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return None;
                }
            }
            incoming = socket.recv() => {
                last_seen = Instant::now();
                let msg = match incoming {
                    None => return None,
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return too_big(e).then_some((close::TOO_BIG, "message too big")),
                };
                let reply = match msg {
                    Message::Text(t) => handle_text(app, user, reg.conn_id, t.as_str()).await,
                    Message::Binary(_) => Some(ServerMsg::error("unsupported", "send JSON text frames", None)),
                    Message::Close(_) => return Some((close::NORMAL, "bye")),
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                match &reply {
                    Some(ServerMsg::Error { code: "bad_message" | "unsupported", .. }) => bad += 1,
                    _ => bad = 0,
                }
                if bad >= MAX_BAD_MESSAGES {
                    return Some((close::POLICY, "too many malformed messages"));
                }
                if let Some(r) = reply {
                    if send(socket, &r).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

fn too_big(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

async fn handle_text(app: &AppState, user: &User, conn_id: u64, text: &str) -> Option<ServerMsg> {
    let msg: ClientMsg = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return Some(ServerMsg::error(
                "bad_message",
                format!("not a message this server understands: {e}"),
                None,
            ))
        }
    };
    let (agency, broker) = (user.agency_id, user.id);
    match msg {
        ClientMsg::Visibility { visible } => {
            app.hub.set_visible(broker, conn_id, visible);
            None
        }
        ClientMsg::Ping => Some(ServerMsg::Pong {
            server_time_ms: app.clock.now_ms(),
        }),
        ClientMsg::SetOnline { online } => {
            if let Err(e) = app.store.set_online(agency, broker, online).await {
                tracing::warn!(broker, error = %e, "saving the toggle failed");
                return Some(ServerMsg::error(
                    "unavailable",
                    "could not save your availability; try again",
                    None,
                ));
            }
            let reason = if online {
                "you are available"
            } else {
                "you are unavailable"
            };
            app.roster.set_toggle(agency, broker, online, reason).await;
            // Queue the change before confirming it: whatever the client does after seeing the
            // confirmation reaches the dispatcher after it.
            let _ = app.dispatcher.broker_changed(agency, broker).await;
            // Every open page of the broker shows the same toggle.
            app.hub.deliver(
                broker,
                &Event::Presence {
                    online,
                    reason: reason.into(),
                },
            );
            None
        }
        ClientMsg::Accept { offer_id } => answer(app, user, offer_id, Answer::Accept, None).await,
        ClientMsg::Refuse { offer_id, reason } => {
            let reason = reason.map(|r| r.chars().take(200).collect());
            answer(app, user, offer_id, Answer::Refuse, reason).await
        }
    }
}

async fn answer(
    app: &AppState,
    user: &User,
    offer: i64,
    a: Answer,
    reason: Option<String>,
) -> Option<ServerMsg> {
    match app
        .dispatcher
        .answer(user.agency_id, user.id, offer, a, reason)
        .await
    {
        Ok(()) => None,
        Err(e) => {
            let code = match &e {
                AnswerError::Rejected(OfferRejection::NotFound) => "offer_not_found",
                AnswerError::Rejected(OfferRejection::NotYours) => "not_your_offer",
                AnswerError::Rejected(OfferRejection::AlreadyDecided(_)) => "offer_closed",
                AnswerError::Rejected(OfferRejection::DeadlinePassed) => "deadline_passed",
                AnswerError::Store(_) | AnswerError::Stopped | AnswerError::Moving => "unavailable",
            };
            Some(ServerMsg::error(code, e.to_string(), Some(offer)))
        }
    }
}
