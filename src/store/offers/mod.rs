//! Offers: committed before they are pushed, decided by conditional updates so that exactly
//! one broker can ever hold a lead (I2), and a late or repeated answer gets a clear rejection.
//! The writes are here, the conditional accept in `accept.rs`; the reads in `reads.rs`; the statements every untaken ending shares in
//! `closing.rs`.

mod accept;
pub(super) mod closing;
mod reads;

use closing::{close_one, close_one_told};

use super::shards::fence;
use super::{insert_audit, link_broker, AuditEntry, Store, StoreError, StoreResult};
use crate::model::{AgencyId, AttendanceKind, BrokerId, DepartmentId, LeadId, OfferId, OfferState};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct OfferRecord {
    pub id: OfferId,
    pub lead_id: LeadId,
    pub broker_id: BrokerId,
    pub department_id: DepartmentId,
    pub epoch: i64,
    pub round: i64,
    pub offered_at_ms: i64,
    pub deadline_ms: i64,
}

pub(super) const OFFER_COLS: &str =
    "id, lead_id, broker_id, department_id, epoch, round, offered_at_ms, deadline_ms";

/// An offer the dispatcher has decided and wants written.
#[derive(Debug, Clone)]
pub struct OfferDraft {
    pub lead: LeadId,
    pub broker: BrokerId,
    pub department: DepartmentId,
    pub sticky: bool,
    pub reason: String,
}

/// Why an accept or refuse was turned down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferRejection {
    #[error("no such offer")]
    NotFound,
    #[error("this offer was made to another broker")]
    NotYours,
    #[error("this offer has already ended ({})", .0.as_str())]
    AlreadyDecided(OfferState),
    #[error("the time to answer this offer has run out")]
    DeadlinePassed,
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub lead_id: LeadId,
    pub attendance_id: i64,
    pub kind: AttendanceKind,
    pub offered_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Closed {
    pub lead_id: LeadId,
    pub broker_id: BrokerId,
    /// Consecutive offers this broker has now let expire.
    pub missed_in_row: i64,
}

