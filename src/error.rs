//! The one HTTP error type: every handler returns `Result<_, ApiError>`; the body is always
//! `{"error": {"code", "message", "field"?}}` and 500s never leak internals. Also the JSON,
//! path and query extractors, which map their rejections into it and refuse the NUL character
//! (PostgreSQL cannot store it in text) naming the field, before any handler runs.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid {
        /// The field's name, or its path in the body (`statuses[0].name`).
        field: Cow<'static, str>,
        message: String,
    },
    #[error("{0}")]
    Unprocessable(String),
    #[error("request body is larger than the limit")]
    TooLarge,
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    Unavailable(String),
    /// The caller must wait `retry_after_secs` (sent as `Retry-After`): 429 from a throttle or
    /// a lockout, 503 (`busy`) when every password check is taken.
    #[error("{message}")]
    RetryLater {
        busy: bool,
        message: String,
        retry_after_secs: u64,
    },
    /// A refusal the client must tell apart from others of its status: `code` is the
    /// machine-readable reason (`password_change_required`, `account_deactivated`, …) and
    /// `message` what a person reads.
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMedia(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RetryLater { busy: true, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::RetryLater { busy: false, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Refused { status, code, .. } => (*status, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => Some(field.as_ref()),
            _ => None,
        };
        let body =
            json!({ "error": { "code": code, "message": self.to_string(), "field": field } });
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::RetryLater {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => ApiError::NotFound,
            crate::store::StoreError::Conflict(m) | crate::store::StoreError::Duplicate(m) => {
                ApiError::Conflict(m)
            }
            crate::store::StoreError::Invalid { field, message } => {
                ApiError::invalid(field, message)
            }
            crate::store::StoreError::Unavailable(m) => ApiError::Unavailable(m),
            crate::store::StoreError::Fenced { .. } => ApiError::Unavailable(
                "this agency's roulette is moving to another node; try again".into(),
            ),
            crate::store::StoreError::Other(e) => ApiError::Internal(e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::Unprocessable(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMedia(
                "expected a body with Content-Type: application/json".into(),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

/// `axum::Json` whose rejections speak our error format (415 without a JSON content type, 413
/// over the body limit, 400 for a syntax error, 422 for data of the wrong shape), and which
/// refuses a string or key holding the NUL character with 422 naming its path.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(JsonRejection::from(
                axum::extract::rejection::MissingJsonContentType::default(),
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError::from(JsonRejection::from(r)))?;
        reject_nul(&bytes)?;
        let axum::Json(v) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Json(v))
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `application/json` or `application/<anything>+json`, parameters allowed (as `axum::Json`).
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = v.split(';').next().unwrap_or_default().trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5
                && sub
                    .as_bytes()
                    .get(sub.len() - 5..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(b"+json")))
}

/// 422 if a JSON string or key in `body` holds the NUL character. A JSON text can carry one
/// only as the escape `\u0000` (a raw control character is a syntax error), so one memchr
/// search over the bytes is all a body without it costs; with it, the body is parsed once
/// more to name the field. Lead sources' bodies go through here too.
pub fn reject_nul(body: &[u8]) -> Result<(), ApiError> {
    static ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u0000"));
    if ESCAPE.find(body).is_none() {
        return Ok(());
    }
    // Not valid JSON: the caller's own parse gives the syntax error.
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    match nul_path(&v, String::new()) {
        Some(path) => Err(nul_error(path)),
        None => Ok(()),
    }
}

fn nul_error(field: String) -> ApiError {
    let field: Cow<'static, str> = match field.replace('\0', "") {
        f if f.is_empty() => "body".into(),
        f => f.into(),
    };
    let message = format!("{field} must not contain the NUL character");
    ApiError::invalid(field, message)
}

/// The path of the first string or key holding NUL: `name`, `lead.phone`, `statuses[2].name`.
fn nul_path(v: &Value, at: String) -> Option<String> {
    match v {
        Value::String(s) => s.contains('\0').then_some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_path(item, here)
            }
        }),
        _ => None,
    }
}

/// The first parameter whose name or value holds NUL, among decoded `pairs`.
fn nul_param(pairs: &[(String, String)]) -> Option<ApiError> {
    pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| nul_error(k.clone()))
}

/// `axum::extract::Path` whose rejections speak our error format; a segment holding an encoded
/// NUL (`%00`) is refused with 422 naming the parameter.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if memchr::memmem::find(parts.uri.path().as_bytes(), b"%00").is_some() {
            let axum::extract::Path(pairs) =
                axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                    .await?;
            if let Some(e) = nul_param(&pairs) {
                return Err(e);
            }
        }
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(v))
    }
}

/// `axum::extract::Query` whose rejections speak our error format; a parameter holding an
/// encoded NUL (`%00`) is refused with 422 naming it.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        if memchr::memmem::find(raw.as_bytes(), b"%00").is_some() {
            let axum::extract::Query(pairs) =
                axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
            if let Some(e) = nul_param(&pairs) {
                return Err(e);
            }
        }
        let axum::extract::Query(v) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(Query(v))
    }
}
