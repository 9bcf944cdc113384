//! Active-offer campaigns (O1–O3, O6): the settings, the manager's campaigns and the add-clients
//! preview. The broker's calling flow is in `campaign_calls.rs`.

use super::crm::{parse_when, require_active_offer};
use super::{optional, required};
use crate::auth::{Managers, Require};
use crate::error::{ApiError, Json, Path};
use crate::model::{AgencyId, BrokerId};
use crate::state::AppState;
use crate::store::{
    AddChoices, AddPreview, AddResult, Campaign, CampaignDef, CrmSettings, Selection, MAX_SELECTION,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/settings/crm",
            get(get_crm_settings).put(update_crm_settings),
        )
        .route(
            "/api/v1/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route(
            "/api/v1/campaigns/{id}",
            get(get_campaign).put(update_campaign),
        )
        .route("/api/v1/campaigns/{id}/preview", post(preview_add))
        .route("/api/v1/campaigns/{id}/clients", post(confirm_add))
        .route("/api/v1/campaigns/{id}/release", post(release_held))
}

#[utoipa::path(get, path = "/api/v1/settings/crm", responses((status = 200, body = CrmSettings)))]
pub async fn get_crm_settings(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<CrmSettings>, ApiError> {
    Ok(Json(app.store.crm_settings(user.agency()).await?))
}

/// O6 (switch) and O3 (quarantine days, 0–365).
#[utoipa::path(put, path = "/api/v1/settings/crm", request_body = CrmSettings,
    responses((status = 200, body = CrmSettings), (status = 422)))]
pub async fn update_crm_settings(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(s): Json<CrmSettings>,
) -> Result<Json<CrmSettings>, ApiError> {
    if s.active_offer_enabled
        && !app
            .store
            .agency_standing(user.agency())
            .await?
            .features
            .campaigns
    {
        return Err(super::crm::campaigns_not_in_plan());
    }
    if !(0..=365).contains(&s.quarantine_days) {
        return Err(ApiError::invalid(
            "quarantine_days",
            "quarantine must be 0 to 365 days",
        ));
    }
    app.store.update_crm_settings(user.agency(), &s).await?;
    Ok(Json(app.store.crm_settings(user.agency()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    name: String,
    /// The last day (Brasília time), or a date and time.
    expires_at: String,
    property_id: Option<i64>,
    /// The development on offer, by name.
    development: Option<String>,
    description: Option<String>,
    brokers: Vec<BrokerId>,
}

async fn campaign_def(
    app: &AppState,
    agency: AgencyId,
    c: CampaignIn,
) -> Result<CampaignDef, ApiError> {
    // Checked in the form's order, so the first error is the first field to fix.
    let name = required("name", &c.name, 120)?;
    let expires_at_ms = parse_when("expires_at", &c.expires_at)?;
    if c.brokers.is_empty() {
        return Err(ApiError::invalid(
            "brokers",
            "choose at least one participating broker",
        ));
    }
    if let Some(p) = c.property_id {
        app.store
            .property(agency, p)
            .await
            .map_err(|_| ApiError::invalid("property_id", "no such property in this agency"))?;
    }
    let mut brokers = c.brokers;
    brokers.sort_unstable();
    brokers.dedup();
    Ok(CampaignDef {
        name,
        expires_at_ms,
        property_id: c.property_id,
        development: optional("development", c.development.as_deref(), 200)?,
        description: optional("description", c.description.as_deref(), 4000)?,
        brokers,
    })
}

#[utoipa::path(get, path = "/api/v1/campaigns", responses((status = 200, body = [Campaign]), (status = 403)))]
pub async fn list_campaigns(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    Ok(Json(
        app.store
            .campaigns(user.agency(), app.clock.now_ms())
            .await?,
    ))
}

/// O1: name, expiry (in the future) and participating brokers are required.
#[utoipa::path(post, path = "/api/v1/campaigns", request_body = CampaignIn,
    responses((status = 201, body = Campaign), (status = 403), (status = 422)))]
pub async fn create_campaign(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(c): Json<CampaignIn>,
) -> Result<impl IntoResponse, ApiError> {
    let agency = user.agency();
    require_active_offer(&app, agency).await?;
    let def = campaign_def(&app, agency, c).await?;
    let now = app.clock.now_ms();
    if def.expires_at_ms <= now {
        return Err(ApiError::invalid(
            "expires_at",
            "the expiry must be in the future",
        ));
    }
    let id = app
        .store
        .create_campaign(agency, &def, user.user.id, now)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(m) => ApiError::invalid("brokers", m),
            e => e.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(app.store.campaign(agency, id, now).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", responses((status = 200, body = Campaign), (status = 404)))]
pub async fn get_campaign(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Campaign>, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    Ok(Json(
        app.store
            .campaign(user.agency(), id, app.clock.now_ms())
            .await?,
    ))
}

/// Changes a campaign; an expiry in the past ends it early (its clients stay in quarantine).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", request_body = CampaignIn,
    responses((status = 200, body = Campaign), (status = 422)))]
pub async fn update_campaign(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(c): Json<CampaignIn>,
) -> Result<Json<Campaign>, ApiError> {
    let agency = user.agency();
    require_active_offer(&app, agency).await?;
    let def = campaign_def(&app, agency, c).await?;
    app.store
        .update_campaign(agency, id, &def)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(m) => ApiError::invalid("brokers", m),
            e => e.into(),
        })?;
    Ok(Json(
        app.store.campaign(agency, id, app.clock.now_ms()).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    selection: Selection,
}

fn check_selection(s: &Selection) -> Result<(), ApiError> {
    let n = match s {
        Selection::Ids(v) => v.len() as i64,
        Selection::Search { limit, .. } => *limit,
    };
    if !(1..=MAX_SELECTION).contains(&n) {
        return Err(ApiError::invalid(
            "selection",
            format!("select 1 to {MAX_SELECTION} clients"),
        ));
    }
    Ok(())
}

/// O2: what adding these clients would do; nothing is written.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/preview", request_body = PreviewIn,
    responses((status = 200, body = AddPreview), (status = 422)))]
