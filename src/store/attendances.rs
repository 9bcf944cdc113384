//! Attendances (a broker owning a lead until they contact the client), contact log entries,
//! lead edits, and the pending-attendances list of A2 with the owner-transfer rule of A4.

use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// A4: an owner's transfer is pending only while the owner is this recent (or has a property
/// on the market).
pub const OWNER_TRANSFER_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Who attends the client: the owner broker (returning), someone covering (rule) or a first
/// contact (new). A transfer is always named explicitly by whoever forwards it.
pub fn attendance_kind(
    owner: Option<BrokerId>,
    broker: BrokerId,
    known_client: bool,
) -> AttendanceKind {
    match owner {
        Some(o) if o == broker => AttendanceKind::Returning,
        Some(_) => AttendanceKind::Rule,
        None if known_client => AttendanceKind::Returning,
        None => AttendanceKind::New,
    }
}

pub(crate) async fn open_attendance(
    conn: &mut AnyConnection,
    agency: AgencyId,
    lead: LeadId,
    client: i64,
    broker: BrokerId,
    kind: AttendanceKind,
    now_ms: i64,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO attendances (agency_id, lead_id, client_id, broker_id, kind, opened_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(agency)
    .bind(lead)
    .bind(client)
    .bind(broker)
    .bind(kind.as_str())
    .bind(now_ms)
    .fetch_one(conn)
    .await?)
}

/// Links the broker to the lead's client (R5: the first attending broker becomes the client's
/// broker; someone covering for an owner attends under "rule") and opens the attendance.
pub(crate) async fn link_broker(
    conn: &mut AnyConnection,
    agency: AgencyId,
    lead: LeadId,
    broker: BrokerId,
    kind: Option<AttendanceKind>,
    now_ms: i64,
) -> StoreResult<(i64, AttendanceKind)> {
    let (client, owner, earlier): (i64, Option<BrokerId>, i64) = sqlx::query_as(
        "SELECT c.id, c.broker_id, (SELECT COUNT(*) FROM leads o WHERE o.client_id = c.id AND o.id <> l.id) \
         FROM leads l JOIN clients c ON c.id = l.client_id WHERE l.agency_id = $1 AND l.id = $2",
    )
    .bind(agency)
    .bind(lead)
    .fetch_one(&mut *conn)
    .await?;
    let kind = kind.unwrap_or_else(|| attendance_kind(owner, broker, earlier > 0));
    if owner.is_none() {
        sqlx::query("UPDATE clients SET broker_id = $3 WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(client)
            .bind(broker)
            .execute(&mut *conn)
            .await?;
    }
    let id = open_attendance(conn, agency, lead, client, broker, kind, now_ms).await?;
    super::outbox::record(
        conn,
        agency,
        super::Event::LeadAssigned {
            lead,
            broker,
            attendance: id,
            kind,
        },
        now_ms,
    )
    .await?;
    Ok((id, kind))
}

/// One row of the broker's pending list (A2).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PendingAttendance {
    pub attendance_id: i64,
    pub kind: String,
    pub opened_at_ms: i64,
    pub lead_id: LeadId,
    pub lead_number: String,
    pub channel: String,
    pub source: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_phone: String,
    pub client_email: Option<String>,
    pub client_role: String,
    pub property_code: Option<String>,
    pub property_address: Option<String>,
    pub interest_kind: Option<String>,
    pub interest_purpose: Option<String>,
    pub interest_price_cents: Option<i64>,
    pub interest_neighbourhood: Option<String>,
    pub interest_bedrooms: Option<i64>,
    pub interest_parking: Option<i64>,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
    pub comment: Option<String>,
}

/// The fields a broker may change on their lead; each edit concludes the attendance (R6).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub appraisal_address: Option<String>,
    pub condominium: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Concluded {
    /// The attendance this concluded, if one was open.
    pub concluded_attendance_id: Option<i64>,
}

