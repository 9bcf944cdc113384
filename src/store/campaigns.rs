//! Active-offer campaigns (O1, O3, O6): the settings, the campaigns and their brokers. Adding
//! clients with the preview (O2) is in `campaign_add.rs`; the broker's calling flow (O4, O5) in
//! `campaign_calls.rs`.

use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CrmSettings {
    /// O6: active-offer campaigns are available to this agency.
    pub active_offer_enabled: bool,
    /// O3: days after a campaign's expiry before its clients may join another.
    pub quarantine_days: i64,
}

/// O1: what the manager fills in.
#[derive(Debug, Clone)]
pub struct CampaignDef {
    pub name: String,
    pub expires_at_ms: i64,
    pub property_id: Option<i64>,
    pub development: Option<String>,
    pub description: Option<String>,
    pub brokers: Vec<BrokerId>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub expires_at_ms: i64,
    pub property_id: Option<i64>,
    pub property_code: Option<String>,
    pub development: Option<String>,
    pub description: Option<String>,
    pub created_at_ms: i64,
    /// Clients waiting for a broker.
    pub queued: i64,
    /// Clients handed to a broker (being called, or kept with "continue later").
    pub held: i64,
    /// Positive results.
    pub done: i64,
    /// Negative results (deactivated in the campaign).
    pub inactive: i64,
    #[sqlx(skip)]
    pub brokers: Vec<CampaignBroker>,
    #[sqlx(skip)]
    pub expired: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CampaignBroker {
    pub id: BrokerId,
    pub name: String,
}

const CAMPAIGN_COLS: &str = "SELECT k.id, k.name, k.expires_at_ms, k.property_id, p.code AS property_code, \
     k.development, k.description, k.created_at_ms, \
     (SELECT COUNT(*) FROM campaign_clients q WHERE q.campaign_id = k.id AND q.state = 'queued') AS queued, \
     (SELECT COUNT(*) FROM campaign_clients q WHERE q.campaign_id = k.id AND q.state = 'held') AS held, \
     (SELECT COUNT(*) FROM campaign_clients q WHERE q.campaign_id = k.id AND q.state = 'done') AS done, \
     (SELECT COUNT(*) FROM campaign_clients q WHERE q.campaign_id = k.id AND q.state = 'inactive') AS inactive \
     FROM campaigns k LEFT JOIN properties p ON p.id = k.property_id";

pub(crate) async fn set_campaign_brokers(
    conn: &mut AnyConnection,
    agency: AgencyId,
    campaign: i64,
    brokers: &[BrokerId],
) -> StoreResult<()> {
    for b in brokers {
        let ok: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE agency_id = $1 AND id = $2 AND role = 'broker' AND active = 1",
        )
        .bind(agency)
        .bind(b)
        .fetch_optional(&mut *conn)
        .await?;
        if ok.is_none() {
            return Err(StoreError::Conflict(format!(
                "user {b} is not an active broker of this agency"
            )));
        }
        sqlx::query(
            "INSERT INTO campaign_brokers (agency_id, campaign_id, broker_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(agency)
        .bind(campaign)
        .bind(b)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// O6 as it applies: off while the agency's plan leaves campaigns out (the platform's
    /// `feature_campaigns`), whatever the manager's switch says.
    pub async fn crm_settings(&self, agency: AgencyId) -> StoreResult<CrmSettings> {
        let (on, days): (i64, i64) = sqlx::query_as(
            "SELECT CASE WHEN feature_campaigns = 1 THEN active_offer_enabled ELSE 0 END, \
             quarantine_days FROM agencies WHERE id = $1",
        )
        .bind(agency)
        .fetch_one(self.pool())
        .await?;
        Ok(CrmSettings {
            active_offer_enabled: on != 0,
            quarantine_days: days,
        })
    }

    /// While the plan leaves campaigns out the manager's switch is kept as it was.
    pub async fn update_crm_settings(&self, agency: AgencyId, s: &CrmSettings) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE agencies SET active_offer_enabled = CASE WHEN feature_campaigns = 1 THEN $2 \
             ELSE active_offer_enabled END, quarantine_days = $3 WHERE id = $1",
        )
        .bind(agency)
        .bind(i64::from(s.active_offer_enabled))
        .bind(s.quarantine_days)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    pub async fn create_campaign(
        &self,
        agency: AgencyId,
        d: &CampaignDef,
        by: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (agency_id, name, expires_at_ms, property_id, development, description, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(agency)
        .bind(&d.name)
        .bind(d.expires_at_ms)
        .bind(d.property_id)
        .bind(&d.development)
        .bind(&d.description)
        .bind(by)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        set_campaign_brokers(&mut tx, agency, id, &d.brokers).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a campaign; its brokers become exactly `d.brokers`.
    pub async fn update_campaign(
        &self,
        agency: AgencyId,
        id: i64,
        d: &CampaignDef,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE campaigns SET name = $3, expires_at_ms = $4, property_id = $5, development = $6, description = $7 \
             WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .bind(&d.name)
        .bind(d.expires_at_ms)
        .bind(d.property_id)
        .bind(&d.development)
        .bind(&d.description)
        .execute(&mut *tx)
        .await?;
        one_row(r)?;
        sqlx::query("DELETE FROM campaign_brokers WHERE agency_id = $1 AND campaign_id = $2")
            .bind(agency)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        set_campaign_brokers(&mut tx, agency, id, &d.brokers).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn with_brokers(
        &self,
        agency: AgencyId,
        mut list: Vec<Campaign>,
        now_ms: i64,
    ) -> StoreResult<Vec<Campaign>> {
        let members = self
            .group_brokers(agency, "campaign_brokers", "campaign_id", "u.name")
            .await?;
        for k in &mut list {
            k.expired = k.expires_at_ms <= now_ms;
            k.brokers = brokers_of(&members, k.id);
        }
        Ok(list)
    }

    /// Every campaign's or team's brokers in the agency, in one query: (group id, broker).
    pub(crate) async fn group_brokers(
        &self,
        agency: AgencyId,
        table: &'static str,
        group: &'static str,
        order: &'static str,
    ) -> StoreResult<Vec<(i64, BrokerId, String)>> {
        Ok(sqlx::query_as(&format!(
            "SELECT m.{group}, u.id, u.name FROM {table} m JOIN users u ON u.id = m.broker_id \
             WHERE m.agency_id = $1 ORDER BY {order}"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    /// The manager's list: every campaign, newest first.
    pub async fn campaigns(&self, agency: AgencyId, now_ms: i64) -> StoreResult<Vec<Campaign>> {
        let list = sqlx::query_as(&format!(
            "{CAMPAIGN_COLS} WHERE k.agency_id = $1 ORDER BY k.id DESC"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        self.with_brokers(agency, list, now_ms).await
    }

    pub async fn campaign(&self, agency: AgencyId, id: i64, now_ms: i64) -> StoreResult<Campaign> {
        let one = sqlx::query_as(&format!(
            "{CAMPAIGN_COLS} WHERE k.agency_id = $1 AND k.id = $2"
        ))
        .bind(agency)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        let mut v = self.with_brokers(agency, vec![one], now_ms).await?;
        v.pop().ok_or(StoreError::NotFound)
    }

    /// O4: the broker's campaigns that have not expired.
    pub async fn broker_campaigns(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Vec<Campaign>> {
        let list = sqlx::query_as(&format!(
            "{CAMPAIGN_COLS} WHERE k.agency_id = $1 AND k.expires_at_ms > $3 AND EXISTS \
             (SELECT 1 FROM campaign_brokers cb WHERE cb.campaign_id = k.id AND cb.broker_id = $2) \
             ORDER BY k.expires_at_ms"
        ))
        .bind(agency)
        .bind(broker)
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?;
        self.with_brokers(agency, list, now_ms).await
    }
}

/// One group's brokers out of `group_brokers`' rows.
pub(crate) fn brokers_of(members: &[(i64, BrokerId, String)], group: i64) -> Vec<CampaignBroker> {
    members
        .iter()
        .filter(|m| m.0 == group)
        .map(|m| CampaignBroker {
            id: m.1,
            name: m.2.clone(),
        })
        .collect()
}
