//! The client search that campaigns (O2) and distribution (T2) select from: agency-scoped,
//! keyset-paginated (newest first), each filter served by an index (see docs/CRM.md).

pub(crate) use super::sql::Sql;
use super::{Backend, Store, StoreResult};
use crate::model::{AgencyId, BrokerId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

const DAY_MS: i64 = 86_400_000;

/// Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClientFilter {
    /// Part of the name or e-mail, any case, accents ignored.
    pub q: Option<String>,
    /// The phone, any way it is typed (matched exactly once normalised).
    pub phone: Option<String>,
    /// Clients with a lead in this department.
    pub department_id: Option<i64>,
    /// Clients linked to this broker.
    pub broker_id: Option<BrokerId>,
    /// true: only clients linked to a broker (active clients); false: only those without.
    pub has_broker: Option<bool>,
    /// Clients with a lead in this pipeline status (L1).
    pub status: Option<String>,
    /// Clients with a lead from this source.
    pub source: Option<String>,
    /// Registered at or after (epoch ms).
    pub created_from_ms: Option<i64>,
    /// Registered before (epoch ms).
    pub created_to_ms: Option<i64>,
    /// true: in a campaign that has not expired; false: in none.
    pub in_campaign: Option<bool>,
    /// In this campaign.
    pub campaign_id: Option<i64>,
    /// true: in quarantine (O3); false: free to join a campaign.
    pub quarantine: Option<bool>,
    /// true: marked as already worked (T3); false: not.
    pub worked: Option<bool>,
    /// true: distributed to a team broker (T2); false: not.
    pub distributed: Option<bool>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub broker_id: Option<BrokerId>,
    pub broker_name: Option<String>,
    pub created_at_ms: i64,
    pub worked_at_ms: Option<i64>,
}

/// Client `c` is in a campaign (other than `except`) whose expiry is after `after`. Written with
/// the campaign's expiry as a scalar subquery so that every planner starts from the client's
/// own rows (`campaign_clients_client`), never from a campaign's whole list.
fn in_campaign_after(sql: &mut Sql, after: i64, except: i64) -> String {
    let after = sql.int(after);
    let except = sql.int(except);
    format!(
        "EXISTS (SELECT 1 FROM campaign_clients qc WHERE qc.client_id = c.id AND qc.campaign_id <> {except} \
         AND (SELECT qk.expires_at_ms FROM campaigns qk WHERE qk.id = qc.campaign_id) > {after})"
    )
}

/// The quarantine test (O3) for client `c`: in a campaign other than `except` whose expiry plus
/// the agency's quarantine days is still ahead.
pub(crate) fn quarantine_sql(sql: &mut Sql, now_ms: i64, days: i64, except: i64) -> String {
    in_campaign_after(sql, now_ms - days * DAY_MS, except)
}

/// A text filter gathers the trigram index's matches when there are at most this many, or 20
/// per client wanted, whichever is more; a more common text is found faster by walking the
/// clients newest first (the rows wanted turn up after a few thousand).
const INDEX_MATCHES: i64 = 5_000;

/// How a text filter runs: gathering the trigram index's matches first (FTS5 on SQLite, GIN on
/// PostgreSQL), or walking the agency's clients newest first and testing each.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextPlan {
    Walk,
    Index(Backend),
}

/// The folded text without LIKE's wildcards: what the trigram index is asked for.
fn index_text(q: &str) -> String {
    super::search_key(q.trim(), None)
        .chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect()
}

