//! Reads of offers: one offer, a broker's open offer (re-sent on reconnect), and what restart
//! recovery needs (pending offers, current-round refusals, rotation order).

use super::{OfferRecord, OFFER_COLS};
use crate::model::{AgencyId, BrokerId, DepartmentId, LeadId, OfferId};
use crate::store::{Store, StoreResult};

impl Store {
    pub async fn offer(&self, agency: AgencyId, offer: OfferId) -> StoreResult<OfferRecord> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OFFER_COLS} FROM offers WHERE agency_id = $1 AND id = $2"
        ))
        .bind(agency)
        .bind(offer)
        .fetch_one(self.pool())
        .await?)
    }

    /// The broker's offer still open, if any: re-sent when they reconnect.
    pub async fn pending_offer_for_broker(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Option<OfferRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OFFER_COLS} FROM offers WHERE agency_id = $1 AND broker_id = $2 AND state = 'pending' \
             AND deadline_ms > $3 ORDER BY id LIMIT 1"
        ))
        .bind(agency)
        .bind(broker)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn pending_offers(&self, agency: AgencyId) -> StoreResult<Vec<OfferRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {OFFER_COLS} FROM offers WHERE agency_id = $1 AND state = 'pending' ORDER BY id"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    /// (lead, broker) pairs of refusals in each live lead's current round.
    pub async fn current_refusals(&self, agency: AgencyId) -> StoreResult<Vec<(LeadId, BrokerId)>> {
        Ok(sqlx::query_as(
            "SELECT o.lead_id, o.broker_id FROM offers o JOIN leads l ON l.id = o.lead_id \
             WHERE o.agency_id = $1 AND l.state IN ('waiting', 'offered') AND o.round = l.round \
             AND o.state IN ('refused', 'expired', 'cancelled')",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    /// Each broker's latest rotation offer per department: the rotation order after a restart.
    pub async fn rotation_turns(
        &self,
        agency: AgencyId,
    ) -> StoreResult<Vec<(DepartmentId, BrokerId, OfferId)>> {
        Ok(sqlx::query_as(
            "SELECT department_id, broker_id, MAX(id) FROM offers WHERE agency_id = $1 AND sticky = 0 \
             GROUP BY department_id, broker_id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }
}
