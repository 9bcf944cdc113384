//! The client's timeline (A5): everything that happened to a client, newest first — its leads,
//! each offer (to whom, how it ended, the broker's own refusal note), attendances opened and
//! concluded, contact logs and attempts, campaign and team contacts, status changes and profile
//! edits. Entries carry codes, not sentences: the pages word them in pt-BR.

use super::client_record::{readable, Reader};
use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId, OfferState};
use serde::Serialize;
use sqlx::AnyConnection;

/// At most this many entries of each kind are read, and this many returned.
const MOST: i64 = 500;

/// Refusal reasons the server writes itself; anything else is the broker's own note.
const SERVER_REFUSAL_TEXT: &[&str] = &["refused by broker"];

/// Up to [`MOST`] rows of one kind for client `$2` of agency `$1`, newest first (`$3` is the bound).
async fn read<T>(
    conn: &mut AnyConnection,
    agency: AgencyId,
    client: i64,
    sql: &'static str,
) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql)
        .bind(agency)
        .bind(client)
        .bind(MOST)
        .fetch_all(conn)
        .await?)
}

/// One thing that happened to the client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at_ms: i64,
    /// `lead_created`, `offered`, `offer_accepted`, `offer_refused`, `offer_expired`,
    /// `offer_cancelled`, `attendance_opened`, `attendance_concluded`, `contact_logged`,
    /// `contact_attempt`, `client_contact`, `campaign_result`, `status_changed`, `profile_edited`.
    pub kind: String,
    pub lead_id: Option<LeadId>,
    pub lead_number: Option<String>,
    pub broker_id: Option<BrokerId>,
    pub broker_name: Option<String>,
    /// A code that qualifies the kind: the lead's channel, the attendance's kind or how it was
    /// concluded, the contact's kind or outcome, the attempt's channel.
    pub code: Option<String>,
    /// Free text a person wrote: a contact note, a refusal note, a comment.
    pub note: Option<String>,
    /// Offers: true when offered to the client's own broker (R3) rather than by rotation.
    pub sticky: Option<bool>,
    /// Status changes: from and to; lead created: the source in `to`; campaigns: its name in `to`.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl TimelineEntry {
    fn new(at_ms: i64, kind: &str) -> Self {
        Self {
            at_ms,
            kind: kind.to_string(),
            lead_id: None,
            lead_number: None,
            broker_id: None,
            broker_name: None,
            code: None,
            note: None,
            sticky: None,
            from: None,
            to: None,
        }
    }
    fn lead(mut self, id: LeadId, number: String) -> Self {
        self.lead_id = Some(id);
        self.lead_number = Some(number);
        self
    }
    fn broker(mut self, id: Option<BrokerId>, name: Option<String>) -> Self {
        self.broker_id = id;
        self.broker_name = name;
        self
    }
}

type OfferRow = (
    LeadId,
    String,
    BrokerId,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);
type AttendanceRow = (
    LeadId,
    String,
    BrokerId,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);
type NoteRow = (
    LeadId,
    Option<String>,
    BrokerId,
    Option<String>,
    String,
    Option<String>,
    i64,
);
type ClientContactRow = (
    Option<LeadId>,
    Option<String>,
    BrokerId,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
);
type HistoryRow = (
    Option<LeadId>,
    Option<String>,
    Option<BrokerId>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
);

