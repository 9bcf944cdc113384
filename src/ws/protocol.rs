//! The broker WebSocket's wire format (docs/PROTOCOL.md). JSON text frames, one message each,
//! tagged by `type`. The core never sees these types: it emits [`crate::dispatch::Event`]s,
//! the hub queues them, and each connection encodes them here — the only place a
//! [`ServerMsg`] is built. Every frame is its own type, so a change in a store row (a column
//! alias, a new field) cannot rename or add a protocol field.

use crate::dispatch::Event;
use crate::presence::Outbound;
use crate::store::LeadSummary;
use serde::{Deserialize, Serialize};
use tungstenite::Utf8Bytes;

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
        /// `missed_offers` when the server switched the broker off after silent offers (R8).
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<&'static str>,
        /// With `cause`: how many offers in a row went unanswered.
        #[serde(skip_serializing_if = "Option::is_none")]
        missed: Option<i64>,
    },
    Offer {
        offer_id: i64,
        lead: Box<LeadFrame>,
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

/// The `lead` of an `offer` (docs/PROTOCOL.md): enough to decide, no phone or e-mail.
#[derive(Debug, Serialize)]
pub struct LeadFrame {
    id: i64,
    number: String,
    client_name: String,
    channel: String,
    source: String,
    department_id: i64,
    department: String,
    property_code: Option<String>,
    interest_kind: Option<String>,
    interest_purpose: Option<String>,
    interest_price_cents: Option<i64>,
    interest_neighbourhood: Option<String>,
    interest_bedrooms: Option<i64>,
    comment: Option<String>,
}

impl From<&LeadSummary> for LeadFrame {
    fn from(l: &LeadSummary) -> Self {
        Self {
            id: l.id.0,
            number: l.number.clone(),
            client_name: l.client_name.clone(),
            channel: l.channel.clone(),
            source: l.source.clone(),
            department_id: l.department_id,
            department: l.department.clone(),
            property_code: l.property_code.clone(),
            interest_kind: l.interest_kind.clone(),
            interest_purpose: l.interest_purpose.clone(),
            interest_price_cents: l.interest_price_cents,
            interest_neighbourhood: l.interest_neighbourhood.clone(),
            interest_bedrooms: l.interest_bedrooms,
            comment: l.comment.clone(),
        }
    }
}

/// What a connection sends for an item of its queue, at `now_ms`.
pub fn encode(out: &Outbound, now_ms: i64) -> Utf8Bytes {
    match out {
        Outbound::Event(e) => Utf8Bytes::from(ServerMsg::from_event(e, now_ms).to_json()),
        Outbound::Encoded(text) => text.clone(),
    }
}

impl ServerMsg {
    pub fn from_event(e: &Event, now_ms: i64) -> Self {
        match e {
            Event::Offered { offer, lead } => ServerMsg::Offer {
                offer_id: offer.id.0,
                lead: Box::new(LeadFrame::from(lead.as_ref())),
                deadline_ms: offer.deadline_ms,
                seconds_left: ((offer.deadline_ms - now_ms).max(0) + 999) / 1000,
                server_time_ms: now_ms,
            },
            Event::OfferEnded {
                offer,
                outcome,
                reason,
            } => ServerMsg::OfferClosed {
                offer_id: offer.0,
                outcome: outcome.as_str().to_string(),
                reason: reason.clone(),
            },
            Event::Assigned {
                lead,
                offer,
                attendance_id,
                kind,
            } => ServerMsg::Assigned {
                lead_id: lead.0,
                offer_id: offer.map(i64::from),
                attendance_id: *attendance_id,
                attendance_kind: kind.as_str().to_string(),
            },
            Event::Presence {
                online,
                reason,
                missed,
            } => ServerMsg::Presence {
                online: *online,
                reason: reason.clone(),
                cause: missed.map(|_| "missed_offers"),
                missed: *missed,
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

/// Close codes (docs/PROTOCOL.md); the hub closes connections with them too.
pub use crate::presence::close;

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
