//! `/api/v1/webhooks…`: the manager's subscriptions to the events Roleta sends the agency's CRM
//! (docs/WEBHOOKS.md) and the deliveries of each, with a resend. Managers and admins only.

use crate::auth::{self, Managers, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::net_guard::Refusal;
use crate::state::AppState;
use crate::store::{WebhookDelivery, WebhookSubscription, EVENT_TYPES};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

/// Subscriptions one agency may keep.
const MAX_SUBSCRIPTIONS: usize = 20;
const MAX_URL: usize = 2000;
/// A secret the manager gives must be at least this long (one generated is 43 characters).
const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/api/v1/webhooks/{id}",
            put(update_webhook).delete(delete_webhook),
        )
        .route("/api/v1/webhooks/deliveries", get(list_webhook_deliveries))
        .route(
            "/api/v1/webhooks/deliveries/{id}/resend",
            post(resend_webhook_delivery),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are posted: https on a public address (unless the server allows others).
    url: String,
    /// Event types: `lead.created`, `offer.made`, `offer.accepted`, `offer.refused`,
    /// `offer.expired`, `lead.assigned`, `attendance.concluded`, `broker.online`,
    /// `broker.offline`. At least one.
    events: Vec<String>,
    /// The signing secret; generated when absent (at least 16 characters when given).
    secret: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    url: Option<String>,
    events: Option<Vec<String>>,
    /// `false` pauses the subscription; `true` resumes it, and what waited goes out in order.
    active: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    subscription: WebhookSubscription,
    /// Shown once: sign checks use it (docs/WEBHOOKS.md); it is never shown again.
    secret: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only this subscription's deliveries.
    subscription_id: Option<i64>,
    /// How many, newest first: 1 to 200 (50 when absent).
    limit: Option<i64>,
}

fn clean_events(events: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        if !EVENT_TYPES.contains(&e) {
            return Err(ApiError::invalid(
                "events",
                format!(
                    "unknown event type {e:?}; known: {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_string());
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid(
            "events",
            "choose at least one event type",
        ));
    }
    // Kept in the documented order, whatever order they came in.
    out.sort_by_key(|e| EVENT_TYPES.iter().position(|k| k == e));
    Ok(out)
}

async fn clean_url(app: &AppState, url: &str) -> Result<String, ApiError> {
    let url = super::required("url", url, MAX_URL)?;
    let policy = crate::webhooks::policy(&app.settings.webhooks);
    match policy.check_endpoint(&url).await {
        Ok(_) => Ok(url),
        Err(Refusal::NotAllowed(host)) => Err(ApiError::invalid(
            "url",
            format!("the host {host} is not one this server may send events to"),
        )),
        Err(e) => Err(ApiError::invalid(
            "url",
            e.to_string().replace("the endpoint", "the URL"),
        )),
    }
}

/// The agency's subscriptions, with their state and how many deliveries wait.
#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, body = [WebhookSubscription])))]
pub async fn list_webhooks(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<WebhookSubscription>>, ApiError> {
    Ok(Json(app.store.webhooks(user.agency()).await?))
}

/// Subscribes a URL to event types; the secret is answered once.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookIn,
    responses((status = 201, body = WebhookCreated), (status = 409)))]
pub async fn create_webhook(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(body): Json<WebhookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let events = clean_events(&body.events)?;
    let secret = match body.secret.as_deref().map(str::trim) {
        None | Some("") => auth::new_token("whsec_"),
        Some(s) if s.chars().count() < MIN_SECRET => {
            return Err(ApiError::invalid(
                "secret",
                format!("a secret has at least {MIN_SECRET} characters"),
            ))
        }
        Some(s) => super::required("secret", s, MAX_SECRET)?,
    };
    let url = clean_url(&app, &body.url).await?;
    let agency = user.agency();
    if app.store.webhooks(agency).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::Conflict(format!(
            "an agency keeps at most {MAX_SUBSCRIPTIONS} subscriptions"
        )));
    }
    let id = app
        .store
        .create_webhook(agency, &url, &secret, &events, app.clock.now_ms())
        .await?;
    let subscription = app.store.webhook(agency, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            subscription,
            secret,
        }),
    ))
}

/// Changes the URL or the events, pauses (`active: false`) or resumes (`active: true`).
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", request_body = WebhookUpdate,
    params(("id" = i64, Path, description = "the subscription")),
    responses((status = 200, body = WebhookSubscription), (status = 404)))]
pub async fn update_webhook(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(body): Json<WebhookUpdate>,
) -> Result<Json<WebhookSubscription>, ApiError> {
    let events = body.events.as_deref().map(clean_events).transpose()?;
    let url = match &body.url {
        Some(u) => Some(clean_url(&app, u).await?),
        None => None,
    };
    let agency = user.agency();
    app.store
        .update_webhook(
            agency,
            id,
            url.as_deref(),
            events.as_deref(),
            body.active,
            app.clock.now_ms(),
        )
        .await?;
    Ok(Json(app.store.webhook(agency, id).await?))
}

/// Deletes the subscription and its deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}",
    params(("id" = i64, Path, description = "the subscription")),
    responses((status = 204), (status = 404)))]
pub async fn delete_webhook(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.store.delete_webhook(user.agency(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest deliveries, newest first: each event, its state, attempts and last answer.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", params(DeliveriesQuery),
    responses((status = 200, body = [WebhookDelivery])))]
pub async fn list_webhook_deliveries(
    State(app): State<AppState>,
    user: Require<Managers>,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is from 1 to 200"));
    }
    Ok(Json(
        app.store
            .webhook_deliveries(user.agency(), q.subscription_id, limit)
            .await?,
    ))
}

/// Sends a delivery again at once (the receiver dedupes on the event id). 409 while its
/// subscription is paused.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/resend",
    params(("id" = i64, Path, description = "the delivery")),
    responses((status = 202), (status = 404), (status = 409)))]
pub async fn resend_webhook_delivery(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.store
        .resend_delivery(user.agency(), id, app.clock.now_ms())
        .await?;
    Ok(StatusCode::ACCEPTED)
}
