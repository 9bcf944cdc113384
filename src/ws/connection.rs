//! One broker connection: registers with the hub, sends the hello snapshot (and any offer
//! still open, so a reconnect loses nothing), then relays messages both ways until either
//! side ends it. One task per connection; every exit path unregisters, and every close the
//! server starts is a graceful one ([`close_gracefully`]).

use super::protocol::{close, encode, ClientMsg, ServerMsg};
use super::socket::{close_gracefully, Socket};
use crate::dispatch::{Answer, AnswerError, Event};
use crate::model::{AgencyId, BrokerId, OfferId};
use crate::state::AppState;
use crate::store::{OfferRejection, User};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{interval, Instant, MissedTickBehavior};
use tungstenite::Message;

/// This many malformed messages within [`BAD_WINDOW`] close the connection (1008).
const MAX_BAD_MESSAGES: usize = 20;
const BAD_WINDOW: Duration = Duration::from_secs(60);

/// `session`: the hash of the session or personal token the handshake was signed in with.
pub async fn run(app: AppState, user: User, session: String, mut socket: Socket) {
    let (agency, broker) = (user.agency_id, BrokerId(user.id));
    // The handshake read the user (and their stored toggle) from the store just now.
    let toggle = user.online;
    let mut reg = app.hub.register(
        agency,
        broker,
        &session,
        toggle,
        app.settings.ws.outbound_queue,
    );
    tell_dispatcher(&app, agency, broker).await;

    let code = match hello(&app, &user, toggle, &mut socket).await {
        Ok(()) => relay(&app, &user, &mut socket, &mut reg).await,
        Err(()) => None,
    };
    // Out of the rotation first: the close below may wait for the client a little.
    app.hub.unregister(broker, reg.conn_id);
    tell_dispatcher(&app, agency, broker).await;
    if let Some((code, reason)) = code {
        close_gracefully(&mut socket, code, reason).await;
    }
}

/// The broker came, went or toggled. Lost only while the node stops (the actors are gone);
/// the hello snapshot and the roster's own reads agree with the store on the next start.
async fn tell_dispatcher(app: &AppState, agency: AgencyId, broker: BrokerId) {
    if let Err(e) = app.dispatcher.broker_changed(agency, broker).await {
        tracing::debug!(%agency, %broker, error = %e, "the dispatcher did not hear of a presence change");
    }
}

async fn send(socket: &mut Socket, msg: &ServerMsg) -> Result<(), ()> {
    socket
        .send(Message::text(msg.to_json()))
        .await
        .map_err(|_| ())
}

async fn hello(app: &AppState, user: &User, toggle: bool, socket: &mut Socket) -> Result<(), ()> {
    let now = app.clock.now_ms();
    let departments = match app
        .store
        .broker_departments(user.agency_id, BrokerId(user.id))
        .await
    {
        Ok(d) => d,
        Err(e) => {
            // The hello still goes out; the page shows no department until it reconnects.
            tracing::warn!(broker = user.id, error = %e, "reading the broker's departments failed");
            Vec::new()
        }
    };
    let msg = ServerMsg::Hello {
        broker_id: user.id,
        name: user.name.clone(),
        agency_id: user.agency_id.0,
        online: toggle,
        departments,
        server_time_ms: now,
    };
    send(socket, &msg).await?;
    // An offer still open goes out again, so a reconnect loses nothing. A store that does not
    // answer here leaves the offer to its deadline (the roulette moves on), logged.
    let open = match app
        .store
        .pending_offer_for_broker(user.agency_id, BrokerId(user.id), now)
        .await
    {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(broker = user.id, error = %e, "reading the broker's open offer failed");
            None
        }
    };
    if let Some(offer) = open {
        match app.store.lead_summary(user.agency_id, offer.lead_id).await {
            Ok(lead) => {
                let ev = Event::Offered {
                    offer,
                    lead: Arc::new(lead),
                };
                send(socket, &ServerMsg::from_event(&ev, app.clock.now_ms())).await?;
            }
            Err(e) => {
                tracing::warn!(broker = user.id, error = %e, "reading the open offer's lead failed")
            }
        }
    }
    Ok(())
}

