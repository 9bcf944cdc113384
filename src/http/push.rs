//! Web push subscriptions: the browser fetches the server's key, subscribes, and posts the
//! subscription here; one per device and broker. Endpoints are checked by `net_guard` (https,
//! public addresses, the configured push hosts) and keys must be the sizes RFC 8291 gives.

use super::required;
use crate::auth::{AuthUser, Brokers, Require};
use crate::error::{ApiError, Json};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Longer than any push service's endpoint (FCM, Mozilla, WNS and Apple stay under 1,000).
const ENDPOINT_MAX: usize = 2000;

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
    user: Require<Brokers>,
    Json(s): Json<SubscriptionIn>,
) -> Result<StatusCode, ApiError> {
    let endpoint = required("endpoint", &s.endpoint, ENDPOINT_MAX)?;
    // RFC 8291: the browser's key is an uncompressed P-256 point, the auth secret 16 bytes.
    let (p256dh, point) = key("keys.p256dh", &s.keys.p256dh, 65)?;
    if point.first() != Some(&0x04) {
        return Err(ApiError::invalid(
            "keys.p256dh",
            "keys.p256dh must be an uncompressed P-256 point (0x04 first)",
        ));
    }
    let (auth, _) = key("keys.auth", &s.keys.auth, 16)?;
    if !crate::push::Push::keys_usable(&p256dh, &auth) {
        return Err(ApiError::invalid(
            "keys.p256dh",
            "keys.p256dh is not a point on the P-256 curve",
        ));
    }
    app.push
        .check_endpoint(&endpoint)
        .await
        .map_err(|refusal| ApiError::invalid("endpoint", refusal.to_string()))?;
    app.store
        .save_push_subscription(
            user.agency(),
            user.broker(),
            &endpoint,
            &p256dh,
            &auth,
            app.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

/// A base64url key of exactly `bytes` bytes (padding accepted): the text to store, without
/// padding, and the bytes.
fn key(field: &'static str, v: &str, bytes: usize) -> Result<(String, Vec<u8>), ApiError> {
    let trimmed = required(field, v, 200)?;
    let bare = trimmed.trim_end_matches('=');
    match URL_SAFE_NO_PAD.decode(bare) {
        Ok(raw) if raw.len() == bytes => Ok((bare.to_string(), raw)),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} must be {bytes} bytes in base64url"),
        )),
    }
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
        .delete_push_subscription_by_endpoint(user.agency(), user.broker(), &s.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
