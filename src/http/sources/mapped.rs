//! Senders that post a contact with fields of their own naming: RD Station Marketing's
//! conversion webhook (both its current `WEBHOOK.CONVERTED` body and the legacy `{"leads": […]}`
//! one), and any form or portal (Imovelweb, Chaves na Mão, the agency's site) read through the
//! field mapping the manager set: which path of the body is the name, the phone, the e-mail, the
//! property code, the sender's id and the message. The key travels in the URL (`?key=`), the
//! only place these senders let one put it, or in `X-Roleta-Key`.

use super::text;
use crate::error::{ApiError, Json, Query};
use crate::http::lead_input::{parse_json, LeadIn};
use crate::model::Channel;
use crate::state::AppState;
use crate::store::{IngestOutcome, SourceKind};
use crate::throttle::ClientAddr;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HookKey {
    /// The integration's key, shown once on the integrations page (or send `X-Roleta-Key`).
    key: Option<String>,
}

fn key_of(q: &HookKey, headers: &HeaderMap) -> Option<String> {
    q.key.clone().or_else(|| {
        headers
            .get("x-roleta-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
}

/// What `paths` names: `contact.phone`, `leads.0.name` (a number indexes a list).
pub(crate) fn pick<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(v, |at, seg| match at {
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            Value::Object(o) => o.get(seg),
            _ => None,
        })
}

/// The body as JSON, or a form post (`a=1&b=2`) as a flat object.
fn body_value(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    crate::error::reject_nul(body)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::BadRequest(format!("malformed form body: {e}")))?;
        return Ok(Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ));
    }
    parse_json(headers, body)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HookOut {
    /// One answer per contact in the body (RD Station's legacy body may carry several).
    leads: Vec<IngestOutcome>,
}

fn answer(leads: Vec<IngestOutcome>) -> (StatusCode, Json<HookOut>) {
    let new = leads.iter().any(|l| !l.replayed && !l.recontact);
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    (status, Json(HookOut { leads }))
}

/// RD Station Marketing's conversion webhook: each contact converted becomes a lead (or, L8, a
/// contact on their open lead); a retry of the same conversion is the same lead.
#[utoipa::path(post, tag = "sources", path = "/hooks/rdstation/{public_id}", params(HookKey,
        ("public_id" = String, Path, description = "the integration's id, shown on the integrations page")),
    request_body(content = String, content_type = "application/json", description = "RD Station's WEBHOOK.CONVERTED body, or the legacy {\"leads\": [...]}"),
    responses((status = 202, body = HookOut), (status = 200, body = HookOut, description = "retries, or contacts on open leads"),
        (status = 403, description = "the integration is switched off, or its agency suspended")))]
pub async fn rdstation(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    crate::error::Path(public_id): crate::error::Path<String>,
    Query(q): Query<HookKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HookOut>), ApiError> {
    let key = key_of(&q, &headers);
    let integration = super::authorised(
        &app,
        addr,
        &public_id,
        SourceKind::Rdstation,
        key.as_deref(),
    )
    .await?;
    let body = body_value(&headers, &super::body_bytes(body)?)?;
    let property = integration
        .config
        .pointer("/mapping/property_code")
        .and_then(Value::as_str)
        .map(str::to_string);
    let contacts: Vec<LeadIn> = match body.get("leads").and_then(Value::as_array) {
        Some(legacy) => legacy
            .iter()
            .map(|c| rd_legacy(c, property.as_deref()))
            .collect(),
        None => {
            let contact = body.get("contact").ok_or_else(|| {
                ApiError::invalid("contact", "expected RD Station's contact (or leads)")
            })?;
            vec![rd_contact(&body, contact, property.as_deref())]
        }
    };
    let mut out = Vec::with_capacity(contacts.len());
    for lead in contacts {
        out.push(super::ingest(&app, &integration, lead).await?.1 .0);
    }
    Ok(answer(out))
}

/// The current body: `contact` with the conversion's identifier and time beside it.
fn rd_contact(body: &Value, c: &Value, property: Option<&str>) -> LeadIn {
    let when = text(body.get("event_timestamp")).or_else(|| text(body.get("timestamp")));
    rd_lead(
        c,
        text(c.get("uuid")),
        when,
        text(body.get("event_identifier")),
        text(pick(c, "funnel.origin")),
        property,
    )
}