/// Returns the close frame to send, if any.
async fn relay(
    app: &AppState,
    user: &User,
    socket: &mut Socket,
    reg: &mut crate::presence::Registration,
) -> Option<(u16, &'static str)> {
    let ws = &app.settings.ws;
    let idle = Duration::from_secs(ws.idle_timeout_seconds.max(1));
    let mut ping = interval(Duration::from_secs(ws.ping_interval_seconds.max(1)));
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut bad = BadMessages::default();
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => return Some((close::RESTART, "server restarting")),
            why = reg.kick.closed() => {
                // What was queued before the close (the `offer_closed` of an offer handed
                // back) still goes out first.
                while let Ok(out) = reg.rx.try_recv() {
                    if socket.send(Message::Text(encode(&out, app.clock.now_ms()))).await.is_err() {
                        return None;
                    }
                }
                return Some(why);
            }
            out = reg.rx.recv() => match out {
                Some(out) => {
                    let text = encode(&out, app.clock.now_ms());
                    if socket.send(Message::Text(text)).await.is_err() { return None }
                }
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
            incoming = socket.next() => {
                last_seen = Instant::now();
                let msg = match incoming {
                    None => return None,
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return read_error_close(&e),
                };
                let reply = match msg {
                    Message::Text(t) => handle_text(app, user, reg.conn_id, t.as_str()).await,
                    Message::Binary(_) => Some(ServerMsg::error("unsupported", "send JSON text frames", None)),
                    Message::Close(_) => return Some((close::NORMAL, "bye")),
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                let malformed = matches!(
                    &reply,
                    Some(ServerMsg::Error { code: "bad_message" | "unsupported", .. })
                );
                if malformed && bad.record(Instant::now()) {
                    return Some((close::POLICY, "too many malformed messages"));
                }
                if let Some(r) = reply {
                    // What the request caused (the `assigned` of an accept) was queued before
                    // its answer came back: it goes out first, so answers keep request order.
                    while let Ok(out) = reg.rx.try_recv() {
                        if socket.send(Message::Text(encode(&out, app.clock.now_ms()))).await.is_err() {
                            return None;
                        }
                    }
                    if send(socket, &r).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The close a failed read calls for; `None` when the client is simply gone.
fn read_error_close(e: &tungstenite::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::Capacity(_) => Some((close::TOO_BIG, "message too big")),
        tungstenite::Error::Utf8(_) => Some((close::INVALID_DATA, "text frame is not UTF-8")),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        tungstenite::Error::Protocol(_) => Some((close::PROTOCOL, "protocol error")),
        _ => None,
    }
}

/// The malformed messages of the last [`BAD_WINDOW`]: a sliding window, so valid messages in
/// between do not wipe the count. Never holds more than [`MAX_BAD_MESSAGES`] instants.
#[derive(Default)]
struct BadMessages(VecDeque<Instant>);

impl BadMessages {
    /// Counts one malformed message at `now`; true when the limit is reached.
    fn record(&mut self, now: Instant) -> bool {
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= BAD_WINDOW)
        {
            self.0.pop_front();
        }
        if self.0.len() >= MAX_BAD_MESSAGES {
            self.0.pop_front();
        }
        self.0.push_back(now);
        self.0.len() >= MAX_BAD_MESSAGES
    }
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
    let (agency, broker) = (user.agency_id, BrokerId(user.id));
    match msg {
        ClientMsg::Visibility { visible } => {
            app.hub.set_visible(broker, conn_id, visible);
            None
        }
        ClientMsg::Ping {} => Some(ServerMsg::Pong {
            server_time_ms: app.clock.now_ms(),
        }),
        ClientMsg::SetOnline { online } => {
            if let Err(e) = app
                .store
                .set_online(agency, broker, online, app.clock.now_ms())
                .await
            {
                tracing::warn!(%broker, error = %e, "saving the toggle failed");
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
            tell_dispatcher(app, agency, broker).await;
            // Every open page of the broker shows the same toggle.
            app.hub.deliver(
                broker,
                Event::Presence {
                    online,
                    reason: reason.into(),
                    missed: None,
                },
            );
            None
        }
        ClientMsg::Accept { offer_id } => answer(app, user, offer_id, Answer::Accept, None).await,
        ClientMsg::Refuse { offer_id, reason } => {
            // As over HTTP: refused at the edge, and PostgreSQL cannot store it anyway.
            if reason.as_deref().is_some_and(|r| r.contains('\0')) {
                return Some(ServerMsg::error(
                    "bad_message",
                    "reason must not contain the NUL character",
                    Some(offer_id),
                ));
            }
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
        .answer(user.agency_id, BrokerId(user.id), OfferId(offer), a, reason)
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
            let message = match &e {
                // The cause is for the log; the broker is told what to do.
                AnswerError::Store(err) => {
                    tracing::warn!(%offer, error = %err, "saving an answer failed");
                    "could not save your answer; try again".to_string()
                }
                other => other.to_string(),
            };
            Some(ServerMsg::error(code, message, Some(offer)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_messages_count_in_a_sliding_window() {
        let t0 = Instant::now();
        let mut bad = BadMessages::default();
        // 19 within the window: still open, whatever came in between.
        for i in 0..19 {
            assert!(!bad.record(t0 + Duration::from_secs(i)));
        }
        // The 20th within 60 s of the first closes.
        assert!(bad.record(t0 + Duration::from_secs(59)));
    }

    #[test]
    fn old_malformed_messages_fall_out_of_the_window() {
        let t0 = Instant::now();
        let mut bad = BadMessages::default();
        for i in 0..19 {
            assert!(!bad.record(t0 + Duration::from_secs(i)));
        }
        // A minute after the first ones, they no longer count.
        assert!(!bad.record(t0 + Duration::from_secs(70)));
        assert!(bad.0.len() < MAX_BAD_MESSAGES);
    }
}
