//! Health, readiness, Prometheus metrics and the live roulette view for operators.

use crate::auth::{Managers, Require};
use crate::dispatch::AgencyStats;
use crate::error::{ApiError, Json};
use crate::model::BrokerId;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(get_health))
        .route("/readyz", get(get_ready))
        .route("/metrics", get(get_metrics))
        .route("/api/v1/ops/roulette", get(get_roulette_live))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200)))]
pub async fn get_health() -> &'static str {
    "ok"
}

/// The database answers and every background task is up: the node can take leads. The
/// cause of a failure is logged, not shown: the answer says only which part is down.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503)))]
pub async fn get_ready(State(app): State<AppState>) -> Result<&'static str, ApiError> {
    if app.stopping.is_cancelled() || app.shutdown.is_cancelled() {
        return Err(ApiError::Unavailable("shutting down".into()));
    }
    if let Some(problem) = app.health.problem() {
        tracing::warn!(%problem, "not ready");
        return Err(ApiError::Unavailable("a background task is down".into()));
    }
    if let Err(e) = app.store.ping().await {
        tracing::warn!(error = %e, "not ready: the database does not answer");
        return Err(ApiError::Unavailable("database unavailable".into()));
    }
    Ok("ready")
}

/// Prometheus text format, for a scraper holding the `metrics.token` bearer token. Without a
/// configured token it is not served here (404): use the `metrics.listen` listener.
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, content_type = "text/plain"),
        (status = 401, description = "missing or wrong bearer token"),
        (status = 404, description = "no metrics token configured")
    )
)]
pub async fn get_metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let token = app.settings.metrics.token.expose();
    if token.is_empty() {
        return ApiError::NotFound.into_response();
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(given.as_bytes(), token.as_bytes()) {
        return (
            [(header::WWW_AUTHENTICATE, "Bearer")],
            ApiError::Unauthorized,
        )
            .into_response();
    }
    render_metrics(State(app)).await
}

/// The metrics page itself, without any check (the metrics-only listener serves it as is).
pub async fn render_metrics(State(app): State<AppState>) -> Response {
    let waiting = app.store.count_waiting_leads().await.unwrap_or(-1);
    crate::metrics::set_gauges(app.hub.online_count(), waiting, app.hub.connection_count());
    let body = crate::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// Compares digests: how long it takes tells nothing about the token's bytes.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a) == Sha256::digest(b)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RouletteLive {
    online_brokers: Vec<BrokerId>,
    #[serde(flatten)]
    stats: AgencyStats,
}

/// Who is online, how many leads wait (and since when), how many offers are out.
#[utoipa::path(get, path = "/api/v1/ops/roulette", responses((status = 200, body = RouletteLive)))]
pub async fn get_roulette_live(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<RouletteLive>, ApiError> {
    let stats = app.dispatcher.stats(user.agency()).await?;
    Ok(Json(RouletteLive {
        online_brokers: app.roster.online_brokers(user.agency()).await,
        stats,
    }))
}
