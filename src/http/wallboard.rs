//! The operators' wallboard: per department, who is online, what waits and since when, the
//! offers in flight with their deadlines, the last hour's outcomes, time to accept (p50, p90)
//! and a per-minute series. Served as a snapshot and as a server-sent-events stream that sends
//! a fresh snapshot every second. No lead's personal data is in it.

use crate::auth::{Require, Viewers};
use crate::error::{ApiError, Json};
use crate::model::{AgencyId, BrokerId, OfferState};
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde::Serialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ops/wallboard", get(get_wallboard))
        .route("/api/v1/ops/stream", get(stream_wallboard))
}

#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct Outcomes {
    accepted: usize,
    refused: usize,
    expired: usize,
    cancelled: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InFlight {
    offer_id: i64,
    broker: String,
    deadline_ms: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Minute {
    at_ms: i64,
    offered: usize,
    accepted: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DepartmentBoard {
    id: i64,
    name: String,
    online: Vec<String>,
    waiting: i64,
    oldest_waiting_ms: Option<i64>,
    in_flight: Vec<InFlight>,
    last_hour: Outcomes,
    time_to_accept_p50_ms: Option<i64>,
    time_to_accept_p90_ms: Option<i64>,
    minutes: Vec<Minute>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Wallboard {
    server_time_ms: i64,
    departments: Vec<DepartmentBoard>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

async fn build(app: &AppState, agency: AgencyId) -> Result<Wallboard, ApiError> {
    let now = app.clock.now_ms();
    let since = now - HOUR_MS;
    let store = &app.store;
    let names: BTreeMap<BrokerId, String> = store
        .users(agency)
        .await?
        .into_iter()
        .map(|u| (BrokerId(u.id), u.name))
        .collect();
    let online: Vec<BrokerId> = app.roster.online_brokers(agency).await;
    let members = store.memberships(agency).await?;
    let waiting: BTreeMap<i64, (i64, i64)> = store
        .waiting_facts(agency)
        .await?
        .into_iter()
        .map(|w| (w.department_id, (w.waiting, w.oldest_ms)))
        .collect();
    let facts = store.offer_facts(agency, since).await?;
    let first_minute = (now / MINUTE_MS - 59) * MINUTE_MS;
    let mut departments = Vec::new();
    for d in store.departments(agency).await? {
        let mut board = DepartmentBoard {
            id: d.id,
            name: d.name,
            online: online
                .iter()
                .filter(|b| members.contains(&(**b, d.id)))
                .filter_map(|b| names.get(b).cloned())
                .collect(),
            waiting: waiting.get(&d.id).map_or(0, |w| w.0),
            oldest_waiting_ms: waiting.get(&d.id).map(|w| w.1),
            in_flight: Vec::new(),
            last_hour: Outcomes::default(),
            time_to_accept_p50_ms: None,
            time_to_accept_p90_ms: None,
            minutes: (0..60)
                .map(|i| Minute {
                    at_ms: first_minute + i * MINUTE_MS,
                    offered: 0,
                    accepted: 0,
                })
                .collect(),
        };
        let mut tta = Vec::new();
        for f in facts.iter().filter(|f| f.department_id == d.id) {
            if f.state == OfferState::Pending {
                let broker = names.get(&f.broker_id).cloned().unwrap_or_default();
                board.in_flight.push(InFlight {
                    offer_id: f.id,
                    broker,
                    deadline_ms: f.deadline_ms,
                });
            }
            let slot = |at: i64| {
                usize::try_from((at - first_minute) / MINUTE_MS)
                    .ok()
                    .filter(|i| *i < 60)
            };
            if let Some(m) = slot(f.offered_at_ms).and_then(|i| board.minutes.get_mut(i)) {
                m.offered += 1;
            }
            let Some(decided) = f.decided_at_ms.filter(|t| *t >= since) else {
                continue;
            };
            match f.state {
                OfferState::Accepted => {
                    board.last_hour.accepted += 1;
                    tta.push(decided - f.offered_at_ms);
                    if let Some(m) = slot(decided).and_then(|i| board.minutes.get_mut(i)) {
                        m.accepted += 1;
                    }
                }
                OfferState::Refused => board.last_hour.refused += 1,
                OfferState::Expired => board.last_hour.expired += 1,
                OfferState::Cancelled => board.last_hour.cancelled += 1,
                OfferState::Pending => {}
            }
        }
        tta.sort_unstable();
        board.time_to_accept_p50_ms = percentile(&tta, 0.5);
        board.time_to_accept_p90_ms = percentile(&tta, 0.9);
        departments.push(board);
    }
    Ok(Wallboard {
        server_time_ms: now,
        departments,
    })
}

#[utoipa::path(get, path = "/api/v1/ops/wallboard", responses((status = 200, body = Wallboard)))]
pub async fn get_wallboard(
    State(app): State<AppState>,
    user: Require<Viewers>,
) -> Result<Json<Wallboard>, ApiError> {
    Ok(Json(build(&app, user.agency()).await?))
}

/// `text/event-stream`: an event `wallboard` with a fresh snapshot every second; ends when the
/// server shuts down or the session ends (signed out, deactivated, token revoked).
#[utoipa::path(get, path = "/api/v1/ops/stream", responses((status = 200, content_type = "text/event-stream")))]
pub async fn stream_wallboard(
    State(app): State<AppState>,
    user: Require<Viewers>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let agency = user.agency();
    let session = user.into_inner().token_hash;
    let stop = app.shutdown.clone();
    let ticks = futures_util::stream::unfold((app, true), move |(app, first)| {
        let session = session.clone();
        async move {
            if !first {
                tokio::time::sleep(Duration::from_secs(1)).await;
                // Signed out, deactivated or revoked meanwhile: the stream ends (a store that does
                // not answer keeps it; the next tick checks again).
                if let Err(crate::store::StoreError::NotFound) =
                    app.store.user_for_token(&session, app.clock.now_ms()).await
                {
                    return None;
                }
            }
            let event = match build(&app, agency).await {
                Ok(board) => Event::default()
                    .event("wallboard")
                    .json_data(&board)
                    .unwrap_or_default(),
                Err(_) => Event::default().event("error").data("unavailable"),
            };
            Some((Ok(event), (app, false)))
        }
    });
    let stream = futures_util::StreamExt::take_until(ticks, stop.cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[10], 0.9), Some(10));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), Some(5));
        assert_eq!(percentile(&v, 0.9), Some(9));
    }
}
