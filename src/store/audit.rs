//! The append-only audit of every dispatch decision and presence change, with its reason.
//! Written in the same transaction as the decision it explains.

use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId, OfferId};
use serde::Serialize;
use sqlx::AnyConnection;

#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    pub agency: AgencyId,
    pub lead: Option<LeadId>,
    pub broker: Option<BrokerId>,
    pub offer: Option<OfferId>,
    pub decision: &'a str,
    pub reason: &'a str,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub lead_id: Option<LeadId>,
    pub broker_id: Option<BrokerId>,
    pub offer_id: Option<OfferId>,
    pub at_ms: i64,
    pub decision: String,
    pub reason: String,
}

pub(crate) async fn insert_audit(
    conn: &mut AnyConnection,
    e: &AuditEntry<'_>,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO dispatch_audit (agency_id, lead_id, broker_id, offer_id, at_ms, decision, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.agency)
    .bind(e.lead)
    .bind(e.broker)
    .bind(e.offer)
    .bind(at_ms)
    .bind(e.decision)
    .bind(e.reason)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn audit(&self, e: &AuditEntry<'_>, at_ms: i64) -> StoreResult<()> {
        let mut conn = self.pool().acquire().await?;
        insert_audit(&mut conn, e, at_ms).await
    }

    /// Several entries in one transaction (one disk flush): presence changes arrive in bursts.
    pub async fn audit_many(&self, entries: &[AuditEntry<'_>], at_ms: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for e in entries {
            insert_audit(&mut tx, e, at_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The decisions taken about one lead, oldest first.
    pub async fn audit_for_lead(
        &self,
        agency: AgencyId,
        lead: LeadId,
    ) -> StoreResult<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT id, lead_id, broker_id, offer_id, at_ms, decision, reason FROM dispatch_audit \
             WHERE agency_id = $1 AND lead_id = $2 ORDER BY id",
        )
        .bind(agency)
        .bind(lead)
        .fetch_all(self.pool())
        .await?)
    }
}
