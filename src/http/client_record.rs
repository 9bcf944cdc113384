//! "Meus clientes" and the client record (A5, A6): the list, the record, its timeline and the
//! hand-edited profile; the one-tap contact attempt after calling or opening WhatsApp; the
//! agency's first WhatsApp message.

use super::optional;
use crate::auth::{AuthUser, Brokers, LeadWorkers, Managers, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::model::{BrokerId, LeadId, Role};
use crate::state::AppState;
use crate::store::{ClientFilter, ClientListRow, ClientRecord, ProfileEdit, Reader, TimelineEntry};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clients", get(list_clients))
        .route("/api/v1/clients/{id}", get(get_client))
        .route("/api/v1/clients/{id}/profile", put(put_profile))
        .route("/api/v1/clients/{id}/timeline", get(get_timeline))
        .route("/api/v1/leads/{id}/contact-attempts", post(contact_attempt))
        .route(
            "/api/v1/settings/messages",
            get(get_messages).put(put_messages),
        )
}

/// The pt-BR first WhatsApp message when the agency has not written its own. Placeholders:
/// `{cliente}`, `{corretor}`, `{imobiliaria}`, `{imovel}` (the pages drop the property part
/// when the lead names none).
pub const DEFAULT_WHATSAPP_TEMPLATE: &str = "Olá {cliente}, aqui é {corretor} da {imobiliaria}. \
     Recebi seu interesse no imóvel {imovel} e estou à disposição para ajudar.";

/// The message the pages use: the agency's own, or the default.
fn in_use(custom: Option<String>) -> String {
    custom.unwrap_or_else(|| DEFAULT_WHATSAPP_TEMPLATE.to_string())
}

fn reader(user: &AuthUser) -> Reader {
    if user.user.role == Role::Broker {
        Reader::Broker(user.broker())
    } else {
        Reader::Manager
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClientListQuery {
    /// Part of the name or e-mail, any case, accents ignored.
    q: Option<String>,
    /// Clients with a lead in this pipeline status (L1).
    status: Option<String>,
    /// Registered at or after (epoch ms).
    created_from_ms: Option<i64>,
    /// Registered before (epoch ms).
    created_to_ms: Option<i64>,
    /// Managers only: the clients of this broker.
    broker_id: Option<BrokerId>,
    /// The last id of the previous page (pages go newest first).
    before: Option<i64>,
    /// 1–100, default 30.
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientListPage {
    pub clients: Vec<ClientListRow>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// "Meus clientes": a broker's own clients (owned, attended or distributed to them), a
/// manager's whole base; newest first, paginated.
#[utoipa::path(get, tag = "clients", path = "/api/v1/clients", params(ClientListQuery),
    responses((status = 200, body = ClientListPage), (status = 422)))]
pub async fn list_clients(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Query(q): Query<ClientListQuery>,
) -> Result<Json<ClientListPage>, ApiError> {
    let limit = q.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 100"));
    }
    let reader = reader(&user);
    let f = ClientFilter {
        q: optional("q", q.q.as_deref(), 100)?,
        status: optional("status", q.status.as_deref(), 60)?,
        created_from_ms: q.created_from_ms,
        created_to_ms: q.created_to_ms,
        // A broker's list is their own whatever they ask for.
        broker_id: matches!(reader, Reader::Manager)
            .then_some(q.broker_id)
            .flatten(),
        ..ClientFilter::default()
    };
    let clients = app
        .store
        .client_list(
            user.agency(),
            reader,
            &f,
            q.before,
            limit,
            app.clock.now_ms(),
        )
        .await?;
    let next_before = (clients.len() as i64 == limit)
        .then(|| clients.last().map(|c| c.client.id))
        .flatten();
    Ok(Json(ClientListPage {
        clients,
        next_before,
    }))
}

/// A5: the client record — details, objective, interest profile, properties of interest,
/// leads. A broker opens only their own clients (404 otherwise).
#[utoipa::path(get, tag = "clients", path = "/api/v1/clients/{id}",
    responses((status = 200, body = ClientRecord), (status = 404)))]
pub async fn get_client(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Path(id): Path<i64>,
) -> Result<Json<ClientRecord>, ApiError> {
    Ok(Json(
        app.store
            .client_record(user.agency(), id, reader(&user))
            .await?,
    ))
}

/// A5: everything that happened to the client, newest first.
#[utoipa::path(get, tag = "clients", path = "/api/v1/clients/{id}/timeline",
    responses((status = 200, body = [TimelineEntry]), (status = 404)))]
pub async fn get_timeline(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(
        app.store
            .client_timeline(user.agency(), id, reader(&user))
            .await?,
    ))
}

