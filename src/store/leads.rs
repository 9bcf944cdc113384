//! Leads: what ingest takes and answers (the writing itself is in `ingest.rs`), and the reads
//! dispatch needs.

use super::{Store, StoreResult};
use crate::model::{
    AgencyId, AttendanceKind, BrokerId, Channel, ClientRole, DepartmentId, LeadId, LeadState,
};
use serde::Serialize;

/// The interest profile of A2, built from the property of interest when one is given.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Interest {
    pub kind: Option<String>,
    pub purpose: Option<String>,
    pub price_cents: Option<i64>,
    pub neighbourhood: Option<String>,
    pub bedrooms: Option<i64>,
    pub parking_spaces: Option<i64>,
}

/// A lead ready to be written; the edges validate, the store only persists.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub agency_id: AgencyId,
    pub source: String,
    pub external_id: Option<String>,
    /// (key, hash of the request body)
    pub idempotency: Option<(String, String)>,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub client_role: ClientRole,
    pub department_id: DepartmentId,
    pub channel: Channel,
    pub property_code: Option<String>,
    pub interest: Interest,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
    pub comment: Option<String>,
    pub state: LeadState,
    /// The receptionist's forward (A1): straight to this broker, with this attendance type.
    pub assign_to: Option<(BrokerId, Option<AttendanceKind>)>,
    pub created_by: Option<i64>,
    /// The pipeline fields (L1, L3, L4); all optional.
    pub crm: LeadCrm,
}

/// L1, L3, L4: type (the agency's default when absent; the status starts at the type's
/// initial one), ad campaign, due date, urgent flag, location and responsible manager (the
/// creator when absent).
#[derive(Debug, Clone, Default)]
pub struct LeadCrm {
    pub type_id: Option<i64>,
    pub ad_campaign: Option<String>,
    pub due_at_ms: Option<i64>,
    pub urgent: bool,
    pub location: Option<String>,
    pub manager_id: Option<i64>,
}

/// The client search's folded text: lower case, accents removed, so "JOÃO" finds "joao".
pub fn search_key(name: &str, email: Option<&str>) -> String {
    let mut out = String::with_capacity(name.len() + 32);
    for part in [Some(name), email].into_iter().flatten() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(part.chars().flat_map(char::to_lowercase).map(fold_char));
    }
    out
}

/// Strips the diacritics Portuguese uses.
pub fn fold_char(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    pub lead_id: LeadId,
    pub number: String,
    pub client_id: i64,
    pub state: LeadState,
    /// True when this answer repeats an earlier submission (same key or same source id).
    pub replayed: bool,
    /// True when the phone matched an existing client and the lead was linked to it (L2).
    pub linked_existing_client: bool,
    /// L8: the phone is a client's with an open lead (not won or lost): this contact was
    /// written on that lead (`lead_id`) instead of opening a second one, and its broker told.
    pub recontact: bool,
    pub broker_id: Option<BrokerId>,
    /// The attendance opened when the lead went straight to a broker (A1), and its type.
    pub attendance_id: Option<i64>,
    pub attendance_kind: Option<AttendanceKind>,
}

/// What the dispatcher keeps of a lead that still needs a broker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveLead {
    pub id: LeadId,
    pub department_id: DepartmentId,
    pub created_at_ms: i64,
    pub round: i64,
    #[sqlx(try_from = "String")]
    pub state: LeadState,
    /// The client's linked broker: first offer goes to them when online (R3).
    pub owner_id: Option<BrokerId>,
}

/// What a broker sees in the offer popup: enough to decide, no phone or e-mail (those come
/// with the assignment).
#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeadSummary {
    pub id: LeadId,
    pub number: String,
    pub client_name: String,
    pub channel: String,
    pub source: String,
    pub department_id: DepartmentId,
    pub department: String,
    pub property_code: Option<String>,
    pub interest_kind: Option<String>,
    pub interest_purpose: Option<String>,
    pub interest_price_cents: Option<i64>,
    pub interest_neighbourhood: Option<String>,
    pub interest_bedrooms: Option<i64>,
    pub comment: Option<String>,
}

impl Store {
    /// A lead the dispatcher should (re)consider, if it still needs a broker.
    pub async fn live_lead(&self, agency: AgencyId, lead: LeadId) -> StoreResult<Option<LiveLead>> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.department_id, l.created_at_ms, l.round, l.state, c.broker_id AS owner_id \
             FROM leads l JOIN clients c ON c.id = l.client_id \
             WHERE l.agency_id = $1 AND l.id = $2 AND l.state IN ('waiting', 'offered')",
        )
        .bind(agency)
        .bind(lead)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every lead of the agency still needing a broker, oldest first (restart recovery).
    pub async fn live_leads(&self, agency: AgencyId) -> StoreResult<Vec<LiveLead>> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.department_id, l.created_at_ms, l.round, l.state, c.broker_id AS owner_id \
             FROM leads l JOIN clients c ON c.id = l.client_id \
             WHERE l.agency_id = $1 AND l.state IN ('waiting', 'offered') ORDER BY l.created_at_ms, l.id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn lead_summary(&self, agency: AgencyId, lead: LeadId) -> StoreResult<LeadSummary> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.number, c.name AS client_name, l.channel, l.source, l.department_id, \
             d.name AS department, p.code AS property_code, l.interest_kind, l.interest_purpose, \
             l.interest_price_cents, l.interest_neighbourhood, l.interest_bedrooms, l.comment \
             FROM leads l JOIN clients c ON c.id = l.client_id JOIN departments d ON d.id = l.department_id \
             LEFT JOIN properties p ON p.id = l.property_id \
             WHERE l.agency_id = $1 AND l.id = $2",
        )
        .bind(agency)
        .bind(lead)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn count_waiting_leads(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE state = 'waiting'")
                .fetch_one(self.pool())
                .await?,
        )
    }
}
