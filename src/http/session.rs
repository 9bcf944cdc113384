//! Sign-in and sign-out (session cookie), personal tokens, and "who am I".

use crate::auth::{self, AuthUser, SESSION_COOKIE};
use crate::error::{ApiError, Json};
use crate::state::AppState;
use crate::store::{StoreError, User};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/tokens", post(create_token))
        .route("/api/v1/me", get(get_me))
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

/// Signs in with e-mail and password; sets the session cookie and returns the token.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, description = "wrong e-mail or password")))]
pub async fn login(
    State(app): State<AppState>,
    Json(body): Json<LoginIn>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email.trim().to_lowercase();
    let (user, hash) = match app.store.user_for_login(&email).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            // Spend the same time as a real check so e-mails cannot be probed by timing.
            let _ = auth::verify_password(body.password, DUMMY_HASH.into()).await;
            return Err(ApiError::Unauthorized);
        }
        Err(e) => return Err(e.into()),
    };
    if !auth::verify_password(body.password, hash).await {
        return Err(ApiError::Unauthorized);
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
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        hours * 3600
    );
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(LoginOut {
            token,
            expires_at_ms: expires,
            user,
        }),
    ))
}

/// A valid Argon2id hash of a random string, for failed look-ups.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Y3cZ8CwkdmJpLkOHRNc6bjKUR0S6zXyZgVn9qvFxV8";

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
pub async fn logout(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    app.store.delete_session(&user.token_hash).await?;
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenIn {
    label: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    /// Shown once; only its hash is kept.
    token: String,
}

/// Creates a personal token (no expiry) for scripts and non-browser clients.
#[utoipa::path(post, path = "/api/v1/auth/tokens", request_body = TokenIn, responses((status = 201, body = TokenOut)))]
pub async fn create_token(
    State(app): State<AppState>,
    user: AuthUser,
    Json(body): Json<TokenIn>,
) -> Result<impl IntoResponse, ApiError> {
    let label = super::required("label", &body.label, 100)?;
    let token = auth::new_token("rt_");
    app.store
        .create_session(
            &user.user,
            &auth::token_hash(&token),
            "personal",
            Some(&label),
            app.clock.now_ms(),
            None,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(TokenOut { token })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeOut {
    user: User,
    departments: Vec<i64>,
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeOut)))]
pub async fn get_me(State(app): State<AppState>, user: AuthUser) -> Result<Json<MeOut>, ApiError> {
    let departments = app
        .store
        .broker_departments(user.agency(), user.user.id)
        .await?;
    // The extractor read the user from the store for this request: it is current.
    Ok(Json(MeOut {
        user: user.user,
        departments,
    }))
}
