//! Dispatch shards and their fencing epochs. A node takes an agency's roulette over by raising
//! its epoch; every dispatch write first checks (with a write, so it also takes the row lock) that
//! the epoch it was given is still the current one. Whoever lost the agency — a paused node, a
//! partitioned one — is refused by PostgreSQL itself, whatever Redis said.

use super::closing::close_one;
use super::{Backend, Store, StoreError, StoreResult};
use crate::model::{AgencyId, LeadId, OfferId, OfferState};

/// The fencing check, first statement of a dispatch transaction. It also refuses while the
/// agency is suspended, so no offer is ever written for a suspended agency, whoever holds it.
pub(super) async fn fence(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    epoch: i64,
) -> StoreResult<()> {
    let r = sqlx::query(
        "UPDATE shards SET epoch = epoch WHERE agency_id = $1 AND epoch = $2 AND NOT EXISTS \
         (SELECT 1 FROM agencies a WHERE a.id = $1 AND a.suspended_at_ms IS NOT NULL)",
    )
    .bind(agency)
    .bind(epoch)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Fenced { agency, epoch })
    }
}

impl Store {
    /// Takes the agency's roulette over for `node`: the epoch goes up by one and is returned.
    /// Waits for any dispatch write of the previous owner that is under way.
    pub async fn claim_shard(&self, agency: AgencyId, node: &str, now_ms: i64) -> StoreResult<i64> {
        let epoch: i64 = sqlx::query_scalar(
            "INSERT INTO shards (agency_id, epoch, owner, claimed_at_ms) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (agency_id) DO UPDATE SET epoch = shards.epoch + 1, owner = $2, claimed_at_ms = $3 \
             RETURNING epoch",
        )
        .bind(agency)
        .bind(node)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(epoch)
    }

    /// A clean hand-over (drain): the shard has no owner until another node claims it.
    pub async fn release_shard(&self, agency: AgencyId, epoch: i64) -> StoreResult<()> {
        sqlx::query("UPDATE shards SET owner = NULL WHERE agency_id = $1 AND epoch = $2")
            .bind(agency)
            .bind(epoch)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn shard_epoch(&self, agency: AgencyId) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT epoch FROM shards WHERE agency_id = $1")
                .bind(agency)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn agency_ids(&self) -> StoreResult<Vec<AgencyId>> {
        Ok(sqlx::query_scalar("SELECT id FROM agencies ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    /// The broker's saved availability toggle.
    pub async fn broker_toggle(
        &self,
        agency: AgencyId,
        broker: crate::model::BrokerId,
    ) -> StoreResult<bool> {
        let on: Option<i64> =
            sqlx::query_scalar("SELECT online FROM users WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(broker)
                .fetch_optional(self.pool())
                .await?;
        Ok(on.is_some_and(super::flag))
    }

    /// The sweeper: expires offers still pending well past their deadline — their owner is
    /// gone and nobody took the agency over yet, or it missed them. Rows another node is
    /// sweeping are skipped (`SKIP LOCKED`), so the nodes share the work without waiting.
    /// Returns the leads put back to waiting.
    pub async fn sweep_overdue_offers(
        &self,
        before_ms: i64,
        limit: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<(AgencyId, LeadId)>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let rows: Vec<(AgencyId, OfferId)> = sqlx::query_as(&format!(
            "SELECT agency_id, id FROM offers WHERE state = 'pending' AND deadline_ms < $1 \
             ORDER BY deadline_ms LIMIT $2{lock}"
        ))
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let reason = "expired by the sweeper: no node was dispatching this agency";
        for (agency, offer) in rows {
            if let Some(c) = close_one(
                &mut tx,
                agency,
                offer,
                None,
                OfferState::Expired,
                reason,
                now_ms,
            )
            .await?
            {
                out.push((agency, c.lead_id));
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Leads waiting since before `before_ms`, in id order after `after` (a cursor, so every
    /// waiting lead is looked at in turn): the sweeper makes sure their agency's dispatcher
    /// knows them. Served by the partial index `leads_waiting`.
    pub async fn stale_waiting_leads(
        &self,
        before_ms: i64,
        after: LeadId,
        limit: i64,
    ) -> StoreResult<Vec<(AgencyId, LeadId)>> {
        Ok(sqlx::query_as(
            "SELECT agency_id, id FROM leads WHERE state = 'waiting' AND created_at_ms < $1 \
             AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(before_ms)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