/// The legacy body's lead: the conversion is told apart by the contact's conversion count.
fn rd_legacy(c: &Value, property: Option<&str>) -> LeadIn {
    let id = text(c.get("uuid")).or_else(|| text(c.get("id")));
    let n =
        text(c.get("number_conversions")).or_else(|| text(pick(c, "last_conversion.created_at")));
    let identifier = text(pick(c, "last_conversion.content.identificador"));
    let campaign = text(pick(c, "last_conversion.conversion_origin.campaign"));
    rd_lead(c, id, n, identifier, campaign, property)
}

/// An RD Station contact as a lead: its source id is the contact's id and the conversion's.
fn rd_lead(
    c: &Value,
    id: Option<String>,
    conversion: Option<String>,
    identifier: Option<String>,
    campaign: Option<String>,
    property: Option<&str>,
) -> LeadIn {
    let mut notes = Vec::new();
    if let Some(ev) = identifier {
        notes.push(format!("Conversão: {ev}"));
    }
    if let Some(city) = text(c.get("city")) {
        notes.push(format!("Cidade: {city}"));
    }
    LeadIn {
        name: text(c.get("name")).unwrap_or_default(),
        phone: text(c.get("mobile_phone"))
            .or_else(|| text(c.get("personal_phone")))
            .unwrap_or_default(),
        email: text(c.get("email")),
        external_id: conversion.map(|n| format!("{}:{n}", id.unwrap_or_default())),
        channel: Some(Channel::Ls),
        property_code: property.and_then(|p| text(pick(c, p))),
        comment: (!notes.is_empty()).then(|| notes.join("\n")),
        ad_campaign: campaign,
        ..LeadIn::default()
    }
}

/// The fields a form mapping may name, and the names read when the manager named none.
pub const MAPPED_FIELDS: &[(&str, &[&str])] = &[
    ("name", &["name", "nome"]),
    ("phone", &["phone", "telefone", "celular"]),
    ("email", &["email", "e-mail"]),
    (
        "property_code",
        &["property_code", "codigo_imovel", "imovel"],
    ),
    ("external_id", &["external_id", "id"]),
    ("message", &["message", "mensagem"]),
];

/// A form or portal's contact, read through the integration's field mapping.
#[utoipa::path(post, tag = "sources", path = "/hooks/form/{public_id}", params(HookKey,
        ("public_id" = String, Path, description = "the integration's id, shown on the integrations page")),
    request_body(content = String, content_type = "application/json", description = "any JSON object (or form post) holding the fields the mapping names"),
    responses((status = 202, body = HookOut), (status = 200, body = HookOut, description = "a retry, or a contact on an open lead"),
        (status = 403, description = "the integration is switched off, or its agency suspended")))]
pub async fn form(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    crate::error::Path(public_id): crate::error::Path<String>,
    Query(q): Query<HookKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HookOut>), ApiError> {
    let key = key_of(&q, &headers);
    let integration =
        super::authorised(&app, addr, &public_id, SourceKind::Form, key.as_deref()).await?;
    let body = body_value(&headers, &super::body_bytes(body)?)?;
    let mapping = integration.config.get("mapping");
    let field = |name: &str| -> Option<String> {
        match mapping.and_then(|m| m.get(name)).and_then(Value::as_str) {
            Some(path) => text(pick(&body, path)),
            None => MAPPED_FIELDS
                .iter()
                .find(|(f, _)| *f == name)
                .and_then(|(_, names)| names.iter().find_map(|n| text(body.get(*n)))),
        }
    };
    let channel = integration
        .config
        .get("channel")
        .and_then(|c| serde_json::from_value::<Channel>(c.clone()).ok())
        .unwrap_or(Channel::Ls);
    let lead = LeadIn {
        name: field("name").unwrap_or_default(),
        phone: field("phone").unwrap_or_default(),
        email: field("email"),
        external_id: field("external_id"),
        channel: Some(channel),
        property_code: field("property_code"),
        comment: field("message"),
        ..LeadIn::default()
    };
    let out = super::ingest(&app, &integration, lead).await?.1 .0;
    Ok(answer(vec![out]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_walks_objects_and_lists() {
        let v = json!({"contact": {"phones": [{"n": "11 9"}, {"n": 12}]}, "a": "x"});
        assert_eq!(pick(&v, "contact.phones.1.n"), Some(&json!(12)));
        assert_eq!(pick(&v, "a"), Some(&json!("x")));
        assert_eq!(pick(&v, "contact.phones.9.n"), None);
        assert_eq!(pick(&v, "a.b"), None);
    }
}
