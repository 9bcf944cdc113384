//! The pages built into the binary: served from anywhere, linked by version, cached for as long as
//! a version lives, revalidated where a URL stays the same; a static folder overrides them.

use crate::helpers::{spawn_app, spawn_app_with, Backend};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;

fn asset_links(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|s| (s.starts_with("/js/") || s.starts_with("/css/")) && s.contains("?v="))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_assets_carry_the_right_cache_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    assert!(page.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let etag = page.headers()[ETAG].clone();
    let html = page.text().await.unwrap();
    let links = asset_links(&html);
    assert!(
        links.iter().any(|l| l.starts_with("/js/login.js?v=")),
        "{links:?}"
    );
    assert!(
        links.iter().any(|l| l.starts_with("/css/app.css?v=")),
        "{links:?}"
    );
    // A page asked again with its ETag: 304, no body.
    let again = app
        .http
        .get(format!("{}/index.html", app.base))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // A versioned asset lives a year; the same file without its version is revalidated.
    for link in &links {
        let r = app
            .http
            .get(format!("{}{link}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{link}");
        assert_eq!(
            r.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{link}"
        );
    }
    let plain = app
        .http
        .get(format!("{}/js/api.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()[CACHE_CONTROL], "no-cache");
    assert!(plain.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let stale = app
        .http
        .get(format!("{}/js/api.js?v=0000", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.headers()[CACHE_CONTROL],
        "no-cache",
        "an old version is not cached for a year"
    );
    let sw = app
        .http
        .get(format!("{}/sw.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sw.headers()[CACHE_CONTROL], "no-cache");
    let missing = app
        .http
        .get(format!("{}/nada.html", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.text().await.unwrap(), "Página não encontrada.");
    let post = app
        .http
        .post(format!("{}/gestor.html", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_folder_overrides_the_built_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<p>página de desenvolvimento</p>",
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap().to_string();
    let app = spawn_app_with(Backend::Sqlite, move |s| s.server.static_dir = folder).await;
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(
        page.text().await.unwrap(),
        "<p>página de desenvolvimento</p>"
    );
    let gone = app
        .http
        .get(format!("{}/gestor.html", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "only the folder is served"
    );
    app.finish().await;
}
