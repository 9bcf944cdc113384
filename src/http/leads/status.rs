//! A lead's place in its pipeline (L1, L3, L4): the lead list with the overdue badge, the status
//! along its type's transitions, and the pipeline fields.

use super::visible_lead;
use crate::auth::{LeadWorkers, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::http::crm::{check_manager, notify, parse_when};
use crate::http::optional;
use crate::model::{LeadId, Role};
use crate::state::AppState;
use crate::store::{LeadCrm, LeadListFilter, LeadView, Subject};
use axum::extract::State;
use serde::Deserialize;

/// Managers see every lead of the agency; brokers their own.
#[utoipa::path(get, tag = "pipeline", path = "/api/v1/leads", params(LeadListFilter), responses((status = 200, body = [LeadView])))]
pub async fn list_leads(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Query(f): Query<LeadListFilter>,
) -> Result<Json<Vec<LeadView>>, ApiError> {
    let mine = (user.user.role == Role::Broker).then_some(user.broker());
    Ok(Json(
        app.store
            .leads(user.agency(), mine, &f, app.clock.now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    status: String,
}

/// L1: moves the lead along its type's transitions; any other move answers 409 naming the
/// allowed ones.
#[utoipa::path(post, tag = "pipeline", path = "/api/v1/leads/{id}/status", request_body = StatusIn,
    responses((status = 200, body = LeadView), (status = 409, description = "transition not allowed")))]
pub async fn change_status(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Path(id): Path<i64>,
    Json(s): Json<StatusIn>,
) -> Result<Json<LeadView>, ApiError> {
    let id = LeadId(id);
    let lead = visible_lead(&app, &user, id).await?;
    let agency = user.agency();
    let now = app.clock.now_ms();
    let from = app
        .store
        .change_lead_status(agency, id, s.status.trim(), user.user.id, now)
        .await?;
    let text = format!("Lead {}: {} → {}", lead.number, from, s.status.trim());
    let subject = Subject {
        lead: Some(id),
        client: Some(lead.client_id),
        broker: lead.broker_id,
    };
    notify(&app, agency, "lead_status_changed", subject, &text, now).await;
    Ok(Json(app.store.lead(agency, id, now).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineIn {
    ad_campaign: Option<String>,
    /// A date, a date and time, or null with `clear_due` to remove it.
    due_at: Option<String>,
    #[serde(default)]
    clear_due: bool,
    urgent: Option<bool>,
    location: Option<String>,
    manager_id: Option<i64>,
}

/// L3, L4: ad campaign, due date, urgent flag, location, responsible manager.
#[utoipa::path(post, tag = "pipeline", path = "/api/v1/leads/{id}/pipeline", request_body = PipelineIn,
    responses((status = 200, body = LeadView), (status = 422)))]
pub async fn update_pipeline(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Path(id): Path<i64>,
    Json(p): Json<PipelineIn>,
) -> Result<Json<LeadView>, ApiError> {
    let id = LeadId(id);
    let lead = visible_lead(&app, &user, id).await?;
    let agency = user.agency();
    if let Some(m) = p.manager_id {
        check_manager(&app, agency, m).await?;
    }
    let crm = LeadCrm {
        type_id: None,
        ad_campaign: optional("ad_campaign", p.ad_campaign.as_deref(), 200)?,
        due_at_ms: match p.due_at.as_deref() {
            Some(d) => Some(parse_when("due_at", d)?),
            None => None,
        },
        urgent: p.urgent.unwrap_or(lead.urgent != 0),
        location: optional("location", p.location.as_deref(), 300)?,
        manager_id: p.manager_id,
    };
    app.store
        .update_lead_crm(agency, id, &crm, p.clear_due)
        .await?;
    Ok(Json(app.store.lead(agency, id, app.clock.now_ms()).await?))
}
