//! The broker WebSocket at `/ws` (docs/PROTOCOL.md): authenticated on the handshake, small
//! buffers, a bounded outbound queue, pings with an idle timeout, closes the client can read.

mod connection;
#[doc(hidden)]
pub mod fuzzing;
pub mod protocol;
mod sessions;
mod socket;

pub use sessions::SessionCheck;

use crate::auth::{Brokers, Require};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use socket::Upgrade;
use tungstenite::protocol::WebSocketConfig;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(open_socket))
}

/// Upgrades a signed-in broker's request. Browsers (cookie) must come from an allowed origin;
/// other clients send `Authorization: Bearer …`. Nothing is read before this succeeds.
pub async fn open_socket(
    State(app): State<AppState>,
    user: Require<Brokers>,
    headers: HeaderMap,
    ws: Upgrade,
) -> Result<Response, ApiError> {
    let user = user.into_inner();
    if user.via_cookie {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !app.origin_allowed(origin) {
            return Err(ApiError::Forbidden(format!(
                "origin {origin:?} is not allowed"
            )));
        }
    }
    let s = &app.settings.ws;
    let config = WebSocketConfig::default()
        .read_buffer_size(s.read_buffer_bytes)
        .write_buffer_size(s.write_buffer_bytes)
        .max_write_buffer_size(s.write_buffer_bytes.max(s.max_message_bytes) * 2)
        .max_message_size(Some(s.max_message_bytes))
        .max_frame_size(Some(s.max_message_bytes));
    let tracker = app.tracker.clone();
    Ok(ws.on_upgrade(config, &tracker, move |socket| {
        connection::run(app, user.user, user.token_hash, socket)
    }))
}
