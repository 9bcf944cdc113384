//! The WebSocket half of the fuzz entry points (`crate::fuzzing`): the broker's client frame,
//! parsed as the connection parses it. Not an API.
#![doc(hidden)]

use super::protocol::{ClientMsg, ServerMsg};

/// How long a broker's refusal reason may be once the connection has cut it (ws/connection.rs).
const REFUSE_REASON_CHARS: usize = 200;

/// One text frame from a broker's client: parsed as the connection parses it; a malformed frame
/// must still give an error frame that is valid JSON, and a refusal reason is cut to 200 chars.
pub fn client_text(text: &str) {
    let reply = match serde_json::from_str::<ClientMsg>(text) {
        Err(e) => ServerMsg::error(
            "bad_message",
            format!("not a message this server understands: {e}"),
            None,
        ),
        Ok(ClientMsg::Refuse { offer_id, reason }) => {
            let reason: Option<String> =
                reason.map(|r| r.chars().take(REFUSE_REASON_CHARS).collect());
            assert!(reason
                .as_deref()
                .map_or(true, |r| r.chars().count() <= REFUSE_REASON_CHARS));
            ServerMsg::error("offer_not_found", "no such offer", Some(offer_id))
        }
        Ok(_) => ServerMsg::Pong { server_time_ms: 0 },
    };
    let json = reply.to_json();
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "the server's answer is not JSON: {json}"
    );
}
