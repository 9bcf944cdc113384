//! Every `/api/v1/leads…` route, merged in one `router()`: ingest from lead sources and the
//! reception's register-and-forward (`ingest.rs`), one lead's record, contacts, hand assignment
//! and audit (`work.rs`), and the lead list, status and pipeline fields (`status.rs`).

mod ingest;
mod status;
mod work;

pub use ingest::*;
pub use status::*;
pub use work::*;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId, LeadState, Role};
use crate::state::AppState;
use crate::store::{IngestOutcome, LeadView};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/leads", get(list_leads).post(create_lead))
        .route("/api/v1/leads/{id}", get(get_lead).patch(edit_lead))
        .route("/api/v1/leads/{id}/contacts", post(create_contact))
        .route("/api/v1/leads/{id}/assign", post(assign_lead))
        .route("/api/v1/leads/{id}/audit", get(get_lead_audit))
        .route("/api/v1/leads/{id}/status", post(change_status))
        .route("/api/v1/leads/{id}/pipeline", post(update_pipeline))
        .route("/api/v1/reception/clients", post(forward_client))
}

pub(crate) async fn dispatch_if_waiting(app: &AppState, agency: AgencyId, out: &IngestOutcome) {
    if out.recontact {
        recontact_told(app, agency, out).await;
        return;
    }
    if out.state == LeadState::Waiting && !out.replayed {
        // The lead is committed: if this fails (shutting down), restart recovery dispatches it.
        if let Err(e) = app.dispatcher.lead_arrived(agency, out.lead_id).await {
            tracing::warn!(lead = %out.lead_id, error = %e, "lead not handed to the dispatcher");
        }
    }
}

/// L8: the open lead's broker (by the agency's rules) hears of the new contact on it.
async fn recontact_told(app: &AppState, agency: AgencyId, out: &IngestOutcome) {
    let subject = crate::store::Subject {
        lead: Some(out.lead_id),
        client: Some(out.client_id),
        broker: out.broker_id,
    };
    let text = format!("Novo contato do cliente no lead {}", out.number);
    let now = app.clock.now_ms();
    crate::http::crm::notify(app, agency, "lead_recontact", subject, &text, now).await;
}

/// Tells a broker's open pages that a lead was given to them directly.
async fn notify_assigned(
    app: &AppState,
    agency: AgencyId,
    broker: BrokerId,
    lead: LeadId,
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
    id: LeadId,
) -> Result<LeadView, ApiError> {
    let lead = app
        .store
        .lead(user.agency(), id, app.clock.now_ms())
        .await?;
    if user.user.role == Role::Broker && lead.broker_id != Some(user.broker()) {
        return Err(ApiError::NotFound);
    }
    Ok(lead)
}
