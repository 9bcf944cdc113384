//! The webhook outbox (docs/WEBHOOKS.md): each change a CRM may want to hear of writes one
//! event row here, inside the very transaction that makes the change, so an event exists if and
//! only if its change was committed. Writing costs one indexed look-up when no subscription of
//! the agency wants the event (the hot ingest path pays only that); otherwise the event's data is
//! read in the same transaction and kept as it was at that moment. The delivery worker
//! (`crate::webhooks`) expands each event into one delivery per subscription.

use super::StoreResult;
use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId, OfferId, OfferState};
use serde_json::{json, Value};
use sqlx::AnyConnection;

/// Every event type a subscription may choose, as it appears in the payload's `type`.
pub const EVENT_TYPES: &[&str] = &[
    "lead.created",
    "offer.made",
    "offer.accepted",
    "offer.refused",
    "offer.expired",
    "lead.assigned",
    "attendance.concluded",
    "broker.online",
    "broker.offline",
];

/// A change worth telling the CRM, with the ids it is about; the rest is read when recorded.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    LeadCreated {
        lead: LeadId,
    },
    OfferMade {
        offer: OfferId,
        lead: LeadId,
        broker: BrokerId,
        deadline_ms: i64,
    },
    OfferAccepted {
        offer: OfferId,
        lead: LeadId,
        broker: BrokerId,
    },
    /// Refused or expired; a cancelled offer (the broker went offline, a takeover) is not told.
    OfferEnded {
        offer: OfferId,
        lead: LeadId,
        broker: BrokerId,
        state: OfferState,
    },
    LeadAssigned {
        lead: LeadId,
        broker: BrokerId,
        attendance: i64,
        kind: AttendanceKind,
    },
    AttendanceConcluded {
        lead: LeadId,
        broker: BrokerId,
        attendance: i64,
        how: &'static str,
    },
    BrokerOnline {
        broker: BrokerId,
        online: bool,
        reason: &'static str,
    },
}

impl Event {
    /// The payload's `type`; `None` for a change no subscription can choose.
    pub fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Event::LeadCreated { .. } => "lead.created",
            Event::OfferMade { .. } => "offer.made",
            Event::OfferAccepted { .. } => "offer.accepted",
            Event::OfferEnded { state, .. } => match state {
                OfferState::Refused => "offer.refused",
                OfferState::Expired => "offer.expired",
                _ => return None,
            },
            Event::LeadAssigned { .. } => "lead.assigned",
            Event::AttendanceConcluded { .. } => "attendance.concluded",
            Event::BrokerOnline { online: true, .. } => "broker.online",
            Event::BrokerOnline { online: false, .. } => "broker.offline",
        })
    }

    fn lead(&self) -> Option<LeadId> {
        match *self {
            Event::LeadCreated { lead }
            | Event::OfferMade { lead, .. }
            | Event::OfferAccepted { lead, .. }
            | Event::OfferEnded { lead, .. }
            | Event::LeadAssigned { lead, .. }
            | Event::AttendanceConcluded { lead, .. } => Some(lead),
            Event::BrokerOnline { .. } => None,
        }
    }

    fn broker(&self) -> Option<BrokerId> {
        match *self {
            Event::LeadCreated { .. } => None,
            Event::OfferMade { broker, .. }
            | Event::OfferAccepted { broker, .. }
            | Event::OfferEnded { broker, .. }
            | Event::LeadAssigned { broker, .. }
            | Event::AttendanceConcluded { broker, .. }
            | Event::BrokerOnline { broker, .. } => Some(broker),
        }
    }
}

/// The pattern a subscription's `events` column matches for one type (",a,b," holds ",a,").
pub(crate) fn events_pattern(kind: &str) -> String {
    format!("%,{kind},%")
}

/// Writes the event to the outbox inside the caller's transaction, if a subscription of the
/// agency (active or paused: a paused one catches up when resumed) wants it.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    agency: AgencyId,
    event: Event,
    now_ms: i64,
) -> StoreResult<()> {
    let Some(kind) = event.kind() else {
        return Ok(());
    };
    if wants(conn, agency, kind).await? {
        write(conn, agency, event, now_ms).await?;
    }
    Ok(())
}

