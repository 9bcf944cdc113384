//! The platform API for a CRM vendor hosting many agencies (`/api/v1/platform/…`,
//! docs/PLATFORM.md): create an agency with its first manager, list and read agencies,
//! suspend and reactivate one, and set the features its plan includes. One bearer token, kept
//! in settings only as its SHA-256 (`platform.token_sha256`); without it every route here
//! answers 404, as if it did not exist. The rules live in the store (`store/platform.rs`),
//! shared with the `roleta agency` command line.

use crate::auth::{self, bearer};
use crate::error::{ApiError, Json, Path};
use crate::model::AgencyId;
use crate::state::AppState;
use crate::store::{AgencyFeatures, AgencySummary, Suspension};
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/platform/agencies",
            get(list_agencies).post(create_agency),
        )
        .route("/api/v1/platform/agencies/{id}", get(get_agency))
        .route(
            "/api/v1/platform/agencies/{id}/suspend",
            post(suspend_agency),
        )
        .route(
            "/api/v1/platform/agencies/{id}/reactivate",
            post(reactivate_agency),
        )
        .route("/api/v1/platform/agencies/{id}/features", put(set_features))
}

/// The vendor, authenticated by the platform token. A wrong token answers 401 and counts
/// against the caller's address like any unknown token (`throttle.rs`): too many, and 429.
pub struct Platform;

impl FromRequestParts<AppState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let expected = match app.settings.platform.token_digest() {
            Ok(Some(d)) => d,
            Ok(None) => return Err(ApiError::NotFound),
            Err(problem) => {
                tracing::error!(%problem, "the platform API is off");
                return Err(ApiError::NotFound);
            }
        };
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let hash = hex::encode(digest);
        let addr = app.throttle.client_addr(parts);
        app.throttle.before_credential(addr, &hash)?;
        if bool::from(digest.ct_eq(&expected)) {
            app.throttle.credential_valid(&hash);
            Ok(Platform)
        } else {
            tracing::warn!(%addr, "platform API called with a wrong token");
            Err(app.throttle.credential_unknown(addr))
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyIn {
    /// Unique among agencies, ignoring case and surrounding spaces; at most 200 characters.
    name: String,
    /// The first manager's e-mail, which they sign in with (unique among all users).
    manager_email: String,
    /// The manager's name as the pages show it; the part of the e-mail before `@` if absent.
    manager_name: Option<String>,
    /// What the plan includes; both on if absent.
    features: Option<AgencyFeatures>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ManagerOut {
    id: i64,
    email: String,
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyCreated {
    agency: AgencySummary,
    manager: ManagerOut,
    /// Shown this once and never stored in clear: give it to the manager, who must choose a
    /// new password at first sign-in.
    one_time_password: String,
}

/// Creates an agency ready to work and its first manager
///
/// One transaction: the agency, its default department ("Vendas"), the default lead pipeline
/// and the manager; on any error nothing is written. Answers the manager's one-time password
/// once (the response is `Cache-Control: no-store`).
#[utoipa::path(post, path = "/api/v1/platform/agencies", request_body = AgencyIn,
    responses((status = 201, body = AgencyCreated),
        (status = 404, description = "the platform API is off (no platform.token_sha256)"),
        (status = 409, description = "another agency has this name, or a user has this e-mail")))]
pub async fn create_agency(
    State(app): State<AppState>,
    _: Platform,
    Json(body): Json<AgencyIn>,
) -> Result<impl IntoResponse, ApiError> {
    let manager_name = match body.manager_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => body
            .manager_email
            .trim()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let password = auth::one_time_password();
    let hash = app.passwords.hash(password.clone()).await?;
    let now = app.clock.now_ms();
    let features = body.features.unwrap_or_default();
    let (agency, manager) = app
        .store
        .create_agency_in_plan(
            &body.name,
            &body.manager_email,
            &manager_name,
            &hash,
            features,
            now,
        )
        .await?;
    let summary = app.store.agency_summary(agency).await?;
    let user = app.store.user(agency, manager).await?;
    tracing::info!(%agency, name = %summary.name, "agency created through the platform API");
    let out = AgencyCreated {
        agency: summary,
        manager: ManagerOut {
            id: user.id,
            email: user.email,
            name: user.name,
        },
        one_time_password: password,
    };
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(out),
    ))
}

/// Lists every agency with its standing, features and user counts
#[utoipa::path(get, path = "/api/v1/platform/agencies",
    responses((status = 200, body = [AgencySummary]),
        (status = 404, description = "the platform API is off (no platform.token_sha256)")))]
pub async fn list_agencies(
    State(app): State<AppState>,
    _: Platform,
) -> Result<Json<Vec<AgencySummary>>, ApiError> {
    Ok(Json(app.store.list_agencies().await?))
}

/// Reads one agency
#[utoipa::path(get, path = "/api/v1/platform/agencies/{id}",
    params(("id" = i64, Path, description = "the agency's id")),
    responses((status = 200, body = AgencySummary),
        (status = 404, description = "no such agency, or the platform API is off")))]
