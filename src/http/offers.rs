//! Answering an offer over HTTP: the same conditional accept/refuse as the WebSocket, for
//! clients that prefer plain requests.

use crate::auth::{Brokers, Require};
use crate::dispatch::{Answer, AnswerError};
use crate::error::{ApiError, Path};
use crate::model::OfferId;
use crate::state::AppState;
use crate::store::OfferRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/offers/{id}/accept", post(accept_offer))
        .route("/api/v1/offers/{id}/refuse", post(refuse_offer))
}

impl From<AnswerError> for ApiError {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Rejected(OfferRejection::NotFound) => ApiError::NotFound,
            AnswerError::Rejected(r @ OfferRejection::NotYours) => {
                ApiError::Forbidden(r.to_string())
            }
            AnswerError::Rejected(r) => ApiError::Conflict(r.to_string()),
            AnswerError::Store(s) => s.into(),
            AnswerError::Stopped => ApiError::Unavailable("shutting down".into()),
            e @ AnswerError::Moving => ApiError::Unavailable(e.to_string()),
        }
    }
}

/// R5: accept; the lead becomes this broker's. 409 once the offer has ended or its time ran out.
#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn accept_offer(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.dispatcher
        .answer(
            user.agency(),
            user.broker(),
            OfferId(id),
            Answer::Accept,
            None,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseIn {
    reason: Option<String>,
}

/// R4: refuse; the lead moves on to the next broker.
#[utoipa::path(post, path = "/api/v1/offers/{id}/refuse", request_body = RefuseIn, responses((status = 204), (status = 409)))]
pub async fn refuse_offer(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // The body is optional: an empty one refuses without a reason.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let b: RefuseIn = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        super::optional("reason", b.reason.as_deref(), 200)?
    };
    app.dispatcher
        .answer(
            user.agency(),
            user.broker(),
            OfferId(id),
            Answer::Refuse,
            reason,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
