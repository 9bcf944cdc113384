//! Work on one lead: reading it, the broker's edit (R6) and contact log (A3), forwarding by
//! hand (R1), and its dispatch audit.

use super::{notify_assigned, visible_lead};
use crate::auth::{Brokers, Managers, Reception, Require, Staff};
use crate::error::{ApiError, Json, Path};
use crate::http::{optional, required};
use crate::model::{BrokerId, LeadId, Role};
use crate::state::AppState;
use crate::store::{AuditRow, Concluded, LeadEdit, LeadView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

/// One lead: managers and receptionists see any of the agency's, brokers only their own.
#[utoipa::path(get, path = "/api/v1/leads/{id}", responses((status = 200, body = LeadView), (status = 404)))]
pub async fn get_lead(
    State(app): State<AppState>,
    user: Require<Staff>,
    Path(id): Path<i64>,
) -> Result<Json<LeadView>, ApiError> {
    let id = LeadId(id);
    Ok(Json(visible_lead(&app, &user, id).await?))
}

/// R6: the broker edits their lead's record, which concludes the pending attendance.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", request_body = LeadEdit, responses((status = 200, body = Concluded)))]
pub async fn edit_lead(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
    Json(edit): Json<LeadEdit>,
) -> Result<Json<Concluded>, ApiError> {
    let id = LeadId(id);
    let edit = LeadEdit {
        name: optional("name", edit.name.as_deref(), 200)?,
        email: optional("email", edit.email.as_deref(), 254)?,
        comment: optional("comment", edit.comment.as_deref(), 4000)?,
        appraisal_address: optional("appraisal_address", edit.appraisal_address.as_deref(), 300)?,
        condominium: optional("condominium", edit.condominium.as_deref(), 200)?,
    };
    Ok(Json(
        app.store
            .edit_lead(user.agency(), user.broker(), id, &edit, app.clock.now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// call, whatsapp, email, visit or note
    kind: String,
    note: String,
}

const CONTACT_KINDS: &[&str] = &["call", "whatsapp", "email", "visit", "note"];

/// A3: logs a contact with the client, which concludes the pending attendance.
#[utoipa::path(post, path = "/api/v1/leads/{id}/contacts", request_body = ContactIn, responses((status = 201, body = Concluded)))]
pub async fn create_contact(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
    Json(c): Json<ContactIn>,
) -> Result<impl IntoResponse, ApiError> {
    let id = LeadId(id);
    if !CONTACT_KINDS.contains(&c.kind.as_str()) {
        return Err(ApiError::invalid(
            "kind",
            format!("kind must be one of {}", CONTACT_KINDS.join(", ")),
        ));
    }
    let note = required("note", &c.note, 4000)?;
    let out = app
        .store
        .log_contact(
            user.agency(),
            user.broker(),
            id,
            &c.kind,
            &note,
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    broker_id: BrokerId,
}

/// Gives a lead that arrived with the roulette off (R1) to a broker by hand.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", request_body = AssignIn, responses((status = 200), (status = 409)))]
pub async fn assign_lead(
    State(app): State<AppState>,
    user: Require<Reception>,
    Path(id): Path<i64>,
    Json(a): Json<AssignIn>,
) -> Result<StatusCode, ApiError> {
    let id = LeadId(id);
    let agency = user.agency();
    let broker = app
        .store
        .user(agency, a.broker_id.0)
        .await
        .map_err(|_| ApiError::invalid("broker_id", "no such broker"))?;
    if broker.role != Role::Broker || !broker.active {
        return Err(ApiError::invalid("broker_id", "not an active broker"));
    }
    app.store.lead(agency, id, app.clock.now_ms()).await?;
    let reason = format!("forwarded by {}", user.user.name);
    match app
        .store
        .assign_lead(
            agency,
            None,
            id,
            a.broker_id,
            "unrouted",
            &reason,
            app.clock.now_ms(),
        )
        .await?
    {
        Some((attendance_id, kind)) => {
            notify_assigned(&app, agency, a.broker_id, id, attendance_id, kind).await;
            Ok(StatusCode::OK)
        }
        None => Err(ApiError::Conflict(
            "only leads that arrived with the roulette off can be forwarded by hand".into(),
        )),
    }
}

/// Every dispatch decision about the lead, with its reason.
#[utoipa::path(get, path = "/api/v1/leads/{id}/audit", responses((status = 200, body = [AuditRow])))]
pub async fn get_lead_audit(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AuditRow>>, ApiError> {
    let id = LeadId(id);
    app.store
        .lead(user.agency(), id, app.clock.now_ms())
        .await?;
    Ok(Json(app.store.audit_for_lead(user.agency(), id).await?))
}
