//! The reads behind the operators' wallboard. No lead's personal data is read here.

use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId, OfferState};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferFact {
    pub id: i64,
    pub department_id: i64,
    pub broker_id: BrokerId,
    #[sqlx(try_from = "String")]
    pub state: OfferState,
    pub offered_at_ms: i64,
    pub deadline_ms: i64,
    pub decided_at_ms: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingFact {
    pub department_id: i64,
    pub waiting: i64,
    pub oldest_ms: i64,
}

impl Store {
    /// Offers still pending, and offers made since `since_ms`.
    pub async fn offer_facts(
        &self,
        agency: AgencyId,
        since_ms: i64,
    ) -> StoreResult<Vec<OfferFact>> {
        Ok(sqlx::query_as(
            "SELECT id, department_id, broker_id, state, offered_at_ms, deadline_ms, decided_at_ms FROM offers \
             WHERE agency_id = $1 AND (offered_at_ms >= $2 OR state = 'pending') ORDER BY id",
        )
        .bind(agency)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn waiting_facts(&self, agency: AgencyId) -> StoreResult<Vec<WaitingFact>> {
        Ok(sqlx::query_as(
            "SELECT department_id, COUNT(*) AS waiting, MIN(created_at_ms) AS oldest_ms FROM leads \
             WHERE agency_id = $1 AND state = 'waiting' GROUP BY department_id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    /// (broker, department) memberships of the agency.
    pub async fn memberships(&self, agency: AgencyId) -> StoreResult<Vec<(BrokerId, i64)>> {
        Ok(sqlx::query_as(
            "SELECT broker_id, department_id FROM broker_departments WHERE agency_id = $1",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }
}
