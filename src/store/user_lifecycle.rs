//! A user's life after creation: looked up by e-mail (the command line), their password reset
//! by someone else, deactivated and reactivated. Each signs the user out in the same
//! transaction as the change, so no request gets in between with the old rights. History
//! (offers, attendances, clients, audit) is never touched.

use super::users::{UserRow, EMAIL_TAKEN, USER_COLS};
use super::{one_row, write_first, Store, StoreError, StoreResult, User};
use crate::model::{AgencyId, BrokerId, DepartmentId, Role};
use sqlx::AnyConnection;

/// Refused: the change would leave the agency with nobody able to manage it.
pub const LAST_MANAGER: &str = "Esta é a última pessoa ativa com papel de gestor na imobiliária: \
     dê o papel de gestor a outra pessoa antes.";

/// What a manager changes about a user; `None` keeps the current value. E-mails arrive
/// trimmed and in lower case.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    /// The departments a broker takes leads from (R9), all of them: the list replaces the old
    /// one. Ignored for anyone who is not a broker after the change.
    pub departments: Option<Vec<DepartmentId>>,
}

pub const NO_SUCH_DEPARTMENT: &str = "Departamento inexistente nesta imobiliária.";

fn manages(role: Role) -> bool {
    matches!(role, Role::Manager | Role::Admin)
}

/// The user, read inside a transaction that serialises every change to who manages the
/// agency (its row is locked on PostgreSQL; SQLite's write transaction holds the database).
async fn user_for_change(conn: &mut AnyConnection, agency: AgencyId, id: i64) -> StoreResult<User> {
    write_first(conn, "agencies", agency).await?;
    let r: UserRow = sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE agency_id = $1 AND id = $2"
    ))
    .bind(agency)
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(r.into())
}

/// `Conflict(LAST_MANAGER)` unless another active user of the agency manages it.
async fn keep_a_manager(
    conn: &mut AnyConnection,
    agency: AgencyId,
    leaving: i64,
) -> StoreResult<()> {
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE agency_id = $1 AND id <> $2 AND active = 1 \
         AND role IN ('manager', 'admin')",
    )
    .bind(agency)
    .bind(leaving)
    .fetch_one(conn)
    .await?;
    if others == 0 {
        return Err(StoreError::Conflict(LAST_MANAGER.into()));
    }
    Ok(())
}

/// The broker's departments become exactly `departments`, each one of the agency's and not
/// removed (`Conflict(NO_SUCH_DEPARTMENT)` otherwise).
async fn replace_departments(
    conn: &mut AnyConnection,
    agency: AgencyId,
    broker: BrokerId,
    departments: &[DepartmentId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM broker_departments WHERE agency_id = $1 AND broker_id = $2")
        .bind(agency)
        .bind(broker)
        .execute(&mut *conn)
        .await?;
    let mut wanted = departments.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for d in wanted {
        let r = sqlx::query(
            "INSERT INTO broker_departments (agency_id, broker_id, department_id) \
             SELECT $1, $2, id FROM departments WHERE agency_id = $1 AND id = $3 AND removed_at_ms IS NULL \
             ON CONFLICT DO NOTHING",
        )
        .bind(agency)
        .bind(broker)
        .bind(d)
        .execute(&mut *conn)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(NO_SUCH_DEPARTMENT.into()));
        }
    }
    Ok(())
}

/// Someone who no longer takes offers: out of every department and no longer the agency's
/// fallback broker (R1's "everyone refused" then waits, as with no fallback set).
async fn no_longer_broker(
    conn: &mut AnyConnection,
    agency: AgencyId,
    user: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM broker_departments WHERE agency_id = $1 AND broker_id = $2")
        .bind(agency)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE agencies SET fallback_broker_id = NULL WHERE id = $1 AND fallback_broker_id = $2",
    )
    .bind(agency)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends every session and personal token of the user.
