//! The statements the webhook delivery worker runs (docs/WEBHOOKS.md): expanding outbox events
//! into deliveries, taking the due ones (a lead's events strictly in order per subscription),
//! recording each attempt, pausing a subscription that keeps failing and telling the managers,
//! and deleting what is past its retention. They span every agency: the worker serves them all.

use super::outbox::events_pattern;
use super::{Store, StoreResult};
use crate::model::{AgencyId, LeadId};

/// A delivery the worker may send now, with everything the request needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub agency_id: AgencyId,
    pub subscription_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub event_at_ms: i64,
    pub data: String,
    pub url: String,
    pub secret: String,
    pub attempts: i64,
    pub next_at_ms: i64,
}

impl Store {
    /// Writes the deliveries of up to `limit` new events, oldest first: one per subscription of
    /// the event's agency that wants its type and existed when it happened. Answers how many
    /// events were expanded. Each event is expanded once, whichever node gets there first.
    pub async fn expand_webhook_events(&self, now_ms: i64, limit: i64) -> StoreResult<usize> {
        let events: Vec<(i64, AgencyId, String, Option<LeadId>, i64)> = sqlx::query_as(
            "SELECT id, agency_id, event_type, lead_id, created_at_ms FROM webhook_outbox \
             WHERE expanded = 0 ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut done = 0;
        for (id, agency, kind, lead, at) in events {
            let mine = sqlx::query(
                "UPDATE webhook_outbox SET expanded = 1 WHERE id = $1 AND expanded = 0",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if mine.rows_affected() == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO webhook_deliveries (agency_id, subscription_id, event_id, lead_id, status, next_at_ms, created_at_ms) \
                 SELECT s.agency_id, s.id, $2, $3, 'pending', $4, $4 FROM webhook_subscriptions s \
                 WHERE s.agency_id = $1 AND s.events LIKE $5 AND s.created_at_ms <= $6 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(agency)
            .bind(id)
            .bind(lead)
            .bind(now_ms)
            .bind(events_pattern(&kind))
            .bind(at)
            .execute(&mut *tx)
            .await?;
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Deliveries due now on active subscriptions, at most `limit`; a delivery whose lead has
    /// an earlier undelivered event for the same subscription waits for it (order per lead).
    pub async fn due_webhook_deliveries(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueDelivery>> {
        Ok(sqlx::query_as(
            "SELECT d.id, d.agency_id, d.subscription_id, d.event_id, o.event_type, o.created_at_ms AS event_at_ms, \
             o.data, s.url, s.secret, d.attempts, d.next_at_ms \
             FROM webhook_deliveries d \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             JOIN webhook_outbox o ON o.id = d.event_id \
             WHERE d.status <> 'delivered' AND d.next_at_ms <= $1 AND s.paused_at_ms IS NULL \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.subscription_id = d.subscription_id \
                 AND e.lead_id = d.lead_id AND e.status <> 'delivered' AND e.event_id < d.event_id) \
             ORDER BY d.next_at_ms, d.id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Takes a due delivery for this node until `until_ms` (a node that dies while sending
    /// leaves it to be taken again then). False if another node took it first.
    pub async fn claim_webhook_delivery(
        &self,
        d: &DueDelivery,
        until_ms: i64,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE webhook_deliveries SET next_at_ms = $3 \
             WHERE id = $1 AND next_at_ms = $2 AND status <> 'delivered'",
        )
        .bind(d.id)
        .bind(d.next_at_ms)
        .bind(until_ms)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The receiver answered 2xx: the delivery is done and its subscription's failures reset.
    pub async fn webhook_delivered(
        &self,
        d: &DueDelivery,
        status: u16,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, \
             last_error = NULL, last_attempt_ms = $3, delivered_at_ms = $3 WHERE id = $1",
        )
        .bind(d.id)
        .bind(i64::from(status))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_subscriptions SET failures = 0 WHERE id = $1")
            .bind(d.subscription_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An attempt failed: it is tried again at `next_at_ms`. When this delivery has now failed
    /// `pause_after` times in a row, its subscription is paused and every active manager of
    /// the agency gets a notification (`host` names the receiver in it). Answers whether this
    /// paused it.
    #[allow(clippy::too_many_arguments)]
    pub async fn webhook_failed(
        &self,
        d: &DueDelivery,
        status: Option<u16>,
        error: &str,
        next_at_ms: i64,
        pause_after: i64,
        host: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let attempts: i64 = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, next_at_ms = $2, \
             last_status_code = $3, last_error = $4, last_attempt_ms = $5 WHERE id = $1 RETURNING attempts",
        )
        .bind(d.id)
        .bind(next_at_ms)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_subscriptions SET failures = failures + 1 WHERE id = $1")
            .bind(d.subscription_id)
            .execute(&mut *tx)
            .await?;
        let mut paused = false;
        if attempts >= pause_after.max(1) {
            let r = sqlx::query(
                "UPDATE webhook_subscriptions SET paused_at_ms = $2 WHERE id = $1 AND paused_at_ms IS NULL",
            )
            .bind(d.subscription_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            paused = r.rows_affected() == 1;
        }
        if paused {
            let text = format!(
                "O envio de eventos para {host} foi pausado depois de {attempts} tentativas sem \
                 resposta de sucesso. Os eventos ficam guardados: verifique o sistema que os \
                 recebe e retome o envio em Eventos para o CRM."
            );
            sqlx::query(
                "INSERT INTO notifications (agency_id, user_id, event, text, created_at_ms) \
                 SELECT agency_id, id, 'webhook_paused', $2, $3 FROM users \
                 WHERE agency_id = $1 AND role IN ('manager', 'admin') AND active = 1",
            )
            .bind(d.agency_id)
            .bind(&text)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(paused)
    }

    /// Deletes deliveries delivered before `before_ms`, and events older than that which no
    /// delivery refers to any more. Answers how many deliveries went.
    pub async fn purge_webhooks(&self, before_ms: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at_ms < $1",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM webhook_outbox WHERE expanded = 1 AND created_at_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_outbox.id)",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(gone)
    }
}