impl Store {
    pub async fn pending_attendances(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Vec<PendingAttendance>> {
        Ok(sqlx::query_as(
            "SELECT a.id AS attendance_id, a.kind, a.opened_at_ms, l.id AS lead_id, l.number AS lead_number, \
             l.channel, l.source, c.id AS client_id, c.name AS client_name, c.phone AS client_phone, \
             c.email AS client_email, c.role AS client_role, p.code AS property_code, p.address AS property_address, \
             l.interest_kind, l.interest_purpose, l.interest_price_cents, l.interest_neighbourhood, \
             l.interest_bedrooms, l.interest_parking, l.appraisal_address, l.condominium, l.comment \
             FROM attendances a JOIN leads l ON l.id = a.lead_id JOIN clients c ON c.id = a.client_id \
             LEFT JOIN properties p ON p.id = l.property_id \
             WHERE a.agency_id = $1 AND a.broker_id = $2 AND a.concluded_at_ms IS NULL \
             AND (a.kind <> 'transfer' OR c.created_at_ms > $3 OR EXISTS ( \
                  SELECT 1 FROM properties op WHERE op.agency_id = a.agency_id AND op.owner_client_id = c.id \
                  AND op.status = 'available')) \
             ORDER BY a.opened_at_ms, a.id",
        )
        .bind(agency)
        .bind(broker)
        .bind(now_ms - OWNER_TRANSFER_WINDOW_MS)
        .fetch_all(self.pool())
        .await?)
    }

    /// The lead's client, if the broker owns the lead; otherwise NotFound (never another's).
    async fn owned_lead(
        conn: &mut AnyConnection,
        agency: AgencyId,
        lead: LeadId,
        broker: BrokerId,
    ) -> StoreResult<i64> {
        let row: Option<(i64, Option<BrokerId>)> = sqlx::query_as(
            "SELECT client_id, broker_id FROM leads WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(lead)
        .fetch_optional(&mut *conn)
        .await?;
        // Another broker's lead answers as a missing one: its id tells the caller nothing.
        match row {
            Some((client, Some(b))) if b == broker => Ok(client),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn conclude(
        conn: &mut AnyConnection,
        agency: AgencyId,
        lead: LeadId,
        broker: BrokerId,
        how: &'static str,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE attendances SET concluded_at_ms = $4, concluded_how = $5 \
             WHERE agency_id = $1 AND lead_id = $2 AND broker_id = $3 AND concluded_at_ms IS NULL RETURNING id",
        )
        .bind(agency)
        .bind(lead)
        .bind(broker)
        .bind(now_ms)
        .bind(how)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(attendance) = id {
            super::outbox::record(
                conn,
                agency,
                super::Event::AttendanceConcluded {
                    lead,
                    broker,
                    attendance,
                    how,
                },
                now_ms,
            )
            .await?;
        }
        Ok(id)
    }

    /// A3 / R6: a contact log entry concludes the pending attendance.
    pub async fn log_contact(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        lead: LeadId,
        kind: &str,
        note: &str,
        now_ms: i64,
    ) -> StoreResult<Concluded> {
        let mut tx = self.begin_write().await?;
        let client = Self::owned_lead(&mut tx, agency, lead, broker).await?;
        sqlx::query(
            "INSERT INTO contact_logs (agency_id, lead_id, client_id, broker_id, kind, note, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(agency)
        .bind(lead)
        .bind(client)
        .bind(broker)
        .bind(kind)
        .bind(note)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let concluded =
            Self::conclude(&mut tx, agency, lead, broker, "contact_log", now_ms).await?;
        tx.commit().await?;
        Ok(Concluded {
            concluded_attendance_id: concluded,
        })
    }

    /// One tap after calling or opening WhatsApp from Roleta (L7): the attempt is kept (and
    /// shows on the client's timeline); the attendance stays open until the contact is logged.
    pub async fn record_contact_attempt(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        lead: LeadId,
        channel: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut conn = self.pool().acquire().await?;
        let client = Self::owned_lead(&mut conn, agency, lead, broker).await?;
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
        .fetch_one(&mut *conn)
        .await?)
    }

    /// R6: editing the lead's record also concludes the attendance.
    pub async fn edit_lead(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        lead: LeadId,
        e: &LeadEdit,
        now_ms: i64,
    ) -> StoreResult<Concluded> {
        let mut tx = self.begin_write().await?;
        let client = Self::owned_lead(&mut tx, agency, lead, broker).await?;
        sqlx::query(
            "UPDATE leads SET comment = COALESCE($3, comment), appraisal_address = COALESCE($4, appraisal_address), \
             condominium = COALESCE($5, condominium) WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(lead)
        .bind(&e.comment)
        .bind(&e.appraisal_address)
        .bind(&e.condominium)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE clients SET name = COALESCE($3, name), email = COALESCE($4, email) WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(client)
            .bind(&e.name)
            .bind(&e.email)
            .execute(&mut *tx)
            .await?;
        if e.name.is_some() || e.email.is_some() {
            super::refresh_search_key(&mut tx, agency, client).await?;
        }
        let concluded = Self::conclude(&mut tx, agency, lead, broker, "lead_edit", now_ms).await?;
        tx.commit().await?;
        Ok(Concluded {
            concluded_attendance_id: concluded,
        })
    }
}
