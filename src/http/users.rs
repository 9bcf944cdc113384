//! The agency's users as its managers see them: listed, created (with a password the user
//! replaces at first sign-in), edited (name, e-mail, role, departments). Deactivation and
//! password resets are in `user_access.rs`.

use super::required;
use crate::auth::{self, AuthUser, Managers, Office, Require};
use crate::error::{ApiError, Json, Path};
use crate::model::{AgencyId, BrokerId, Role};
use crate::state::AppState;
use crate::store::{User, UserChanges};
use crate::ws::protocol::close;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", axum::routing::patch(update_user))
        .route("/api/v1/users/{id}/departments", put(set_user_departments))
        .merge(super::user_access::router())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut {
    #[serde(flatten)]
    pub(super) user: User,
    /// Departments the user takes leads from (brokers only).
    pub(super) departments: Vec<i64>,
    /// Brokers only: "participa da roleta" and the absence period (`…/{id}/availability`).
    pub(super) availability: Option<crate::store::Availability>,
}

pub(super) async fn user_out(
    app: &AppState,
    agency: AgencyId,
    user: User,
) -> Result<UserOut, ApiError> {
    let departments = app
        .store
        .broker_departments(agency, BrokerId(user.id))
        .await?;
    let availability = match user.role {
        Role::Broker => Some(
            app.store
                .availability(agency, BrokerId(user.id), app.clock.now_ms())
                .await?,
        ),
        _ => None,
    };
    Ok(UserOut {
        user,
        departments,
        availability,
    })
}

/// Only an admin may change an admin, or make someone one.
pub(super) fn may_change(caller: &AuthUser, target: &User) -> Result<(), ApiError> {
    if target.role == Role::Admin && caller.user.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "Só um administrador pode alterar outro administrador.".into(),
        ));
    }
    Ok(())
}

fn valid_email(v: &str) -> Result<String, ApiError> {
    let email = required("email", v, 254)?.to_lowercase();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(ApiError::invalid("email", "Informe um e-mail válido."));
    }
    Ok(email)
}

/// Every department id must be one of the agency's (and not removed).
async fn check_departments(app: &AppState, agency: AgencyId, ids: &[i64]) -> Result<(), ApiError> {
    let known = app.store.departments(agency).await?;
    if ids.iter().any(|d| !known.iter().any(|k| k.id == *d)) {
        return Err(ApiError::invalid(
            "departments",
            "no such department in this agency",
        ));
    }
    Ok(())
}

/// Every user of the agency, deactivated ones included (`active`, `deactivated_at_ms`).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [UserOut])))]
pub async fn list_users(
    State(app): State<AppState>,
    user: Require<Office>,
) -> Result<Json<Vec<UserOut>>, ApiError> {
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
                    .filter(|(b, _)| b.0 == u.id)
                    .map(|(_, d)| *d)
                    .collect();
                let availability = (u.role == Role::Broker)
                    .then(|| crate::store::Availability::take(&mut roulette, BrokerId(u.id), now));
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
    /// 8–256 characters; absent or empty: a one-time password is made and answered once.
    /// Either way the user chooses their own at first sign-in.
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    departments: Vec<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserCreated {
    id: i64,
    /// The one-time password made for the user, when none was given: shown this once, never
    /// stored in clear nor logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    one_time_password: Option<String>,
}

/// Creates a user. Their password is provisional: at first sign-in they must choose their own.
#[utoipa::path(post, path = "/api/v1/users", request_body = UserIn,
    responses((status = 201, body = UserCreated), (status = 409, description = "the e-mail cannot be used"), (status = 422)))]
