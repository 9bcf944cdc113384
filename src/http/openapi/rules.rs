//! What every operation shares, applied to the whole document in one place rather than repeated
//! on each handler: the security schemes and which operations need which, the error answers each
//! kind of operation can give (all in the one `ApiError` body), and a summary for each operation.
//! A handler's own `#[utoipa::path]` keeps only what is particular to it (its success bodies,
//! a 409 with its meaning); anything it already says is left as it is.

use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{Modify, ToSchema};

/// Anyone may call these: no credentials are read.
const PUBLIC: &[&str] = &[
    "POST /api/v1/auth/login",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /api/v1/push/key",
];

/// Called by a lead source with its agency API key, not by a signed-in user.
const SOURCE: &[&str] = &["POST /api/v1/leads"];

/// Called by a sender with its own contract (docs/SOURCES.md), each with the credential that
/// contract carries.
const HOOKS: &[(&str, &[&str])] = &[
    ("POST /hooks/grupozap/{public_id}", &["grupozap_basic"]),
    ("GET /hooks/meta/{public_id}", &["meta_verify_token"]),
    ("POST /hooks/meta/{public_id}", &["meta_signature"]),
    (
        "POST /hooks/rdstation/{public_id}",
        &["hook_key", "hook_key_header"],
    ),
    (
        "POST /hooks/form/{public_id}",
        &["hook_key", "hook_key_header"],
    ),
];

/// Called by the CRM vendor with the platform token (docs/PLATFORM.md): every path under it.
const PLATFORM_PREFIX: &str = "/api/v1/platform/";

/// Open to every signed-in user, even one who must change their password first; no role is
/// checked, and a GET never meets the cookie's origin check, so these cannot answer 403.
/// (Every other operation answers 403 `password_change_required` to such a user.)
const ANY_ROLE_READS: &[&str] = &["GET /api/v1/me"];

/// Answers that read nothing from the store, so a database outage cannot turn them into 503.
const NO_STORE: &[&str] = &["GET /healthz", "GET /metrics", "GET /api/v1/push/key"];

/// The body of every error answer (`src/error.rs`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes what `ApiError` writes; never built
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)] // describes what `ApiError` writes; never built
pub struct ErrorDetail {
    /// A stable word: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `invalid`, `too_large`, `unsupported_media_type`, `too_many_requests`, `unavailable`;
    /// on a 403, `password_change_required` (choose a new password with
    /// PUT /api/v1/me/password first) or, at sign-in, `account_deactivated`.
    code: String,
    /// What went wrong, for a person.
    message: String,
    /// The request field at fault, when one is (`invalid`).
    field: Option<String>,
}

/// The rules above, as a utoipa `Modify` on the generated document.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, doc: &mut OpenApi) {
        add_security_schemes(doc);
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("PATCH", &mut item.patch),
            ];
            for (method, op) in ops {
                if let Some(op) = op.as_mut() {
                    apply(&format!("{method} {path}"), op);
                }
            }
        }
    }
}

fn add_security_schemes(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "roleta_session",
            "Set by POST /api/v1/auth/login. State changes sent with the cookie from another \
             site's Origin answer 403.",
        ))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The `token` of POST /api/v1/auth/login, or a personal token (`rt_…`) \
                     from POST /api/v1/auth/tokens.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "source_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("rk_…")
                .description(Some(
                    "An agency API key (`rk_…`) from POST /api/v1/api-keys.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "platform",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The platform token of a CRM vendor hosting many agencies; the server keeps \
                     only its SHA-256 (platform.token_sha256). Without one configured, every \
                     /api/v1/platform/ operation answers 404.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "grupozap_basic",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "Grupo OLX's lead integration: Basic with `<contract>:<key>`, the key shown \
                     when the integration was created; only the part after `:` is checked.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "meta_verify_token",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "hub.verify_token",
            "Meta's subscription check: the verify token shown when the integration was created.",
        ))),
    );
    components.add_security_scheme(
        "meta_signature",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Hub-Signature-256",
            "sha256=<hex HMAC-SHA256 of the raw body with the Meta app secret>.",
        ))),
    );
    components.add_security_scheme(
        "hook_key",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "key",
            "The integration's key, shown when it was created, in the URL given to the sender.",
        ))),
    );
    components.add_security_scheme(
        "hook_key_header",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Roleta-Key",
            "The same integration key, in a header of its own.",
        ))),
    );
    components.add_security_scheme(
        "source_key_header",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "The same agency API key, in a header of its own.",
        ))),
    );
}