impl Store {
    /// Writes a batch of offers in one transaction (one disk sync for all of them), each
    /// bumping its lead's epoch; `None` for a lead that no longer waits.
    pub async fn commit_offers(
        &self,
        agency: AgencyId,
        shard_epoch: i64,
        drafts: &[OfferDraft],
        now_ms: i64,
        deadline_ms: i64,
    ) -> StoreResult<Vec<Option<OfferRecord>>> {
        let mut tx = self.begin_write().await?;
        fence(&mut tx, agency, shard_epoch).await?;
        let tell = super::outbox::wants(&mut tx, agency, "offer.made").await?;
        let mut out = Vec::with_capacity(drafts.len());
        for d in drafts {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE leads SET epoch = epoch + 1, state = 'offered' \
                 WHERE agency_id = $1 AND id = $2 AND state = 'waiting' RETURNING epoch, round",
            )
            .bind(agency)
            .bind(d.lead)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((epoch, round)) = row else {
                out.push(None);
                continue;
            };
            let id: OfferId = sqlx::query_scalar(
                "INSERT INTO offers (agency_id, lead_id, broker_id, department_id, epoch, round, sticky, state, \
                 offered_at_ms, deadline_ms, reason, shard_epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11) RETURNING id",
            )
            .bind(agency)
            .bind(d.lead)
            .bind(d.broker)
            .bind(d.department)
            .bind(epoch)
            .bind(round)
            .bind(i64::from(d.sticky))
            .bind(now_ms)
            .bind(deadline_ms)
            .bind(&d.reason)
            .bind(shard_epoch)
            .fetch_one(&mut *tx)
            .await?;
            let entry = AuditEntry {
                agency,
                lead: Some(d.lead),
                broker: Some(d.broker),
                offer: Some(id),
                decision: "offered",
                reason: &d.reason,
            };
            insert_audit(&mut tx, &entry, now_ms).await?;
            if tell {
                let made = super::Event::OfferMade {
                    offer: id,
                    lead: d.lead,
                    broker: d.broker,
                    deadline_ms,
                };
                super::outbox::write(&mut tx, agency, made, now_ms).await?;
            }
            out.push(Some(OfferRecord {
                id,
                lead_id: d.lead,
                broker_id: d.broker,
                department_id: d.department,
                epoch,
                round,
                offered_at_ms: now_ms,
                deadline_ms,
            }));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Ends a pending offer as refused, expired or cancelled and puts its lead back to
    /// waiting. A rejection says why if it had already ended (or is another broker's).
    #[allow(clippy::too_many_arguments)]
    pub async fn close_offer(
        &self,
        agency: AgencyId,
        shard_epoch: i64,
        offer: OfferId,
        broker: Option<BrokerId>,
        state: OfferState,
        reason: &str,
        now_ms: i64,
    ) -> StoreResult<Result<Closed, OfferRejection>> {
        let mut tx = self.begin_write().await?;
        fence(&mut tx, agency, shard_epoch).await?;
        let closed = close_one(&mut tx, agency, offer, broker, state, reason, now_ms).await?;
        let Some(closed) = closed else {
            drop(tx);
            return Ok(Err(self
                .why_not(agency, offer, broker.unwrap_or_default())
                .await
                .map(|r| match (broker, r) {
                    (None, OfferRejection::NotYours) => {
                        OfferRejection::AlreadyDecided(OfferState::Cancelled)
                    }
                    (_, r) => r,
                })?));
        };
        tx.commit().await?;
        Ok(Ok(closed))
    }

    /// Expires offers whose deadlines fell due together, in one transaction (one disk sync);
    /// `None` for an offer that had already ended.
    pub async fn expire_offers(
        &self,
        agency: AgencyId,
        shard_epoch: i64,
        offers: &[OfferId],
        reason: &str,
        now_ms: i64,
    ) -> StoreResult<Vec<Option<Closed>>> {
        let mut tx = self.begin_write().await?;
        fence(&mut tx, agency, shard_epoch).await?;
        let tell = super::outbox::wants(&mut tx, agency, "offer.expired").await?;
        let mut out = Vec::with_capacity(offers.len());
        for offer in offers {
            let expired = OfferState::Expired;
            let closed = close_one_told(
                &mut tx,
                agency,
                *offer,
                None,
                expired,
                reason,
                now_ms,
                Some(tell),
            );
            out.push(closed.await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Starts a new round for a lead every online broker refused; returns the new round.
    pub async fn new_round(
        &self,
        agency: AgencyId,
        shard_epoch: i64,
        lead: LeadId,
        reason: &str,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.begin_write().await?;
        fence(&mut tx, agency, shard_epoch).await?;
        let round: Option<i64> = sqlx::query_scalar(
            "UPDATE leads SET round = round + 1 WHERE agency_id = $1 AND id = $2 AND state = 'waiting' RETURNING round",
        )
        .bind(agency)
        .bind(lead)
        .fetch_optional(&mut *tx)
        .await?;
        if round.is_some() {
            let entry = AuditEntry {
                agency,
                lead: Some(lead),
                decision: "new_round",
                reason,
                ..Default::default()
            };
            insert_audit(&mut tx, &entry, now_ms).await?;
        }
        tx.commit().await?;
        Ok(round)
    }

    /// Gives a waiting lead straight to a broker (the configured fallback, or a manager's
    /// manual forward of an unrouted lead). `None` if the lead was not in `from_state`.
    /// The dispatcher passes its shard epoch; a manager's forward has none to check.
    #[allow(clippy::too_many_arguments)]
    pub async fn assign_lead(
        &self,
        agency: AgencyId,
        shard_epoch: Option<i64>,
        lead: LeadId,
        broker: BrokerId,
        from_state: &str,
        reason: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(i64, AttendanceKind)>> {
        let mut tx = self.begin_write().await?;
        if let Some(e) = shard_epoch {
            fence(&mut tx, agency, e).await?;
        }
        let moved = sqlx::query(
            "UPDATE leads SET state = 'assigned', broker_id = $3, assigned_at_ms = $5 \
             WHERE agency_id = $1 AND id = $2 AND state = $4",
        )
        .bind(agency)
        .bind(lead)
        .bind(broker)
        .bind(from_state)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(None);
        }
        let att = link_broker(&mut tx, agency, lead, broker, None, now_ms).await?;
        let entry = AuditEntry {
            agency,
            lead: Some(lead),
            broker: Some(broker),
            decision: "assigned",
            reason,
            ..Default::default()
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        tx.commit().await?;
        Ok(Some(att))
    }

    /// Sets a broker offline after too many silent timeouts (ROUTING.md).
    pub async fn auto_offline(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        reason: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET online = 0, missed_in_row = 0 WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(broker)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry {
            agency,
            broker: Some(broker),
            decision: "auto_offline",
            reason,
            ..Default::default()
        };
        insert_audit(&mut tx, &entry, now_ms).await?;
        super::outbox::record(
            &mut tx,
            agency,
            super::Event::BrokerOnline {
                broker,
                online: false,
                reason: "missed_offers",
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
