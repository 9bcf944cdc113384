//! Departments (R9): listed, created, renamed, made the default, removed. What removal does to
//! members and waiting leads is in docs/ROUTING.md.

use super::manager::Created;
use super::required;
use crate::auth::{AuthUser, Managers, Require};
use crate::error::{ApiError, Json, Path};
use crate::state::AppState;
use crate::store::Department;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/departments",
            get(list_departments).post(create_department),
        )
        .route(
            "/api/v1/departments/{id}",
            patch(update_department).delete(remove_department),
        )
}

/// The agency's departments (removed ones are not listed).
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

/// Creates a department; the name of a removed one brings that one back, without members.
#[utoipa::path(post, path = "/api/v1/departments", request_body = DepartmentIn,
    responses((status = 201, body = Created), (status = 409, description = "a department of the agency has this name")))]
pub async fn create_department(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(d): Json<DepartmentIn>,
) -> Result<impl IntoResponse, ApiError> {
    let name = required("name", &d.name, 80)?;
    let id = app
        .store
        .create_department(user.agency(), &name, d.is_default, app.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatch {
    /// The new name (1–80 characters).
    name: Option<String>,
    /// `true` makes this the agency's default department (leads that name none go there).
    /// There is always one: to change it, make another the default.
    is_default: Option<bool>,
}

/// Renames a department or makes it the default. Its members and leads stay as they are.
#[utoipa::path(patch, path = "/api/v1/departments/{id}", request_body = DepartmentPatch,
    responses((status = 204), (status = 409, description = "another department of the agency has this name")))]
pub async fn update_department(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(d): Json<DepartmentPatch>,
) -> Result<StatusCode, ApiError> {
    let name = d
        .name
        .as_deref()
        .map(|n| required("name", n, 80))
        .transpose()?;
    if d.is_default == Some(false) {
        return Err(ApiError::invalid(
            "is_default",
            "Sempre há um departamento padrão: para trocá-lo, torne outro o padrão.",
        ));
    }
    app.store
        .update_department(
            user.agency(),
            id,
            name.as_deref(),
            d.is_default == Some(true),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DepartmentRemoved {
    /// Waiting (or offered) leads now in the default department.
    moved_leads: usize,
    /// Brokers who were members (they stay in their other departments).
    members: usize,
}

/// Removes a department: its members leave it and its waiting leads move to the default
/// department at once (the audit of each says so). Its history keeps its name.
#[utoipa::path(delete, path = "/api/v1/departments/{id}",
    responses((status = 200, body = DepartmentRemoved), (status = 409, description = "the default department cannot be removed")))]
pub async fn remove_department(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<DepartmentRemoved>, ApiError> {
    let agency = user.agency();
    let removed = app
        .store
        .remove_department(agency, id, app.clock.now_ms())
        .await?;
    tracing::info!(
        %agency,
        department = id,
        moved = removed.moved_leads.len(),
        "department removed"
    );
    // The roulette reads the agency again: leads in their new department, members' lists.
    // Only a stopping dispatcher refuses, and a restart reads everything from the store.
    if let Err(e) = app.dispatcher.reload(agency).await {
        tracing::warn!(%agency, error = %e, "reloading the roulette after a removal failed");
    }
    Ok(Json(DepartmentRemoved {
        moved_leads: removed.moved_leads.len(),
        members: removed.members.len(),
    }))
}
