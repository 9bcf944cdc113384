//! One broker connection: registers with the hub, sends the hello snapshot (and any offer
//! still open, so a reconnect loses nothing), then relays messages both ways until either
//! side ends it. One task per connection; every exit path unregisters, and every close the
//! server starts is a graceful one ([`close_gracefully`]).

use super::protocol::{close, ClientMsg, ServerMsg};
use super::socket::{close_gracefully, Socket};
use crate::dispatch::{Answer, AnswerError, Event};
use crate::model::Role;
use crate::state::AppState;
use crate::store::{OfferRejection, StoreError, User};
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
    let (agency, broker) = (user.agency_id, user.id);
    // The handshake read the user (and their stored toggle) from the store just now.
    let toggle = user.online;
    let mut reg = app.hub.register(
        agency,
        broker,
        &session,
        toggle,
        app.settings.ws.outbound_queue,
    );
    let _ = app.dispatcher.broker_changed(agency, broker).await;

    let code = match hello(&app, &user, toggle, &mut socket).await {
        Ok(()) => relay(&app, &user, &session, &mut socket, &mut reg).await,
        Err(()) => None,
    };
    // Out of the rotation first: the close below may wait for the client a little.
    app.hub.unregister(broker, reg.conn_id);
    let _ = app.dispatcher.broker_changed(agency, broker).await;
    if let Some((code, reason)) = code {
        close_gracefully(&mut socket, code, reason).await;
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
    session: &str,
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
                while let Ok(text) = reg.rx.try_recv() {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return None;
                    }
                }
                return Some(why);
            }
            out = reg.rx.recv() => match out {
                Some(text) => if socket.send(Message::Text(text)).await.is_err() { return None },
                None => return None,
            },
            _ = ping.tick() => {
                if last_seen.elapsed() > idle {
                    return Some((close::IDLE, "idle timeout"));
                }
                if let Some(end) = signed_out(app, user, session).await {
                    return Some(end);
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
                    while let Ok(text) = reg.rx.try_recv() {
                        if socket.send(Message::Text(text)).await.is_err() {
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

/// The close this connection owes when what it was opened with no longer holds: the session
/// or token ended (signed out, password changed, revoked, expired), the user was deactivated
/// or is no longer a broker. Checked at every ping, so changes made where no close reaches
/// (the command line, a lost bus message) still close it within one ping interval. A store
/// that does not answer keeps the connection: the next ping checks again.
async fn signed_out(app: &AppState, user: &User, session: &str) -> Option<(u16, &'static str)> {
    match app.store.user_for_token(session, app.clock.now_ms()).await {
        Ok(u) if u.role == Role::Broker && !u.must_change_password => None,
        Ok(_) => Some((close::SIGNED_OUT, close::reason(close::SIGNED_OUT))),
        Err(StoreError::NotFound) => match app.store.user(user.agency_id, user.id).await {
            Ok(u) if !u.active => Some((close::DEACTIVATED, close::reason(close::DEACTIVATED))),
            // Suspended from the command line, where no close reaches (docs/PLATFORM.md).
            Ok(_) if suspended(app, user.agency_id).await => Some((
                close::AGENCY_SUSPENDED,
                close::reason(close::AGENCY_SUSPENDED),
            )),
            Ok(_) | Err(StoreError::NotFound) => {
                Some((close::SIGNED_OUT, close::reason(close::SIGNED_OUT)))
            }
            Err(_) => None,
        },
        Err(_) => None,
    }
}

async fn suspended(app: &AppState, agency: i64) -> bool {
    app.store
        .agency_standing(agency)
        .await
        .is_ok_and(|s| s.suspended)
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
    let (agency, broker) = (user.agency_id, user.id);
    match msg {
        ClientMsg::Visibility { visible } => {
            app.hub.set_visible(broker, conn_id, visible);
            None
        }
        ClientMsg::Ping {} => Some(ServerMsg::Pong {
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
            let message = match &e {
                // The cause is for the log; the broker is told what to do.
                AnswerError::Store(err) => {
                    tracing::warn!(offer, error = %err, "saving an answer failed");
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
