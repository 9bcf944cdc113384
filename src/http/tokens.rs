//! Personal tokens for scripts and non-browser clients: created with an expiry, listed
//! (one's own; a manager's whole agency) and revoked (one's own; a manager any of the
//! agency's). The token is shown once at creation; only its hash is kept.

use crate::auth::{self, AuthUser, Managers, Roles};
use crate::error::{ApiError, Json, Path, Query};
use crate::state::AppState;
use crate::store::TokenInfo;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::Router;
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/auth/tokens/{id}", delete(delete_token))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenIn {
    label: String,
    /// Lifetime in days, 1 to `auth.token_max_days` (365 by default); `auth.token_default_days`
    /// (90) when absent.
    expires_in_days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    id: i64,
    /// Shown once; only its hash is kept.
    token: String,
    label: String,
    expires_at_ms: i64,
}

/// Creates a personal token that expires (401 after that).
#[utoipa::path(post, path = "/api/v1/auth/tokens", request_body = TokenIn,
    responses((status = 201, body = TokenOut), (status = 401), (status = 422)))]
pub async fn create_token(
    State(app): State<AppState>,
    user: AuthUser,
    Json(body): Json<TokenIn>,
) -> Result<impl IntoResponse, ApiError> {
    let label = super::required("label", &body.label, 100)?;
    let s = &app.settings.auth;
    let max = s.token_max_days.max(1);
    let days = body
        .expires_in_days
        .unwrap_or(s.token_default_days.clamp(1, max));
    if !(1..=max).contains(&days) {
        return Err(ApiError::invalid(
            "expires_in_days",
            format!("a token lives from 1 to {max} days"),
        ));
    }
    let token = auth::new_token("rt_");
    let now = app.clock.now_ms();
    let expires_at_ms = now + days * DAY_MS;
    let id = app
        .store
        .create_session(
            &user.user,
            &auth::token_hash(&token),
            "personal",
            Some(&label),
            now,
            Some(expires_at_ms),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenOut {
            id,
            token,
            label,
            expires_at_ms,
        }),
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// The caller's own tokens.
    #[default]
    Own,
    /// Every user's tokens in the caller's agency (managers and admins).
    Agency,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TokensQuery {
    #[serde(default)]
    #[param(inline)]
    scope: TokenScope,
}

/// Lists personal tokens, expired ones included (never the token or its hash).
#[utoipa::path(get, path = "/api/v1/auth/tokens", params(TokensQuery),
    responses((status = 200, body = [TokenInfo]), (status = 400), (status = 401),
        (status = 403, description = "scope=agency is for managers")))]
pub async fn list_tokens(
    State(app): State<AppState>,
    user: AuthUser,
    Query(q): Query<TokensQuery>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let only = match q.scope {
        TokenScope::Own => Some(user.user.id),
        TokenScope::Agency => {
            user.require(Managers::ROLES)?;
            None
        }
    };
    Ok(Json(app.store.personal_tokens(user.agency(), only).await?))
}

/// Revokes a personal token: one's own, or — for managers — any of the agency's users'.
/// Another agency's, or another user's for a non-manager, answers 404.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}",
    responses((status = 204), (status = 401), (status = 404)))]
pub async fn delete_token(
    State(app): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let only = (!Managers::ROLES.contains(&user.user.role)).then_some(user.user.id);
    app.store
        .revoke_personal_token(user.agency(), id, only)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
