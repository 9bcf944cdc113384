//! The broker's calling flow in an active-offer campaign (O4, O5): the next client, handed out
//! atomically; the result ("Salvar"); "Continuar depois".

use super::outcomes::{record_outcome, Contact, OutcomeRecorded};
use super::{one_row, Backend, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, Outcome};
use serde::Serialize;

/// The client a broker is calling (O4).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CampaignCall {
    /// The client's entry in the campaign.
    pub entry_id: i64,
    pub campaign_id: i64,
    pub client_id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    /// Routed to this broker as the client's own ("their own broker").
    pub routed_to_me: i64,
    /// A comment kept with "continue later".
    pub comment: Option<String>,
}

const CALL_COLS: &str =
    "SELECT cc.id AS entry_id, cc.campaign_id, cc.client_id, c.name, c.phone, c.email, \
     CASE WHEN cc.route_broker_id IS NULL THEN 0 ELSE 1 END AS routed_to_me, cc.comment \
     FROM campaign_clients cc JOIN clients c ON c.id = cc.client_id";

impl Store {
    /// Refuses unless the broker takes part in the campaign and, when handing out clients, it
    /// has not expired (a client already handed out may still be classified after the expiry).
    async fn check_participant(
        &self,
        agency: AgencyId,
        campaign: i64,
        broker: BrokerId,
        now_ms: i64,
        handing_out: bool,
    ) -> StoreResult<()> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT k.expires_at_ms, (SELECT COUNT(*) FROM campaign_brokers cb WHERE cb.campaign_id = k.id AND cb.broker_id = $3) \
             FROM campaigns k WHERE k.agency_id = $1 AND k.id = $2",
        )
        .bind(agency)
        .bind(campaign)
        .bind(broker)
        .fetch_optional(self.pool())
        .await?;
        match row {
            None | Some((_, 0)) => Err(StoreError::NotFound),
            Some((exp, _)) if handing_out && exp <= now_ms => {
                Err(StoreError::Conflict("this campaign has expired".into()))
            }
            Some(_) => Ok(()),
        }
    }

    /// O4, O5: the next client for this broker — the one they kept with "continue later" if
    /// any, else the oldest queued one routed to them, else the oldest routed to anyone. Taken
    /// in one statement, so two brokers asking at once never get the same client.
    pub async fn next_campaign_client(
        &self,
        agency: AgencyId,
        campaign: i64,
        broker: BrokerId,
        now_ms: i64,
    ) -> StoreResult<Option<CampaignCall>> {
        self.check_participant(agency, campaign, broker, now_ms, true)
            .await?;
        let kept: Option<CampaignCall> = sqlx::query_as(&format!(
            "{CALL_COLS} WHERE cc.agency_id = $1 AND cc.campaign_id = $2 AND cc.state = 'held' AND cc.held_by = $3 \
             ORDER BY cc.held_at_ms, cc.id LIMIT 1"
        ))
        .bind(agency)
        .bind(campaign)
        .bind(broker)
        .fetch_optional(self.pool())
        .await?;
        if kept.is_some() {
            return Ok(kept);
        }
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let taken: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE campaign_clients SET state = 'held', held_by = $3, held_at_ms = $4 WHERE id = \
             (SELECT id FROM campaign_clients WHERE agency_id = $1 AND campaign_id = $2 AND state = 'queued' \
              AND (route_broker_id IS NULL OR route_broker_id = $3) \
              ORDER BY CASE WHEN route_broker_id IS NULL THEN 1 ELSE 0 END, id LIMIT 1{lock}) \
             AND state = 'queued' RETURNING id"
        ))
        .bind(agency)
        .bind(campaign)
        .bind(broker)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        let Some(entry) = taken else {
            return Ok(None);
        };
        Ok(Some(
            sqlx::query_as(&format!("{CALL_COLS} WHERE cc.id = $1"))
                .bind(entry)
                .fetch_one(self.pool())
                .await?,
        ))
    }

    /// O4, O5 "Save": classifies the client the broker holds. Positive results make the broker
    /// the client's attending broker with a pending attendance; negative ones deactivate the
    /// client in the campaign.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_campaign_result(
        &self,
        agency: AgencyId,
        campaign: i64,
        entry: i64,
        broker: BrokerId,
        outcome: Outcome,
        comment: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<OutcomeRecorded> {
        self.check_participant(agency, campaign, broker, now_ms, false)
            .await?;
        let mut tx = self.begin_write().await?;
        let state = if outcome.positive() {
            "done"
        } else {
            "inactive"
        };
        let client: Option<i64> = sqlx::query_scalar(
            "UPDATE campaign_clients SET state = $5, result = $6, comment = $7, done_at_ms = $8 \
             WHERE agency_id = $1 AND campaign_id = $2 AND id = $3 AND state = 'held' AND held_by = $4 \
             RETURNING client_id",
        )
        .bind(agency)
        .bind(campaign)
        .bind(entry)
        .bind(broker)
        .bind(state)
        .bind(outcome.as_str())
        .bind(comment)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(client) = client else {
            return Err(StoreError::Conflict(
                "this client is not being called by you in this campaign".into(),
            ));
        };
        let contact = Contact {
            agency,
            client,
            broker,
            campaign: Some(campaign),
            outcome,
            comment,
        };
        let out = record_outcome(self, &mut tx, contact, now_ms).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// O5 "Continue later": the client stays with this broker, with the comment so far.
    pub async fn keep_campaign_client(
        &self,
        agency: AgencyId,
        campaign: i64,
        entry: i64,
        broker: BrokerId,
        comment: Option<&str>,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE campaign_clients SET comment = COALESCE($5, comment) \
             WHERE agency_id = $1 AND campaign_id = $2 AND id = $3 AND state = 'held' AND held_by = $4",
        )
        .bind(agency)
        .bind(campaign)
        .bind(entry)
        .bind(broker)
        .bind(comment)
        .execute(self.pool())
        .await?;
        one_row(r).map_err(|_| {
            StoreError::Conflict("this client is not being called by you in this campaign".into())
        })
    }

    /// The manager puts every client held by a broker (being called, or kept with "continue
    /// later") back in the campaign's queue. Answers how many.
    pub async fn release_held_clients(&self, agency: AgencyId, campaign: i64) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE campaign_clients SET state = 'queued', held_by = NULL, held_at_ms = NULL \
             WHERE agency_id = $1 AND campaign_id = $2 AND state = 'held'",
        )
        .bind(agency)
        .bind(campaign)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }
}
