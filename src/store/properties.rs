//! The agency's property portfolio (interest profiles come from it) and the API's view of a lead.

use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, LeadId};
use serde::Serialize;

/// A property of the agency's portfolio; a lead naming its code gets its interest profile.
#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Property {
    #[serde(default)]
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
    pub owner_client_id: Option<i64>,
}

/// What the API shows of one lead.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeadView {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_phone: String,
    pub department_id: i64,
    pub source: String,
    pub external_id: Option<String>,
    pub channel: String,
    pub broker_id: Option<i64>,
    pub comment: Option<String>,
    pub created_at_ms: i64,
    pub assigned_at_ms: Option<i64>,
}

impl Store {
    pub async fn create_property(
        &self,
        agency: AgencyId,
        p: &Property,
        now_ms: i64,
    ) -> StoreResult<i64> {
        if let Some(owner) = p.owner_client_id {
            sqlx::query_scalar::<_, i64>("SELECT id FROM clients WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(owner)
                .fetch_one(self.pool())
                .await?;
        }
        sqlx::query_scalar(
            "INSERT INTO properties (agency_id, code, kind, purpose, price_cents, neighbourhood, address, bedrooms, \
             parking_spaces, status, owner_client_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(agency)
        .bind(&p.code)
        .bind(&p.kind)
        .bind(&p.purpose)
        .bind(p.price_cents)
        .bind(&p.neighbourhood)
        .bind(&p.address)
        .bind(p.bedrooms)
        .bind(p.parking_spaces)
        .bind(&p.status)
        .bind(p.owner_client_id)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Duplicate(_) => StoreError::Conflict(format!("a property with code {:?} exists", p.code)),
            other => other,
        })
    }

    pub async fn lead(&self, agency: AgencyId, lead: LeadId) -> StoreResult<LeadView> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.number, l.state, l.client_id, c.name AS client_name, c.phone AS client_phone, \
             l.department_id, l.source, l.external_id, l.channel, l.broker_id, l.comment, l.created_at_ms, \
             l.assigned_at_ms FROM leads l JOIN clients c ON c.id = l.client_id WHERE l.agency_id = $1 AND l.id = $2",
        )
        .bind(agency)
        .bind(lead)
        .fetch_one(self.pool())
        .await?)
    }
}
