//! The conditional accept (I2): the offer is taken only while it is pending, this broker's and
//! before its deadline; otherwise the rejection says why.

use super::closing::record_answer;
use super::*;
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};

impl Store {
    /// The conditional accept: pending, this broker's, and before the deadline — or a rejection.
    pub async fn accept_offer(
        &self,
        agency: AgencyId,
        shard_epoch: i64,
        offer: OfferId,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Result<Accepted, OfferRejection>> {
        let mut tx = self.begin_write().await?;
        fence(&mut tx, agency, shard_epoch).await?;
        let won: Option<(LeadId, i64, i64)> = sqlx::query_as(
            "UPDATE offers SET state = 'accepted', decided_at_ms = $4, outcome_reason = 'accepted' \
             WHERE agency_id = $1 AND id = $2 AND broker_id = $3 AND state = 'pending' AND deadline_ms > $4 \
             RETURNING lead_id, epoch, offered_at_ms",
        )
        .bind(agency)
        .bind(offer)
        .bind(broker)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((lead, epoch, offered_at_ms)) = won else {
            drop(tx);
            return Ok(Err(self.why_not(agency, offer, broker).await?));
        };
        let moved = sqlx::query(
            "UPDATE leads SET state = 'assigned', broker_id = $3, assigned_at_ms = $5 \
             WHERE agency_id = $1 AND id = $2 AND epoch = $4 AND state = 'offered'",
        )
        .bind(agency)
        .bind(lead)
        .bind(broker)
        .bind(epoch)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the lead moved on before this accept".into(),
            ));
        }
        super::super::outbox::record(
            &mut tx,
            agency,
            super::super::Event::OfferAccepted {
                offer,
                lead,
                broker,
            },
            now_ms,
        )
        .await?;
        let (attendance_id, kind) =
            link_broker(&mut tx, agency, lead, broker, None, now_ms).await?;
        record_answer(&mut tx, agency, broker, true).await?;
        let entry = AuditEntry {
            agency,
            lead: Some(lead),
            broker: Some(broker),
            offer: Some(offer),
            decision: "accepted",
            reason: "broker accepted",
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        tx.commit().await?;
        Ok(Ok(Accepted {
            lead_id: lead,
            attendance_id,
            kind,
            offered_at_ms,
        }))
    }

    pub(super) async fn why_not(
        &self,
        agency: AgencyId,
        offer: OfferId,
        broker: BrokerId,
    ) -> StoreResult<OfferRejection> {
        let row: Option<(BrokerId, String)> =
            sqlx::query_as("SELECT broker_id, state FROM offers WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(offer)
                .fetch_optional(self.pool())
                .await?;
        Ok(match row {
            None => OfferRejection::NotFound,
            Some((b, _)) if b != broker => OfferRejection::NotYours,
            Some((_, s)) if s != "pending" => OfferRejection::AlreadyDecided(
                OfferState::parse(&s).unwrap_or(OfferState::Cancelled),
            ),
            Some(_) => OfferRejection::DeadlinePassed,
        })
    }
}