/// Picks the plan for `f`'s text: a rare or absent word (three characters or more) costs an
/// index probe instead of a walk over every client; a common one is found by the walk.
pub(crate) async fn text_plan(
    conn: &mut AnyConnection,
    backend: Backend,
    agency: AgencyId,
    f: &ClientFilter,
    wanted: i64,
) -> StoreResult<TextPlan> {
    let most = INDEX_MATCHES.max(wanted.saturating_mul(20));
    let Some(q) =
        f.q.as_deref()
            .map(index_text)
            .filter(|q| q.chars().count() >= 3)
    else {
        return Ok(TextPlan::Walk);
    };
    let pattern = format!("%{q}%");
    let found: i64 = match backend {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM clients_fts WHERE search_key LIKE $1 LIMIT $2)",
        )
        .bind(pattern)
        .bind(most + 1)
        .fetch_one(&mut *conn)
        .await?,
        Backend::Postgres => sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT id FROM clients WHERE agency_id = $1 AND search_key LIKE $2 LIMIT $3) s",
        )
        .bind(agency)
        .bind(pattern)
        .bind(most + 1)
        .fetch_one(&mut *conn)
        .await?,
    };
    Ok(if found > most {
        TextPlan::Walk
    } else {
        TextPlan::Index(backend)
    })
}

/// "Contains" on the folded name and e-mail, any case, accents ignored.
fn text_sql(sql: &mut Sql, agency: AgencyId, q: &str, plan: TextPlan) {
    match plan {
        TextPlan::Index(backend) => {
            let p = sql.text_arg(&format!("%{}%", index_text(q)));
            match backend {
                Backend::Sqlite => sql.push(&format!(
                    " AND c.id IN (SELECT rowid FROM clients_fts WHERE search_key LIKE {p})"
                )),
                Backend::Postgres => {
                    let a = sql.int(agency);
                    // ARRAY(…) runs once with its own plan (the GIN index), not as a filter
                    // on the newest-first walk.
                    sql.push(&format!(
                        " AND c.id = ANY(ARRAY(SELECT id FROM clients WHERE agency_id = {a} AND search_key LIKE {p}))"
                    ))
                }
            }
        }
        TextPlan::Walk => {
            let folded = super::search_key(q, None);
            let escaped = folded
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = sql.text_arg(&format!("%{escaped}%"));
            sql.push(&format!(" AND c.search_key LIKE {p} ESCAPE '\\'"));
        }
    }
}

fn yes_no(sql: &mut Sql, want: Option<bool>, cond: &str) {
    match want {
        Some(true) => sql.push(&format!(" AND {cond}")),
        Some(false) => sql.push(&format!(" AND NOT {cond}")),
        None => {}
    }
}

/// Appends the WHERE clauses of `f` for alias `c` (clients).
pub(crate) fn filter_sql(
    sql: &mut Sql,
    plan: TextPlan,
    agency: AgencyId,
    f: &ClientFilter,
    now_ms: i64,
    days: i64,
) {
    let a = sql.int(agency);
    sql.push(&format!(" WHERE c.agency_id = {a}"));
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        text_sql(sql, agency, q, plan);
    }
    if let Some(p) = &f.phone {
        let p = sql.text_arg(p);
        sql.push(&format!(" AND c.phone = {p}"));
    }
    if let Some(b) = f.broker_id {
        let b = sql.int(b);
        sql.push(&format!(" AND c.broker_id = {b}"));
    }
    yes_no(sql, f.has_broker, "(c.broker_id IS NOT NULL)");
    if let Some(v) = f.created_from_ms {
        let v = sql.int(v);
        sql.push(&format!(" AND c.created_at_ms >= {v}"));
    }
    if let Some(v) = f.created_to_ms {
        let v = sql.int(v);
        sql.push(&format!(" AND c.created_at_ms < {v}"));
    }
    let mut lead_conds = Vec::new();
    if let Some(d) = f.department_id {
        lead_conds.push(format!("l.department_id = {}", sql.int(d)));
    }
    if let Some(s) = &f.status {
        lead_conds.push(format!("l.status = {}", sql.text_arg(s)));
    }
    if let Some(s) = &f.source {
        lead_conds.push(format!("l.source = {}", sql.text_arg(s)));
    }
    if !lead_conds.is_empty() {
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM leads l WHERE l.client_id = c.id AND {})",
            lead_conds.join(" AND ")
        ));
    }
    if f.in_campaign.is_some() {
        let cond = in_campaign_after(sql, now_ms, 0);
        yes_no(sql, f.in_campaign, &cond);
    }
    if let Some(k) = f.campaign_id {
        let k = sql.int(k);
        sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM campaign_clients kc WHERE kc.client_id = c.id AND kc.campaign_id = {k})"
        ));
    }
    if f.quarantine.is_some() {
        let cond = quarantine_sql(sql, now_ms, days, 0);
        yes_no(sql, f.quarantine, &cond);
    }
    yes_no(sql, f.worked, "(c.worked_at_ms IS NOT NULL)");
    yes_no(
        sql,
        f.distributed,
        "EXISTS (SELECT 1 FROM team_clients tc WHERE tc.client_id = c.id)",
    );
}