pub async fn preview_add(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(p): Json<PreviewIn>,
) -> Result<Json<AddPreview>, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    check_selection(&p.selection)?;
    Ok(Json(
        app.store
            .preview_campaign_add(user.agency(), id, &p.selection, app.clock.now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    selection: Selection,
    /// "any": any participating broker may attend them; "own": each to their own broker.
    route: String,
    #[serde(default)]
    add_brokers: Vec<BrokerId>,
    /// The preview's token.
    token: String,
}

/// O2 confirmed: writes what the preview showed, or 409 if the data changed since.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/clients", request_body = ConfirmIn,
    responses((status = 201, body = AddResult), (status = 409, description = "changed since the preview")))]
pub async fn confirm_add(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Json(c): Json<ConfirmIn>,
) -> Result<impl IntoResponse, ApiError> {
    require_active_offer(&app, user.agency()).await?;
    check_selection(&c.selection)?;
    let route_own = match c.route.as_str() {
        "own" => true,
        "any" => false,
        _ => {
            return Err(ApiError::invalid(
                "route",
                "route must be \"any\" or \"own\"",
            ))
        }
    };
    let choices = AddChoices {
        route_own,
        add_brokers: c.add_brokers,
    };
    let out = app
        .store
        .confirm_campaign_add(
            user.agency(),
            id,
            &c.selection,
            &choices,
            &c.token,
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Released {
    pub released: u64,
}

/// Puts every client held by a broker back in the queue (a broker who left, a call abandoned);
/// a broker on one of those calls can no longer save it.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/release", responses((status = 200, body = Released), (status = 404)))]
pub async fn release_held(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Released>, ApiError> {
    let agency = user.agency();
    require_active_offer(&app, agency).await?;
    app.store.campaign(agency, id, app.clock.now_ms()).await?;
    let released = app.store.release_held_clients(agency, id).await?;
    Ok(Json(Released { released }))
}
