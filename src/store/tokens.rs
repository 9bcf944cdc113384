//! Personal tokens (rows of `sessions` with kind `personal`): listed and revoked by their
//! owner or by a manager of the agency; and a password change, which signs the user out.

use super::{one_row, Store, StoreResult};
use crate::model::AgencyId;
use serde::Serialize;

/// A personal token as its owner and managers see it: never the token nor its hash.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub label: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

const TOKEN_COLS: &str = "s.id, s.user_id, u.name AS user_name, s.label, s.created_at_ms, \
     s.expires_at_ms FROM sessions s JOIN users u ON u.id = s.user_id AND u.agency_id = s.agency_id \
     WHERE s.agency_id = $1 AND s.kind = 'personal'";

impl Store {
    /// The personal tokens of one user of the agency, or of all its users (`user = None`),
    /// expired ones included, oldest first.
    pub async fn personal_tokens(
        &self,
        agency: AgencyId,
        user: Option<i64>,
    ) -> StoreResult<Vec<TokenInfo>> {
        let q = match user {
            Some(_) => format!("SELECT {TOKEN_COLS} AND s.user_id = $2 ORDER BY s.id"),
            None => format!("SELECT {TOKEN_COLS} ORDER BY s.id"),
        };
        let mut query = sqlx::query_as(&q).bind(agency);
        if let Some(u) = user {
            query = query.bind(u);
        }
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// Deletes a personal token of the agency (of `user` only, when given); `NotFound` for
    /// any other id, another agency's included.
    pub async fn revoke_personal_token(
        &self,
        agency: AgencyId,
        id: i64,
        user: Option<i64>,
    ) -> StoreResult<()> {
        let base = "DELETE FROM sessions WHERE agency_id = $1 AND id = $2 AND kind = 'personal'";
        let q = match user {
            Some(_) => format!("{base} AND user_id = $3"),
            None => base.to_string(),
        };
        let mut query = sqlx::query(&q).bind(agency).bind(id);
        if let Some(u) = user {
            query = query.bind(u);
        }
        one_row(query.execute(self.pool()).await?)
    }

    /// Sets the password the user chose (a required change is then done) and ends every session and personal token of theirs,
    /// except the one whose hash is `keep` (the request that changed it), in one transaction.
    pub async fn set_password(
        &self,
        agency: AgencyId,
        user: i64,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("UPDATE users SET password_hash = $3, must_change_password = 0 WHERE agency_id = $1 AND id = $2")
            .bind(agency)
            .bind(user)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        one_row(r)?;
        let base = "DELETE FROM sessions WHERE agency_id = $1 AND user_id = $2";
        match keep {
            Some(keep) => {
                sqlx::query(&format!("{base} AND token_hash <> $3"))
                    .bind(agency)
                    .bind(user)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query(base)
                    .bind(agency)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(())
    }

    /// The stored password hash of a user, to check their current password.
    pub async fn password_hash(&self, agency: AgencyId, user: i64) -> StoreResult<String> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(user)
                .fetch_one(self.pool())
                .await?,
        )
    }
}
