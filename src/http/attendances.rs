//! The broker's pending attendances (A2, A4).

use crate::auth::{Brokers, Require};
use crate::error::{ApiError, Json};
use crate::state::AppState;
use crate::store::PendingAttendance;
use axum::extract::State;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/attendances/pending", get(list_pending_attendances))
}

/// The signed-in broker's leads not yet contacted, oldest first.
#[utoipa::path(get, path = "/api/v1/attendances/pending", responses((status = 200, body = [PendingAttendance])))]
pub async fn list_pending_attendances(
    State(app): State<AppState>,
    user: Require<Brokers>,
) -> Result<Json<Vec<PendingAttendance>>, ApiError> {
    Ok(Json(
        app.store
            .pending_attendances(user.agency(), user.broker(), app.clock.now_ms())
            .await?,
    ))
}
