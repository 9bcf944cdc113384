//! Teams and distribution (T1, T2, T4): teams of brokers, distributing the first N matches of
//! the client search, and the contact report per broker and team. The clients' own routes are
//! in `clients.rs`.

use super::clients::clean_filter;
use super::crm::{notify, period, require_active_offer};
use super::pipeline::PeriodQuery;
use super::required;
use crate::auth::{AuthUser, Managers, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::model::BrokerId;
use crate::state::AppState;
use crate::store::{ClientFilter, ContactsReport, Distributed, Subject, Team};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;

/// The most clients one distribution may deal.
pub(super) const MAX_DISTRIBUTION: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/{id}", put(update_team))
        .route("/api/v1/distributions", post(distribute))
        .route("/api/v1/reports/contacts", get(contacts_report))
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
    brokers: Vec<BrokerId>,
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
