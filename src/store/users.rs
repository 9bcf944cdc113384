//! Users (admins, managers, receptionists, brokers), their sessions and personal tokens, and
//! the agency's API keys for lead sources. Secrets are stored only as hashes.

use super::{flag, one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, BrokerId, Role};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub agency_id: AgencyId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub online: bool,
    pub active: bool,
    /// The password was set by someone else (a reset, the command line): every call but
    /// changing it, `GET /api/v1/me` and logout answers 403 `password_change_required`.
    pub must_change_password: bool,
    /// When the user was deactivated; `None` while active.
    pub deactivated_at_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    agency_id: AgencyId,
    email: String,
    name: String,
    role: String,
    online: i64,
    active: i64,
    must_change_password: i64,
    deactivated_at_ms: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            agency_id: r.agency_id,
            email: r.email,
            name: r.name,
            role: Role::parse(&r.role).unwrap_or(Role::Broker),
            online: flag(r.online),
            active: flag(r.active),
            must_change_password: flag(r.must_change_password),
            deactivated_at_ms: r.deactivated_at_ms,
        }
    }
}

/// The answer wherever an e-mail is taken (this agency or another): it names nobody.
pub const EMAIL_TAKEN: &str = "Este e-mail não pode ser usado; escolha outro.";

pub(super) const USER_COLS: &str =
    "id, agency_id, email, name, role, online, active, must_change_password, deactivated_at_ms";

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub source: String,
    pub prefix: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// What an API key unlocks: lead ingest for one source of one agency.
#[derive(Debug, Clone)]
pub struct ApiKeyOwner {
    pub agency_id: AgencyId,
    pub source: String,
    /// The agency is suspended (docs/PLATFORM.md): the key is known, its leads refused.
    pub suspended: bool,
}

/// The sessions and tokens that still sign someone in at `$1` (epoch ms): not expired, an
/// active user, an agency that is not suspended. Both readers add their own conditions.
const LIVE_SESSIONS: &str = "FROM sessions s \
     JOIN users u ON u.id = s.user_id AND u.agency_id = s.agency_id \
     JOIN agencies a ON a.id = u.agency_id AND a.suspended_at_ms IS NULL \
     WHERE (s.expires_at_ms IS NULL OR s.expires_at_ms > $1) AND u.active = 1";

impl Store {
    /// A new user; `must_change` when someone else chose the password (a reset, the command
    /// line, a manager), so the user replaces it at the first sign-in.
    #[allow(clippy::too_many_arguments)] // each is one column of the row
    pub async fn create_user(
        &self,
        agency: AgencyId,
        email: &str,
        name: &str,
        role: Role,
        password_hash: &str,
        must_change: bool,
        now_ms: i64,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO users (agency_id, email, name, role, password_hash, must_change_password, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(agency)
        .bind(email)
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(i64::from(must_change))
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .map_err(|e| match StoreError::from(e) {
            // E-mails are unique across agencies (sign-in is by e-mail alone). The answer is
            // the same wherever the address is taken and names nothing about its holder.
            StoreError::Duplicate(_) => StoreError::Conflict(EMAIL_TAKEN.into()),
            other => other,
        })
    }

    /// The user and password hash for a login attempt, active or not (a deactivated user who
    /// gives the right password is told so).
    pub async fn user_for_login(&self, email: &str) -> StoreResult<(User, String)> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let r: Row = sqlx::query_as(&format!(
            "SELECT {USER_COLS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_one(self.pool())
        .await?;
        Ok((r.user.into(), r.password_hash))
    }

    pub async fn user(&self, agency: AgencyId, id: i64) -> StoreResult<User> {
        let r: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE agency_id = $1 AND id = $2"
        ))
        .bind(agency)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(r.into())
    }