/// Whether a subscription of the agency wants events of `kind`: asked once by a batch of many
/// events of one kind (`commit_offers`), instead of once per event.
pub(crate) async fn wants(
    conn: &mut AnyConnection,
    agency: AgencyId,
    kind: &str,
) -> StoreResult<bool> {
    let wanted: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM webhook_subscriptions WHERE agency_id = $1 AND events LIKE $2 LIMIT 1",
    )
    .bind(agency)
    .bind(events_pattern(kind))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(wanted.is_some())
}

/// Writes the event (its `data` read now, in this transaction); the caller asked [`wants`].
pub(crate) async fn write(
    conn: &mut AnyConnection,
    agency: AgencyId,
    event: Event,
    now_ms: i64,
) -> StoreResult<()> {
    let Some(kind) = event.kind() else {
        return Ok(());
    };
    let data = data(conn, agency, &event).await?;
    sqlx::query(
        "INSERT INTO webhook_outbox (agency_id, event_type, lead_id, data, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(agency)
    .bind(kind)
    .bind(event.lead())
    .bind(data.to_string())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `lead.created`, as one short line in the ingest path.
pub(crate) async fn lead_created(
    conn: &mut AnyConnection,
    agency: AgencyId,
    lead: LeadId,
    now_ms: i64,
) -> StoreResult<()> {
    record(conn, agency, Event::LeadCreated { lead }, now_ms).await
}

/// The event's `data`: the lead (number, client, department) and the broker as they are now,
/// in this transaction, plus what is particular to the event. Never a secret.
async fn data(conn: &mut AnyConnection, agency: AgencyId, event: &Event) -> StoreResult<Value> {
    let mut out = serde_json::Map::new();
    if let Some(lead) = event.lead() {
        out.insert("lead".into(), lead_json(conn, agency, lead).await?);
    }
    if let Some(broker) = event.broker() {
        out.insert("broker".into(), broker_json(conn, agency, broker).await?);
    }
    let extra = match *event {
        Event::LeadCreated { .. } => json!({}),
        Event::OfferMade {
            offer, deadline_ms, ..
        } => json!({ "offer_id": offer, "deadline_ms": deadline_ms }),
        Event::OfferAccepted { offer, .. } => json!({ "offer_id": offer }),
        Event::OfferEnded { offer, .. } => json!({ "offer_id": offer }),
        Event::LeadAssigned {
            attendance, kind, ..
        } => json!({ "attendance_id": attendance, "attendance_kind": kind.as_str() }),
        Event::AttendanceConcluded {
            attendance, how, ..
        } => json!({ "attendance_id": attendance, "concluded_by": how }),
        Event::BrokerOnline { reason, .. } => json!({ "reason": reason }),
    };
    if let Value::Object(m) = extra {
        out.extend(m);
    }
    Ok(Value::Object(out))
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: LeadId,
    number: String,
    source: String,
    channel: String,
    state: String,
    created_at_ms: i64,
    department_id: Option<i64>,
    department_name: Option<String>,
    client_id: i64,
    client_name: String,
    client_phone: String,
    client_email: Option<String>,
    broker_id: Option<BrokerId>,
}

async fn lead_json(conn: &mut AnyConnection, agency: AgencyId, lead: LeadId) -> StoreResult<Value> {
    let l: LeadRow = sqlx::query_as(
        "SELECT l.id, l.number, l.source, l.channel, l.state, l.created_at_ms, l.department_id, \
         d.name AS department_name, c.id AS client_id, c.name AS client_name, c.phone AS client_phone, \
         c.email AS client_email, l.broker_id \
         FROM leads l JOIN clients c ON c.id = l.client_id \
         LEFT JOIN departments d ON d.id = l.department_id \
         WHERE l.agency_id = $1 AND l.id = $2",
    )
    .bind(agency)
    .bind(lead)
    .fetch_one(&mut *conn)
    .await?;
    Ok(json!({
        "id": l.id,
        "number": l.number,
        "source": l.source,
        "channel": l.channel,
        "state": l.state,
        "created_at_ms": l.created_at_ms,
        "department": l.department_id.map(|id| json!({ "id": id, "name": l.department_name })),
        "client": {
            "id": l.client_id,
            "name": l.client_name,
            "phone": l.client_phone,
            "email": l.client_email,
        },
        "broker_id": l.broker_id,
    }))
}

async fn broker_json(
    conn: &mut AnyConnection,
    agency: AgencyId,
    broker: BrokerId,
) -> StoreResult<Value> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT name, email FROM users WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(broker)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        Some((name, email)) => json!({ "id": broker, "name": name, "email": email }),
        None => json!({ "id": broker }),
    })
}
