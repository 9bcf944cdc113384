//! The client record (A5, A6): "Meus clientes" (a broker's own clients, a manager's whole base),
//! the client's details with its objective and interest profile (kept on the client once edited
//! by hand; until then the newest lead's), the properties of interest, the client's leads, and
//! the one-tap contact attempts. The timeline is in `timeline.rs`.

use super::clients::{filter_sql, text_plan, ClientFilter, ClientRow, Sql};
use super::properties::Property;
use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId, Objective};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Who reads: a manager sees every client of the agency, a broker only their own.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    Manager,
    Broker(BrokerId),
}

/// A broker's own client: they own it (R5), or one of its leads was theirs, or it was
/// distributed to them (T2). Appends the condition for alias `c`.
fn visible_sql(sql: &mut Sql, reader: Reader) {
    if let Reader::Broker(b) = reader {
        let b = sql.int(b);
        sql.push(&format!(
            " AND (c.broker_id = {b} OR EXISTS (SELECT 1 FROM leads vl WHERE vl.client_id = c.id AND vl.broker_id = {b}) \
             OR EXISTS (SELECT 1 FROM team_clients vt WHERE vt.client_id = c.id AND vt.broker_id = {b}))"
        ));
    }
}

/// One row of "Meus clientes": the client with its newest lead.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClientListRow {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub client: ClientRow,
    pub objective: Option<String>,
    pub leads_count: i64,
    /// Attendances still waiting for a first contact (A2).
    pub open_attendances: i64,
    pub last_lead_id: Option<LeadId>,
    pub last_lead_number: Option<String>,
    pub last_lead_status: Option<String>,
    pub last_lead_source: Option<String>,
    pub last_lead_channel: Option<String>,
    pub last_lead_at_ms: Option<i64>,
}

/// The interest profile (A2): what the client looks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterestProfile {
    pub kind: Option<String>,
    pub purpose: Option<String>,
    pub price_cents: Option<i64>,
    pub neighbourhood: Option<String>,
    pub bedrooms: Option<i64>,
    pub parking: Option<i64>,
}

/// The profile as kept on a client (once edited by hand) or on a lead: the same columns.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
struct ProfileRow {
    #[sqlx(flatten)]
    interest: InterestProfile,
    appraisal_address: Option<String>,
    condominium: Option<String>,
}

/// The profile's columns, named as [`ProfileRow`] reads them, on `clients` and `leads` alike.
const PROFILE_COLUMNS: &str = "interest_kind AS kind, interest_purpose AS purpose, \
     interest_price_cents AS price_cents, interest_neighbourhood AS neighbourhood, \
     interest_bedrooms AS bedrooms, interest_parking AS parking, appraisal_address, condominium";

/// One of the client's leads, newest first.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClientLead {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub status: Option<String>,
    pub source: String,
    pub channel: String,
    pub broker_id: Option<BrokerId>,
    pub broker_name: Option<String>,
    pub created_at_ms: i64,
    pub assigned_at_ms: Option<i64>,
}

/// The whole client record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientRecord {
    #[serde(flatten)]
    pub client: ClientRow,
    /// A6: buy, rent or appraise; absent until known (entered by hand, or read off a lead).
    pub objective: Option<Objective>,
    pub interest: InterestProfile,
    /// `manual` once a person edited the profile; `lead` while it is the newest lead's; `none`.
    pub interest_source: &'static str,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
    /// The properties the client's leads named, with their details.
    pub properties: Vec<Property>,
    pub leads: Vec<ClientLead>,
}

/// What a person edits on the record: the objective and the profile, replaced as a whole.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileEdit {
    pub objective: Option<Objective>,
    #[serde(default)]
    pub interest: InterestProfile,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
}

/// The client row with what the record adds to it, read once.
#[derive(sqlx::FromRow)]
struct RecordRow {
    #[sqlx(flatten)]
    client: ClientRow,
    objective: Option<String>,
    profile_edited_at_ms: Option<i64>,
    #[sqlx(flatten)]
    profile: ProfileRow,
}

/// The client columns [`ClientRow`] reads, for alias `c` joined with its broker `u`.
const CLIENT_COLUMNS: &str = "c.id, c.name, c.phone, c.email, c.broker_id, u.name AS broker_name, \
     c.created_at_ms, c.worked_at_ms";

/// The objective a lead implies: a property for rent, for sale, or an appraisal.
fn objective_of(purpose: Option<&str>, appraisal: bool) -> Option<Objective> {
    if appraisal {
        return Some(Objective::Appraise);
    }
    match purpose {
        Some("rent") => Some(Objective::Rent),
        Some("sale") => Some(Objective::Buy),
        _ => None,
    }
}

