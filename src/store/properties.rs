//! The agency's property portfolio (interest profiles come from it).

use super::{Store, StoreError, StoreResult};
use crate::model::AgencyId;
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

    pub async fn property(&self, agency: AgencyId, id: i64) -> StoreResult<Property> {
        Ok(sqlx::query_as(
            "SELECT id, code, kind, purpose, price_cents, neighbourhood, address, bedrooms, parking_spaces, \
             status, owner_client_id FROM properties WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .fetch_one(self.pool())
        .await?)
    }
}
