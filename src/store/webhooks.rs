//! Webhook subscriptions and their deliveries as the manager sets them up and reads them
//! (docs/WEBHOOKS.md); the delivery worker's statements are in `webhook_deliveries.rs`.

use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, LeadId};
use serde::Serialize;

/// One subscription as the manager sees it; the secret is never read back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookSubscription {
    pub id: i64,
    pub url: String,
    /// The chosen event types (`lead.created`, `offer.made`, …).
    pub events: Vec<String>,
    /// False once paused (by the manager, or after repeated failures): nothing is sent, the
    /// events wait and go out in order when it is resumed.
    pub active: bool,
    pub paused_at_ms: Option<i64>,
    /// Failed attempts in a row (0 after any success).
    pub failures: i64,
    /// Deliveries not yet accepted by the receiver.
    pub undelivered: i64,
    pub created_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    url: String,
    events: String,
    failures: i64,
    paused_at_ms: Option<i64>,
    created_at_ms: i64,
    undelivered: i64,
}

impl From<SubscriptionRow> for WebhookSubscription {
    fn from(r: SubscriptionRow) -> Self {
        Self {
            id: r.id,
            url: r.url,
            events: split_events(&r.events),
            active: r.paused_at_ms.is_none(),
            paused_at_ms: r.paused_at_ms,
            failures: r.failures,
            undelivered: r.undelivered,
            created_at_ms: r.created_at_ms,
        }
    }
}

fn split_events(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `events` column: ",a,b," (so `LIKE '%,a,%'` finds a type).
fn join_events(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

/// One delivery of one event to one subscription, for the manager's page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    pub subscription_id: i64,
    /// The event id the receiver dedupes on (`X-Roleta-Event-Id`).
    pub event_id: i64,
    pub event_type: String,
    pub lead_id: Option<LeadId>,
    pub lead_number: Option<String>,
    /// `pending` (not tried yet, or resent), `failed` (the last attempt failed; tried again at
    /// `next_at_ms`) or `delivered`.
    pub status: String,
    pub attempts: i64,
    pub next_at_ms: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

const SUBSCRIPTION_COLS: &str = "s.id, s.url, s.events, s.failures, s.paused_at_ms, s.created_at_ms, \
     (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.status <> 'delivered') AS undelivered";

impl Store {
    pub async fn create_webhook(
        &self,
        agency: AgencyId,
        url: &str,
        secret: &str,
        events: &[String],
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_subscriptions (agency_id, url, secret, events, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(agency)
        .bind(url)
        .bind(secret)
        .bind(join_events(events))
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn webhooks(&self, agency: AgencyId) -> StoreResult<Vec<WebhookSubscription>> {
        let rows: Vec<SubscriptionRow> = sqlx::query_as(&format!(
            "SELECT {SUBSCRIPTION_COLS} FROM webhook_subscriptions s WHERE s.agency_id = $1 ORDER BY s.id"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn webhook(&self, agency: AgencyId, id: i64) -> StoreResult<WebhookSubscription> {
        let row: SubscriptionRow = sqlx::query_as(&format!(
            "SELECT {SUBSCRIPTION_COLS} FROM webhook_subscriptions s WHERE s.agency_id = $1 AND s.id = $2"
        ))
        .bind(agency)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.into())
    }

    /// Changes what is given. `active: Some(false)` pauses it; `Some(true)` resumes a paused
    /// one: its failure count starts again and its waiting deliveries are due at once.
    pub async fn update_webhook(
        &self,
        agency: AgencyId,
        id: i64,
        url: Option<&str>,
        events: Option<&[String]>,
        active: Option<bool>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let paused: Option<i64> = sqlx::query_scalar(
            "SELECT paused_at_ms FROM webhook_subscriptions WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_subscriptions SET url = COALESCE($3, url), events = COALESCE($4, events) \
             WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .bind(url)
        .bind(events.map(join_events))
        .execute(&mut *tx)
        .await?;
        match (active, paused) {
            (Some(false), None) => {
                sqlx::query("UPDATE webhook_subscriptions SET paused_at_ms = $3 WHERE agency_id = $1 AND id = $2")
                    .bind(agency)
                    .bind(id)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            (Some(true), Some(_)) => {
                sqlx::query("UPDATE webhook_subscriptions SET paused_at_ms = NULL, failures = 0 WHERE agency_id = $1 AND id = $2")
                    .bind(agency)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = 0, next_at_ms = $3 \
                     WHERE agency_id = $1 AND subscription_id = $2 AND status <> 'delivered'",
                )
                .bind(agency)
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the subscription and its deliveries (the events stay for other subscriptions).
    pub async fn delete_webhook(&self, agency: AgencyId, id: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE agency_id = $1 AND subscription_id = $2")
            .bind(agency)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM webhook_subscriptions WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        one_row(r)?;
        tx.commit().await?;
        Ok(())
    }

    /// The agency's latest deliveries, newest first (one subscription's, when given).
    pub async fn webhook_deliveries(
        &self,
        agency: AgencyId,
        subscription: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        Ok(sqlx::query_as(
            "SELECT d.id, d.subscription_id, d.event_id, o.event_type, d.lead_id, l.number AS lead_number, \
             d.status, d.attempts, d.next_at_ms, d.last_status_code, d.last_error, d.last_attempt_ms, \
             d.delivered_at_ms, d.created_at_ms \
             FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.event_id \
             LEFT JOIN leads l ON l.id = d.lead_id \
             WHERE d.agency_id = $1 AND ($2 = 0 OR d.subscription_id = $2) \
             ORDER BY d.id DESC LIMIT $3",
        )
        .bind(agency)
        .bind(subscription.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Sends the delivery again as soon as the worker looks (the receiver dedupes on the event
    /// id). `Conflict` while its subscription is paused.
    pub async fn resend_delivery(&self, agency: AgencyId, id: i64, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let paused: Option<i64> = sqlx::query_scalar(
            "SELECT s.paused_at_ms FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
             WHERE d.agency_id = $1 AND d.id = $2",
        )
        .bind(agency)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if paused.is_some() {
            return Err(StoreError::Conflict(
                "the subscription is paused; resume it first".into(),
            ));
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at_ms = $3 \
             WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
