//! A user's life after creation: looked up by e-mail (the command line), their password reset
//! by someone else, deactivated and reactivated. Each signs the user out in the same
//! transaction as the change, so no request gets in between with the old rights. History
//! (offers, attendances, clients, audit) is never touched.

use super::users::{UserRow, USER_COLS};
use super::{one_row, Store, StoreResult, User};
use crate::model::AgencyId;
use sqlx::AnyConnection;

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

    /// Deactivates the user: sign-in refused, every session and personal token ended, push
    /// subscriptions dropped, offline. Already inactive: nothing changes (the first time is
    /// kept). `NotFound` for a user of another agency.
    pub async fn deactivate_user(
        &self,
        agency: AgencyId,
        user_id: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
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
}
