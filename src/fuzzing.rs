//! Thin entry points for the coverage-guided fuzz targets in `fuzz/` (docs/SECURITY.md): each
//! runs the same parsing and checks the server runs on outside input, with no database, and
//! panics when an invariant the server relies on breaks. Not an API; hidden from the docs.
#![doc(hidden)]

use crate::error::ApiError;
use crate::http::crm::parse_when;
use crate::http::lead_input::{parse_json, LeadIn};
use crate::http::{optional, required};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;

/// One text frame from a broker's client: parsed as the connection parses it; a malformed frame
/// must still give an error frame that is valid JSON, and a refusal reason is cut to 200 chars.
pub fn ws_client_text(text: &str) {
    crate::ws::fuzzing::client_text(text)
}

/// A lead source's request body: parsed as `POST /api/v1/leads` parses it, then every check of
/// `build_lead` that needs no database. A refusal must be a 4xx; an accepted lead must have a
/// trimmed, bounded name and an E.164 phone that normalises to itself.
pub fn lead_body(body: &[u8]) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Err(e) = parse_json::<LeadIn>(&headers, body).and_then(check_lead) {
        let status = e.into_response().status();
        assert!(status.is_client_error(), "bad lead input answered {status}");
    }
}

fn check_lead(l: LeadIn) -> Result<(), ApiError> {
    let name = required("name", &l.name, 200)?;
    assert!(!name.is_empty() && name.chars().count() <= 200 && name.trim() == name);
    let phone = phone(&l.phone).map_err(|m| ApiError::invalid("phone", m))?;
    let email = optional("email", l.email.as_deref(), 254)?;
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::invalid("email", "not an e-mail address"));
    }
    optional("ad_campaign", l.ad_campaign.as_deref(), 200)?;
    if let Some(d) = l.due_at.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        parse_when("due_at", d)?;
    }
    optional("location", l.location.as_deref(), 300)?;
    optional("external_id", l.external_id.as_deref(), 200)?;
    optional("property_code", l.property_code.as_deref(), 64)?;
    optional("appraisal_address", l.appraisal_address.as_deref(), 300)?;
    optional("condominium", l.condominium.as_deref(), 200)?;
    optional("comment", l.comment.as_deref(), 4000)?;
    assert!(phone.starts_with('+'));
    Ok(())
}

/// A phone number as typed: accepted numbers are E.164 (`+` and at most 15 digits) and stable
/// (normalising the result gives the result), so one client is one client (L2).
pub fn phone(input: &str) -> Result<String, &'static str> {
    let out = crate::phone::normalize(input)?;
    let digits = out.strip_prefix('+').unwrap_or("");
    assert!(
        !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{input:?} normalised to {out:?}, not E.164"
    );
    assert_eq!(
        crate::phone::normalize(&out).as_deref(),
        Ok(out.as_str()),
        "{input:?} normalised to {out:?}, which does not normalise to itself"
    );
    Ok(out)
}

/// A lead-number template as a manager saves it, formatted as the ingest writer formats it.
/// Whatever the template, the number stays short enough to store and index: at most 8 bytes per
/// template byte plus 20 (an i64). `{seq:70000}` breaks this today (finding 1).
pub fn lead_number(template: &str, year: i32, seq: i64) {
    let out = crate::store::format_lead_number(template, year, seq);
    assert!(
        out.len() <= template.len() * 8 + 20,
        "template {template:?} gave a {}-byte lead number",
        out.len()
    );
}
