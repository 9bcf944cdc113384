//! O2: adding clients to a campaign from a client search. The preview is computed on the
//! server; confirming recomputes it in the writing transaction and writes exactly what the
//! preview showed, or refuses if the data changed meanwhile (the preview's token differs).

use super::clients::{quarantine_sql, ClientFilter, Sql};
use super::{Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

/// The most clients one selection may hold.
pub const MAX_SELECTION: i64 = 10_000;

/// Which clients: picked one by one, or the first `limit` matching a search.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    Ids(Vec<i64>),
    Search { filter: ClientFilter, limit: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutsideBroker {
    pub id: BrokerId,
    pub name: String,
    /// How many of the clients to be added are linked to this broker.
    pub clients: i64,
}

/// O2's preview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AddPreview {
    pub campaign: super::Campaign,
    pub selected: i64,
    pub in_quarantine: i64,
    pub already_in_campaign: i64,
    /// selected − in quarantine − already in this campaign
    pub to_add: i64,
    /// Among those to be added, the ones already linked to a broker.
    pub active_clients: i64,
    /// Linked brokers who are not in the campaign; the manager may add each.
    pub outside_brokers: Vec<OutsideBroker>,
    /// Send it back with the confirmation: if the data changed, the confirmation is refused.
    pub token: String,
}

/// The confirmation's choices.
#[derive(Debug, Clone, Default)]
pub struct AddChoices {
    /// "Route each to their own broker" (else any participating broker may attend them).
    pub route_own: bool,
    /// Brokers from `outside_brokers` to add to the campaign.
    pub add_brokers: Vec<BrokerId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddResult {
    pub added: i64,
    /// Of those, routed to their own broker.
    pub routed_to_own_broker: i64,
    pub brokers_added: Vec<BrokerId>,
}

struct Row {
    id: i64,
    broker: Option<BrokerId>,
    quarantined: bool,
    inside: bool,
}

struct Computed {
    selected: i64,
    rows: Vec<Row>,
    participants: Vec<BrokerId>,
    outside: Vec<OutsideBroker>,
    token: String,
}

async fn compute(
    conn: &mut AnyConnection,
    backend: super::Backend,
    agency: AgencyId,
    campaign: i64,
    sel: &Selection,
    now_ms: i64,
    days: i64,
) -> StoreResult<Computed> {
    let mut ids = match sel {
        Selection::Ids(v) => v.clone(),
        Selection::Search { filter, limit } => {
            Store::matching_client_ids(
                conn,
                backend,
                agency,
                filter,
                "",
                (*limit).clamp(0, MAX_SELECTION),
                now_ms,
                days,
            )
            .await?
        }
    };
    ids.sort_unstable();
    ids.dedup();
    let mut rows = Vec::with_capacity(ids.len());
    // `agency_id + 0`: the agency is checked on each row found by id, so SQLite seeks the ids
    // instead of walking the agency's index range and testing each id against the list.
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("SELECT c.id, c.broker_id, ");
        let q = quarantine_sql(&mut sql, now_ms, days, campaign);
        let k = sql.int(campaign);
        let a = sql.int(agency);
        sql.push(&format!(
            "CASE WHEN {q} THEN 1 ELSE 0 END, \
             CASE WHEN EXISTS (SELECT 1 FROM campaign_clients i WHERE i.client_id = c.id AND i.campaign_id = {k}) THEN 1 ELSE 0 END \
             FROM clients c WHERE c.agency_id + 0 = {a} AND c.id IN ("
        ));
        let list: Vec<String> = chunk.iter().map(|id| sql.int(*id)).collect();
        sql.push(&list.join(", "));
        sql.push(") ORDER BY c.id");
        let found: Vec<(i64, Option<BrokerId>, i64, i64)> =
            sql.query_as()?.fetch_all(&mut *conn).await?;
        rows.extend(found.into_iter().map(|(id, broker, q, i)| Row {
            id,
            broker,
            quarantined: q != 0,
            inside: i != 0,
        }));
    }
    let participants: Vec<BrokerId> = sqlx::query_scalar(
        "SELECT broker_id FROM campaign_brokers WHERE campaign_id = $1 ORDER BY broker_id",
    )
    .bind(campaign)
    .fetch_all(&mut *conn)
    .await?;
    let mut outside: Vec<OutsideBroker> = Vec::new();
    for r in rows.iter().filter(|r| !r.inside && !r.quarantined) {
        let Some(b) = r.broker.filter(|b| !participants.contains(b)) else {
            continue;
        };
        match outside.iter_mut().find(|o| o.id == b) {
            Some(o) => o.clients += 1,
            None => outside.push(OutsideBroker {
                id: b,
                name: String::new(),
                clients: 1,
            }),
        }
    }
    for o in &mut outside {
        o.name = sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
            .bind(o.id)
            .fetch_one(&mut *conn)
            .await?;
    }
    outside.sort_by_key(|o| o.id);
    let mut h = Sha256::new();
    h.update(campaign.to_le_bytes());
    for r in &rows {
        h.update(r.id.to_le_bytes());
        h.update(r.broker.unwrap_or_default().0.to_le_bytes());
        h.update([u8::from(r.quarantined), u8::from(r.inside)]);
    }
    for p in &participants {
        h.update(p.0.to_le_bytes());
    }
    Ok(Computed {
        selected: rows.len() as i64,
        rows,
        participants,
        outside,
        token: hex::encode(h.finalize().iter().take(12).copied().collect::<Vec<u8>>()),
    })
}

impl Store {
    /// Starts a transaction that adds clients to a campaign that has not expired: one at a time
    /// per campaign (each sees the previous one's rows). Answers the campaign, the agency's
    /// quarantine days and the transaction.
    pub(crate) async fn begin_campaign_write(
        &self,
        agency: AgencyId,
        campaign: i64,
        now_ms: i64,
    ) -> StoreResult<(super::Campaign, i64, sqlx::Transaction<'static, sqlx::Any>)> {
        let info = self.campaign(agency, campaign, now_ms).await?;
        if info.expired {
            return Err(StoreError::Conflict("this campaign has expired".into()));
        }
        let days = self.quarantine_days(agency).await?;
        let mut tx = self.begin_write().await?;
        super::write_first(&mut tx, "campaigns", campaign).await?;
        Ok((info, days, tx))
    }

    /// O2: what adding this selection would do, written nowhere.
    pub async fn preview_campaign_add(
        &self,
        agency: AgencyId,
        campaign: i64,
        sel: &Selection,
        now_ms: i64,
    ) -> StoreResult<AddPreview> {
        let info = self.campaign(agency, campaign, now_ms).await?;
        let days = self.quarantine_days(agency).await?;
        let mut conn = self.pool().acquire().await?;
        let c = compute(
            &mut conn,
            self.backend(),
            agency,
            campaign,
            sel,
            now_ms,
            days,
        )
        .await?;
        Ok(preview_of(info, &c))
    }

    /// O2 confirmed: writes exactly what the preview with `token` showed.
    pub async fn confirm_campaign_add(
        &self,
        agency: AgencyId,
        campaign: i64,
        sel: &Selection,
        choices: &AddChoices,
        token: &str,
        now_ms: i64,
    ) -> StoreResult<AddResult> {
        let (info, days, mut tx) = self.begin_campaign_write(agency, campaign, now_ms).await?;
        let c = compute(&mut tx, self.backend(), agency, campaign, sel, now_ms, days).await?;
        if c.token != token {
            let now = preview_of(info, &c);
            return Err(StoreError::Conflict(format!(
                "the clients or the campaign changed since the preview: {} would be added now; review the preview again",
                now.to_add
            )));
        }
        for b in &choices.add_brokers {
            if !c.outside.iter().any(|o| o.id == *b) {
                return Err(StoreError::Conflict(format!(
                    "broker {b} is not among the linked brokers outside the campaign"
                )));
            }
        }
        super::campaigns::set_campaign_brokers(&mut tx, agency, campaign, &choices.add_brokers)
            .await?;
        let mut participants = c.participants.clone();
        participants.extend(&choices.add_brokers);
        let mut result = AddResult {
            added: 0,
            routed_to_own_broker: 0,
            brokers_added: choices.add_brokers.clone(),
        };
        for r in c.rows.iter().filter(|r| !r.inside && !r.quarantined) {
            let route = r
                .broker
                .filter(|b| choices.route_own && participants.contains(b));
            sqlx::query(
                "INSERT INTO campaign_clients (agency_id, campaign_id, client_id, route_broker_id, added_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(agency)
            .bind(campaign)
            .bind(r.id)
            .bind(route)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            result.added += 1;
            result.routed_to_own_broker += i64::from(route.is_some());
        }
        tx.commit().await?;
        Ok(result)
    }
}

fn preview_of(campaign: super::Campaign, c: &Computed) -> AddPreview {
    let fresh = || c.rows.iter().filter(|r| !r.inside && !r.quarantined);
    AddPreview {
        campaign,
        selected: c.selected,
        in_quarantine: c.rows.iter().filter(|r| r.quarantined && !r.inside).count() as i64,
        already_in_campaign: c.rows.iter().filter(|r| r.inside).count() as i64,
        to_add: fresh().count() as i64,
        active_clients: fresh().filter(|r| r.broker.is_some()).count() as i64,
        outside_brokers: c.outside.clone(),
        token: c.token.clone(),
    }
}
