//! Web push subscriptions: the browser fetches the server's key, subscribes, and posts the
//! subscription here; one per device.

use super::required;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json};
use crate::model::Role;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/push/key", get(get_push_key))
        .route(
            "/api/v1/push/subscriptions",
            axum::routing::post(create_push_subscription).delete(delete_push_subscription),
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PushKey {
    /// VAPID application server key: base64url of the uncompressed P-256 point.
    public_key: String,
}

#[utoipa::path(get, path = "/api/v1/push/key", responses((status = 200, body = PushKey)))]
pub async fn get_push_key(State(app): State<AppState>) -> Json<PushKey> {
    Json(PushKey {
        public_key: app.push.public_key().to_string(),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SubscriptionKeys {
    p256dh: String,
    auth: String,
}

/// The browser's `PushSubscription.toJSON()`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SubscriptionIn {
    endpoint: String,
    keys: SubscriptionKeys,
}

#[utoipa::path(post, path = "/api/v1/push/subscriptions", request_body = SubscriptionIn, responses((status = 201), (status = 422)))]
pub async fn create_push_subscription(
    State(app): State<AppState>,
    user: AuthUser,
    Json(s): Json<SubscriptionIn>,
) -> Result<StatusCode, ApiError> {
    user.require(&[Role::Broker])?;
    let endpoint = required("endpoint", &s.endpoint, 2000)?;
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(ApiError::invalid(
            "endpoint",
            "the endpoint must be an http(s) URL",
        ));
    }
    let p256dh = required("keys.p256dh", &s.keys.p256dh, 200)?;
    let auth = required("keys.auth", &s.keys.auth, 100)?;
    app.store
        .save_push_subscription(
            user.agency(),
            user.user.id,
            &endpoint,
            &p256dh,
            &auth,
            app.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SubscriptionOut {
    endpoint: String,
}

#[utoipa::path(delete, path = "/api/v1/push/subscriptions", request_body = SubscriptionOut, responses((status = 204), (status = 404)))]
pub async fn delete_push_subscription(
    State(app): State<AppState>,
    user: AuthUser,
    Json(s): Json<SubscriptionOut>,
) -> Result<StatusCode, ApiError> {
    app.store
        .delete_push_subscription_by_endpoint(user.agency(), user.user.id, &s.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
