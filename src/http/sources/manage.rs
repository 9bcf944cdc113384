//! The manager's side of the sources: create an integration (its URL and key shown once, to
//! paste into the sender), list them with what each brought, change one, give it a new key.

use super::mapped::MAPPED_FIELDS;
use crate::auth::{self, Managers, Require};
use crate::error::{ApiError, Json};
use crate::model::{AgencyId, Channel};
use crate::state::AppState;
use crate::store::{IntegrationInfo, NewIntegration, SourceKind, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntegrationIn {
    pub kind: SourceKind,
    /// How its leads' source reads ("Grupo OLX", "Imovelweb"…); unique in the agency. The
    /// sender's own name when absent (a form integration must give one).
    pub name: Option<String>,
    /// Where its leads go; the agency's default department when absent.
    pub department_id: Option<i64>,
    #[serde(flatten)]
    pub config: ConfigIn,
}

/// What an integration's kind needs. Secrets are write-only: never shown again.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ConfigIn {
    /// Meta: the app secret that signs deliveries (X-Hub-Signature-256).
    pub app_secret: Option<String>,
    /// Meta: the page access token the leads' fields are read with.
    pub page_token: Option<String>,
    /// Meta: the page whose leads this is; deliveries for another page are ignored.
    pub page_id: Option<String>,
    /// Form (and RD Station's `property_code`): which path of the body holds each field —
    /// `name`, `phone`, `email`, `property_code`, `external_id`, `message` — e.g.
    /// `{"name": "contato.nome", "phone": "contato.fones.0"}`.
    pub mapping: Option<BTreeMap<String, String>>,
    /// Form: the lead's badge (`lp` portal, `ls` site, `lf` social); `ls` when absent.
    pub channel: Option<Channel>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntegrationUpdate {
    pub department_id: Option<i64>,
    pub active: bool,
    /// Absent: kept as it is; a secret given replaces the one kept, `""` removes it.
    #[serde(flatten)]
    pub config: ConfigIn,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationCreated {
    pub integration: IntegrationInfo,
    /// Shown once (only its digest is kept): Grupo OLX's key, Meta's verify token, the key of
    /// the RD Station and form URLs.
    pub key: String,
    /// The path to give the sender, on this server's address: `/hooks/<kind>/<public_id>`.
    pub path: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyOut {
    /// The new key, shown once; the old one stops working at once.
    pub key: String,
    pub path: String,
}

fn default_name(kind: SourceKind) -> Option<&'static str> {
    match kind {
        SourceKind::Grupozap => Some("Grupo OLX"),
        SourceKind::Meta => Some("Facebook/Instagram"),
        SourceKind::Rdstation => Some("RD Station"),
        SourceKind::Form => None,
    }
}

fn path_of(kind: SourceKind, public_id: &str) -> String {
    format!("/hooks/{}/{public_id}", kind.as_str())
}

async fn check_department(
    app: &AppState,
    agency: AgencyId,
    id: Option<i64>,
) -> Result<(), ApiError> {
    let Some(id) = id else { return Ok(()) };
    match app
        .store
        .resolve_department(agency, Some(&id.to_string()))
        .await
    {
        Ok(d) if d.id == id => Ok(()),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::invalid(
            "department_id",
            "no such department in this agency",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Merges what the manager sent into the kept configuration, checking each field.
fn merge_config(kind: SourceKind, mut kept: Value, c: ConfigIn) -> Result<Value, ApiError> {
    if !kept.is_object() {
        kept = json!({});
    }
    let obj = kept.as_object_mut().ok_or(ApiError::NotFound)?;
    let mut set = |field: &'static str, v: Option<String>, max: usize| -> Result<(), ApiError> {
        let Some(v) = v else { return Ok(()) };
        let v = v.trim().to_string();
        if v.chars().count() > max {
            return Err(ApiError::invalid(
                field,
                format!("{field} is longer than {max} characters"),
            ));
        }
        if kind != SourceKind::Meta {
            return Err(ApiError::invalid(field, "only a Meta integration has this"));
        }
        if v.is_empty() {
            obj.remove(field);
        } else {
            obj.insert(field.into(), Value::String(v));
        }
        Ok(())
    };
    set("app_secret", c.app_secret, 200)?;
    set("page_token", c.page_token, 1000)?;
    set("page_id", c.page_id, 64)?;
    if let Some(m) = c.mapping {
        let mut out = Map::new();
        for (field, path) in m {
            if !MAPPED_FIELDS.iter().any(|(f, _)| *f == field) {
                return Err(ApiError::invalid(
                    format!("mapping.{field}"),
                    "not a field a mapping may name (name, phone, email, property_code, external_id, message)",
                ));
            }
            let path = path.trim().to_string();
            if path.is_empty() || path.chars().count() > 200 {
                return Err(ApiError::invalid(
                    format!("mapping.{field}"),
                    "a path of 1 to 200 characters, such as contato.telefone",
                ));
            }
            if kind == SourceKind::Rdstation && field != "property_code" {
                return Err(ApiError::invalid(
                    format!("mapping.{field}"),
                    "RD Station's fields are read as RD Station sends them; only property_code is mapped",
                ));
            }
            out.insert(field, Value::String(path));
        }
        if !matches!(kind, SourceKind::Form | SourceKind::Rdstation) && !out.is_empty() {
            return Err(ApiError::invalid(
                "mapping",
                "only a form or RD Station integration has a mapping",
            ));
        }
        obj.insert("mapping".into(), Value::Object(out));
    }
    if let Some(ch) = c.channel {
        if kind != SourceKind::Form {
            return Err(ApiError::invalid(
                "channel",
                "only a form integration has a channel",
            ));
        }
        if !matches!(ch, Channel::Lp | Channel::Ls | Channel::Lf) {
            return Err(ApiError::invalid("channel", "lp, ls or lf"));
        }
        obj.insert("channel".into(), Value::String(ch.as_str().into()));
    }
    Ok(kept)
}

async fn info(app: &AppState, agency: AgencyId, id: i64) -> Result<IntegrationInfo, ApiError> {
    app.store
        .integrations(agency, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// The agency's lead-source integrations, with how many leads each brought.
#[utoipa::path(get, tag = "sources", path = "/api/v1/integrations",
    responses((status = 200, body = [IntegrationInfo])))]
pub async fn list_integrations(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<IntegrationInfo>>, ApiError> {
    Ok(Json(app.store.integrations(user.agency(), None).await?))
}

/// Creates an integration; its key is in this answer only.
#[utoipa::path(post, tag = "sources", path = "/api/v1/integrations", request_body = IntegrationIn,
    responses((status = 201, body = IntegrationCreated), (status = 409, description = "an integration of that name exists")))]
pub async fn create_integration(
    State(app): State<AppState>,
    user: Require<Managers>,
    Json(body): Json<IntegrationIn>,
) -> Result<(StatusCode, Json<IntegrationCreated>), ApiError> {
    let agency = user.agency();
    let name = match (body.name.as_deref(), default_name(body.kind)) {
        (Some(n), _) if !n.trim().is_empty() => crate::http::required("name", n, 100)?,
        (_, Some(d)) => d.to_string(),
        _ => return Err(ApiError::invalid("name", "name is required")),
    };
    check_department(&app, agency, body.department_id).await?;
    let config = merge_config(body.kind, json!({}), body.config)?;
    let public_id = auth::new_token("").chars().take(24).collect::<String>();
    let key = auth::new_token("");
    let id = app
        .store
        .create_integration(
            NewIntegration {
                agency,
                kind: body.kind,
                name: &name,
                public_id: &public_id,
                key_hash: &auth::token_hash(&key),
                config: &config,
                department_id: body.department_id,
            },
            app.clock.now_ms(),
        )
        .await?;
    let integration = info(&app, agency, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(IntegrationCreated {
            integration,
            key,
            path: path_of(body.kind, &public_id),
        }),
    ))
}

/// Changes an integration: its department, on or off, its configuration.
#[utoipa::path(put, tag = "sources", path = "/api/v1/integrations/{id}", request_body = IntegrationUpdate,
    responses((status = 200, body = IntegrationInfo)))]
