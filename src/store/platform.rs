//! The platform's side of agencies (docs/PLATFORM.md): creating one ready to work, with its
//! first manager, in one transaction; listing and finding them; the features each agency's plan
//! includes (suspending and reactivating one is `suspension.rs`). The platform API
//! (`src/http/platform.rs`) and the `roleta agency …` command line both call these: nothing
//! here needs more than the store, and every rule (names, e-mails) is kept here, not by the
//! callers.

use super::{Backend, Store, StoreError, StoreResult};
use crate::model::{AgencyId, Role};
use serde::{Deserialize, Serialize};

/// What an agency's plan includes. Off wins over the manager's own switch (the roulette's
/// `roulette_enabled`, active offer's `active_offer_enabled`), which is kept as it was and
/// counts again when the feature comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgencyFeatures {
    /// The roulette (R1). Off: leads from sources are registered as `unrouted`, never offered.
    pub roulette: bool,
    /// Active-offer campaigns (O6). Off: every campaign endpoint answers 403.
    pub campaigns: bool,
}

impl Default for AgencyFeatures {
    fn default() -> Self {
        Self {
            roulette: true,
            campaigns: true,
        }
    }
}

/// One agency as the platform sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgencySummary {
    pub id: AgencyId,
    pub name: String,
    pub created_at_ms: i64,
    /// When it was suspended; absent while it works.
    pub suspended_at_ms: Option<i64>,
    pub features: AgencyFeatures,
    /// Every user ever created in it, deactivated ones included.
    pub users: i64,
    pub active_users: i64,
    pub active_brokers: i64,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: AgencyId,
    name: String,
    created_at_ms: i64,
    suspended_at_ms: Option<i64>,
    feature_roulette: i64,
    feature_campaigns: i64,
    users: i64,
    active_users: i64,
    active_brokers: i64,
}

impl From<SummaryRow> for AgencySummary {
    fn from(r: SummaryRow) -> Self {
        AgencySummary {
            id: r.id,
            name: r.name,
            created_at_ms: r.created_at_ms,
            suspended_at_ms: r.suspended_at_ms,
            features: AgencyFeatures {
                roulette: r.feature_roulette != 0,
                campaigns: r.feature_campaigns != 0,
            },
            users: r.users,
            active_users: r.active_users,
            active_brokers: r.active_brokers,
        }
    }
}

const SUMMARY: &str = "SELECT a.id, a.name, a.created_at_ms, a.suspended_at_ms, a.feature_roulette, \
     a.feature_campaigns, \
     (SELECT COUNT(*) FROM users u WHERE u.agency_id = a.id) AS users, \
     (SELECT COUNT(*) FROM users u WHERE u.agency_id = a.id AND u.active = 1) AS active_users, \
     (SELECT COUNT(*) FROM users u WHERE u.agency_id = a.id AND u.active = 1 AND u.role = 'broker') \
     AS active_brokers FROM agencies a";

/// The agency's standing, read on every request that depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgencyStanding {
    pub suspended: bool,
    pub features: AgencyFeatures,
}

/// The department every new agency starts with (the manager renames it or adds others).
pub const FIRST_DEPARTMENT: &str = "Vendas";
const NAME_MAX: usize = 200;
const EMAIL_MAX: usize = 254;

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

/// Trimmed, required, bounded.
fn text(field: &'static str, what: &str, v: &str) -> StoreResult<String> {
    let t = v.trim();
    if t.is_empty() {
        return Err(invalid(field, format!("{what} é obrigatório")));
    }
    if t.chars().count() > NAME_MAX {
        return Err(invalid(
            field,
            format!("{what} pode ter no máximo {NAME_MAX} caracteres"),
        ));
    }
    Ok(t.to_string())
}

/// An e-mail as sign-in compares it: trimmed and lower-case.
fn email(field: &'static str, v: &str) -> StoreResult<String> {
    let e = v.trim().to_lowercase();
    let well_formed = e.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && !host.is_empty() && !host.contains('@') && host.contains('.')
    });
    if e.chars().count() > EMAIL_MAX || e.chars().any(char::is_whitespace) || !well_formed {
        return Err(invalid(
            field,
            "informe um e-mail válido, como nome@exemplo.com.br",
        ));
    }
    Ok(e)
}

