//! The API's view of a lead, with its pipeline (L1, L3, L4): type and status with the statuses it
//! may move to, ad campaign, due date and how long overdue, urgent flag, location, responsible
//! manager.

use super::clients::Sql;
use super::{Store, StoreResult};
use crate::model::{AgencyId, BrokerId, LeadId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct LeadView {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub client_id: i64,
    pub client_name: String,
    pub client_phone: String,
    pub department_id: i64,
    pub source: String,
    pub external_id: Option<String>,
    pub channel: String,
    pub broker_id: Option<BrokerId>,
    pub broker_name: Option<String>,
    pub comment: Option<String>,
    pub created_at_ms: i64,
    pub assigned_at_ms: Option<i64>,
    pub type_id: Option<i64>,
    pub type_name: Option<String>,
    pub status: Option<String>,
    pub status_is_final: i64,
    pub ad_campaign: Option<String>,
    pub due_at_ms: Option<i64>,
    pub urgent: i64,
    pub location: Option<String>,
    pub manager_id: Option<i64>,
    pub manager_name: Option<String>,
    /// L4: how long past its due date the lead is (absent when not overdue, or final).
    #[sqlx(skip)]
    pub overdue_ms: Option<i64>,
    /// L1: the statuses this lead may move to now.
    #[sqlx(skip)]
    pub next_statuses: Vec<String>,
}

/// Filters of the managers' lead list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct LeadListFilter {
    pub status: Option<String>,
    pub ad_campaign: Option<String>,
    /// Only leads past their due date and not in a final status.
    pub overdue: Option<bool>,
    pub urgent: Option<bool>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

const VIEW: &str = "SELECT l.id, l.number, l.state, l.client_id, c.name AS client_name, c.phone AS client_phone, \
     l.department_id, l.source, l.external_id, l.channel, l.broker_id, b.name AS broker_name, l.comment, \
     l.created_at_ms, l.assigned_at_ms, l.type_id, t.name AS type_name, l.status, \
     COALESCE((SELECT s.is_final FROM lead_statuses s WHERE s.type_id = l.type_id AND s.name = l.status), 0) AS status_is_final, \
     l.ad_campaign, l.due_at_ms, l.urgent, l.location, l.manager_id, m.name AS manager_name \
     FROM leads l JOIN clients c ON c.id = l.client_id LEFT JOIN lead_types t ON t.id = l.type_id \
     LEFT JOIN users b ON b.id = l.broker_id LEFT JOIN users m ON m.id = l.manager_id";

fn finish(v: &mut LeadView, now_ms: i64) {
    v.overdue_ms = v
        .due_at_ms
        .filter(|d| *d < now_ms && v.status_is_final == 0)
        .map(|d| now_ms - d);
}

impl Store {
    /// One lead as of `now_ms`, with the statuses it may move to.
    pub async fn lead(&self, agency: AgencyId, lead: LeadId, now_ms: i64) -> StoreResult<LeadView> {
        let mut v: LeadView =
            sqlx::query_as(&format!("{VIEW} WHERE l.agency_id = $1 AND l.id = $2"))
                .bind(agency)
                .bind(lead)
                .fetch_one(self.pool())
                .await?;
        finish(&mut v, now_ms);
        v.next_statuses = sqlx::query_scalar(
            "SELECT to_status FROM lead_transitions WHERE type_id = $1 AND from_status = $2 ORDER BY to_status",
        )
        .bind(v.type_id)
        .bind(&v.status)
        .fetch_all(self.pool())
        .await?;
        Ok(v)
    }

    /// The agency's leads, newest first (keyset on id), optionally only a broker's.
    pub async fn leads(
        &self,
        agency: AgencyId,
        broker: Option<BrokerId>,
        f: &LeadListFilter,
        now_ms: i64,
    ) -> StoreResult<Vec<LeadView>> {
        let mut sql = Sql::new(VIEW);
        let a = sql.int(agency);
        sql.push(&format!(" WHERE l.agency_id = {a}"));
        if let Some(b) = broker {
            let b = sql.int(b);
            sql.push(&format!(" AND l.broker_id = {b}"));
        }
        if let Some(s) = &f.status {
            let s = sql.text_arg(s);
            sql.push(&format!(" AND l.status = {s}"));
        }
        if let Some(s) = &f.ad_campaign {
            let s = sql.text_arg(s);
            sql.push(&format!(" AND l.ad_campaign = {s}"));
        }
        if f.urgent == Some(true) {
            sql.push(" AND l.urgent = 1");
        }
        if f.overdue == Some(true) {
            let n = sql.int(now_ms);
            sql.push(&format!(
                " AND l.due_at_ms < {n} AND NOT EXISTS (SELECT 1 FROM lead_statuses s WHERE s.type_id = l.type_id \
                 AND s.name = l.status AND s.is_final = 1)"
            ));
        }
        if let Some(b) = f.before {
            let b = sql.int(b);
            sql.push(&format!(" AND l.id < {b}"));
        }
        let lim = sql.int(f.limit.unwrap_or(50).clamp(1, 200));
        sql.push(&format!(" ORDER BY l.id DESC LIMIT {lim}"));
        let mut list: Vec<LeadView> = sql.query_as()?.fetch_all(self.pool()).await?;
        let moves: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT type_id, from_status, to_status FROM lead_transitions WHERE agency_id = $1 ORDER BY to_status",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        for v in &mut list {
            finish(v, now_ms);
            v.next_statuses = moves
                .iter()
                .filter(|m| Some(m.0) == v.type_id && Some(&m.1) == v.status.as_ref())
                .map(|m| m.2.clone())
                .collect();
        }
        Ok(list)
    }
}