impl Store {
    /// The client's timeline, newest first, if `reader` may open the client.
    pub async fn client_timeline(
        &self,
        agency: AgencyId,
        client: i64,
        reader: Reader,
    ) -> StoreResult<Vec<TimelineEntry>> {
        let mut conn = self.pool().acquire().await?;
        readable(&mut conn, agency, client, reader).await?;
        let mut out = Vec::new();

        let leads: Vec<(LeadId, String, String, String, i64)> = read(&mut conn, agency, client, "SELECT id, number, source, channel, created_at_ms FROM leads WHERE agency_id = $1 AND client_id = $2 \
             ORDER BY id DESC LIMIT $3")
        .await?;
        for (id, number, source, channel, at) in leads {
            let mut e = TimelineEntry::new(at, "lead_created").lead(id, number);
            e.code = Some(channel);
            e.to = Some(source);
            out.push(e);
        }

        let offers: Vec<OfferRow> = read(&mut conn, agency, client, "SELECT o.lead_id, l.number, o.broker_id, u.name, o.state, o.sticky, o.offered_at_ms, o.decided_at_ms, \
             o.outcome_reason FROM offers o JOIN leads l ON l.id = o.lead_id JOIN users u ON u.id = o.broker_id \
             WHERE o.agency_id = $1 AND l.client_id = $2 ORDER BY o.id DESC LIMIT $3")
        .await?;
        for (lead, number, broker, name, state, sticky, offered, decided, why) in offers {
            let kind = match OfferState::parse(&state) {
                Some(OfferState::Pending) => "offered",
                Some(OfferState::Accepted) => "offer_accepted",
                Some(OfferState::Refused) => "offer_refused",
                Some(OfferState::Expired) => "offer_expired",
                Some(OfferState::Cancelled) | None => "offer_cancelled",
            };
            let mut e = TimelineEntry::new(decided.unwrap_or(offered), kind)
                .lead(lead, number)
                .broker(Some(broker), Some(name));
            e.sticky = Some(sticky != 0);
            if kind == "offer_refused" {
                e.note = why.filter(|w| !SERVER_REFUSAL_TEXT.contains(&w.as_str()));
            }
            out.push(e);
        }

        let attendances: Vec<AttendanceRow> = read(&mut conn, agency, client, "SELECT a.lead_id, l.number, a.broker_id, u.name, a.kind, a.opened_at_ms, a.concluded_at_ms, a.concluded_how \
             FROM attendances a JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.broker_id \
             WHERE a.agency_id = $1 AND a.client_id = $2 ORDER BY a.id DESC LIMIT $3")
        .await?;
        for (lead, number, broker, name, kind, opened, concluded, how) in attendances {
            let mut e = TimelineEntry::new(opened, "attendance_opened")
                .lead(lead, number.clone())
                .broker(Some(broker), Some(name.clone()));
            e.code = Some(kind);
            out.push(e);
            if let Some(at) = concluded {
                let mut e = TimelineEntry::new(at, "attendance_concluded")
                    .lead(lead, number)
                    .broker(Some(broker), Some(name));
                e.code = how;
                out.push(e);
            }
        }

        let logs: Vec<NoteRow> = read(&mut conn, agency, client, "SELECT k.lead_id, l.number, k.broker_id, u.name, k.kind, k.note, k.created_at_ms FROM contact_logs k \
             JOIN leads l ON l.id = k.lead_id JOIN users u ON u.id = k.broker_id \
             WHERE k.agency_id = $1 AND k.client_id = $2 ORDER BY k.id DESC LIMIT $3")
        .await?;
        for (lead, number, broker, name, kind, note, at) in logs {
            let mut e = TimelineEntry::new(at, "contact_logged")
                .lead(lead, number.unwrap_or_default())
                .broker(Some(broker), name);
            e.code = Some(kind);
            e.note = note.filter(|n| !n.is_empty());
            out.push(e);
        }

        let attempts: Vec<NoteRow> = read(&mut conn, agency, client, "SELECT k.lead_id, l.number, k.broker_id, u.name, k.channel, NULL, k.created_at_ms FROM contact_attempts k \
             JOIN leads l ON l.id = k.lead_id JOIN users u ON u.id = k.broker_id \
             WHERE k.agency_id = $1 AND k.client_id = $2 ORDER BY k.id DESC LIMIT $3")
        .await?;
        for (lead, number, broker, name, channel, _, at) in attempts {
            let mut e = TimelineEntry::new(at, "contact_attempt")
                .lead(lead, number.unwrap_or_default())
                .broker(Some(broker), name);
            e.code = Some(channel);
            out.push(e);
        }

        let contacts: Vec<ClientContactRow> = read(&mut conn, agency, client, "SELECT k.lead_id, l.number, k.broker_id, u.name, k.outcome, k.comment, g.name, k.created_at_ms \
             FROM client_contacts k JOIN users u ON u.id = k.broker_id LEFT JOIN leads l ON l.id = k.lead_id \
             LEFT JOIN campaigns g ON g.id = k.campaign_id \
             WHERE k.agency_id = $1 AND k.client_id = $2 ORDER BY k.id DESC LIMIT $3")
        .await?;
        for (lead, number, broker, name, outcome, comment, campaign, at) in contacts {
            let kind = if campaign.is_some() {
                "campaign_result"
            } else {
                "client_contact"
            };
            let mut e = TimelineEntry::new(at, kind).broker(Some(broker), Some(name));
            if let (Some(id), Some(n)) = (lead, number) {
                e = e.lead(id, n);
            }
            e.code = Some(outcome);
            e.note = comment.filter(|c| !c.is_empty());
            e.to = campaign;
            out.push(e);
        }

        let history: Vec<HistoryRow> = read(&mut conn, agency, client, "SELECT h.lead_id, l.number, h.actor_id, u.name, h.kind, h.from_value, h.to_value, h.at_ms \
             FROM client_history h LEFT JOIN leads l ON l.id = h.lead_id LEFT JOIN users u ON u.id = h.actor_id \
             WHERE h.agency_id = $1 AND h.client_id = $2 ORDER BY h.id DESC LIMIT $3")
        .await?;
        for (lead, number, actor, name, kind, from, to, at) in history {
            let mut e = TimelineEntry::new(at, &kind).broker(actor, name);
            if let (Some(id), Some(n)) = (lead, number) {
                e = e.lead(id, n);
            }
            e.from = from;
            e.to = to;
            out.push(e);
        }

        // Newest first; at the same instant, the later step of a story first (accepted before
        // the attendance it opened reads oldest-last when the page lists top to bottom).
        out.sort_by(|a, b| {
            b.at_ms
                .cmp(&a.at_ms)
                .then_with(|| rank(&b.kind).cmp(&rank(&a.kind)))
        });
        out.truncate(usize::try_from(MOST).unwrap_or(500));
        Ok(out)
    }
}

/// The order of a story's steps that share one instant.
fn rank(kind: &str) -> u8 {
    match kind {
        "lead_created" => 0,
        "offered" | "offer_refused" | "offer_expired" | "offer_cancelled" => 1,
        "offer_accepted" => 2,
        "attendance_opened" => 3,
        "contact_attempt" => 4,
        "contact_logged" | "client_contact" | "campaign_result" => 5,
        "attendance_concluded" => 6,
        _ => 7,
    }
}
