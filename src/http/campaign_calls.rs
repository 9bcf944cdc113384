//! The broker's calling screen (O4, O5): their campaigns, the next client, the result, "continue
//! later".

use super::crm::{notify, require_active_offer};
use super::optional;
use crate::auth::{Brokers, Require};
use crate::error::{ApiError, Json, Path};
use crate::model::Outcome;
use crate::state::AppState;
use crate::store::{Campaign, CampaignCall, OutcomeRecorded, Subject};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/campaigns", get(my_campaigns))
        .route("/api/v1/campaigns/{id}/next", post(next_client))
        .route(
            "/api/v1/campaigns/{id}/entries/{entry}/result",
            post(save_result),
        )
        .route(
            "/api/v1/campaigns/{id}/entries/{entry}/later",
            post(continue_later),
        )
}

/// O4: the broker's campaigns that have not expired.
#[utoipa::path(get, path = "/api/v1/me/campaigns", responses((status = 200, body = [Campaign])))]
pub async fn my_campaigns(
    State(app): State<AppState>,
    user: Require<Brokers>,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    Ok(Json(
        app.store
            .broker_campaigns(user.agency(), user.broker(), app.clock.now_ms())
            .await?,
    ))
}

/// O4 "Atender": the next client (the one kept with "continue later" first); 204 when none
/// is left for this broker; 409 when the campaign has expired.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/next",
    responses((status = 200, body = CampaignCall), (status = 204), (status = 409)))]
pub async fn next_client(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    match app
        .store
        .next_campaign_client(user.agency(), id, user.broker(), app.clock.now_ms())
        .await?
    {
        Some(call) => Ok(Json(call).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultIn {
    result: Outcome,
    comment: Option<String>,
}

/// O4, O5 "Salvar": classifies the client; positive results open a pending attendance.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/entries/{entry}/result", request_body = ResultIn,
    responses((status = 200, body = OutcomeRecorded), (status = 409)))]
pub async fn save_result(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path((id, entry)): Path<(i64, i64)>,
    Json(r): Json<ResultIn>,
) -> Result<Json<OutcomeRecorded>, ApiError> {
    let agency = user.agency();
    require_active_offer(&app, agency).await?;
    let comment = optional("comment", r.comment.as_deref(), 4000)?;
    let now = app.clock.now_ms();
    let out = app
        .store
        .record_campaign_result(
            agency,
            id,
            entry,
            user.broker(),
            r.result,
            comment.as_deref(),
            now,
        )
        .await?;
    if let Some(lead) = out.lead_id {
        let text = format!(
            "Oferta ativa: {} marcou interesse de um cliente (lead {})",
            user.user.name,
            out.lead_number.as_deref().unwrap_or("")
        );
        let subject = Subject {
            lead: Some(lead),
            client: None,
            broker: Some(user.broker()),
        };
        notify(&app, agency, "campaign_positive", subject, &text, now).await;
    }
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaterIn {
    comment: Option<String>,
}

/// O5 "Continuar depois": the client stays with this broker for the next "Atender".
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/entries/{entry}/later", request_body = LaterIn,
    responses((status = 204), (status = 409)))]
pub async fn continue_later(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path((id, entry)): Path<(i64, i64)>,
    Json(l): Json<LaterIn>,
) -> Result<StatusCode, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    let comment = optional("comment", l.comment.as_deref(), 4000)?;
    app.store
        .keep_campaign_client(user.agency(), id, entry, user.broker(), comment.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