fn apply(key: &str, op: &mut Operation) {
    fill_summary(op);
    let public = PUBLIC.contains(&key);
    let hook = HOOKS.iter().find(|(k, _)| *k == key).map(|(_, s)| *s);
    let source = SOURCE.contains(&key) || hook.is_some();
    let platform = key.contains(PLATFORM_PREFIX);
    if let Some(schemes) = hook {
        op.security = Some(
            schemes
                .iter()
                .map(|s| SecurityRequirement::new(*s, Vec::<String>::new()))
                .collect(),
        );
    } else if platform {
        op.security = Some(vec![SecurityRequirement::new(
            "platform",
            Vec::<String>::new(),
        )]);
    } else if SOURCE.contains(&key) {
        op.security = Some(vec![
            SecurityRequirement::new("source_key", Vec::<String>::new()),
            SecurityRequirement::new("source_key_header", Vec::<String>::new()),
        ]);
    } else if !public {
        op.security = Some(vec![
            SecurityRequirement::new("session", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let in_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let body = op.request_body.is_some();

    let mut add = |status: &str, why: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(why)));
    };
    if body || in_path || in_query {
        add(
            "400",
            "malformed JSON, or a path or query value of the wrong type",
        );
    }
    if !public {
        add("401", "no credentials, or unknown, expired or revoked ones");
    }
    if platform {
        add("401", "no platform token, or a wrong one");
        add("404", "the platform API is off (no platform.token_sha256)");
    }
    if !public && !source && !platform && !ANY_ROLE_READS.contains(&key) {
        add(
            "403",
            "the user's role may not do this, a cookie request came from a foreign Origin, or \
             (`password_change_required`) the user must change their password first",
        );
    }
    if in_path {
        add("404", "no such resource in the caller's agency");
    }
    if body {
        add("413", "the body is larger than server.body_limit_bytes");
        add(
            "415",
            "the body is not sent as Content-Type: application/json",
        );
    }
    if body || in_query {
        add(
            "422",
            "a field is missing, of the wrong type or out of range",
        );
    }
    if !public || key == "POST /api/v1/auth/login" {
        add(
            "429",
            "too many attempts from this client or for this account; see Retry-After",
        );
    }
    if !NO_STORE.contains(&key) {
        add(
            "503",
            "the database is unavailable or the server is shutting down",
        );
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if status.starts_with('4') || status.starts_with('5') {
                describe_error(status, response);
            }
        }
    }
}

/// Every error answer is the `ApiError` body; 429 and 503 may say when to come back.
fn describe_error(status: &str, response: &mut Response) {
    if response.content.is_empty() {
        response.content.insert(
            "application/json".to_string(),
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        );
    }
    if status == "429" || status == "503" {
        response
            .headers
            .entry("Retry-After".to_string())
            .or_insert_with(|| {
                let mut h = Header::default();
                h.description = Some("seconds to wait before trying again".to_string());
                h
            });
    }
}

/// The handler's doc line when it has one (one line, however it was wrapped), else its name.
fn fill_summary(op: &mut Operation) {
    let summary = match op.summary.take() {
        Some(s) if !s.trim().is_empty() => s.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => {
            let name = op
                .operation_id
                .as_deref()
                .unwrap_or("operation")
                .replace('_', " ");
            let mut chars = name.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => name,
            }
        }
    };
    op.summary = Some(summary);
}