impl Store {
    /// One page of matching clients, newest first: those with an id below `before` (keyset).
    pub async fn search_clients(
        &self,
        agency: AgencyId,
        f: &ClientFilter,
        before: Option<i64>,
        limit: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<ClientRow>> {
        let days = self.quarantine_days(agency).await?;
        let mut conn = self.pool().acquire().await?;
        let plan = text_plan(&mut conn, self.backend(), agency, f, limit).await?;
        let mut sql = Sql::new(
            "SELECT c.id, c.name, c.phone, c.email, c.broker_id, u.name AS broker_name, c.created_at_ms, \
             c.worked_at_ms FROM clients c LEFT JOIN users u ON u.id = c.broker_id",
        );
        filter_sql(&mut sql, plan, agency, f, now_ms, days);
        if let Some(b) = before {
            let b = sql.int(b);
            sql.push(&format!(" AND c.id < {b}"));
        }
        let l = sql.int(limit);
        sql.push(&format!(" ORDER BY c.id DESC LIMIT {l}"));
        Ok(sql.query_as()?.fetch_all(&mut *conn).await?)
    }

    /// The ids of the first `limit` matching clients, in the search's order, optionally
    /// restricted further by an extra condition on `c`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn matching_client_ids(
        conn: &mut AnyConnection,
        backend: Backend,
        agency: AgencyId,
        f: &ClientFilter,
        extra: &str,
        limit: i64,
        now_ms: i64,
        days: i64,
    ) -> StoreResult<Vec<i64>> {
        let plan = text_plan(conn, backend, agency, f, limit).await?;
        let mut sql = Sql::new("SELECT c.id FROM clients c");
        filter_sql(&mut sql, plan, agency, f, now_ms, days);
        sql.push(extra);
        let l = sql.int(limit);
        sql.push(&format!(" ORDER BY c.id DESC LIMIT {l}"));
        let rows: Vec<(i64,)> = sql.query_as()?.fetch_all(&mut *conn).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// L2: the client whose phone is exactly this one, if any.
    pub async fn client_by_phone(
        &self,
        agency: AgencyId,
        phone: &str,
    ) -> StoreResult<Option<ClientRow>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.name, c.phone, c.email, c.broker_id, u.name AS broker_name, c.created_at_ms, \
             c.worked_at_ms FROM clients c LEFT JOIN users u ON u.id = c.broker_id \
             WHERE c.agency_id = $1 AND c.phone = $2",
        )
        .bind(agency)
        .bind(phone)
        .fetch_optional(self.pool())
        .await?)
    }

    /// T3: marks clients as already worked (out of further distribution), or clears the mark.
    /// Answers how many clients of the agency were changed.
    pub async fn mark_worked(
        &self,
        agency: AgencyId,
        clients: &[i64],
        worked: bool,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let mut n = 0;
        let mut tx = self.begin_write().await?;
        for chunk in clients.chunks(500) {
            let mut sql = Sql::new("UPDATE clients SET worked_at_ms = ");
            let at = match worked {
                true => sql.int(now_ms),
                false => "NULL".to_string(),
            };
            let a = sql.int(agency);
            let ids: Vec<String> = chunk.iter().map(|c| sql.int(*c)).collect();
            sql.push(&format!(
                "{at} WHERE agency_id = {a} AND id IN ({})",
                ids.join(", ")
            ));
            n += sql.query()?.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    pub async fn quarantine_days(&self, agency: AgencyId) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT quarantine_days FROM agencies WHERE id = $1")
                .bind(agency)
                .fetch_one(self.pool())
                .await?,
        )
    }
}