pub async fn update_integration(
    State(app): State<AppState>,
    user: Require<Managers>,
    crate::error::Path(id): crate::error::Path<i64>,
    Json(body): Json<IntegrationUpdate>,
) -> Result<Json<IntegrationInfo>, ApiError> {
    let agency = user.agency();
    let current = app.store.integration(agency, id).await?;
    check_department(&app, agency, body.department_id).await?;
    let config = merge_config(current.kind, current.config, body.config)?;
    app.store
        .update_integration(agency, id, &config, body.department_id, body.active)
        .await?;
    Ok(Json(info(&app, agency, id).await?))
}

/// Gives an integration a new key (shown once); the old one stops working at once.
#[utoipa::path(post, tag = "sources", path = "/api/v1/integrations/{id}/key",
    responses((status = 200, body = KeyOut)))]
pub async fn new_key(
    State(app): State<AppState>,
    user: Require<Managers>,
    crate::error::Path(id): crate::error::Path<i64>,
) -> Result<Json<KeyOut>, ApiError> {
    let agency = user.agency();
    let current = app.store.integration(agency, id).await?;
    let key = auth::new_token("");
    app.store
        .set_integration_key(agency, id, &auth::token_hash(&key))
        .await?;
    Ok(Json(KeyOut {
        key,
        path: path_of(current.kind, &current.public_id),
    }))
}
