//! The client record (A5, A6): "Meus clientes" (a broker's own clients, a manager's whole base),
//! the client's details with its objective and interest profile (kept on the client once edited
//! by hand; until then the newest lead's), the properties of interest, the client's leads, and
//! the one-tap contact attempts. The timeline is in `timeline.rs`.

use super::clients::{filter_sql, text_plan, ClientFilter, Sql};
use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, Objective};
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
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub broker_id: Option<i64>,
    pub broker_name: Option<String>,
    pub created_at_ms: i64,
    pub objective: Option<String>,
    pub leads_count: i64,
    /// Attendances still waiting for a first contact (A2).
    pub open_attendances: i64,
    pub last_lead_id: Option<i64>,
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

impl InterestProfile {
    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.purpose.is_none()
            && self.price_cents.is_none()
            && self.neighbourhood.is_none()
            && self.bedrooms.is_none()
            && self.parking.is_none()
    }
}

/// A property one of the client's leads named, with its details.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PropertyOfInterest {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub purpose: String,
    pub price_cents: Option<i64>,
    pub neighbourhood: Option<String>,
    pub address: Option<String>,
    pub bedrooms: Option<i64>,
    pub parking_spaces: Option<i64>,
    pub status: String,
}

/// One of the client's leads, newest first.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClientLead {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub status: Option<String>,
    pub source: String,
    pub channel: String,
    pub broker_id: Option<i64>,
    pub broker_name: Option<String>,
    pub created_at_ms: i64,
    pub assigned_at_ms: Option<i64>,
}

/// The whole client record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientRecord {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub broker_id: Option<i64>,
    pub broker_name: Option<String>,
    pub created_at_ms: i64,
    /// A6: buy, rent or appraise; absent until known (entered by hand, or read off a lead).
    pub objective: Option<Objective>,
    pub interest: InterestProfile,
    /// `manual` once a person edited the profile; `lead` while it is the newest lead's; `none`.
    pub interest_source: &'static str,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
    pub properties: Vec<PropertyOfInterest>,
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

type ClientHead = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<String>,
);

