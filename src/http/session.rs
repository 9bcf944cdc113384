//! Sign-in and sign-out (session cookie), "who am I", and changing one's own password. Every
//! password check passes the throttles (`throttle.rs`) and the bounded Argon2 pool.

use crate::auth::{self, AuthUser, SESSION_COOKIE};
use crate::error::{ApiError, Json};
use crate::http::Https;
use crate::presence::Sockets;
use crate::state::AppState;
use crate::store::{AgencyFeatures, StoreError, User};
use crate::throttle::ClientAddr;
use crate::ws::protocol::close;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/me/password", put(change_password))
        .merge(super::tokens::router())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginIn {
    email: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginOut {
    /// Also usable as `Authorization: Bearer …` (for WebSocket clients that are not browsers).
    token: String,
    expires_at_ms: i64,
    user: User,
}

/// The machine code of a sign-in refused because the account was deactivated.
pub const ACCOUNT_DEACTIVATED: &str = "account_deactivated";

/// Longest e-mail a user can have (`POST /api/v1/users` bounds it the same).
const EMAIL_MAX: usize = 254;

/// What a user of a suspended agency is told at sign-in (docs/PLATFORM.md), with the code
/// `agency_suspended`.
const SUSPENDED_SIGN_IN: &str = "O acesso desta imobiliária ao Roleta está suspenso. \
Fale com o responsável pela sua imobiliária.";

/// Signs in with e-mail and password; sets the session cookie and returns the token. When
/// `user.must_change_password` is true, every call but `PUT /api/v1/me/password`,
/// `GET /api/v1/me` and logout answers 403 `password_change_required` until it is changed.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, description = "wrong e-mail or password"),
        (status = 403, description = "the password is right, but `account_deactivated`: the account was deactivated, or `agency_suspended`: the user's agency is suspended (docs/PLATFORM.md)"),
        (status = 429, description = "too many attempts from this address or for this account, or the account is locked for a while; see Retry-After"),
        (status = 503, description = "every password check is busy; see Retry-After")))]
pub async fn login(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Https(https): Https,
    Json(body): Json<LoginIn>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email.trim().to_lowercase();
    if email.len() > EMAIL_MAX {
        return Err(ApiError::Unauthorized);
    }
    app.throttle
        .before_password(&app.store, addr, &email)
        .await?;
    let found = match app.store.user_for_login(&email).await {
        Ok(found) => Some(found),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    // An unknown e-mail spends the same check (so it cannot be told apart by timing) and
    // counts towards the same lockout (so it cannot be told apart by the answers).
    let (user, ok) = match found {
        Some((user, hash)) => {
            let ok = app.passwords.verify(body.password, hash).await?;
            (Some(user), ok)
        }
        None => {
            app.passwords
                .verify(body.password, DUMMY_HASH.into())
                .await?;
            (None, false)
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(app.throttle.password_failed(&app.store, &email).await);
    };
    app.throttle.password_ok(&app.store, &email).await?;
    // Said only to whoever knows the password: to anyone else it is a wrong password.
    if !user.active {
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: ACCOUNT_DEACTIVATED,
            message: "Esta conta foi desativada. Fale com o gestor da sua imobiliária.".into(),
        });
    }
    if app.store.agency_standing(user.agency_id).await?.suspended {
        return Err(ApiError::Refused {
            status: StatusCode::FORBIDDEN,
            code: "agency_suspended",
            message: SUSPENDED_SIGN_IN.into(),
        });
    }
    let token = auth::new_token("rs_");
    let now = app.clock.now_ms();
    let hours = app.settings.server.session_hours.max(1);
    let expires = now + hours * 3_600_000;
    app.store
        .create_session(
            &user,
            &auth::token_hash(&token),
            "session",
            None,
            now,
            Some(expires),
        )
        .await?;
    let cookie = session_cookie(&token, hours * 3600, https);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(LoginOut {
            token,
            expires_at_ms: expires,
            user,
        }),
    ))
}

