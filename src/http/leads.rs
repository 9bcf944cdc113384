//! Lead ingest for lead sources (API key, Idempotency-Key, source-id dedupe), the receptionist's
//! register-and-forward (A1), and a broker's work on their lead: contact log and edit (R6).

use super::lead_input::{build_lead, parse_json, LeadIn};
use super::{optional, required};
use crate::auth::{AuthUser, Brokers, Managers, Reception, Require, SourceKey, Staff};
use crate::error::{ApiError, Json, Path};
use crate::model::{AttendanceKind, Channel, LeadState, Role};
use crate::state::AppState;
use crate::store::{AuditRow, Concluded, IngestOutcome, LeadEdit, LeadView};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/leads/{id}", get(get_lead).patch(edit_lead))
        .route("/api/v1/leads/{id}/contacts", post(create_contact))
        .route("/api/v1/leads/{id}/assign", post(assign_lead))
        .route("/api/v1/leads/{id}/audit", get(get_lead_audit))
        .route("/api/v1/reception/clients", post(forward_client))
}

async fn dispatch_if_waiting(app: &AppState, agency: i64, out: &IngestOutcome) {
    if out.state == LeadState::Waiting && !out.replayed {
        // The lead is committed: if this fails (shutting down), restart recovery dispatches it.
        if let Err(e) = app.dispatcher.lead_arrived(agency, out.lead_id).await {
            tracing::warn!(lead = out.lead_id, error = %e, "lead not handed to the dispatcher");
        }
    }
}

/// Receives a lead from a source. Answers 202 once the lead is committed; a retry with the
/// same `Idempotency-Key` (or the same `external_id`) answers 200 with the same lead.
#[utoipa::path(post, path = "/api/v1/leads", request_body = LeadIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 202, body = IngestOutcome), (status = 200, body = IngestOutcome, description = "a repeat"),
        (status = 401), (status = 403, description = "the key's agency is suspended (docs/PLATFORM.md)"),
        (status = 409, description = "key reused with another body"), (status = 422)))]
pub async fn create_lead(
    State(app): State<AppState>,
    SourceKey(key): SourceKey,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })?;
    let input: LeadIn = parse_json(&headers, &body)?;
    let mut lead = build_lead(&app, key.agency_id, &key.source, input).await?;
    if let Some(k) = headers.get("idempotency-key") {
        let k = k
            .to_str()
            .map_err(|_| ApiError::BadRequest("Idempotency-Key must be text".into()))?;
        let k = required("Idempotency-Key", k, 200)?;
        lead.idempotency = Some((k, hex::encode(Sha256::digest(&body))));
    }
    let out = app.ingest.ingest(lead).await?;
    crate::metrics::lead_ingested(out.replayed);
    dispatch_if_waiting(&app, key.agency_id, &out).await;
    let status = if out.replayed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(out)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ForwardIn {
    #[serde(flatten)]
    pub lead: LeadIn,
    /// The broker to forward to; absent: the roulette picks one.
    pub broker_id: Option<i64>,
    /// New, rule, returning or transfer; worked out from the client's history when absent.
    pub attendance_kind: Option<AttendanceKind>,
    /// L2: what to do when the phone is an existing client's. true: link the lead to them;
    /// false: refuse (409) rather than link. Absent: link (and say so in the answer).
    pub link_client: Option<bool>,
}