type ManualProfile = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

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
        let mut sql = Sql::new(
            "SELECT c.id, c.name, c.phone, c.email, c.broker_id, u.name AS broker_name, c.created_at_ms, c.objective, \
             (SELECT COUNT(*) FROM leads n WHERE n.client_id = c.id) AS leads_count, \
             (SELECT COUNT(*) FROM attendances oa WHERE oa.client_id = c.id AND oa.concluded_at_ms IS NULL) AS open_attendances, \
             l.id AS last_lead_id, l.number AS last_lead_number, l.status AS last_lead_status, \
             l.source AS last_lead_source, l.channel AS last_lead_channel, l.created_at_ms AS last_lead_at_ms \
             FROM clients c LEFT JOIN users u ON u.id = c.broker_id \
             LEFT JOIN leads l ON l.id = (SELECT MAX(m.id) FROM leads m WHERE m.client_id = c.id)",
        );
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
        let (id, name, phone, email, broker_id, broker_name, created_at_ms, objective): ClientHead =
            sqlx::query_as(
                "SELECT c.id, c.name, c.phone, c.email, c.broker_id, u.name, c.created_at_ms, c.objective \
                 FROM clients c LEFT JOIN users u ON u.id = c.broker_id WHERE c.agency_id = $1 AND c.id = $2",
            )
            .bind(agency)
            .bind(client)
            .fetch_one(&mut *conn)
            .await?;
        let manual: ManualProfile = sqlx::query_as(
            "SELECT interest_kind, interest_purpose, interest_price_cents, interest_neighbourhood, interest_bedrooms, \
             interest_parking, appraisal_address, condominium, profile_edited_at_ms FROM clients WHERE id = $1",
        )
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
        let properties: Vec<PropertyOfInterest> = sqlx::query_as(
            "SELECT p.id, p.code, p.kind, p.purpose, p.price_cents, p.neighbourhood, p.address, p.bedrooms, \
             p.parking_spaces, p.status FROM properties p WHERE p.agency_id = $1 AND p.id IN \
             (SELECT l.property_id FROM leads l WHERE l.client_id = $2 AND l.property_id IS NOT NULL) ORDER BY p.id DESC",
        )
        .bind(agency)
        .bind(client)
        .fetch_all(&mut *conn)
        .await?;
        let (
            kind,
            purpose,
            price_cents,
            neighbourhood,
            bedrooms,
            parking,
            appraisal,
            condo,
            edited,
        ) = manual;
        let mut interest = InterestProfile {
            kind,
            purpose,
            price_cents,
            neighbourhood,
            bedrooms,
            parking,
        };
        let (mut appraisal_address, mut condominium) = (appraisal, condo);
        let mut interest_source = if edited.is_some() { "manual" } else { "none" };
        if edited.is_none() {
            // Not edited by hand: the newest lead that carries a profile speaks for the client.
            let from_lead: Option<(InterestProfile, Option<String>, Option<String>)> =
                newest_lead_profile(&mut conn, client).await?;
            if let Some((p, a, c)) = from_lead {
                if !p.is_empty() || a.is_some() || c.is_some() {
                    interest = p;
                    appraisal_address = a;
                    condominium = c;
                    interest_source = "lead";
                }
            }
        }
        let objective = match objective.as_deref() {
            Some(o) => Objective::parse(o),
            None => objective_of(interest.purpose.as_deref(), appraisal_address.is_some()),
        };
        Ok(ClientRecord {
            id,
            name,
            phone,
            email,
            broker_id,
            broker_name,
            created_at_ms,
            objective,
            interest,
            interest_source,
            appraisal_address,
            condominium,
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

    /// One tap after calling or opening WhatsApp from Roleta: the attempt is kept (and shows on
    /// the timeline); the attendance stays open until the broker logs the contact.
    pub async fn record_contact_attempt(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        lead: i64,
        channel: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let client: Option<i64> = sqlx::query_scalar(
            "SELECT client_id FROM leads WHERE agency_id = $1 AND id = $2 AND broker_id = $3",
        )
        .bind(agency)
        .bind(lead)
        .bind(broker)
        .fetch_optional(self.pool())
        .await?;
        let client = client.ok_or(StoreError::NotFound)?;
        Ok(sqlx::query_scalar(
            "INSERT INTO contact_attempts (agency_id, lead_id, client_id, broker_id, channel, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(agency)
        .bind(lead)
        .bind(client)
        .bind(broker)
        .bind(channel)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }

    /// The agency's name and its first WhatsApp message, if a manager wrote one (the pages'
    /// default otherwise).
    pub async fn agency_messages(&self, agency: AgencyId) -> StoreResult<(String, Option<String>)> {
        Ok(
            sqlx::query_as("SELECT name, whatsapp_template FROM agencies WHERE id = $1")
                .bind(agency)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Sets (or, with None, clears back to the default) the agency's first WhatsApp message.
    pub async fn set_whatsapp_template(
        &self,
        agency: AgencyId,
        template: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE agencies SET whatsapp_template = $2 WHERE id = $1")
            .bind(agency)
            .bind(template)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// The newest of the client's leads that says anything about what the client wants.
async fn newest_lead_profile(
    conn: &mut AnyConnection,
    client: i64,
) -> StoreResult<Option<(InterestProfile, Option<String>, Option<String>)>> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT interest_kind, interest_purpose, interest_price_cents, interest_neighbourhood, interest_bedrooms, \
         interest_parking, appraisal_address, condominium FROM leads WHERE client_id = $1 \
         AND (interest_kind IS NOT NULL OR interest_purpose IS NOT NULL OR appraisal_address IS NOT NULL \
         OR condominium IS NOT NULL) ORDER BY id DESC LIMIT 1",
    )
    .bind(client)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(kind, purpose, price_cents, neighbourhood, bedrooms, parking, a, c)| {
            (
                InterestProfile {
                    kind,
                    purpose,
                    price_cents,
                    neighbourhood,
                    bedrooms,
                    parking,
                },
                a,
                c,
            )
        },
    ))
}
