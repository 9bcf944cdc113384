//! Every `/api/v1/clients…` route, and the broker's own clients: the office's client search (the
//! one campaigns and distribution select from), the worked mark (T3), the phone match the lead
//! form asks (L2), a broker's distributed clients (T2) and their contact outcomes (T4).

use super::optional;
use super::teams::MAX_DISTRIBUTION;
use crate::auth::{Brokers, Managers, Office, Require, Staff};
use crate::error::{ApiError, Json, Path, Query};
use crate::model::Outcome;
use crate::state::AppState;
use crate::store::{ClientFilter, ClientRow, OutcomeRecorded};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clients/search", post(search_clients))
        .route("/api/v1/clients/worked", post(mark_worked))
        .route("/api/v1/clients/match", get(match_phone))
        .route("/api/v1/clients/{id}/contacts", post(client_contact))
        .route("/api/v1/me/clients", get(my_clients))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIn {
    #[serde(default)]
    filter: ClientFilter,
    /// The last id of the previous page (pages go newest first).
    before: Option<i64>,
    /// 1–200, default 50.
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub clients: Vec<ClientRow>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// Normalises the phone filter (typed any way) and bounds the text.
pub(crate) fn clean_filter(mut f: ClientFilter) -> Result<ClientFilter, ApiError> {
    if let Some(p) = f.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        f.phone = Some(crate::phone::normalize(p).map_err(|m| ApiError::invalid("phone", m))?);
    } else {
        f.phone = None;
    }
    f.q = optional("q", f.q.as_deref(), 100)?;
    f.status = optional("status", f.status.as_deref(), 60)?;
    f.source = optional("source", f.source.as_deref(), 100)?;
    Ok(f)
}

/// The client search campaigns and distribution select from.
#[utoipa::path(post, tag = "teams", path = "/api/v1/clients/search", request_body = SearchIn,
    responses((status = 200, body = SearchPage), (status = 422)))]
pub async fn search_clients(
    State(app): State<AppState>,
    user: Require<Office>,
    Json(s): Json<SearchIn>,
) -> Result<Json<SearchPage>, ApiError> {
    let f = clean_filter(s.filter)?;
    let limit = s.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 200"));
    }
    let clients = app
        .store
        .search_clients(user.agency(), &f, s.before, limit, app.clock.now_ms())
        .await?;
    let next_before = (clients.len() as i64 == limit)
        .then(|| clients.last().map(|c| c.id))
        .flatten();
    Ok(Json(SearchPage {
        clients,
        next_before,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkedIn {
    client_ids: Vec<i64>,
    /// true marks them as already worked (out of further distribution); false clears it.
    worked: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Changed {
    pub changed: u64,
}

/// T3: the "already worked" mark.
#[utoipa::path(post, tag = "teams", path = "/api/v1/clients/worked", request_body = WorkedIn, responses((status = 200, body = Changed)))]
pub async fn mark_worked(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(w): Json<WorkedIn>,
) -> Result<Json<Changed>, ApiError> {
    if w.client_ids.is_empty() || w.client_ids.len() > MAX_DISTRIBUTION as usize {
        return Err(ApiError::invalid("client_ids", "give 1 to 10000 clients"));
    }
    let changed = app
        .store
        .mark_worked(user.agency(), &w.client_ids, w.worked, app.clock.now_ms())
        .await?;
    Ok(Json(Changed { changed }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PhoneQuery {
    phone: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PhoneMatch {
    /// The phone as stored (E.164).
    pub phone: String,
    /// The client with exactly this phone, if any (L2).
    pub client: Option<ClientRow>,
}

/// L2: the lead form asks, before saving, whether the phone is an existing client's.
#[utoipa::path(get, tag = "pipeline", path = "/api/v1/clients/match", params(PhoneQuery),
    responses((status = 200, body = PhoneMatch), (status = 422)))]
pub async fn match_phone(
    State(app): State<AppState>,
    user: Require<Staff>,
    Query(q): Query<PhoneQuery>,
) -> Result<Json<PhoneMatch>, ApiError> {
    let phone = crate::phone::normalize(&q.phone).map_err(|m| ApiError::invalid("phone", m))?;
    let client = app.store.client_by_phone(user.agency(), &phone).await?;
    Ok(Json(PhoneMatch { phone, client }))
}

/// T2: the clients distributed to this broker.
#[utoipa::path(get, tag = "teams", path = "/api/v1/me/clients", responses((status = 200, body = [ClientRow])))]
pub async fn my_clients(
    State(app): State<AppState>,
    user: Require<Brokers>,
) -> Result<Json<Vec<ClientRow>>, ApiError> {
    Ok(Json(
        app.store
            .broker_team_clients(user.agency(), user.broker())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientContactIn {
    outcome: Outcome,
    comment: Option<String>,
}

/// T4: a contact with a client distributed to (or linked to) this broker.
#[utoipa::path(post, tag = "teams", path = "/api/v1/clients/{id}/contacts", request_body = ClientContactIn,
    responses((status = 201, body = OutcomeRecorded), (status = 404)))]
pub async fn client_contact(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
    Json(c): Json<ClientContactIn>,
) -> Result<impl IntoResponse, ApiError> {
    let comment = optional("comment", c.comment.as_deref(), 4000)?;
    let out = app
        .store
        .record_client_contact(
            user.agency(),
            id,
            user.broker(),
            c.outcome,
            comment.as_deref(),
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}
