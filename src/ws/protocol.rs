//! The broker WebSocket's wire format (docs/PROTOCOL.md). JSON text frames, one message each,
//! tagged by `type`. The core never sees these types: it emits [`crate::dispatch::Event`]s.

use crate::dispatch::Event;
use crate::store::LeadSummary;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Messages a broker's client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// The availability toggle (R7).
    SetOnline {
        online: bool,
    },
    Accept {
        offer_id: i64,
    },
    Refuse {
        offer_id: i64,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Whether this page is in front; when no page of the broker is, offers also go by web push.
    Visibility {
        visible: bool,
    },
    /// Application-level keepalive for clients that cannot send WebSocket pings. A struct
    /// variant, not a unit one: only then does serde refuse unknown fields here too.
    Ping {},
}

/// Messages the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Hello {
        broker_id: i64,
        name: String,
        agency_id: i64,
        online: bool,
        departments: Vec<i64>,
        server_time_ms: i64,
    },
    Presence {
        online: bool,
        reason: String,
    },
    Offer {
        offer_id: i64,
        lead: Arc<LeadSummary>,
        deadline_ms: i64,
        seconds_left: i64,
        server_time_ms: i64,
    },
    OfferClosed {
        offer_id: i64,
        outcome: String,
        reason: String,
    },
    Assigned {
        lead_id: i64,
        offer_id: Option<i64>,
        attendance_id: i64,
        attendance_kind: String,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        offer_id: Option<i64>,
    },
    Pong {
        server_time_ms: i64,
    },
}

impl ServerMsg {
    pub fn from_event(e: &Event, now_ms: i64) -> Self {
        match e {
            Event::Offered { offer, lead } => ServerMsg::Offer {
                offer_id: offer.id,
                lead: lead.clone(),
                deadline_ms: offer.deadline_ms,
                seconds_left: ((offer.deadline_ms - now_ms).max(0) + 999) / 1000,
                server_time_ms: now_ms,
            },
            Event::OfferEnded {
                offer,
                outcome,
                reason,
            } => ServerMsg::OfferClosed {
                offer_id: *offer,
                outcome: outcome.as_str().to_string(),
                reason: reason.clone(),
            },
            Event::Assigned {
                lead,
                offer,
                attendance_id,
                kind,
            } => ServerMsg::Assigned {
                lead_id: *lead,
                offer_id: *offer,
                attendance_id: *attendance_id,
                attendance_kind: kind.as_str().to_string(),
            },
            Event::Presence { online, reason } => ServerMsg::Presence {
                online: *online,
                reason: reason.clone(),
            },
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>, offer_id: Option<i64>) -> Self {
        ServerMsg::Error {
            code,
            message: message.into(),
            offer_id,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail; fall back to an error frame regardless.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"encoding failed"}"#.into()
        })
    }
}

/// Close codes (docs/PROTOCOL.md).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const PROTOCOL: u16 = 1002;
    pub const UNSUPPORTED: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const RESTART: u16 = 1012;
    pub const IDLE: u16 = 4000;
    pub const SLOW: u16 = 4001;
    /// The user was deactivated: do not reconnect; signing in is refused.
    pub const DEACTIVATED: u16 = 4002;
    /// The session or token this connection was opened with ended (signed out, password
    /// changed or reset, token revoked, no longer a broker): sign in again.
    pub const SIGNED_OUT: u16 = 4003;
    /// The agency's access was suspended by the platform: do not reconnect.
    pub const AGENCY_SUSPENDED: u16 = 4004;

    /// The close frame's reason for a code the server closes with from outside the
    /// connection (the cluster sends only the code).
    pub fn reason(code: u16) -> &'static str {
        match code {
            DEACTIVATED => "account deactivated",
            SIGNED_OUT => "signed out",
            AGENCY_SUSPENDED => "agency suspended",
            RESTART => "server restarting",
            SLOW => "slow consumer",
            IDLE => "idle timeout",
            _ => "closed by the server",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientMsg;

    #[test]
    fn every_message_refuses_unknown_fields() {
        for text in [
            r#"{"type":"ping","x":1}"#,
            r#"{"type":"set_online","online":true,"x":1}"#,
            r#"{"type":"accept","offer_id":1,"x":1}"#,
            r#"{"type":"refuse","offer_id":1,"x":1}"#,
            r#"{"type":"visibility","visible":true,"x":1}"#,
        ] {
            assert!(serde_json::from_str::<ClientMsg>(text).is_err(), "{text}");
        }
        assert!(matches!(
            serde_json::from_str::<ClientMsg>(r#"{"type":"ping"}"#),
            Ok(ClientMsg::Ping {})
        ));
    }
}
