//! Whether and how a user gets in: a manager deactivates and reactivates users and resets
//! their password. Each takes effect at once: the user's sessions and personal tokens end and
//! their broker WebSockets close with a code (docs/PROTOCOL.md) on every node; a deactivated
//! broker leaves the rotation and an offer they held goes to the next broker.

use super::users::{may_change, user_out, UserOut};
use crate::auth::{self, Managers, Require};
use crate::error::{ApiError, Json, Path};
use crate::model::{BrokerId, Role};
use crate::state::AppState;
use crate::ws::protocol::close;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/{id}/deactivate", post(deactivate_user))
        .route("/api/v1/users/{id}/reactivate", post(reactivate_user))
        .route("/api/v1/users/{id}/password-reset", post(reset_password))
}

/// Deactivates a user: signed out everywhere at once (sessions, personal tokens, WebSockets
/// closed with 4002), sign-in refused with a message saying so; a broker leaves the rotation
/// and an offer they held is handed to the next broker. Their leads, clients, attendances and
/// audit stay, readable by managers. Nobody can deactivate themself, nor the agency's last
/// active manager.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate",
    responses((status = 200, body = UserOut),
        (status = 409, description = "the manager's own account, or the agency's last active manager")))]
pub async fn deactivate_user(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    may_change(&user, &target)?;
    if id == user.user.id {
        return Err(ApiError::Conflict(
            "Você não pode desativar a sua própria conta.".into(),
        ));
    }
    app.store
        .deactivate_user(agency, id, app.clock.now_ms())
        .await?;
    app.roster
        .close_user_sockets(agency, id, close::DEACTIVATED);
    if target.role == Role::Broker {
        // Out of the rotation now, whether or not a socket of theirs is still closing; and
        // no longer the fallback broker if they were.
        for r in [
            app.dispatcher.broker_changed(agency, BrokerId(id)).await,
            app.dispatcher.settings_changed(agency).await,
        ] {
            if let Err(e) = r {
                tracing::warn!(%agency, user = id, error = %e, "telling the roulette about a deactivation failed");
            }
        }
    }
    tracing::info!(%agency, user = id, by = user.user.id, "user deactivated");
    let after = app.store.user(agency, id).await?;
    Ok(Json(user_out(&app, agency, after).await?))
}

/// Lets a deactivated user sign in again with their password. A broker comes back offline,
/// in the departments they had.
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", responses((status = 200, body = UserOut)))]
pub async fn reactivate_user(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    may_change(&user, &target)?;
    app.store.reactivate_user(agency, id).await?;
    tracing::info!(%agency, user = id, by = user.user.id, "user reactivated");
    let after = app.store.user(agency, id).await?;
    Ok(Json(user_out(&app, agency, after).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OneTimePassword {
    /// Shown this once (never stored in clear, never logged): give it to the user, who must
    /// choose their own password when they sign in with it.
    one_time_password: String,
}

/// Resets a user's password to a one-time one, answered once. The user is signed out
/// everywhere (WebSockets closed with 4003) and must choose a new password at sign-in.
#[utoipa::path(post, path = "/api/v1/users/{id}/password-reset",
    responses((status = 200, body = OneTimePassword, headers(("Cache-Control" = String, description = "no-store")))))]
pub async fn reset_password(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    may_change(&user, &target)?;
    let password = auth::one_time_password();
    let hash = app.passwords.hash(password.clone()).await?;
    app.store
        .reset_password(agency, id, &hash, true, app.clock.now_ms())
        .await?;
    app.roster.close_user_sockets(agency, id, close::SIGNED_OUT);
    tracing::info!(
        %agency,
        user = id,
        by = user.user.id,
        "password reset; the user must choose a new one"
    );
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(OneTimePassword {
            one_time_password: password,
        }),
    ))
}
