//! The client search, teams and distribution (T1–T4): the manager's search, the worked mark,
//! teams, distributing the first N matches, the broker's distributed clients and their contact
//! outcomes, and the contact report per broker and team.

use super::crm::{notify, period, require_active_offer};
use super::pipeline::PeriodQuery;
use super::{optional, required};
use crate::auth::{AuthUser, Brokers, Managers, Office, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::model::Outcome;
use crate::state::AppState;
use crate::store::{
    ClientFilter, ClientRow, ContactsReport, Distributed, OutcomeRecorded, Subject, Team,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

/// The most clients one distribution may deal.
const MAX_DISTRIBUTION: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clients/search", post(search_clients))
        .route("/api/v1/clients/worked", post(mark_worked))
        .route("/api/v1/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/{id}", put(update_team))
        .route("/api/v1/distributions", post(distribute))
        .route("/api/v1/me/clients", get(my_clients))
        .route("/api/v1/clients/{id}/contacts", post(client_contact))
        .route("/api/v1/reports/contacts", get(contacts_report))
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
#[utoipa::path(post, path = "/api/v1/clients/search", request_body = SearchIn,
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
#[utoipa::path(post, path = "/api/v1/clients/worked", request_body = WorkedIn, responses((status = 200, body = Changed)))]
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

#[utoipa::path(get, path = "/api/v1/teams", responses((status = 200, body = [Team])))]
pub async fn list_teams(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(app.store.teams(user.agency()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    name: String,
    supervisor_id: i64,
    brokers: Vec<i64>,
}

async fn save_team(
    app: &AppState,
    user: &AuthUser,
    id: Option<i64>,
    t: TeamIn,
) -> Result<Team, ApiError> {
    let name = required("name", &t.name, 100)?;
    let agency = user.agency();
    let id = app
        .store
        .save_team(
            agency,
            id,
            &name,
            t.supervisor_id,
            &t.brokers,
            app.clock.now_ms(),
        )
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(m) if !m.contains("exists") => {
                ApiError::invalid("brokers", m)
            }
            e => e.into(),
        })?;
    app.store
        .teams(agency)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(ApiError::NotFound)
}

/// T1: a team of brokers under a supervisor.
#[utoipa::path(post, path = "/api/v1/teams", request_body = TeamIn, responses((status = 201, body = Team), (status = 409), (status = 422)))]
pub async fn create_team(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(t): Json<TeamIn>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(save_team(&app, &user, None, t).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", request_body = TeamIn, responses((status = 200, body = Team)))]
pub async fn update_team(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(t): Json<TeamIn>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(save_team(&app, &user, Some(id), t).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeIn {
    #[serde(default)]
    filter: ClientFilter,
    /// How many of the first matching clients.
    limit: i64,
    team_id: Option<i64>,
    campaign_id: Option<i64>,
}

/// T2: the first N matching clients to a team (evenly, each to one broker alone) or to a
/// campaign. Clients marked worked (T3) or already distributed are left out.
#[utoipa::path(post, path = "/api/v1/distributions", request_body = DistributeIn,
    responses((status = 201, body = Distributed), (status = 409), (status = 422)))]
pub async fn distribute(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(d): Json<DistributeIn>,
) -> Result<impl IntoResponse, ApiError> {
    if !(1..=MAX_DISTRIBUTION).contains(&d.limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_DISTRIBUTION}"),
        ));
    }
    let f = clean_filter(d.filter)?;
    let agency = user.agency();
    let now = app.clock.now_ms();
    let out = match (d.team_id, d.campaign_id) {
        (Some(team), None) => {
            let out = app
                .store
                .distribute_to_team(agency, team, &f, d.limit, now)
                .await?;
            for (broker, n) in out.per_broker.iter().filter(|(_, n)| *n > 0) {
                let text = format!("{n} cliente(s) distribuídos para você");
                let subject = Subject {
                    lead: None,
                    client: None,
                    broker: Some(*broker),
                };
                notify(&app, agency, "clients_distributed", subject, &text, now).await;
            }
            out
        }
        (None, Some(campaign)) => {
            require_active_offer(&app, agency).await?;
            app.store
                .distribute_to_campaign(agency, campaign, &f, d.limit, now)
                .await?
        }
        _ => {
            return Err(ApiError::invalid(
                "team_id",
                "give either team_id or campaign_id",
            ))
        }
    };
    Ok((StatusCode::CREATED, Json(out)))
}

/// T2: the clients distributed to this broker.
#[utoipa::path(get, path = "/api/v1/me/clients", responses((status = 200, body = [ClientRow])))]
pub async fn my_clients(
    State(app): State<AppState>,
    user: Require<Brokers>,
) -> Result<Json<Vec<ClientRow>>, ApiError> {
    Ok(Json(
        app.store
            .broker_team_clients(user.agency(), user.user.id)
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
#[utoipa::path(post, path = "/api/v1/clients/{id}/contacts", request_body = ClientContactIn,
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
            user.user.id,
            c.outcome,
            comment.as_deref(),
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// T4: contact outcomes per broker and per team.
#[utoipa::path(get, path = "/api/v1/reports/contacts", params(PeriodQuery), responses((status = 200, body = ContactsReport)))]
pub async fn contacts_report(
    State(app): State<AppState>,
    user: Require<Managers>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<ContactsReport>, ApiError> {
    let (from, to) = period(&app, q.from.as_deref(), q.to.as_deref())?;
    Ok(Json(
        app.store.contacts_report(user.agency(), from, to).await?,
    ))
}