/// Names compare without regard to case or surrounding spaces ("Imobiliária X" = "imobiliária x ").
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Store {
    /// Creates an agency ready to work and its first manager, all or nothing (one transaction):
    /// the agency (roulette and campaigns in its plan, active offer switched on), its lead-number
    /// sequence, the default department [`FIRST_DEPARTMENT`], the default lead pipeline and
    /// notification rules, and the manager, who must choose a new password at first sign-in.
    /// `password_hash` is the Argon2 hash of the one-time password the caller shows once.
    ///
    /// Errors: `Invalid` (field `name`, `manager_email` or `manager_name`) for a blank, too long
    /// or malformed value; `Conflict` when another agency has the same name (case and spaces
    /// ignored) or any user already has that e-mail. Nothing is written on any error.
    /// Returns (agency id, manager's user id).
    pub async fn create_agency_with_manager(
        &self,
        name: &str,
        manager_email: &str,
        manager_name: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> StoreResult<(AgencyId, i64)> {
        let features = AgencyFeatures::default();
        self.create_agency_in_plan(
            name,
            manager_email,
            manager_name,
            password_hash,
            features,
            now_ms,
        )
        .await
    }

    /// [`Store::create_agency_with_manager`] with the plan's features chosen at once.
    pub async fn create_agency_in_plan(
        &self,
        name: &str,
        manager_email: &str,
        manager_name: &str,
        password_hash: &str,
        features: AgencyFeatures,
        now_ms: i64,
    ) -> StoreResult<(AgencyId, i64)> {
        let name = text("name", "o nome da imobiliária", name)?;
        let manager_email = email("manager_email", manager_email)?;
        let manager_name = text("manager_name", "o nome do gestor", manager_name)?;
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // Serialises agency creation, so two at once cannot both take a name (SQLite's
            // write transaction already holds the only write lock).
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(7210011)) AS locked")
                .execute(&mut *tx)
                .await?;
        }
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM agencies")
            .fetch_all(&mut *tx)
            .await?;
        if names.iter().any(|n| name_key(n) == name_key(&name)) {
            return Err(StoreError::Conflict(format!(
                "já existe uma imobiliária chamada \"{name}\""
            )));
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&manager_email)
            .fetch_optional(&mut *tx)
            .await?;
        let email_taken = || {
            StoreError::Conflict(format!(
                "o e-mail {manager_email} já é usado por outro usuário"
            ))
        };
        if taken.is_some() {
            return Err(email_taken());
        }
        let agency: AgencyId = sqlx::query_scalar(
            "INSERT INTO agencies (name, created_at_ms, active_offer_enabled, feature_roulette, \
             feature_campaigns) VALUES ($1, $2, 1, $3, $4) RETURNING id",
        )
        .bind(&name)
        .bind(now_ms)
        .bind(i64::from(features.roulette))
        .bind(i64::from(features.campaigns))
        .fetch_one(&mut *tx)
        .await?;
        if self.backend() == Backend::Postgres {
            // Lead numbers come from the agency's own sequence (see `ingest_lead`); PostgreSQL
            // DDL is transactional, so a rollback takes it away too.
            sqlx::query(&format!("CREATE SEQUENCE IF NOT EXISTS lead_seq_{agency}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO departments (agency_id, name, is_default, created_at_ms) VALUES ($1, $2, 1, $3)",
        )
        .bind(agency)
        .bind(FIRST_DEPARTMENT)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        super::pipeline::seed_defaults(&mut tx, agency, now_ms).await?;
        let manager: i64 = sqlx::query_scalar(
            "INSERT INTO users (agency_id, email, name, role, password_hash, must_change_password, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
        )
        .bind(agency)
        .bind(&manager_email)
        .bind(&manager_name)
        .bind(Role::Manager.as_str())
        .bind(password_hash)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            // Taken by a concurrent writer after the check above.
            StoreError::Duplicate(_) => email_taken(),
            other => other,
        })?;
        tx.commit().await?;
        Ok((agency, manager))
    }

    /// Every agency, oldest first, with its standing and how many users it has.
    pub async fn list_agencies(&self) -> StoreResult<Vec<AgencySummary>> {
        let rows: Vec<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} ORDER BY a.id"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(AgencySummary::from).collect())
    }

    /// One agency; `NotFound` if there is none with this id.
    pub async fn agency_summary(&self, agency: AgencyId) -> StoreResult<AgencySummary> {
        let row: SummaryRow = sqlx::query_as(&format!("{SUMMARY} WHERE a.id = $1"))
            .bind(agency)
            .fetch_one(self.pool())
            .await?;
        Ok(row.into())
    }

    /// The agency with this name, compared without regard to case or surrounding spaces (as
    /// [`Store::create_agency_with_manager`] keeps names apart). `NotFound` if none; `Conflict`
    /// if several agencies made before names were kept apart share it (use the id then).
    pub async fn agency_by_name(&self, name: &str) -> StoreResult<AgencySummary> {
        let wanted = name_key(name);
        let all: Vec<(AgencyId, String)> =
            sqlx::query_as("SELECT id, name FROM agencies ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        let ids: Vec<AgencyId> = all
            .into_iter()
            .filter(|(_, n)| name_key(n) == wanted)
            .map(|(id, _)| id)
            .collect();
        match ids.as_slice() {
            [] => Err(StoreError::NotFound),
            [id] => self.agency_summary(*id).await,
            many => Err(StoreError::Conflict(format!(
                "{} imobiliárias se chamam \"{}\" (ids {many:?}): indique o id",
                many.len(),
                name.trim()
            ))),
        }
    }

    /// Whether the agency is suspended and what its plan includes. `NotFound` if no agency.
    pub async fn agency_standing(&self, agency: AgencyId) -> StoreResult<AgencyStanding> {
        let (suspended, roulette, campaigns): (Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT suspended_at_ms, feature_roulette, feature_campaigns FROM agencies WHERE id = $1",
        )
        .bind(agency)
        .fetch_one(self.pool())
        .await?;
        Ok(AgencyStanding {
            suspended: suspended.is_some(),
            features: AgencyFeatures {
                roulette: roulette != 0,
                campaigns: campaigns != 0,
            },
        })
    }

    /// Sets what the agency's plan includes. The managers' own switches are left as they are
    /// (see [`AgencyFeatures`]). `NotFound` if no agency. A running dispatcher needs no word:
    /// only new leads read the roulette feature.
    pub async fn set_agency_features(
        &self,
        agency: AgencyId,
        features: AgencyFeatures,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE agencies SET feature_roulette = $2, feature_campaigns = $3 WHERE id = $1",
        )
        .bind(agency)
        .bind(i64::from(features.roulette))
        .bind(i64::from(features.campaigns))
        .execute(self.pool())
        .await?;
        super::one_row(r)
    }
}
