//! Leads coming in: from a lead source by API key (Idempotency-Key, source-id dedupe), and the
//! receptionist's register-and-forward (A1).

use super::{dispatch_if_waiting, notify_assigned};
use crate::auth::{Reception, Require, SourceKey};
use crate::error::{ApiError, Json};
use crate::http::lead_input::{build_lead, parse_json, LeadIn};
use crate::http::required;
use crate::model::{AttendanceKind, BrokerId, Channel, LeadState, Role};
use crate::state::AppState;
use crate::store::IngestOutcome;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Receives a lead from a source. Answers 202 once the lead is committed; a retry with the
/// same `Idempotency-Key` (or the same `external_id`) answers 200 with the same lead, and so
/// does (L8) a contact from a client whose lead is still open, written on that lead.
#[utoipa::path(post, path = "/api/v1/leads", request_body = LeadIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 202, body = IngestOutcome), (status = 200, body = IngestOutcome, description = "a repeat, or a contact on the client's open lead (recontact)"),
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
    // A repeat, or (L8) a contact written on the client's open lead: no new lead.
    let status = if out.replayed || out.recontact {
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
    pub broker_id: Option<BrokerId>,
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
            .user(agency, b.0)
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
        crate::http::crm::notify_lead(&app, agency, &out, &user.user.name).await;
    }
    Ok((StatusCode::CREATED, Json(out)))
}
