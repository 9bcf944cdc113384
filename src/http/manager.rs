//! The manager's pages: roulette settings (R1, R9), lead sources' API keys, and the property
//! portfolio that interest profiles come from. Users are in `users.rs`, departments in
//! `departments.rs`.

use super::{optional, required};
use crate::auth::{self, Managers, Office, Require};
use crate::error::{ApiError, Json, Path};
use crate::model::{BrokerId, EveryoneRefused, Role};
use crate::state::AppState;
use crate::store::{ApiKeyInfo, Property, RouletteSettings};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/settings/roulette",
            get(get_roulette_settings).put(update_roulette_settings),
        )
        .route("/api/v1/api-keys", get(list_api_keys).post(create_api_key))
        .route("/api/v1/api-keys/{id}", delete(revoke_api_key))
        .route("/api/v1/properties", axum::routing::post(create_property))
}

#[utoipa::path(get, path = "/api/v1/settings/roulette", responses((status = 200, body = RouletteSettings)))]
pub async fn get_roulette_settings(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<RouletteSettings>, ApiError> {
    Ok(Json(app.store.roulette_settings(user.agency()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouletteSettingsIn {
    roulette_enabled: Option<bool>,
    /// Time to answer an offer, 1–600 seconds (a new agency has 30).
    #[schema(minimum = 1, maximum = 600)]
    answer_seconds: Option<i64>,
    /// Silent timeouts in a row before auto-offline, 0–100; 0 disables it (a new agency has 3).
    #[schema(minimum = 0, maximum = 100)]
    max_missed_in_row: Option<i64>,
    everyone_refused: Option<EveryoneRefused>,
    /// Pause before a new round after everyone refused, 0–86400 seconds (a new agency has 60).
    #[schema(minimum = 0, maximum = 86400)]
    retry_pause_seconds: Option<i64>,
    fallback_broker_id: Option<BrokerId>,
    lead_number_template: Option<String>,
}

/// Changes any of the settings; the rest keep their values. Takes effect for the next offer.
#[utoipa::path(put, path = "/api/v1/settings/roulette", request_body = RouletteSettingsIn, responses((status = 200, body = RouletteSettings), (status = 422)))]
pub async fn update_roulette_settings(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(i): Json<RouletteSettingsIn>,
) -> Result<Json<RouletteSettings>, ApiError> {
    let agency = user.agency();
    let mut s = app.store.roulette_settings(agency).await?;
    if let Some(v) = i.roulette_enabled {
        if v {
            super::crm::require_roulette_in_plan(&app, agency).await?;
        }
        s.roulette_enabled = v;
    }
    if let Some(v) = i.answer_seconds {
        if !(1..=600).contains(&v) {
            return Err(ApiError::invalid(
                "answer_seconds",
                "answer time must be between 1 and 600 seconds",
            ));
        }
        s.answer_seconds = v;
    }
    if let Some(v) = i.max_missed_in_row {
        if !(0..=100).contains(&v) {
            return Err(ApiError::invalid(
                "max_missed_in_row",
                "must be between 0 (never) and 100",
            ));
        }
        s.max_missed_in_row = v;
    }
    if let Some(v) = i.retry_pause_seconds {
        if !(0..=86_400).contains(&v) {
            return Err(ApiError::invalid(
                "retry_pause_seconds",
                "must be between 0 and 86400 seconds",
            ));
        }
        s.retry_pause_seconds = v;
    }
    if let Some(v) = i.everyone_refused {
        s.everyone_refused = v;
    }
    if let Some(b) = i.fallback_broker_id {
        let u = app
            .store
            .user(agency, b.0)
            .await
            .map_err(|_| ApiError::invalid("fallback_broker_id", "no such broker"))?;
        if u.role != Role::Broker || !u.active {
            return Err(ApiError::invalid(
                "fallback_broker_id",
                "the fallback must be an active broker",
            ));
        }
        s.fallback_broker_id = Some(b);
    }
    if s.everyone_refused == EveryoneRefused::Fallback && s.fallback_broker_id.is_none() {
        return Err(ApiError::invalid(
            "fallback_broker_id",
            "choose the fallback broker",
        ));
    }
    if let Some(t) = i.lead_number_template {
        let t = required("lead_number_template", &t, crate::store::MAX_TEMPLATE_CHARS)?;
        crate::store::validate_lead_number_template(&t)
            .map_err(|e| ApiError::invalid("lead_number_template", e.0))?;
        s.lead_number_template = t;
    }
    app.store.update_roulette_settings(agency, &s).await?;
    app.dispatcher.settings_changed(agency).await?;
    Ok(Json(s))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub(super) id: i64,
}

#[utoipa::path(get, path = "/api/v1/api-keys", responses((status = 200, body = [ApiKeyInfo])))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<ApiKeyInfo>>, ApiError> {
    Ok(Json(app.store.api_keys(user.agency()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    /// The lead source's name (portal, site, facebook…), recorded on each lead.
    source: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyOut {
    id: i64,
    /// Shown this once; only its hash is kept.
    key: String,
}

#[utoipa::path(post, path = "/api/v1/api-keys", request_body = ApiKeyIn, responses((status = 201, body = ApiKeyOut)))]
pub async fn create_api_key(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(k): Json<ApiKeyIn>,
) -> Result<impl IntoResponse, ApiError> {
    let source = required("source", &k.source, 60)?.to_lowercase();
    let key = auth::new_token("rk_");
    let prefix: String = key.chars().take(10).collect();
    let id = app
        .store
        .create_api_key(
            user.agency(),
            &source,
            &prefix,
            &auth::token_hash(&key),
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ApiKeyOut { id, key })))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", responses((status = 204), (status = 404)))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.store
        .revoke_api_key(user.agency(), id, app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

const PROPERTY_STATUSES: &[&str] = &["available", "reserved", "sold", "rented", "unavailable"];

#[utoipa::path(post, path = "/api/v1/properties", request_body = Property, responses((status = 201, body = Created), (status = 409)))]
pub async fn create_property(
    State(app): State<AppState>,
    user: Require<Office>,
    Json(p): Json<Property>,
) -> Result<impl IntoResponse, ApiError> {
    if !PROPERTY_STATUSES.contains(&p.status.as_str()) {
        return Err(ApiError::invalid(
            "status",
            format!("status must be one of {}", PROPERTY_STATUSES.join(", ")),
        ));
    }
    let p = Property {
        code: required("code", &p.code, 64)?,
        kind: required("kind", &p.kind, 40)?,
        purpose: required("purpose", &p.purpose, 20)?,
        neighbourhood: optional("neighbourhood", p.neighbourhood.as_deref(), 100)?,
        address: optional("address", p.address.as_deref(), 300)?,
        ..p
    };
    let id = app
        .store
        .create_property(user.agency(), &p, app.clock.now_ms())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => {
                ApiError::invalid("owner_client_id", "no such client")
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}