/// Whether `reader` may open client `client` (a broker's own client, or any for a manager).
pub(crate) async fn readable(
    conn: &mut AnyConnection,
    agency: AgencyId,
    client: i64,
    reader: Reader,
) -> StoreResult<()> {
    let mut sql = Sql::new("SELECT c.id FROM clients c WHERE c.agency_id = ");
    let a = sql.int(agency);
    sql.push(&a);
    let id = sql.int(client);
    sql.push(&format!(" AND c.id = {id}"));
    visible_sql(&mut sql, reader);
    let found: Option<(i64,)> = sql.query_as()?.fetch_optional(&mut *conn).await?;
    // Another broker's client answers as a missing one: its id tells the caller nothing.
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

impl Store {
    /// "Meus clientes": one page of the reader's clients matching `f`, newest first (keyset:
    /// ids below `before`).
    pub async fn client_list(
        &self,
        agency: AgencyId,
        reader: Reader,
        f: &ClientFilter,
        before: Option<i64>,
        limit: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientListRow>> {
        let days = self.quarantine_days(agency).await?;
        let mut conn = self.pool().acquire().await?;
        let plan = text_plan(&mut conn, self.backend(), agency, f, limit).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {CLIENT_COLUMNS}, c.objective, \
             (SELECT COUNT(*) FROM leads n WHERE n.client_id = c.id) AS leads_count, \
             (SELECT COUNT(*) FROM attendances oa WHERE oa.client_id = c.id AND oa.concluded_at_ms IS NULL) AS open_attendances, \
             l.id AS last_lead_id, l.number AS last_lead_number, l.status AS last_lead_status, \
             l.source AS last_lead_source, l.channel AS last_lead_channel, l.created_at_ms AS last_lead_at_ms \
             FROM clients c LEFT JOIN users u ON u.id = c.broker_id \
             LEFT JOIN leads l ON l.id = (SELECT MAX(m.id) FROM leads m WHERE m.client_id = c.id)"
        ));
        filter_sql(&mut sql, plan, agency, f, now_ms, days);
        visible_sql(&mut sql, reader);
        if let Some(b) = before {
            let b = sql.int(b);
            sql.push(&format!(" AND c.id < {b}"));
        }
        let l = sql.int(limit);
        sql.push(&format!(" ORDER BY c.id DESC LIMIT {l}"));
        Ok(sql.query_as()?.fetch_all(&mut *conn).await?)
    }

    /// The client record, if `reader` may open it (NotFound otherwise).
    pub async fn client_record(
        &self,
        agency: AgencyId,
        client: i64,
        reader: Reader,
    ) -> StoreResult<ClientRecord> {
        let mut conn = self.pool().acquire().await?;
        readable(&mut conn, agency, client, reader).await?;
        let row: RecordRow = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLUMNS}, c.objective, c.profile_edited_at_ms, {PROFILE_COLUMNS} \
             FROM clients c LEFT JOIN users u ON u.id = c.broker_id WHERE c.agency_id = $1 AND c.id = $2"
        ))
        .bind(agency)
        .bind(client)
        .fetch_one(&mut *conn)
        .await?;
        let leads: Vec<ClientLead> = sqlx::query_as(
            "SELECT l.id, l.number, l.state, l.status, l.source, l.channel, l.broker_id, u.name AS broker_name, \
             l.created_at_ms, l.assigned_at_ms FROM leads l LEFT JOIN users u ON u.id = l.broker_id \
             WHERE l.agency_id = $1 AND l.client_id = $2 ORDER BY l.id DESC LIMIT 200",
        )
        .bind(agency)
        .bind(client)
        .fetch_all(&mut *conn)
        .await?;
        let properties: Vec<Property> = sqlx::query_as(
            "SELECT p.id, p.code, p.kind, p.purpose, p.price_cents, p.neighbourhood, p.address, p.bedrooms, \
             p.parking_spaces, p.status, p.owner_client_id FROM properties p WHERE p.agency_id = $1 AND p.id IN \
             (SELECT l.property_id FROM leads l WHERE l.client_id = $2 AND l.property_id IS NOT NULL) ORDER BY p.id DESC",
        )
        .bind(agency)
        .bind(client)
        .fetch_all(&mut *conn)
        .await?;
        // Not edited by hand: the newest lead that carries a profile speaks for the client.
        let (profile, interest_source) = if row.profile_edited_at_ms.is_some() {
            (row.profile, "manual")
        } else {
            match newest_lead_profile(&mut conn, client).await? {
                Some(p) => (p, "lead"),
                None => (ProfileRow::default(), "none"),
            }
        };
        let objective = match row.objective.as_deref() {
            Some(o) => Objective::parse(o),
            None => objective_of(
                profile.interest.purpose.as_deref(),
                profile.appraisal_address.is_some(),
            ),
        };
        Ok(ClientRecord {
            client: row.client,
            objective,
            interest: profile.interest,
            interest_source,
            appraisal_address: profile.appraisal_address,
            condominium: profile.condominium,
            properties,
            leads,
        })
    }

    /// A5: the profile entered or edited by hand; from now on it is the client's own.
    pub async fn set_client_profile(
        &self,
        agency: AgencyId,
        client: i64,
        reader: Reader,
        actor: i64,
        e: &ProfileEdit,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        readable(&mut tx, agency, client, reader).await?;
        let p = &e.interest;
        sqlx::query(
            "UPDATE clients SET objective = $3, interest_kind = $4, interest_purpose = $5, interest_price_cents = $6, \
             interest_neighbourhood = $7, interest_bedrooms = $8, interest_parking = $9, appraisal_address = $10, \
             condominium = $11, profile_edited_at_ms = $12 WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(client)
        .bind(e.objective.map(Objective::as_str))
        .bind(&p.kind)
        .bind(&p.purpose)
        .bind(p.price_cents)
        .bind(&p.neighbourhood)
        .bind(p.bedrooms)
        .bind(p.parking)
        .bind(&e.appraisal_address)
        .bind(&e.condominium)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO client_history (agency_id, client_id, actor_id, kind, to_value, at_ms) \
             VALUES ($1, $2, $3, 'profile_edited', $4, $5)",
        )
        .bind(agency)
        .bind(client)
        .bind(actor)
        .bind(e.objective.map(Objective::as_str))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The newest of the client's leads that says anything about what the client wants.
async fn newest_lead_profile(
    conn: &mut AnyConnection,
    client: i64,
) -> StoreResult<Option<ProfileRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {PROFILE_COLUMNS} FROM leads WHERE client_id = $1 \
         AND (interest_kind IS NOT NULL OR interest_purpose IS NOT NULL OR appraisal_address IS NOT NULL \
         OR condominium IS NOT NULL) ORDER BY id DESC LIMIT 1"
    ))
    .bind(client)
    .fetch_optional(&mut *conn)
    .await?)
}
