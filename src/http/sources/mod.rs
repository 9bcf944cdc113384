//! Lead sources that speak their own sender's contract (docs/SOURCES.md): Grupo OLX, Meta lead
//! ads, RD Station and mapped form webhooks, each behind an integration the manager creates.
//! Every adapter turns the sender's body into the same `LeadIn` the API takes, then goes the
//! same way: checked (`build_lead`), committed by the group commit, answered, dispatched.

pub(crate) mod grupozap;
pub(crate) mod manage;
pub(crate) mod mapped;
pub(crate) mod meta;
mod meta_worker;

pub use meta_worker::MetaWorker;

use crate::auth::token_hash;
use crate::error::{ApiError, Json};
use crate::http::lead_input::{build_lead, DepartmentRef, LeadIn};
use crate::state::AppState;
use crate::store::{IngestOutcome, Integration, SourceKind, StoreError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/integrations",
            get(manage::list_integrations).post(manage::create_integration),
        )
        .route("/api/v1/integrations/{id}", put(manage::update_integration))
        .route("/api/v1/integrations/{id}/key", post(manage::new_key))
        .route("/hooks/grupozap/{public_id}", post(grupozap::receive))
        .route(
            "/hooks/meta/{public_id}",
            get(meta::verify).post(meta::receive),
        )
        .route("/hooks/rdstation/{public_id}", post(mapped::rdstation))
        .route("/hooks/form/{public_id}", post(mapped::form))
}

/// The integration behind a URL, checked against the key the sender presented (compared as
/// digests, in constant time) under the credential throttle: an unknown id or a wrong key is
/// 401 (429 once the address has sent too many); a suspended agency or a switched-off
/// integration is 403, so the sender stops rather than fixes its key.
pub(crate) async fn authorised(
    app: &AppState,
    addr: IpAddr,
    public_id: &str,
    kind: SourceKind,
    key: Option<&str>,
) -> Result<Integration, ApiError> {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(ApiError::Unauthorized);
    };
    let hash = token_hash(key);
    let lookup = async {
        match app.store.integration_by_public_id(public_id).await {
            Ok(i) => Ok(Some(i).filter(|i| i.kind == kind && digest_eq(&i.key_hash, &hash))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(ApiError::from(e)),
        }
    };
    let integration = app.throttle.check_credential(addr, &hash, lookup).await?;
    usable(&integration)?;
    Ok(integration)
}

/// A known integration may still refuse: its agency suspended, or switched off by its manager.
pub(crate) fn usable(i: &Integration) -> Result<(), ApiError> {
    if i.suspended {
        return Err(ApiError::Forbidden(crate::auth::SUSPENDED_SOURCE.into()));
    }
    if !i.active {
        return Err(ApiError::Forbidden(
            "Esta integração está desativada no Roleta: ative-a na página de integrações.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn digest_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The sender's lead, written like any other: checked, committed (answered only then, I1),
/// handed to the dispatcher or — L8 — written on the client's open lead. 202 for a new lead,
/// 200 for a repeat (the sender's retry) or a contact written on an open lead.
pub(crate) async fn ingest(
    app: &AppState,
    integration: &Integration,
    mut lead: LeadIn,
) -> Result<(StatusCode, Json<IngestOutcome>), ApiError> {
    if lead.department.is_none() {
        lead.department = integration.department_id.map(DepartmentRef::Id);
    }
    let lead = build_lead(app, integration.agency_id, &integration.name, lead).await?;
    let out = app.ingest.ingest(lead).await?;
    crate::metrics::lead_ingested(out.replayed);
    crate::http::leads::dispatch_if_waiting(app, integration.agency_id, &out).await;
    let status = if out.replayed || out.recontact {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(out)))
}

/// The body as bytes, a too-large one as 413.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })
}

/// Text of a JSON value that a sender may give as a string or a number; empty is none.
pub(crate) fn text(v: Option<&serde_json::Value>) -> Option<String> {
    let t = match v? {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Array(a) => return text(a.first()),
        _ => return None,
    };
    (!t.is_empty()).then_some(t)
}