/// The session cookie: never readable by scripts, never sent cross-site, and `Secure` when the
/// request came over HTTPS (so the browser never sends it over plain HTTP afterwards).
fn session_cookie(token: &str, max_age_secs: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

/// A valid Argon2id hash of a random string, for failed look-ups.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Y3cZ8CwkdmJpLkOHRNc6bjKUR0S6zXyZgVn9qvFxV8";

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204), (status = 401)))]
pub async fn logout(
    State(app): State<AppState>,
    Https(https): Https,
    user: AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    app.store.delete_session(&user.token_hash).await?;
    let cookie = session_cookie("", 0, https);
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordIn {
    current_password: String,
    /// At least 8 characters.
    new_password: String,
}

/// Longest password accepted (Argon2 reads all of it).
const PASSWORD_MAX: usize = 256;

/// Changes one's own password: every other session and personal token of the user is signed
/// out (their WebSockets closed with 4003); the one making this request stays signed in. A
/// password that had to be changed (`must_change_password`) no longer has to.
#[utoipa::path(put, path = "/api/v1/me/password", request_body = PasswordIn,
    responses((status = 204), (status = 401),
        (status = 422, description = "the current password is wrong, or the new one is too short, too long or the same"),
        (status = 429, description = "too many attempts, or the account is locked for a while; see Retry-After"),
        (status = 503, description = "every password check is busy; see Retry-After")))]
pub async fn change_password(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    user: AuthUser,
    Json(body): Json<PasswordIn>,
) -> Result<StatusCode, ApiError> {
    let length = body.new_password.chars().count();
    if length < 8 {
        return Err(ApiError::invalid(
            "new_password",
            "A senha precisa ter pelo menos 8 caracteres.",
        ));
    }
    if length > PASSWORD_MAX {
        return Err(ApiError::invalid(
            "new_password",
            format!("A senha pode ter no máximo {PASSWORD_MAX} caracteres."),
        ));
    }
    let email = user.user.email.to_lowercase();
    app.throttle
        .before_password(&app.store, addr, &email)
        .await?;
    let (agency, id) = (user.agency(), user.user.id);
    if body.new_password == body.current_password {
        return Err(ApiError::invalid(
            "new_password",
            "A nova senha precisa ser diferente da atual.",
        ));
    }
    let stored = app.store.password_hash(agency, id).await?;
    if !app.passwords.verify(body.current_password, stored).await? {
        return Err(
            match app.throttle.password_failed(&app.store, &email).await {
                ApiError::Unauthorized => {
                    ApiError::invalid("current_password", "A senha atual não confere.")
                }
                other => other,
            },
        );
    }
    app.throttle.password_ok(&app.store, &email).await?;
    let hash = app.passwords.hash(body.new_password).await?;
    app.store
        .set_password(agency, id, &hash, Some(&user.token_hash))
        .await?;
    // The broker pages opened with the other sessions close now, on every node.
    let others = Sockets::User {
        agency,
        user: id,
        except_session: Some(user.token_hash.clone()),
    };
    app.roster.close_sockets(others, close::SIGNED_OUT);
    tracing::info!(
        user = id,
        %agency,
        "password changed; other sessions signed out"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeOut {
    user: User,
    departments: Vec<i64>,
    /// What the agency's plan includes (docs/PLATFORM.md): the pages hide what it leaves out.
    /// The manager's own switches are in the roulette and CRM settings.
    features: AgencyFeatures,
    /// The agency's name and the first WhatsApp message in use (L7).
    agency: super::client_record::MeAgency,
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeOut), (status = 401)))]
pub async fn get_me(State(app): State<AppState>, user: AuthUser) -> Result<Json<MeOut>, ApiError> {
    let departments = app
        .store
        .broker_departments(user.agency(), user.broker())
        .await?;
    let features = app.store.agency_standing(user.agency()).await?.features;
    let agency = super::client_record::me_agency(&app, user.agency()).await?;
    // The extractor read the user from the store for this request: it is current.
    Ok(Json(MeOut {
        user: user.user,
        departments,
        features,
        agency,
    }))
}
