//! Facebook and Instagram lead ads, after Meta's webhook contract: the subscription handshake
//! (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge` echoed back), deliveries signed
//! with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`, each
//! `leadgen` change naming a `leadgen_id` whose fields are then read from the Graph API with the
//! page's token. The delivery is answered at once: its leads wait as jobs (committed first) that
//! `MetaWorker` fetches with retries, so a Graph outage delays a lead and never loses it.

use crate::error::{ApiError, Json, Query};
use crate::state::AppState;
use crate::store::{SourceKind, StoreError};
use crate::throttle::ClientAddr;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's subscription check: answers `hub.challenge` when the verify token is the one the
/// integrations page showed; 403 otherwise.
#[utoipa::path(get, tag = "sources", path = "/hooks/meta/{public_id}", params(Handshake,
        ("public_id" = String, Path, description = "the integration's id, shown on the integrations page")),
    responses((status = 200, body = String, content_type = "text/plain", description = "the challenge, echoed"),
        (status = 403, description = "not a subscribe request, or a wrong verify token")))]
pub async fn verify(
    State(app): State<AppState>,
    ClientAddr(addr): ClientAddr,
    crate::error::Path(public_id): crate::error::Path<String>,
    Query(q): Query<Handshake>,
) -> Result<impl IntoResponse, ApiError> {
    let wrong = || ApiError::Forbidden("wrong hub.mode or hub.verify_token".into());
    if q.mode.as_deref() != Some("subscribe") {
        return Err(wrong());
    }
    let integration = match super::authorised(
        &app,
        addr,
        &public_id,
        SourceKind::Meta,
        q.verify_token.as_deref(),
    )
    .await
    {
        Ok(i) => i,
        Err(ApiError::Unauthorized) => return Err(wrong()),
        Err(e) => return Err(e),
    };
    tracing::info!(
        integration = integration.id,
        "Meta webhook subscription verified"
    );
    let challenge = q.challenge.unwrap_or_default();
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        challenge,
    ))
}

#[derive(Debug, Deserialize)]
struct Delivery {
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    id: Option<serde_json::Value>,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    field: Option<String>,
    #[serde(default)]
    value: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queued {
    /// Leads queued for fetching from the Graph API (a repeat of a queued one is not counted).
    queued: usize,
}

/// Checks `X-Hub-Signature-256` over the raw body (constant time).
fn signed(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// A lead ads delivery: refused (401) unless signed with the integration's app secret; its
/// `leadgen` changes are queued (committed) and answered 200 at once.
#[utoipa::path(post, tag = "sources", path = "/hooks/meta/{public_id}",
    params(("public_id" = String, Path, description = "the integration's id, shown on the integrations page"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body with the app secret>")),
    request_body(content = String, content_type = "application/json", description = "Meta's webhook delivery (object page, leadgen changes)"),
    responses((status = 200, body = Queued),
        (status = 401, description = "no signature, one not made with the app secret, or no Meta integration with this id"),
        (status = 403, description = "the integration is switched off, its app secret not set, or its agency suspended")))]
pub async fn receive(
    State(app): State<AppState>,
    crate::error::Path(public_id): crate::error::Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    // An unknown id is refused like a bad signature: ids cannot be probed.
    let integration = match app.store.integration_by_public_id(&public_id).await {
        Ok(i) if i.kind == SourceKind::Meta => i,
        Ok(_) | Err(StoreError::NotFound) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let body = super::body_bytes(body)?;
    let secret = super::text(integration.config.get("app_secret")).ok_or_else(|| {
        ApiError::Forbidden("set the Meta app secret on the integrations page first".into())
    })?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signed(&secret, &body, signature) {
        return Err(ApiError::Unauthorized);
    }
    super::usable(&integration)?;
    let delivery: Delivery = crate::http::lead_input::parse_json(&headers, &body)?;
    if delivery.object.as_deref() != Some("page") {
        return Ok((StatusCode::OK, Json(Queued { queued: 0 })));
    }
    let page = super::text(integration.config.get("page_id"));
    let mut jobs = Vec::new();
    for entry in delivery.entry {
        let entry_page = super::text(entry.id.as_ref());
        if page.is_some() && entry_page.is_some() && page != entry_page {
            tracing::warn!(integration = integration.id, page = ?entry_page, "a lead of another page: ignored");
            continue;
        }
        for change in entry.changes {
            if change.field.as_deref() != Some("leadgen") {
                continue;
            }
            let Some(leadgen) = super::text(change.value.get("leadgen_id")) else {
                continue;
            };
            jobs.push((leadgen, change.value.to_string()));
        }
    }
    let now = app.clock.now_ms();
    let queued = app
        .store
        .enqueue_source_jobs(integration.agency_id, integration.id, &jobs, now)
        .await?;
    if queued > 0 {
        crate::metrics::source_jobs_queued(queued);
    }
    Ok((StatusCode::OK, Json(Queued { queued })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_the_raw_body() {
        let body = br#"{"object":"page","entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"segredo").unwrap_or_else(|_| unreachable!());
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signed("segredo", body, Some(&good)));
        assert!(!signed("outro", body, Some(&good)));
        assert!(!signed(
            "segredo",
            br#"{"object":"page","entry":[ ]}"#,
            Some(&good)
        ));
        assert!(!signed("segredo", body, Some("sha256=zz")));
        assert!(!signed("segredo", body, None));
        assert!(!signed(
            "segredo",
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
    }
}
