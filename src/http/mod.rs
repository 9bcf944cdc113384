//! The HTTP edge: every route is found here, merged from each module's `router()`.

mod attendances;
mod campaign_calls;
mod campaigns;
pub(crate) mod crm;
pub(crate) mod lead_input;
mod leads;
mod manager;
mod offers;
pub mod openapi;
mod ops;
mod pipeline;
mod push;
mod session;
mod teams;
mod tokens;
mod wallboard;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::any;
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    let static_dir = if std::path::Path::new("static").is_dir() {
        std::path::PathBuf::from("static")
    } else {
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
    };
    Router::new()
        .merge(session::router())
        .merge(leads::router())
        .merge(attendances::router())
        .merge(offers::router())
        .merge(manager::router())
        .merge(pipeline::router())
        .merge(campaigns::router())
        .merge(campaign_calls::router())
        .merge(teams::router())
        .merge(ops::router())
        .merge(push::router())
        .merge(wallboard::router())
        .merge(openapi::router())
        .merge(crate::ws::router())
        .route("/api/{*rest}", any(|| async { ApiError::NotFound }))
        .fallback_service(ServeDir::new(static_dir))
        .layer(DefaultBodyLimit::max(
            state.settings.server.body_limit_bytes,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
