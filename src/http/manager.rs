//! The manager's pages: roulette settings (R1, R9), departments, users and their departments,
//! lead sources' API keys, and the property portfolio that interest profiles come from.

use super::{optional, required};
use crate::auth::{self, AuthUser};
use crate::error::{ApiError, Json, Path};
use crate::model::{EveryoneRefused, Role};
use crate::state::AppState;
use crate::store::{ApiKeyInfo, Department, Property, RouletteSettings, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, put};
use axum::Router;
use serde::{Deserialize, Serialize};

const MANAGERS: &[Role] = &[Role::Manager, Role::Admin];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/settings/roulette",
            get(get_roulette_settings).put(update_roulette_settings),
        )
        .route(
            "/api/v1/departments",
            get(list_departments).post(create_department),
        )
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}/departments", put(set_user_departments))
        .route("/api/v1/api-keys", get(list_api_keys).post(create_api_key))
        .route("/api/v1/api-keys/{id}", delete(revoke_api_key))
        .route("/api/v1/properties", axum::routing::post(create_property))
}

#[utoipa::path(get, path = "/api/v1/settings/roulette", responses((status = 200, body = RouletteSettings)))]
pub async fn get_roulette_settings(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<Json<RouletteSettings>, ApiError> {
    user.require(MANAGERS)?;
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
    fallback_broker_id: Option<i64>,
    lead_number_template: Option<String>,
}

/// Changes any of the settings; the rest keep their values. Takes effect for the next offer.
#[utoipa::path(put, path = "/api/v1/settings/roulette", request_body = RouletteSettingsIn, responses((status = 200, body = RouletteSettings), (status = 422)))]
pub async fn update_roulette_settings(
    State(app): State<AppState>,
    user: AuthUser,
    Json(i): Json<RouletteSettingsIn>,
) -> Result<Json<RouletteSettings>, ApiError> {
    user.require(MANAGERS)?;
    let agency = user.agency();
    let mut s = app.store.roulette_settings(agency).await?;
    if let Some(v) = i.roulette_enabled {
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
            .user(agency, b)
            .await
            .map_err(|_| ApiError::invalid("fallback_broker_id", "no such broker"))?;
        if u.role != Role::Broker {
            return Err(ApiError::invalid(
                "fallback_broker_id",
                "the fallback must be a broker",
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

#[utoipa::path(get, path = "/api/v1/departments", responses((status = 200, body = [Department])))]
pub async fn list_departments(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<Department>>, ApiError> {
    Ok(Json(app.store.departments(user.agency()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentIn {
    name: String,
    #[serde(default)]
    is_default: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    id: i64,
}

#[utoipa::path(post, path = "/api/v1/departments", request_body = DepartmentIn, responses((status = 201, body = Created), (status = 409)))]
pub async fn create_department(
    State(app): State<AppState>,
    user: AuthUser,
    Json(d): Json<DepartmentIn>,
) -> Result<impl IntoResponse, ApiError> {
    user.require(MANAGERS)?;
    let name = required("name", &d.name, 80)?;
    let id = app
        .store
        .create_department(user.agency(), &name, d.is_default, app.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut {
    #[serde(flatten)]
    user: User,
    /// Departments the user takes leads from (brokers only).
    departments: Vec<i64>,
    /// Brokers only: "participa da roleta" and the absence period (`…/{id}/availability`).
    availability: Option<crate::store::Availability>,
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [UserOut])))]
pub async fn list_users(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<UserOut>>, ApiError> {
    user.require(&[Role::Manager, Role::Admin, Role::Receptionist])?;
    let agency = user.agency();
    let members = app.store.memberships(agency).await?;
    let users = app.store.users(agency).await?;
    let now = app.clock.now_ms();
    let mut roulette = app.store.availabilities(agency, now).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| {
                let departments = members
                    .iter()
                    .filter(|(b, _)| *b == u.id)
                    .map(|(_, d)| *d)
                    .collect();
                let availability = (u.role == Role::Broker)
                    .then(|| crate::store::Availability::take(&mut roulette, u.id, now));
                UserOut {
                    user: u,
                    departments,
                    availability,
                }
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    email: String,
    name: String,
    role: Role,
    /// At least 8 characters.
    password: String,
    #[serde(default)]
    departments: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/users", request_body = UserIn, responses((status = 201, body = Created), (status = 409), (status = 422)))]
pub async fn create_user(
    State(app): State<AppState>,
    user: AuthUser,
    Json(u): Json<UserIn>,
) -> Result<impl IntoResponse, ApiError> {
    user.require(MANAGERS)?;
    if u.role == Role::Admin && user.user.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "only an admin can create an admin".into(),
        ));
    }
    let email = required("email", &u.email, 254)?.to_lowercase();
    if !email.contains('@') {
        return Err(ApiError::invalid("email", "not an e-mail address"));
    }
    let name = required("name", &u.name, 120)?;
    if u.password.chars().count() < 8 {
        return Err(ApiError::invalid(
            "password",
            "the password needs at least 8 characters",
        ));
    }
    let hash = app.passwords.hash(u.password).await?;
    let agency = user.agency();
    let known: Vec<i64> = app
        .store
        .departments(agency)
        .await?
        .iter()
        .map(|d| d.id)
        .collect();
    if u.departments.iter().any(|d| !known.contains(d)) {
        return Err(ApiError::invalid(
            "departments",
            "no such department in this agency",
        ));
    }
    let id = app
        .store
        .create_user(agency, &email, &name, u.role, &hash, app.clock.now_ms())
        .await?;
    if !u.departments.is_empty() {
        app.store
            .set_broker_departments(agency, id, &u.departments)
            .await?;
    }
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentsIn {
    departments: Vec<i64>,
}

/// R9: which departments the broker takes leads from.
#[utoipa::path(put, path = "/api/v1/users/{id}/departments", request_body = DepartmentsIn, responses((status = 204), (status = 404)))]
pub async fn set_user_departments(
    State(app): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(d): Json<DepartmentsIn>,
) -> Result<StatusCode, ApiError> {
    user.require(MANAGERS)?;
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    if target.role != Role::Broker {
        return Err(ApiError::invalid(
            "id",
            "only brokers belong to departments",
        ));
    }
    app.store
        .set_broker_departments(agency, id, &d.departments)
        .await
        .map_err(|_| ApiError::invalid("departments", "no such department in this agency"))?;
    app.dispatcher.broker_changed(agency, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/api-keys", responses((status = 200, body = [ApiKeyInfo])))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<ApiKeyInfo>>, ApiError> {
    user.require(MANAGERS)?;
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
    user: AuthUser,
    Json(k): Json<ApiKeyIn>,
) -> Result<impl IntoResponse, ApiError> {
    user.require(MANAGERS)?;
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
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    user.require(MANAGERS)?;
    app.store
        .revoke_api_key(user.agency(), id, app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

const PROPERTY_STATUSES: &[&str] = &["available", "reserved", "sold", "rented", "unavailable"];

#[utoipa::path(post, path = "/api/v1/properties", request_body = Property, responses((status = 201, body = Created), (status = 409)))]
pub async fn create_property(
    State(app): State<AppState>,
    user: AuthUser,
    Json(p): Json<Property>,
) -> Result<impl IntoResponse, ApiError> {
    user.require(&[Role::Manager, Role::Admin, Role::Receptionist])?;
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
