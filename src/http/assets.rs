//! The pages, scripts and styles, built into the binary (`static/` at compile time), so a copied
//! `roleta` serves them from any folder. `server.static_dir` (or `--static-dir`) serves a folder
//! from disk instead, for development.
//!
//! Caching: every page links its scripts and styles as `/js/x.js?v=<hash>`; an asset asked for
//! with its current hash is cached for a year (`immutable`), since a new version has a new URL.
//! Pages, the service worker and assets asked for without the hash (a module's `import`) answer
//! `no-cache` with an ETag, so the browser revalidates them and gets a 304 when nothing changed.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Pages;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// One file as it is served: pages already carry their assets' versioned URLs.
struct Asset {
    body: Vec<u8>,
    mime: String,
    /// Hex of the SHA-256 of `body`, shortened: the ETag and the `?v=` of the URL.
    version: String,
    is_page: bool,
}

fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    // The first 8 bytes: 16 hex characters.
    let mut hex = hex::encode(sha2::Sha256::digest(bytes));
    hex.truncate(16);
    hex
}

fn mime_of(path: &str, guessed: &str) -> String {
    if guessed.starts_with("text/") || guessed.ends_with("javascript") || guessed.ends_with("json")
    {
        format!("{guessed}; charset=utf-8")
    } else if path.ends_with(".webmanifest") {
        "application/manifest+json".to_string()
    } else {
        guessed.to_string()
    }
}

/// Every embedded file, read once; pages rewritten to link each asset by its current version.
fn catalogue() -> &'static HashMap<String, Asset> {
    static CATALOGUE: OnceLock<HashMap<String, Asset>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut files: HashMap<String, Asset> = Pages::iter()
            .filter_map(|path| {
                let file = Pages::get(&path)?;
                let body = file.data.into_owned();
                Some((
                    path.to_string(),
                    Asset {
                        version: short_hash(&body),
                        mime: mime_of(&path, file.metadata.mimetype()),
                        is_page: path.ends_with(".html"),
                        body,
                    },
                ))
            })
            .collect();
        let links: Vec<(String, String)> = files
            .iter()
            .filter(|(path, a)| !a.is_page && path.as_str() != "sw.js")
            .map(|(path, a)| {
                (
                    format!("\"/{path}\""),
                    format!("\"/{path}?v={}\"", a.version),
                )
            })
            .collect();
        for asset in files.values_mut().filter(|a| a.is_page) {
            let mut text = String::from_utf8_lossy(&asset.body).into_owned();
            for (plain, versioned) in &links {
                text = text.replace(plain.as_str(), versioned);
            }
            asset.version = short_hash(text.as_bytes());
            asset.body = text.into_bytes();
        }
        files
    })
}

/// Reads every embedded file now, so the first request does not pay for it.
pub fn warm() -> usize {
    catalogue().len()
}

/// The versioned URL of an embedded asset (`/js/api.js?v=…`).
#[cfg(test)]
pub fn versioned_url(path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    catalogue()
        .get(path)
        .map(|a| format!("/{path}?v={}", a.version))
}

/// The fallback of the router: an embedded file, or 404.
pub async fn serve(req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = req.uri().path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let Some(asset) = catalogue().get(&path) else {
        return not_found();
    };
    let versioned = req
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("v="))
        .is_some_and(|v| v == asset.version);
    let etag = format!("\"{}\"", asset.version);
    let cache = if versioned { IMMUTABLE } else { REVALIDATE };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if matches_etag(req.headers(), &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    if let Ok(v) = HeaderValue::from_str(&asset.mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let body = if req.method() == Method::HEAD {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.body.len()));
        Body::empty()
    } else {
        Body::from(asset.body.as_slice())
    };
    (StatusCode::OK, headers, body).into_response()
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
        ],
        "Página não encontrada.",
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test that cannot build its input fails loudly
mod tests {
    use super::*;

    #[test]
    fn pages_link_assets_by_version() {
        let index = catalogue()
            .get("index.html")
            .expect("index.html is embedded");
        let text = String::from_utf8_lossy(&index.body);
        let css = versioned_url("/css/app.css").expect("app.css is embedded");
        assert!(text.contains(&format!("\"{css}\"")), "{text}");
        assert!(!text.contains("\"/css/app.css\""), "{text}");
    }

    #[test]
    fn the_service_worker_is_never_versioned() {
        assert!(catalogue().contains_key("sw.js"));
        for page in catalogue().values().filter(|a| a.is_page) {
            assert!(!String::from_utf8_lossy(&page.body).contains("sw.js?v="));
        }
    }
}