/// A5, A6: the objective and interest profile entered or edited by hand (replaced whole).
#[utoipa::path(put, tag = "clients", path = "/api/v1/clients/{id}/profile", request_body = ProfileEdit,
    responses((status = 204), (status = 404), (status = 422)))]
pub async fn put_profile(
    State(app): State<AppState>,
    user: Require<LeadWorkers>,
    Path(id): Path<i64>,
    Json(mut e): Json<ProfileEdit>,
) -> Result<StatusCode, ApiError> {
    let p = &e.interest;
    for (field, v) in [
        ("interest.price_cents", p.price_cents),
        ("interest.bedrooms", p.bedrooms),
        ("interest.parking", p.parking),
    ] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid(field, "must not be negative"));
        }
    }
    e.interest.kind = optional("interest.kind", e.interest.kind.as_deref(), 60)?;
    e.interest.purpose = optional("interest.purpose", e.interest.purpose.as_deref(), 60)?;
    e.interest.neighbourhood = optional(
        "interest.neighbourhood",
        e.interest.neighbourhood.as_deref(),
        120,
    )?;
    e.appraisal_address = optional("appraisal_address", e.appraisal_address.as_deref(), 300)?;
    e.condominium = optional("condominium", e.condominium.as_deref(), 200)?;
    app.store
        .set_client_profile(
            user.agency(),
            id,
            reader(&user),
            user.user.id,
            &e,
            app.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptIn {
    /// `whatsapp` or `phone`.
    channel: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    pub id: i64,
}

/// L7: the broker called or opened WhatsApp from Roleta; kept as a contact attempt. It does not
/// conclude the attendance: logging the contact does.
#[utoipa::path(post, tag = "clients", path = "/api/v1/leads/{id}/contact-attempts", request_body = AttemptIn,
    responses((status = 201, body = AttemptOut), (status = 404), (status = 422)))]
pub async fn contact_attempt(
    State(app): State<AppState>,
    user: Require<Brokers>,
    Path(id): Path<i64>,
    Json(a): Json<AttemptIn>,
) -> Result<impl IntoResponse, ApiError> {
    let id = LeadId(id);
    if !matches!(a.channel.as_str(), "whatsapp" | "phone") {
        return Err(ApiError::invalid(
            "channel",
            "channel must be whatsapp or phone",
        ));
    }
    let attempt = app
        .store
        .record_contact_attempt(
            user.agency(),
            user.broker(),
            id,
            &a.channel,
            app.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(AttemptOut { id: attempt })))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagesIn {
    /// The first WhatsApp message; null or empty goes back to the default.
    whatsapp_template: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessagesOut {
    /// The message the pages use: the agency's own, or the default.
    pub whatsapp_template: String,
    /// false while the default is in use.
    pub custom: bool,
    pub default_template: &'static str,
}

async fn messages(app: &AppState, agency: crate::model::AgencyId) -> Result<MessagesOut, ApiError> {
    let (_, custom) = app.store.agency_messages(agency).await?;
    Ok(MessagesOut {
        custom: custom.is_some(),
        whatsapp_template: in_use(custom),
        default_template: DEFAULT_WHATSAPP_TEMPLATE,
    })
}

/// The agency's messages to clients.
#[utoipa::path(get, tag = "clients", path = "/api/v1/settings/messages", responses((status = 200, body = MessagesOut)))]
pub async fn get_messages(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<MessagesOut>, ApiError> {
    Ok(Json(messages(&app, user.agency()).await?))
}

/// Sets the agency's first WhatsApp message (L7).
#[utoipa::path(put, tag = "clients", path = "/api/v1/settings/messages", request_body = MessagesIn,
    responses((status = 200, body = MessagesOut), (status = 422)))]
pub async fn put_messages(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(m): Json<MessagesIn>,
) -> Result<Json<MessagesOut>, ApiError> {
    let t = optional("whatsapp_template", m.whatsapp_template.as_deref(), 1000)?;
    app.store
        .set_whatsapp_template(user.agency(), t.as_deref())
        .await?;
    Ok(Json(messages(&app, user.agency()).await?))
}

/// What `/me` says of the agency: its name and the WhatsApp message in use.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeAgency {
    pub name: String,
    pub whatsapp_template: String,
}

pub(crate) async fn me_agency(
    app: &AppState,
    agency: crate::model::AgencyId,
) -> Result<MeAgency, ApiError> {
    let (name, custom) = app.store.agency_messages(agency).await?;
    Ok(MeAgency {
        name,
        whatsapp_template: in_use(custom),
    })
}