pub async fn get_agency(
    State(app): State<AppState>,
    _: Platform,
    Path(id): Path<i64>,
) -> Result<Json<AgencySummary>, ApiError> {
    let id = AgencyId(id);
    Ok(Json(app.store.agency_summary(id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SuspendedOut {
    agency: AgencySummary,
    suspension: Suspension,
}

/// Suspends an agency: its users are signed out, its sources refused; nothing is deleted
///
/// Every session and personal token of its users ends at once (their next request answers 401,
/// their sockets close, sign-in is refused with a message); its lead sources answer 403; offers
/// that were out are cancelled and their leads wait, with every other waiting lead, until it is
/// reactivated. Suspending a suspended agency changes nothing (it keeps its first time).
#[utoipa::path(post, path = "/api/v1/platform/agencies/{id}/suspend",
    params(("id" = i64, Path, description = "the agency's id")),
    responses((status = 200, body = SuspendedOut),
        (status = 404, description = "no such agency, or the platform API is off")))]
pub async fn suspend_agency(
    State(app): State<AppState>,
    _: Platform,
    Path(id): Path<i64>,
) -> Result<Json<SuspendedOut>, ApiError> {
    let id = AgencyId(id);
    let suspension = app.store.suspend_agency(id, app.clock.now_ms()).await?;
    tracing::info!(
        agency = %id,
        ?suspension,
        "agency suspended through the platform API"
    );
    // The store already stopped its roulette (the fence refuses it); this drops its engine and
    // closes the popups of offers that were out. The stats round trip on the same queue waits
    // for that, so each popup's `offer_closed` is queued before its socket closes.
    if let Err(e) = app.dispatcher.settings_changed(id).await {
        tracing::warn!(agency = %id, error = %e, "the dispatcher was not told of the suspension");
    } else if let Err(e) = app.dispatcher.stats(id).await {
        tracing::warn!(agency = %id, error = %e, "the dispatcher did not answer after the suspension");
    }
    // Every node closes the agency's sockets (code 4004, docs/PROTOCOL.md); one a close does
    // not reach is closed by its node's session check within one ping interval.
    app.roster
        .close_agency_sockets(id, crate::ws::protocol::close::AGENCY_SUSPENDED);
    Ok(Json(SuspendedOut {
        agency: app.store.agency_summary(id).await?,
        suspension,
    }))
}

/// Lifts a suspension: its users may sign in again, its sources are accepted, its roulette
/// resumes with the leads that waited
#[utoipa::path(post, path = "/api/v1/platform/agencies/{id}/reactivate",
    params(("id" = i64, Path, description = "the agency's id")),
    responses((status = 200, body = AgencySummary),
        (status = 404, description = "no such agency, or the platform API is off")))]
pub async fn reactivate_agency(
    State(app): State<AppState>,
    _: Platform,
    Path(id): Path<i64>,
) -> Result<Json<AgencySummary>, ApiError> {
    let id = AgencyId(id);
    app.store.reactivate_agency(id, app.clock.now_ms()).await?;
    tracing::info!(agency = %id, "agency reactivated through the platform API");
    if let Err(e) = app.dispatcher.settings_changed(id).await {
        // Its roulette loads anyway when the next broker comes online.
        tracing::warn!(agency = %id, error = %e, "the dispatcher was not told of the reactivation");
    }
    Ok(Json(app.store.agency_summary(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesIn {
    /// The roulette (R1); absent: unchanged.
    roulette: Option<bool>,
    /// Active-offer campaigns (O6); absent: unchanged.
    campaigns: Option<bool>,
}

/// Sets what an agency's plan includes (roulette, active-offer campaigns)
///
/// Off wins over the manager's own switch, which is kept for when the feature comes back.
/// Roulette off: leads from its sources are registered but not offered (state `unrouted`, in
/// the manager's lead list, forwarded by hand). Campaigns off: campaign endpoints answer 403.
#[utoipa::path(put, path = "/api/v1/platform/agencies/{id}/features", request_body = FeaturesIn,
    params(("id" = i64, Path, description = "the agency's id")),
    responses((status = 200, body = AgencySummary),
        (status = 404, description = "no such agency, or the platform API is off")))]
pub async fn set_features(
    State(app): State<AppState>,
    _: Platform,
    Path(id): Path<i64>,
    Json(body): Json<FeaturesIn>,
) -> Result<Json<AgencySummary>, ApiError> {
    let id = AgencyId(id);
    let now = app.store.agency_summary(id).await?.features;
    let features = AgencyFeatures {
        roulette: body.roulette.unwrap_or(now.roulette),
        campaigns: body.campaigns.unwrap_or(now.campaigns),
    };
    app.store.set_agency_features(id, features).await?;
    tracing::info!(
        agency = %id,
        ?features,
        "agency features set through the platform API"
    );
    Ok(Json(app.store.agency_summary(id).await?))
}
