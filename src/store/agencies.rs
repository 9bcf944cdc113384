//! Agencies (tenants), their roulette settings, departments and broker memberships.

use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, DepartmentId, EveryoneRefused};
use serde::Serialize;

/// The manager's roulette settings (R1, R9 and the silent cases of ROUTING.md).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RouletteSettings {
    pub roulette_enabled: bool,
    pub answer_seconds: i64,
    pub max_missed_in_row: i64,
    pub everyone_refused: EveryoneRefused,
    pub retry_pause_seconds: i64,
    pub fallback_broker_id: Option<BrokerId>,
    pub lead_number_template: String,
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    roulette_enabled: i64,
    answer_seconds: i64,
    max_missed_in_row: i64,
    everyone_refused: String,
    retry_pause_seconds: i64,
    fallback_broker_id: Option<BrokerId>,
    lead_number_template: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    pub is_default: i64,
}

impl Store {
    pub async fn create_agency(&self, name: &str, now_ms: i64) -> StoreResult<AgencyId> {
        let id: AgencyId = sqlx::query_scalar(
            "INSERT INTO agencies (name, created_at_ms) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?;
        if self.backend() == super::Backend::Postgres {
            // Lead numbers come from the agency's own sequence (see `ingest_lead`).
            sqlx::query(&format!("CREATE SEQUENCE IF NOT EXISTS lead_seq_{id}"))
                .execute(self.pool())
                .await?;
        }
        self.seed_agency_defaults(now_ms).await?;
        Ok(id)
    }

    pub async fn count_agencies(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM agencies")
            .fetch_one(self.pool())
            .await?)
    }

    /// Agencies that have leads the dispatcher must pick up again after a restart.
    pub async fn agencies_with_live_leads(&self) -> StoreResult<Vec<AgencyId>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT agency_id FROM leads WHERE state IN ('waiting', 'offered') ORDER BY agency_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The settings as they apply: the roulette is off while the agency's plan leaves it out
    /// (the platform's `feature_roulette`), whatever the manager's switch says — which an
    /// update then keeps as it was.
    pub async fn roulette_settings(&self, agency: AgencyId) -> StoreResult<RouletteSettings> {
        let r: SettingsRow = sqlx::query_as(
            "SELECT CASE WHEN feature_roulette = 1 THEN roulette_enabled ELSE 0 END AS roulette_enabled, answer_seconds, max_missed_in_row, everyone_refused, \
             retry_pause_seconds, fallback_broker_id, lead_number_template FROM agencies WHERE id = $1",
        )
        .bind(agency)
        .fetch_one(self.pool())
        .await?;
        Ok(RouletteSettings {
            roulette_enabled: r.roulette_enabled != 0,
            answer_seconds: r.answer_seconds,
            max_missed_in_row: r.max_missed_in_row,
            everyone_refused: EveryoneRefused::parse(&r.everyone_refused)
                .unwrap_or(EveryoneRefused::Retry),
            retry_pause_seconds: r.retry_pause_seconds,
            fallback_broker_id: r.fallback_broker_id,
            lead_number_template: r.lead_number_template,
        })
    }

