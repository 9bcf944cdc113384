//! The HTTP edge: every route is found here, merged from each module's `router()`.

mod assets;
mod attendances;
mod availability;
mod campaign_calls;
mod campaigns;
mod client_record;
mod clients;
pub(crate) mod crm;
mod departments;
mod exports;
mod https;
mod imports;
pub(crate) mod lead_input;
mod leads;
mod manager;
mod offers;
pub mod openapi;
mod ops;
mod pipeline;
mod platform;
mod push;
mod session;
pub(crate) mod sources;
mod teams;
mod tokens;
mod user_access;
mod users;
mod wallboard;
mod webhooks;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use std::time::Duration;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Pages load scripts, styles, images and sockets from this origin only, never inside a frame,
/// never inline. `connect-src 'self'` covers the page's own `ws:`/`wss:` (CSP level 3).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
worker-src 'self'; manifest-src 'self'; object-src 'none'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'";

/// Headers every response carries, whatever produced it. Over HTTPS, HSTS too (`https.rs`).
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
];

pub fn router(state: AppState) -> Router {
    let server = &state.settings.server;
    let request_timeout = Duration::from_secs(server.request_timeout_seconds.max(1));
    let handshake_timeout = Duration::from_secs(server.ws_handshake_timeout_seconds.max(1));
    // The WebSocket is merged after the request timeout: it bounds the handshake only.
    let ws = crate::ws::router().layer(TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        handshake_timeout,
    ));
    let router = Router::new()
        .merge(session::router())
        .merge(leads::router())
        .merge(attendances::router())
        .merge(offers::router())
        .merge(manager::router())
        .merge(departments::router())
        .merge(users::router())
        .merge(availability::router())
        .merge(pipeline::router())
        .merge(campaigns::router())
        .merge(campaign_calls::router())
        .merge(clients::router())
        .merge(client_record::router())
        .merge(teams::router())
        .merge(imports::router())
        .merge(exports::router())
        .merge(ops::router())
        .merge(push::router())
        .merge(wallboard::router())
        .merge(platform::router())
        .merge(sources::router())
        .merge(webhooks::router())
        .merge(openapi::router())
        .route("/api/{*rest}", any(|| async { ApiError::NotFound }));
    let router = with_pages(router, &server.static_dir)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .merge(ws)
        .merge(imports::long_router(server.import_timeout_seconds))
        .layer(axum::middleware::from_fn(refuse_empty_segments))
        .layer(DefaultBodyLimit::max(server.body_limit_bytes));
    with_security_headers(router)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            https::strict_transport,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

pub use https::{redirect_router, Https};

/// The pages: built into the binary, or read from `static_dir` on every request (development;
/// never cached, so an edited file shows on the next reload).
fn with_pages(router: Router<AppState>, static_dir: &str) -> Router<AppState> {
    if static_dir.trim().is_empty() {
        assets::warm();
        router.fallback(assets::serve)
    } else {
        router.fallback_service(
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .service(ServeDir::new(static_dir.trim())),
        )
    }
}

/// The metrics-only listener (`[metrics] listen`): `/metrics` without a token, nothing else.
pub fn metrics_router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_seconds.max(1));
    Router::new()
        .route("/metrics", get(ops::render_metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(state)
}

fn with_security_headers(mut router: Router<AppState>) -> Router<AppState> {
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// A path with an empty segment (`//js`) answers 404: the static files' trailing-slash redirect
/// would otherwise send the browser to `//js/`, another host.
async fn refuse_empty_segments(req: Request, next: Next) -> Response {
    if req.uri().path().contains("//") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    next.run(req).await
}

/// Trims and bounds a required text field.
pub(crate) fn required(field: &'static str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(field, format!("{field} is required")));
    }
    bounded(field, t, max).map(str::to_string)
}

/// Trims an optional text field; empty becomes `None`.
pub(crate) fn optional(
    field: &'static str,
    v: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match v.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => bounded(field, t, max).map(|t| Some(t.to_string())),
    }
}

fn bounded<'a>(field: &'static str, v: &'a str, max: usize) -> Result<&'a str, ApiError> {
    if v.chars().count() > max {
        Err(ApiError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ))
    } else {
        Ok(v)
    }
}
