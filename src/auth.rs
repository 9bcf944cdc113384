//! Who is calling: session cookies and bearer tokens for people, API keys for lead sources.
//! Tokens are random and stored only as SHA-256 hashes. Requests' passwords are checked under
//! the bound in `passwords.rs`; unknown credentials are throttled per client address
//! (`throttle.rs`).

use crate::error::ApiError;
use crate::model::{AgencyId, BrokerId, Role};
use crate::state::AppState;
use crate::store::{ApiKeyOwner, StoreError, User};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, Method};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "roleta_session";

/// Hashes on a blocking thread, outside the request bound: for start-up work before the app
/// serves (the demo seed). Requests use `AppState::passwords`.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// A fresh random token: `prefix` + 64 hex characters.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Characters of a one-time password: no 0/o, 1/l/i, nor upper case, so it can be read out
/// over the phone or copied from a screen without a mix-up.
const OTP_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// 16 characters of 31: 79 bits.
const OTP_LENGTH: usize = 16;

/// A random password for someone else to hand over (a reset, a new agency's manager), in groups
/// of four: `k7mq-2xhv-…`. The user must replace it at their first sign-in.
pub fn one_time_password() -> String {
    use rand::seq::SliceRandom;
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(OTP_LENGTH + OTP_LENGTH / 4);
    for i in 0..OTP_LENGTH {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // `choose` is `None` only on an empty alphabet, which OTP_ALPHABET is not.
        if let Some(&c) = OTP_ALPHABET.choose(&mut rng) {
            out.push(char::from(c));
        }
    }
    out
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer …` header, trimmed.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// The machine code of the 403 a user with a password to change gets everywhere else.
pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";

pub fn password_change_required() -> ApiError {
    ApiError::Refused {
        status: axum::http::StatusCode::FORBIDDEN,
        code: PASSWORD_CHANGE_REQUIRED,
        message: "Troque a sua senha provisória antes de continuar.".into(),
    }
}

/// What a user whose password must be changed may still call: change it, see who they are,
/// sign out.
fn allowed_before_password_change(method: &Method, path: &str) -> bool {
    matches!(
        (method, path),
        (&Method::PUT, "/api/v1/me/password")
            | (&Method::GET, "/api/v1/me")
            | (&Method::POST, "/api/v1/auth/logout")
    )
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    /// Signed in by cookie (a browser): such requests must come from an allowed origin.
    pub via_cookie: bool,
    pub token_hash: String,
}

impl AuthUser {
    /// For a check that depends on the request; a route that always needs the roles takes
    /// [`Require`] instead.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs one of the roles: {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    pub fn agency(&self) -> AgencyId {
        self.user.agency_id
    }

    /// The signed-in user as a broker, for the routes only brokers reach.
    pub fn broker(&self) -> BrokerId {
        BrokerId(self.user.id)
    }
}

/// A set of roles a route admits, named once: the type parameter of [`Require`].
pub trait Roles: Send + Sync + 'static {
    /// In the order the 403 names them.
    const ROLES: &'static [Role];
}

/// Declares zero-sized role-set markers for [`Require`].
macro_rules! role_sets {
    ($($(#[$doc:meta])* $name:ident = [$($role:ident),+];)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Roles for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    )+};
}

role_sets! {
    /// The agency's managers and admins: settings, users, campaigns, teams, reports.
    Managers = [Manager, Admin];
    /// Brokers: their offers, attendances, campaigns and clients.
    Brokers = [Broker];
    /// Everyone who works the agency's leads and clients, ops aside.
    Staff = [Manager, Admin, Receptionist, Broker];
    /// Who may work on a lead's pipeline: managers any lead, a broker their own.
    LeadWorkers = [Manager, Admin, Broker];
    /// The office: managers and receptionists (the client search, users, properties).
    Office = [Manager, Admin, Receptionist];
    /// The office again, named reception-first as the reception routes' 403 has always read.
    Reception = [Receptionist, Manager, Admin];
    /// Who may watch the live floor: managers and the ops screen.
    Viewers = [Manager, Admin, Ops];
}

/// A signed-in person holding one of `R`'s roles. Extracts [`AuthUser`] first, so a request
/// without valid credentials answers 401 as before; a signed-in user without the role, 403.
/// Derefs to the [`AuthUser`].
#[derive(Debug, Clone)]
pub struct Require<R: Roles> {
    user: AuthUser,
    roles: std::marker::PhantomData<fn() -> R>,
}

impl<R: Roles> Require<R> {
    pub fn into_inner(self) -> AuthUser {
        self.user
    }
}

impl<R: Roles> std::ops::Deref for Require<R> {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl<R: Roles> FromRequestParts<AppState> for Require<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.require(R::ROLES)?;
        Ok(Require {
            user,
            roles: std::marker::PhantomData,
        })
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) = match bearer(parts) {
            Some(t) => (t.to_string(), false),
            None => (
                session_cookie(parts)
                    .ok_or(ApiError::Unauthorized)?
                    .to_string(),
                true,
            ),
        };
        // Cookies ride along on cross-site requests; state changes must come from our pages.
        if via_cookie && parts.method != Method::GET && parts.method != Method::HEAD {
            if let Some(origin) = parts.headers.get(header::ORIGIN) {
                let origin = origin.to_str().unwrap_or("");
                if !state.origin_allowed(origin) {
                    return Err(ApiError::Forbidden(format!(
                        "origin {origin:?} is not allowed"
                    )));
                }
            }
        }
        let hash = token_hash(&token);
        let addr = state.throttle.client_addr(parts);
        state.throttle.before_credential(addr, &hash)?;
        let user = match state
            .store
            .user_for_token(&hash, state.clock.now_ms())
            .await
        {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Err(state.throttle.credential_unknown(addr)),
            Err(other) => return Err(other.into()),
        };
        state.throttle.credential_valid(&hash);
        if user.must_change_password
            && !allowed_before_password_change(&parts.method, parts.uri.path())
        {
            return Err(password_change_required());
        }
        Ok(AuthUser {
            user,
            via_cookie,
            token_hash: hash,
        })
    }
}

/// What a lead source of a suspended agency is told (docs/PLATFORM.md); the lead is not kept.
pub const SUSPENDED_SOURCE: &str = "A imobiliária desta chave está suspensa: nenhum lead é \
aceito até que ela seja reativada. Guarde o lead e envie de novo depois, ou fale com o \
fornecedor do sistema.";

/// A lead source authenticated by its agency API key (`Authorization: Bearer rk_…` or
/// `X-Api-Key: rk_…`).
pub struct SourceKey(pub ApiKeyOwner);

impl FromRequestParts<AppState> for SourceKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = bearer(parts)
            .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
            .ok_or(ApiError::Unauthorized)?;
        let hash = token_hash(key);
        let addr = state.throttle.client_addr(parts);
        let lookup = async {
            match state.store.api_key_owner(&hash).await {
                Ok(owner) => Ok(Some(owner)),
                Err(StoreError::NotFound) => Ok(None),
                Err(other) => Err(ApiError::from(other)),
            }
        };
        let owner = state.throttle.check_credential(addr, &hash, lookup).await?;
        if owner.suspended {
            // A known key: 403, not 401, so the source knows to stop rather than fix its key.
            return Err(ApiError::Forbidden(SUSPENDED_SOURCE.into()));
        }
        Ok(SourceKey(owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_unambiguous_and_differ() {
        let a = one_time_password();
        assert_eq!(a.len(), 19, "{a}");
        let chars: Vec<char> = a.chars().filter(|&c| c != '-').collect();
        assert_eq!(chars.len(), OTP_LENGTH);
        assert!(
            chars.iter().all(|c| OTP_ALPHABET.contains(&(*c as u8))),
            "{a}"
        );
        assert!(!a.contains(['0', 'o', '1', 'l', 'i']), "{a}");
        // ≥ 64 bits: 31^16 > 2^79.
        assert!((OTP_LENGTH as f64) * (OTP_ALPHABET.len() as f64).log2() >= 64.0);
        assert_ne!(a, one_time_password());
    }
}