    pub async fn update_roulette_settings(
        &self,
        agency: AgencyId,
        s: &RouletteSettings,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE agencies SET roulette_enabled = CASE WHEN feature_roulette = 1 THEN $2 ELSE roulette_enabled END, answer_seconds = $3, max_missed_in_row = $4, \
             everyone_refused = $5, retry_pause_seconds = $6, fallback_broker_id = $7, \
             lead_number_template = $8 WHERE id = $1",
        )
        .bind(agency)
        .bind(i64::from(s.roulette_enabled))
        .bind(s.answer_seconds)
        .bind(s.max_missed_in_row)
        .bind(s.everyone_refused.as_str())
        .bind(s.retry_pause_seconds)
        .bind(s.fallback_broker_id)
        .bind(&s.lead_number_template)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// A new department; the name of a removed one brings that one back (with its history),
    /// memberless. `Conflict` when an active department has the name.
    pub async fn create_department(
        &self,
        agency: AgencyId,
        name: &str,
        is_default: bool,
        now_ms: i64,
    ) -> StoreResult<DepartmentId> {
        let mut tx = self.begin_write().await?;
        if is_default {
            sqlx::query("UPDATE departments SET is_default = 0 WHERE agency_id = $1")
                .bind(agency)
                .execute(&mut *tx)
                .await?;
        }
        let revived: Option<i64> = sqlx::query_scalar(
            "UPDATE departments SET removed_at_ms = NULL, is_default = $3 \
             WHERE agency_id = $1 AND name = $2 AND removed_at_ms IS NOT NULL RETURNING id",
        )
        .bind(agency)
        .bind(name)
        .bind(i64::from(is_default))
        .fetch_optional(&mut *tx)
        .await?;
        let id = match revived {
            Some(id) => id,
            None => sqlx::query_scalar(
                "INSERT INTO departments (agency_id, name, is_default, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(agency)
            .bind(name)
            .bind(i64::from(is_default))
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Conflict(super::DEPARTMENT_TAKEN.into()),
                other => other,
            })?,
        };
        tx.commit().await?;
        Ok(id)
    }

    pub async fn departments(&self, agency: AgencyId) -> StoreResult<Vec<Department>> {
        Ok(sqlx::query_as(
            "SELECT id, name, is_default FROM departments WHERE agency_id = $1 AND removed_at_ms IS NULL ORDER BY id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    /// Resolves a department by id or name within the agency; `None` gives the default one,
    /// and so does a removed department's id or name (a source still sending to it loses no
    /// lead).
    pub async fn resolve_department(
        &self,
        agency: AgencyId,
        wanted: Option<&str>,
    ) -> StoreResult<Department> {
        let deps = self.departments(agency).await?;
        let default = || {
            deps.iter()
                .find(|d| d.is_default != 0)
                .or_else(|| deps.first())
        };
        let matches =
            |d: &Department, w: &str| d.id.to_string() == w || d.name.eq_ignore_ascii_case(w);
        let found = match wanted {
            None => default(),
            Some(w) => match deps.iter().find(|d| matches(d, w)) {
                Some(d) => Some(d),
                None => {
                    let removed: Vec<Department> = sqlx::query_as(
                        "SELECT id, name, is_default FROM departments \
                         WHERE agency_id = $1 AND removed_at_ms IS NOT NULL",
                    )
                    .bind(agency)
                    .fetch_all(self.pool())
                    .await?;
                    if removed.iter().any(|d| matches(d, w)) {
                        default()
                    } else {
                        None
                    }
                }
            },
        };
        found.cloned().ok_or(StoreError::NotFound)
    }

    /// Replaces a broker's departments (R9). Every id must be one of the agency's.
    pub async fn set_broker_departments(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        departments: &[DepartmentId],
    ) -> StoreResult<()> {
        let own: Vec<i64> = self
            .departments(agency)
            .await?
            .iter()
            .map(|d| d.id)
            .collect();
        if departments.iter().any(|d| !own.contains(d)) {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM broker_departments WHERE agency_id = $1 AND broker_id = $2")
            .bind(agency)
            .bind(broker)
            .execute(&mut *tx)
            .await?;
        for d in departments {
            sqlx::query(
                "INSERT INTO broker_departments (agency_id, broker_id, department_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(agency)
            .bind(broker)
            .bind(d)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn broker_departments(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> StoreResult<Vec<DepartmentId>> {
        Ok(sqlx::query_scalar(
            "SELECT department_id FROM broker_departments WHERE agency_id = $1 AND broker_id = $2 ORDER BY department_id",
        )
        .bind(agency)
        .bind(broker)
        .fetch_all(self.pool())
        .await?)
    }

    /// The agency's name and its first WhatsApp message, if a manager wrote one (the pages'
    /// default otherwise).
    pub async fn agency_messages(&self, agency: AgencyId) -> StoreResult<(String, Option<String>)> {
        Ok(
            sqlx::query_as("SELECT name, whatsapp_template FROM agencies WHERE id = $1")
                .bind(agency)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Sets (or, with None, clears back to the default) the agency's first WhatsApp message.
    pub async fn set_whatsapp_template(
        &self,
        agency: AgencyId,
        template: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE agencies SET whatsapp_template = $2 WHERE id = $1")
            .bind(agency)
            .bind(template)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
