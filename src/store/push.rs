//! VAPID keys (one pair for the installation) and brokers' push subscriptions.

use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PushSubscription {
    pub id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Store {
    /// The stored key pair, or `candidate` stored now if there is none. Two nodes starting at
    /// once both end up with whichever was written first.
    pub async fn vapid_keys(
        &self,
        candidate: (&str, &str),
        now_ms: i64,
    ) -> StoreResult<(String, String)> {
        sqlx::query(
            "INSERT INTO vapid_keys (id, private_key, public_key, created_at_ms) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate.0)
        .bind(candidate.1)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(
            sqlx::query_as("SELECT private_key, public_key FROM vapid_keys WHERE id = 1")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Adds a device's subscription for this broker, or renews its keys. Rows are per
    /// (broker, endpoint): the same endpoint registered by someone else (a shared browser
    /// profile) is their own row and never moves or changes this one.
    pub async fn save_push_subscription(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO push_subscriptions (agency_id, broker_id, endpoint, p256dh, auth, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (broker_id, endpoint) DO UPDATE SET p256dh = $4, auth = $5",
        )
        .bind(agency)
        .bind(broker)
        .bind(endpoint)
        .bind(p256dh)
        .bind(auth)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The broker's subscriptions, to send an offer to each.
    pub async fn push_subscriptions(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> StoreResult<Vec<PushSubscription>> {
        Ok(sqlx::query_as(
            "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE agency_id = $1 AND broker_id = $2 ORDER BY id",
        )
        .bind(agency)
        .bind(broker)
        .fetch_all(self.pool())
        .await?)
    }

    /// Drops a subscription the push service said is gone (404/410).
    pub async fn delete_push_subscription(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The caller's own subscription for this endpoint (a browser unsubscribing); someone
    /// else's row for the same endpoint stays. Not found when the caller has none.
    pub async fn delete_push_subscription_by_endpoint(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        endpoint: &str,
    ) -> StoreResult<()> {
        let r = sqlx::query("DELETE FROM push_subscriptions WHERE agency_id = $1 AND broker_id = $2 AND endpoint = $3")
            .bind(agency)
            .bind(broker)
            .bind(endpoint)
            .execute(self.pool())
            .await?;
        super::one_row(r)
    }
}
