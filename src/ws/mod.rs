//! The broker WebSocket at `/ws` (docs/PROTOCOL.md): authenticated on the handshake, small
//! buffers, a bounded outbound queue, pings with an idle timeout.

mod connection;
pub mod protocol;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::Role;
use crate::state::AppState;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(open_socket))
}

/// Upgrades a signed-in broker's request. Browsers (cookie) must come from an allowed origin;
/// other clients send `Authorization: Bearer …`. Nothing is read before this succeeds.
pub async fn open_socket(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    user.require(&[Role::Broker])?;
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
    let tracker = app.tracker.clone();
    Ok(ws
        .read_buffer_size(s.read_buffer_bytes)
        .write_buffer_size(s.write_buffer_bytes)
        .max_write_buffer_size(s.write_buffer_bytes.max(s.max_message_bytes) * 2)
        .max_message_size(s.max_message_bytes)
        .max_frame_size(s.max_message_bytes)
        .on_upgrade(move |socket| tracker.track_future(connection::run(app, user.user, socket))))
}
