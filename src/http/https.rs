//! What HTTPS changes at the HTTP edge: HSTS on responses to requests that came over HTTPS,
//! the [`Https`] extractor the session cookie's `Secure` flag follows (both decided by
//! [`crate::throttle::Throttle::over_https`]), and the plain-HTTP redirect listener's router.

use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A year; no `includeSubDomains`: other hosts of the operator's domain are not ours to pin.
const HSTS: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` when the request came over HTTPS (directly, or through a
/// trusted proxy's `X-Forwarded-Proto`). Browsers ignore it over plain HTTP, so it is not sent.
pub(super) async fn strict_transport(
    State(app): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let https = app.throttle.over_https(req.extensions(), req.headers());
    let mut res = next.run(req).await;
    if https {
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}

/// Whether the request came over HTTPS (see [`crate::throttle::Throttle::over_https`]).
pub struct Https(pub bool);

impl FromRequestParts<AppState> for Https {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Https(
            state.throttle.over_https(&parts.extensions, &parts.headers),
        ))
    }
}

/// The plain-HTTP listener of `server.http_redirect_port`: every request is answered 308 to
/// the same host and path on `https_port` (a method and body are kept by a 308).
pub fn redirect_router(https_port: u16) -> Router {
    Router::new().fallback(move |req: Request| async move {
        match https_location(req.headers(), req.uri(), https_port) {
            Some(to) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, to)]).into_response(),
            None => (
                StatusCode::BAD_REQUEST,
                "a Host header is required to redirect to https",
            )
                .into_response(),
        }
    })
}

/// `https://host[:port]/path?query` for this request, from its `Host` header; `None` when the
/// header is missing or not a host.
fn https_location(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: Authority = host.parse().ok()?;
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    let port = match https_port {
        443 => String::new(),
        p => format!(":{p}"),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Some(format!("https://{host}{port}{path}"))
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test that cannot build its input fails loudly
mod tests {
    use super::*;

    fn location(host: Option<&str>, uri: &str, port: u16) -> Option<String> {
        let mut headers = HeaderMap::new();
        if let Some(h) = host {
            headers.insert(header::HOST, HeaderValue::from_str(h).expect("header"));
        }
        https_location(&headers, &uri.parse().expect("uri"), port)
    }

    #[test]
    fn the_redirect_keeps_host_path_and_query_and_names_the_https_port() {
        assert_eq!(
            location(Some("roleta.exemplo.com.br:80"), "/gestor.html?x=1", 8443).as_deref(),
            Some("https://roleta.exemplo.com.br:8443/gestor.html?x=1")
        );
        assert_eq!(
            location(Some("roleta.exemplo.com.br"), "/", 443).as_deref(),
            Some("https://roleta.exemplo.com.br/")
        );
        assert_eq!(
            location(Some("[2001:db8::1]:8080"), "/ws", 443).as_deref(),
            Some("https://[2001:db8::1]/ws")
        );
    }

    #[test]
    fn no_host_or_a_bad_one_gets_no_redirect() {
        assert_eq!(location(None, "/", 443), None);
        assert_eq!(location(Some("a b"), "/", 443), None);
        assert_eq!(location(Some(""), "/", 443), None);
    }
}
