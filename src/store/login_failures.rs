//! The sign-in lockout: wrong passwords counted per e-mail in a window, and the time until
//! which the account refuses sign-in. In the database, so every node of a cluster and a
//! restarted node agree.

use super::{Store, StoreResult};

impl Store {
    /// When sign-in for this e-mail is locked now, until when (epoch ms).
    pub async fn login_locked_until(&self, email: &str, now_ms: i64) -> StoreResult<Option<i64>> {
        let until: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until_ms FROM login_failures WHERE email = $1")
                .bind(email)
                .fetch_optional(self.pool())
                .await?;
        Ok(until.flatten().filter(|&t| t > now_ms))
    }

    /// Counts one wrong password; a window older than `window_ms` starts again at one. At
    /// `max_failures` the account locks for `lock_ms` and the count restarts: returns the
    /// lock's end when this failure set it.
    pub async fn record_login_failure(
        &self,
        email: &str,
        now_ms: i64,
        window_ms: i64,
        max_failures: i64,
        lock_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (email, failures, window_start_ms) VALUES ($1, 1, $2) \
             ON CONFLICT (email) DO UPDATE SET \
             failures = CASE WHEN login_failures.window_start_ms <= $3 THEN 1 \
                        ELSE login_failures.failures + 1 END, \
             window_start_ms = CASE WHEN login_failures.window_start_ms <= $3 THEN $2 \
                               ELSE login_failures.window_start_ms END \
             RETURNING failures",
        )
        .bind(email)
        .bind(now_ms)
        .bind(now_ms - window_ms)
        .fetch_one(self.pool())
        .await?;
        if failures < max_failures {
            return Ok(None);
        }
        let until = now_ms + lock_ms;
        sqlx::query(
            "UPDATE login_failures SET failures = 0, window_start_ms = $2, locked_until_ms = $3 \
             WHERE email = $1",
        )
        .bind(email)
        .bind(now_ms)
        .bind(until)
        .execute(self.pool())
        .await?;
        Ok(Some(until))
    }

    /// A right password forgets the e-mail's failures.
    pub async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1")
            .bind(email)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Drops rows whose window began before `window_start_before` and whose lock is over.
    pub async fn prune_login_failures(
        &self,
        window_start_before: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "DELETE FROM login_failures WHERE window_start_ms < $1 \
             AND (locked_until_ms IS NULL OR locked_until_ms <= $2)",
        )
        .bind(window_start_before)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }
}