/// A1: the receptionist registers a walk-in or phone client and forwards them to a broker
/// (or to the roulette); the broker sees them in their pending attendances.
#[utoipa::path(post, path = "/api/v1/reception/clients", request_body = ForwardIn, responses((status = 201, body = IngestOutcome)))]
pub async fn forward_client(
    State(app): State<AppState>,
    user: Require<Reception>,
    Json(body): Json<ForwardIn>,
) -> Result<impl IntoResponse, ApiError> {
    let agency = user.agency();
    let mut lead = build_lead(&app, agency, "reception", body.lead).await?;
    if body.link_client == Some(false) {
        if let Some(c) = app.store.client_by_phone(agency, &lead.phone).await? {
            return Err(ApiError::Conflict(format!(
                "the phone {} is client {}'s (id {}): link the lead to them or use another phone",
                c.phone, c.name, c.id
            )));
        }
    }
    if lead.channel == Channel::Other {
        lead.channel = Channel::WalkIn;
    }
    lead.created_by = Some(user.user.id);
    if let Some(b) = body.broker_id {
        let broker = app
            .store
            .user(agency, b)
            .await
            .map_err(|_| ApiError::invalid("broker_id", "no such broker"))?;
        if broker.role != Role::Broker || !broker.active {
            return Err(ApiError::invalid("broker_id", "not an active broker"));
        }
        lead.assign_to = Some((b, body.attendance_kind));
    } else if body.attendance_kind.is_some() {
        return Err(ApiError::invalid(
            "attendance_kind",
            "an attendance type needs a broker_id",
        ));
    } else {
        lead.state = LeadState::Waiting;
    }
    let out = app.ingest.ingest(lead).await?;
    dispatch_if_waiting(&app, agency, &out).await;
    if let (Some(b), Some(id), Some(kind)) = (out.broker_id, out.attendance_id, out.attendance_kind)
    {
        notify_assigned(&app, agency, b, out.lead_id, id, kind).await;
    }
    if !out.replayed {
        super::crm::notify_lead(&app, agency, &out, &user.user.name).await;
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// Tells a broker's open pages that a lead was given to them directly.
async fn notify_assigned(
    app: &AppState,
    agency: i64,
    broker: i64,
    lead: i64,
    attendance_id: i64,
    kind: AttendanceKind,
) {
    let ev = crate::dispatch::Event::Assigned {
        lead,
        offer: None,
        attendance_id,
        kind,
    };
    app.roster.deliver_now(agency, broker, ev).await;
}

/// The lead as this user may see it: any of the agency's, but a broker only their own (another
/// broker's lead is "not found").
pub(crate) async fn visible_lead(
    app: &AppState,
    user: &AuthUser,
    id: i64,
) -> Result<LeadView, ApiError> {
    let lead = app
        .store
        .lead(user.agency(), id, app.clock.now_ms())
        .await?;
    if user.user.role == Role::Broker && lead.broker_id != Some(user.user.id) {
        return Err(ApiError::NotFound);
    }
    Ok(lead)
}

/// One lead: managers and receptionists see any of the agency's, brokers only their own.
#[utoipa::path(get, path = "/api/v1/leads/{id}", responses((status = 200, body = LeadView), (status = 404)))]
pub async fn get_lead(
    State(app): State<AppState>,
    user: Require<Staff>,
    Path(id): Path<i64>,
) -> Result<Json<LeadView>, ApiError> {
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
    let edit = LeadEdit {
        name: optional("name", edit.name.as_deref(), 200)?,
        email: optional("email", edit.email.as_deref(), 254)?,
        comment: optional("comment", edit.comment.as_deref(), 4000)?,
        appraisal_address: optional("appraisal_address", edit.appraisal_address.as_deref(), 300)?,
        condominium: optional("condominium", edit.condominium.as_deref(), 200)?,
    };
    Ok(Json(
        app.store
            .edit_lead(user.agency(), user.user.id, id, &edit, app.clock.now_ms())
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
            user.user.id,
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
    broker_id: i64,
}

/// Gives a lead that arrived with the roulette off (R1) to a broker by hand.
#[utoipa::path(post, path = "/api/v1/leads/{id}/assign", request_body = AssignIn, responses((status = 200), (status = 409)))]
pub async fn assign_lead(
    State(app): State<AppState>,
    user: Require<Reception>,
    Path(id): Path<i64>,
    Json(a): Json<AssignIn>,
) -> Result<StatusCode, ApiError> {
    let agency = user.agency();
    let broker = app
        .store
        .user(agency, a.broker_id)
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
    app.store
        .lead(user.agency(), id, app.clock.now_ms())
        .await?;
    Ok(Json(app.store.audit_for_lead(user.agency(), id).await?))
}