async fn sign_out_everywhere(
    conn: &mut AnyConnection,
    agency: AgencyId,
    user: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE agency_id = $1 AND user_id = $2")
        .bind(agency)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// The agency's user with this e-mail (compared in lower case), active or not.
    pub async fn user_by_email(&self, agency: AgencyId, email: &str) -> StoreResult<User> {
        let r: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE agency_id = $1 AND email = $2"
        ))
        .bind(agency)
        .bind(email.trim().to_lowercase())
        .fetch_one(self.pool())
        .await?;
        Ok(r.into())
    }

    /// Sets a password chosen by someone else (`must_change`: the user has to replace it at
    /// their next sign-in) and signs the user out everywhere. A sign-in lockout on the
    /// account ends: the guessed password no longer exists. `NotFound` for a user of
    /// another agency.
    pub async fn reset_password(
        &self,
        agency: AgencyId,
        user_id: i64,
        password_hash: &str,
        must_change: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let email: String = sqlx::query_scalar(
            "UPDATE users SET password_hash = $3, must_change_password = $4 \
             WHERE agency_id = $1 AND id = $2 RETURNING email",
        )
        .bind(agency)
        .bind(user_id)
        .bind(password_hash)
        .bind(i64::from(must_change))
        .fetch_one(&mut *tx)
        .await?;
        sign_out_everywhere(&mut tx, agency, user_id).await?;
        // Only a lock still running is lifted; an expired row is the pruner's.
        sqlx::query(
            "DELETE FROM login_failures WHERE email = $1 \
             AND (locked_until_ms IS NULL OR locked_until_ms > $2)",
        )
        .bind(email)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's name, e-mail or role. `Conflict(EMAIL_TAKEN)` when the e-mail is
    /// another user's (in any agency); `Conflict(LAST_MANAGER)` when the agency's last active
    /// manager would stop being one. A user who stops being a broker leaves their departments
    /// (and the fallback setting); their clients and history stay theirs.
    pub async fn update_user(
        &self,
        agency: AgencyId,
        id: i64,
        changes: &UserChanges,
    ) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let current = user_for_change(&mut tx, agency, id).await?;
        let role = changes.role.unwrap_or(current.role);
        if current.active && manages(current.role) && !manages(role) {
            keep_a_manager(&mut tx, agency, id).await?;
        }
        sqlx::query(
            "UPDATE users SET name = $3, email = $4, role = $5 WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .bind(changes.name.as_deref().unwrap_or(&current.name))
        .bind(changes.email.as_deref().unwrap_or(&current.email))
        .bind(role.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Duplicate(_) => StoreError::Conflict(EMAIL_TAKEN.into()),
            other => other,
        })?;
        if current.role == Role::Broker && role != Role::Broker {
            no_longer_broker(&mut tx, agency, id).await?;
        }
        if let Some(departments) = changes
            .departments
            .as_ref()
            .filter(|_| role == Role::Broker)
        {
            replace_departments(&mut tx, agency, BrokerId(id), departments).await?;
        }
        let r: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE agency_id = $1 AND id = $2"
        ))
        .bind(agency)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.into())
    }

    /// Deactivates the user: sign-in refused, every session and personal token ended, push
    /// subscriptions dropped, offline, no longer the fallback broker. Departments are kept for
    /// a reactivation. Already inactive: nothing changes (the first time is kept).
    /// `Conflict(LAST_MANAGER)` for the agency's last active manager; `NotFound` for a user of
    /// another agency.
    pub async fn deactivate_user(
        &self,
        agency: AgencyId,
        user_id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let current = user_for_change(&mut tx, agency, user_id).await?;
        if current.active && manages(current.role) {
            keep_a_manager(&mut tx, agency, user_id).await?;
        }
        sqlx::query("UPDATE agencies SET fallback_broker_id = NULL WHERE id = $1 AND fallback_broker_id = $2")
            .bind(agency)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query(
            "UPDATE users SET active = 0, online = 0, \
             deactivated_at_ms = COALESCE(deactivated_at_ms, $3) WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        one_row(r)?;
        sign_out_everywhere(&mut tx, agency, user_id).await?;
        sqlx::query("DELETE FROM push_subscriptions WHERE agency_id = $1 AND broker_id = $2")
            .bind(agency)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lets a deactivated user sign in again; they come back offline, with their departments.
    pub async fn reactivate_user(&self, agency: AgencyId, user_id: i64) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE users SET active = 1, deactivated_at_ms = NULL WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// Whether the user may take roulette offers at all: an active broker of the agency.
    pub async fn broker_routable(&self, agency: AgencyId, broker: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE agency_id = $1 AND id = $2 AND role = 'broker' AND active = 1",
        )
        .bind(agency)
        .bind(broker)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}