pub async fn create_user(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(u): Json<UserIn>,
) -> Result<impl IntoResponse, ApiError> {
    if u.role == Role::Admin && user.user.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "only an admin can create an admin".into(),
        ));
    }
    let email = valid_email(&u.email)?;
    let name = required("name", &u.name, 120)?;
    let (password, generated) = match u.password.filter(|p| !p.is_empty()) {
        Some(p) => {
            let n = p.chars().count();
            if !(8..=256).contains(&n) {
                return Err(ApiError::invalid(
                    "password",
                    "A senha precisa ter de 8 a 256 caracteres (ou deixe em branco para gerar uma).",
                ));
            }
            (p, false)
        }
        None => (auth::one_time_password(), true),
    };
    let agency = user.agency();
    if u.role != Role::Broker && !u.departments.is_empty() {
        return Err(ApiError::invalid(
            "departments",
            "Só corretores pertencem a departamentos.",
        ));
    }
    check_departments(&app, agency, &u.departments).await?;
    let hash = app.passwords.hash(password.clone()).await?;
    let id = app
        .store
        .create_user(
            agency,
            &email,
            &name,
            u.role,
            &hash,
            true,
            app.clock.now_ms(),
        )
        .await?;
    if !u.departments.is_empty() {
        app.store
            .set_broker_departments(agency, BrokerId(id), &u.departments)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(UserCreated {
            id,
            one_time_password: generated.then_some(password),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    name: Option<String>,
    /// Unique across every agency (sign-in is by e-mail alone).
    email: Option<String>,
    role: Option<Role>,
    /// All the broker's departments (replaces the list); brokers only.
    departments: Option<Vec<i64>>,
}

/// Edits a user; absent fields keep their value. A broker given another role leaves their
/// departments, is signed out of their broker pages (close code 4003) and out of the rotation;
/// an open offer of theirs goes to the next broker.
#[utoipa::path(patch, path = "/api/v1/users/{id}", request_body = UserPatch,
    responses((status = 200, body = UserOut),
        (status = 409, description = "the e-mail cannot be used, or the change would leave the agency without an active manager")))]
pub async fn update_user(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(p): Json<UserPatch>,
) -> Result<Json<UserOut>, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    may_change(&user, &target)?;
    if p.role == Some(Role::Admin) && user.user.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "only an admin can create an admin".into(),
        ));
    }
    let role = p.role.unwrap_or(target.role);
    if let Some(deps) = &p.departments {
        if role != Role::Broker && !deps.is_empty() {
            return Err(ApiError::invalid(
                "departments",
                "Só corretores pertencem a departamentos.",
            ));
        }
        check_departments(&app, agency, deps).await?;
    }
    let changes = UserChanges {
        name: p
            .name
            .as_deref()
            .map(|n| required("name", n, 120))
            .transpose()?,
        email: p.email.as_deref().map(valid_email).transpose()?,
        role: p.role,
        departments: p.departments,
    };
    let updated = app.store.update_user(agency, id, &changes).await?;
    if target.role == Role::Broker && updated.role != Role::Broker {
        app.roster.close_user_sockets(agency, id, close::SIGNED_OUT);
        // They may have been the fallback broker, which the store has just unset.
        if let Err(e) = app.dispatcher.settings_changed(agency).await {
            tracing::warn!(%agency, error = %e, "telling the roulette about the fallback failed");
        }
    }
    if target.role == Role::Broker || updated.role == Role::Broker {
        if let Err(e) = app.dispatcher.broker_changed(agency, BrokerId(id)).await {
            tracing::warn!(%agency, user = id, error = %e, "telling the roulette about a user failed");
        }
    }
    Ok(Json(user_out(&app, agency, updated).await?))
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
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(d): Json<DepartmentsIn>,
) -> Result<StatusCode, ApiError> {
    let agency = user.agency();
    let target = app.store.user(agency, id).await?;
    if target.role != Role::Broker {
        return Err(ApiError::invalid(
            "id",
            "only brokers belong to departments",
        ));
    }
    app.store
        .set_broker_departments(agency, BrokerId(id), &d.departments)
        .await
        .map_err(|_| ApiError::invalid("departments", "no such department in this agency"))?;
    app.dispatcher.broker_changed(agency, BrokerId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
