//! Grupo OLX (ZAP Imóveis, VivaReal, OLX), after its public lead-integration manual
//! (`olxbr/crm-lead-integration`): one POST per lead, the advertiser in the URL, the key in
//! `Authorization: Basic base64(<contract>:<key>)` (only the part after `:` is checked), any
//! non-2xx retried by the portal (five times, ten minutes apart) — so `originLeadId` makes a
//! retry the same lead — and a 5-second timeout, met by answering as soon as the lead is
//! committed (the offer goes out after the answer).

use crate::error::ApiError;
use crate::http::lead_input::{parse_json, LeadIn};
use crate::model::Channel;
use crate::state::AppState;
use crate::store::{IngestOutcome, SourceKind};
use crate::throttle::ClientAddr;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use base64::Engine as _;
use serde::Deserialize;

/// The manual's JSON contract. Every field is read leniently (a string or a number); fields
/// the portal adds later are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrupoZapLead {
    /// The advertiser's contract: `VivaReal`, `Zap`, `GrupoZap`, `OLX`.
    #[schema(value_type = Option<String>)]
    pub lead_origin: Option<serde_json::Value>,
    /// The portal's id of the lead: a retry carries the same one.
    #[schema(value_type = Option<String>)]
    pub origin_lead_id: Option<serde_json::Value>,
    /// The portal's id of the listing.
    #[schema(value_type = Option<String>)]
    pub origin_listing_id: Option<serde_json::Value>,
    /// The agency's own code of the listing: the property the lead is about.
    #[schema(value_type = Option<String>)]
    pub client_listing_id: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub name: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub email: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub ddd: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<serde_json::Value>,
    /// Deprecated by the portal (DDD and number together); read when `ddd`/`phone` are absent.
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub message: Option<serde_json::Value>,
}

/// The key of `Authorization: Basic …`: the part after the first `:` of the decoded value.
fn basic_key(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let decoded = String::from_utf8(raw).ok()?;
    decoded.split_once(':').map(|(_, key)| key.to_string())
}

/// Receives one lead from Grupo OLX. 202 once the lead is committed; 200 for a retry of one
/// already received (same `originLeadId`) or a new contact on the client's open lead (L8).
#[utoipa::path(post, tag = "sources", path = "/hooks/grupozap/{public_id}", request_body = GrupoZapLead,
    params(("public_id" = String, Path, description = "the integration's id (the advertiser in Roleta), shown on the integrations page")),
    responses((status = 202, body = IngestOutcome), (status = 200, body = IngestOutcome, description = "a retry, or a contact on an open lead"),
        (status = 403, description = "the integration is switched off, or its agency suspended"),
        (status = 422, description = "no clientListingId (the manual asks for a 4xx), or no name or phone")))]
pub async fn receive(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    crate::error::Path(public_id): crate::error::Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let key = basic_key(&headers);
    let integration =
        super::authorised(&app, addr, &public_id, SourceKind::Grupozap, key.as_deref()).await?;
    let body = super::body_bytes(body)?;
    let lead: GrupoZapLead = parse_json(&headers, &body)?;
    let input = to_lead(lead)?;
    let (status, out) = super::ingest(&app, &integration, input).await?;
    Ok((status, out))
}

fn to_lead(g: GrupoZapLead) -> Result<LeadIn, ApiError> {
    use super::text;
    let listing = text(g.client_listing_id.as_ref()).ok_or_else(|| {
        ApiError::invalid(
            "clientListingId",
            "clientListingId is required: it links the lead to the agency's listing",
        )
    })?;
    let phone = match (text(g.ddd.as_ref()), text(g.phone.as_ref())) {
        (Some(ddd), Some(p)) => format!("({ddd}) {p}"),
        (None, Some(p)) => p,
        _ => text(g.phone_number.as_ref())
            .ok_or_else(|| ApiError::invalid("phone", "ddd and phone are required"))?,
    };
    let origin = text(g.lead_origin.as_ref());
    let mut comment: Vec<String> = Vec::new();
    if let Some(m) = text(g.message.as_ref()) {
        comment.push(m);
    }
    let mut via = String::from("Portal");
    if let Some(o) = &origin {
        via = format!("{via}: {o}");
    }
    if let Some(l) = text(g.origin_listing_id.as_ref()) {
        via = format!("{via} · anúncio {l}");
    }
    comment.push(via);
    Ok(LeadIn {
        name: text(g.name.as_ref()).unwrap_or_default(),
        phone,
        email: text(g.email.as_ref()),
        external_id: text(g.origin_lead_id.as_ref()),
        channel: Some(Channel::Lp),
        property_code: Some(listing),
        comment: Some(comment.join("\n")),
        ad_campaign: origin,
        ..LeadIn::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_key_is_the_part_after_the_contract() {
        let mut h = HeaderMap::new();
        // The manual's example: "vivareal:594F803B380A41396ED63DCA39503542".
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "Basic dml2YXJlYWw6NTk0RjgwM0IzODBBNDEzOTZFRDYzRENBMzk1MDM1NDI=",
            ),
        );
        assert_eq!(
            basic_key(&h).as_deref(),
            Some("594F803B380A41396ED63DCA39503542")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(basic_key(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_key(&h), None);
    }
}
