//! The broker WebSocket at the transport level: the HTTP/1.1 upgrade handshake (RFC 6455 §4)
//! and the graceful close. Roleta holds the raw connection itself, rather than axum's
//! `WebSocket`, because a close must still be able to read — and discard — what the client is
//! sending after a frame the protocol layer refused (an oversized one leaves its bytes unread):
//! closing a TCP socket with unread bytes makes the kernel answer with a reset, and a reset
//! makes the client's kernel throw away the close frame it had not read yet.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::WebSocketStream;
use tokio_util::task::TaskTracker;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::Message;

/// One broker's socket, over the upgraded HTTP connection.
pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// How long a close the server starts waits for the client to read it and hang up.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long the upgraded connection may take to be handed over after the 101 answer.
const HANDOVER: Duration = Duration::from_secs(10);

/// A valid WebSocket upgrade request (HTTP/1.1 `GET` with `Upgrade: websocket`, version 13).
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let h = &parts.headers;
        let upgrade_conn = header_str(h, header::CONNECTION).is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
        let websocket =
            header_str(h, header::UPGRADE).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if parts.method != Method::GET || !upgrade_conn || !websocket {
            return Err(ApiError::BadRequest(
                "expected a WebSocket upgrade (GET with Connection: upgrade, Upgrade: websocket)"
                    .into(),
            ));
        }
        if header_str(h, header::SEC_WEBSOCKET_VERSION) != Some("13") {
            return Err(ApiError::BadRequest(
                "only WebSocket version 13 is supported".into(),
            ));
        }
        let key = h
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| ApiError::BadRequest("Sec-WebSocket-Key is missing".into()))?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or_else(|| ApiError::BadRequest("this connection cannot be upgraded".into()))?;
        Ok(Upgrade { key, on_upgrade })
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

impl Upgrade {
    /// Answers 101 and runs `f` with the socket once the connection is handed over, as a task
    /// of `tracker` (so a shutdown waits for it).
    pub fn on_upgrade<F, Fut>(
        self,
        config: WebSocketConfig,
        tracker: &TaskTracker,
        f: F,
    ) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tracker.spawn(async move {
            let upgraded = match tokio::time::timeout(HANDOVER, on_upgrade).await {
                Ok(Ok(u)) => u,
                Ok(Err(e)) => return tracing::debug!(error = %e, "websocket upgrade failed"),
                Err(_) => return tracing::debug!("websocket upgrade was never handed over"),
            };
            let socket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            f(socket).await;
        });
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(v) = HeaderValue::from_str(&accept) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
        }
        r
    }
}

/// Closes the connection so that the client sees the close code: sends the close frame, ends
/// the sending side (the client reads the frame, then the end of the stream), then reads and
/// discards whatever the client still sends — the rest of a refused frame, its own close
/// frame — until it hangs up or [`CLOSE_GRACE`] runs out. Works whether or not the protocol
/// layer can still read (after an oversized frame it cannot).
pub async fn close_gracefully(socket: &mut Socket, code: u16, reason: &'static str) {
    let deadline = Instant::now() + CLOSE_GRACE;
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    // Err when the client had closed first: the reply to its close went out all the same.
    let _ = timeout_at(
        deadline,
        futures_util::SinkExt::send(socket, Message::Close(Some(frame))),
    )
    .await;
    drain(socket.get_mut(), deadline).await;
}

/// Ends the sending side, then reads until the peer hangs up, fails, or the deadline passes.
async fn drain(io: &mut TokioIo<Upgraded>, deadline: Instant) {
    // A peer already gone fails this; the read below then ends at once.
    timeout_at(deadline, io.shutdown()).await.ok();
    let mut buf = [0u8; 8192];
    while let Ok(Ok(n)) = timeout_at(deadline, io.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}
