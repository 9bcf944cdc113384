//! What frames the lead pipeline (L1, L3, L6): lead types and their transitions, the marketing
//! report, and notifications with their rules. A lead's own status and pipeline fields are
//! under `leads/`.

use super::crm::period;
use crate::auth::{AuthUser, Managers, Require, Staff};
use crate::error::{ApiError, Json, Query};
use crate::state::AppState;
use crate::store::{
    LeadType, LeadTypeDef, MarketingRow, Notification, NotificationRule, EVENTS, RECIPIENTS,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/lead-types",
            get(list_lead_types).post(create_lead_type),
        )
        .route("/api/v1/reports/marketing", get(marketing_report))
        .route(
            "/api/v1/settings/notifications",
            get(get_notification_rules).put(set_notification_rules),
        )
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/notifications/read", post(read_notifications))
}

#[utoipa::path(get, path = "/api/v1/lead-types", responses((status = 200, body = [LeadType])))]
pub async fn list_lead_types(
    State(app): State<AppState>,
    user: Require<Staff>,
) -> Result<Json<Vec<LeadType>>, ApiError> {
    Ok(Json(app.store.lead_types(user.agency()).await?))
}

/// L1: a new lead type: its statuses, the initial one, and the transitions allowed between them.
#[utoipa::path(post, path = "/api/v1/lead-types", request_body = LeadTypeDef,
    responses((status = 201, body = LeadType), (status = 409), (status = 422)))]
pub async fn create_lead_type(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(mut def): Json<LeadTypeDef>,
) -> Result<(StatusCode, Json<LeadType>), ApiError> {
    def.name = super::required("name", &def.name, 100)?;
    if def.statuses.is_empty() || def.statuses.len() > 30 {
        return Err(ApiError::invalid(
            "statuses",
            "a type needs 1 to 30 statuses",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for s in &mut def.statuses {
        s.name = super::required("statuses", &s.name, 60)?;
        if names.contains(&s.name) {
            return Err(ApiError::invalid(
                "statuses",
                format!("status \"{}\" is repeated", s.name),
            ));
        }
        names.push(s.name.clone());
    }
    if !names.contains(&def.initial_status) {
        return Err(ApiError::invalid(
            "initial_status",
            "the initial status must be one of the statuses",
        ));
    }
    for t in &def.transitions {
        if !names.contains(&t.from) || !names.contains(&t.to) || t.from == t.to {
            return Err(ApiError::invalid(
                "transitions",
                format!(
                    "transition \"{}\" → \"{}\" must join two different statuses of this type",
                    t.from, t.to
                ),
            ));
        }
    }
    let agency = user.agency();
    let id = app
        .store
        .create_lead_type(agency, &def, app.clock.now_ms())
        .await?;
    let created = app
        .store
        .lead_types(agency)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PeriodQuery {
    /// First day, `2026-11-01` (Brasília time); 30 days before `to` when absent.
    pub from: Option<String>,
    /// Last day, inclusive; today when absent.
    pub to: Option<String>,
}

/// L3: leads, accepted and concluded per ad campaign and source.
#[utoipa::path(get, path = "/api/v1/reports/marketing", params(PeriodQuery),
    responses((status = 200, body = [MarketingRow])))]
pub async fn marketing_report(
    State(app): State<AppState>,
    user: Require<Managers>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Vec<MarketingRow>>, ApiError> {
    let (from, to) = period(&app, q.from.as_deref(), q.to.as_deref())?;
    Ok(Json(
        app.store.marketing_report(user.agency(), from, to).await?,
    ))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationRules {
    pub rules: Vec<NotificationRule>,
    /// What may be chosen.
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
}

fn rules_answer(rules: Vec<NotificationRule>) -> NotificationRules {
    NotificationRules {
        rules,
        events: EVENTS.iter().map(|e| e.to_string()).collect(),
        recipients: RECIPIENTS.iter().map(|r| r.to_string()).collect(),
    }
}

/// L6: which events notify whom.
#[utoipa::path(get, path = "/api/v1/settings/notifications", responses((status = 200, body = NotificationRules)))]
pub async fn get_notification_rules(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<NotificationRules>, ApiError> {
    Ok(Json(rules_answer(
        app.store.notification_rules(user.agency()).await?,
    )))
}

/// L6: replaces the rules.
#[utoipa::path(put, path = "/api/v1/settings/notifications", request_body = NotificationRules,
    responses((status = 200, body = NotificationRules), (status = 422)))]
pub async fn set_notification_rules(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(body): Json<NotificationRules>,
) -> Result<Json<NotificationRules>, ApiError> {
    for r in &body.rules {
        if !EVENTS.contains(&r.event.as_str()) {
            return Err(ApiError::invalid(
                "rules",
                format!(
                    "unknown event \"{}\"; events: {}",
                    r.event,
                    EVENTS.join(", ")
                ),
            ));
        }
        if !RECIPIENTS.contains(&r.recipient.as_str()) {
            return Err(ApiError::invalid(
                "rules",
                format!(
                    "unknown recipient \"{}\"; recipients: {}",
                    r.recipient,
                    RECIPIENTS.join(", ")
                ),
            ));
        }
    }
    app.store
        .set_notification_rules(user.agency(), &body.rules)
        .await?;
    Ok(Json(rules_answer(
        app.store.notification_rules(user.agency()).await?,
    )))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub unread: i64,
    pub notifications: Vec<Notification>,
}

/// The user's latest 50 notifications and how many are unread.
#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, body = NotificationList)))]
pub async fn list_notifications(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<Json<NotificationList>, ApiError> {
    let (notifications, unread) = app
        .store
        .notifications(user.agency(), user.user.id, 50)
        .await?;
    Ok(Json(NotificationList {
        unread,
        notifications,
    }))
}

#[utoipa::path(post, path = "/api/v1/notifications/read", responses((status = 204)))]
pub async fn read_notifications(
    State(app): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    app.store
        .mark_notifications_read(user.agency(), user.user.id, app.clock.now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