    pub async fn users(&self, agency: AgencyId) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE agency_id = $1 ORDER BY id"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// The broker's own availability toggle (R7), remembered across connections and restarts.
    pub async fn set_online(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        online: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let was: i64 =
            sqlx::query_scalar("SELECT online FROM users WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(broker)
                .fetch_one(&mut *tx)
                .await?;
        let r = sqlx::query(
            "UPDATE users SET online = $3, missed_in_row = 0 WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(broker)
        .bind(i64::from(online))
        .execute(&mut *tx)
        .await?;
        one_row(r)?;
        if super::flag(was) != online {
            super::outbox::record(
                &mut tx,
                agency,
                super::Event::BrokerOnline {
                    broker,
                    online,
                    reason: "toggle",
                },
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A session (`kind` "session") or personal token ("personal"); returns its id.
    pub async fn create_session(
        &self,
        user: &User,
        token_hash: &str,
        kind: &str,
        label: Option<&str>,
        now_ms: i64,
        expires_at_ms: Option<i64>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO sessions (agency_id, user_id, token_hash, kind, label, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user.agency_id)
        .bind(user.id)
        .bind(token_hash)
        .bind(kind)
        .bind(label)
        .bind(now_ms)
        .bind(expires_at_ms)
        .fetch_one(self.pool())
        .await?)
    }

    /// The active user behind a session or personal token, unless it has expired or the
    /// user's agency is suspended (its sessions are deleted then; this also refuses one a
    /// sign-in racing the suspension made).
    pub async fn user_for_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<User> {
        let r: UserRow = sqlx::query_as(&format!(
            "SELECT u.id, u.agency_id, u.email, u.name, u.role, u.online, u.active, \
             u.must_change_password, u.deactivated_at_ms {LIVE_SESSIONS} \
             AND s.token_hash = $2"
        ))
        .bind(now_ms)
        .bind(token_hash)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(r.into())
    }

    /// Of these session or token hashes, the ones a broker connection may stay open with: not
    /// expired, an active broker who need not change their password, in an agency that is not
    /// suspended (what [`Store::user_for_token`] accepts for a broker). One
    /// statement per 500 hashes.
    pub async fn live_broker_sessions(
        &self,
        hashes: &[String],
        now_ms: i64,
    ) -> StoreResult<std::collections::HashSet<String>> {
        let mut live = std::collections::HashSet::new();
        for chunk in hashes.chunks(500) {
            let mut q = super::sql::Sql::new(&format!(
                "SELECT s.token_hash {LIVE_SESSIONS} \
                 AND u.role = 'broker' AND u.must_change_password = 0 AND s.token_hash IN ("
            ));
            q.int(now_ms);
            for (i, h) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                let p = q.text_arg(h);
                q.push(&p);
            }
            q.push(")");
            let rows: Vec<(String,)> = q.query_as()?.fetch_all(self.pool()).await?;
            live.extend(rows.into_iter().map(|(h,)| h));
        }
        Ok(live)
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        agency: AgencyId,
        source: &str,
        prefix: &str,
        key_hash: &str,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_keys (agency_id, source, prefix, key_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(agency)
        .bind(source)
        .bind(prefix)
        .bind(key_hash)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn api_keys(&self, agency: AgencyId) -> StoreResult<Vec<ApiKeyInfo>> {
        Ok(sqlx::query_as(
            "SELECT id, source, prefix, created_at_ms, revoked_at_ms FROM api_keys WHERE agency_id = $1 ORDER BY id",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn revoke_api_key(&self, agency: AgencyId, id: i64, now_ms: i64) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE api_keys SET revoked_at_ms = $3 WHERE agency_id = $1 AND id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(agency)
        .bind(id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    pub async fn api_key_owner(&self, key_hash: &str) -> StoreResult<ApiKeyOwner> {
        let (agency_id, source, suspended_at): (AgencyId, String, Option<i64>) = sqlx::query_as(
            "SELECT k.agency_id, k.source, a.suspended_at_ms FROM api_keys k \
             JOIN agencies a ON a.id = k.agency_id WHERE k.key_hash = $1 AND k.revoked_at_ms IS NULL",
        )
        .bind(key_hash)
        .fetch_one(self.pool())
        .await?;
        Ok(ApiKeyOwner {
            agency_id,
            source,
            suspended: suspended_at.is_some(),
        })
    }
}
