//! CSV import of clients and properties (docs/IMPORT.md): upload (the preview), its rows, the
//! confirmation. The upload and the confirmation may take minutes on a large file: they live
//! in their own router, outside the request timeout and the JSON body limit, with their own
//! (`server.import_timeout_seconds`, `server.import_body_limit_bytes`).

use crate::auth::{Managers, Require};
use crate::error::{ApiError, Json, Path, Query};
use crate::import::{read_csv, FileError, Kind, Upload};
use crate::state::AppState;
use crate::store::{Import, ImportRow};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

/// The routes that read a file or write one: their own timeout.
pub fn long_router(timeout_seconds: u64) -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports/clients", post(import_clients))
        .route("/api/v1/imports/properties", post(import_properties))
        .route("/api/v1/imports/{id}/confirm", post(confirm_import))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(timeout_seconds.max(1)),
        ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports", get(list_imports))
        .route("/api/v1/imports/{id}", get(get_import))
        .route("/api/v1/imports/{id}/rows", get(list_import_rows))
}

/// Content types a browser or a script sends a CSV file with.
const CSV_TYPES: &[&str] = &[
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

fn check_csv(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if CSV_TYPES.contains(&ct.as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMedia(
            "send the file as the body with Content-Type: text/csv".into(),
        ))
    }
}

/// Clients (nome, telefone, email, corretor, departamento, observacoes, imoveis): every row is
/// checked and staged; nothing is written to the clients until the confirmation.
#[utoipa::path(post, path = "/api/v1/imports/clients",
    request_body(content = String, content_type = "text/csv", description = "The CSV file, `;` or `,`, UTF-8 (with or without BOM); docs/IMPORT.md"),
    responses((status = 201, body = Import), (status = 413, description = "larger than server.import_body_limit_bytes"),
        (status = 415, description = "the body is not sent as Content-Type: text/csv"),
        (status = 422, description = "empty file, a required column missing (`field` names it), or an unreadable file")))]
pub async fn import_clients(
    State(app): State<AppState>,
    user: Require<Managers>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    upload(app, user, Kind::Clients, headers, body).await
}

/// Properties (codigo, tipo, transacao, preco, bairro, quartos, vagas, endereco, captador):
/// staged like clients; the confirmation creates new codes and updates known ones.
#[utoipa::path(post, path = "/api/v1/imports/properties",
    request_body(content = String, content_type = "text/csv", description = "The CSV file; docs/IMPORT.md"),
    responses((status = 201, body = Import), (status = 413, description = "larger than server.import_body_limit_bytes"),
        (status = 415, description = "the body is not sent as Content-Type: text/csv"),
        (status = 422, description = "empty file, a required column missing (`field` names it), or an unreadable file")))]
pub async fn import_properties(
    State(app): State<AppState>,
    user: Require<Managers>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    upload(app, user, Kind::Properties, headers, body).await
}

async fn upload(
    app: AppState,
    user: Require<Managers>,
    kind: Kind,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    check_csv(&headers)?;
    let agency = user.agency();
    let lookups = app.store.import_lookups(agency).await?;
    let limit = app.settings.server.import_body_limit_bytes;
    let (pump, events, reader) = read_csv(body.into_data_stream(), kind, limit);
    let store = &app.store;
    let clock = &app.clock;
    let consume = async {
        let mut events = events;
        let mut id = None;
        let out: Result<i64, ApiError> = loop {
            let Some(ev) = events.recv().await else {
                break Err(ApiError::BadRequest("the upload ended early".into()));
            };
            let step = match ev {
                Upload::Header { separator, columns } => {
                    let sep = char::from(separator).to_string();
                    store
                        .create_import(
                            agency,
                            kind,
                            &sep,
                            &columns.ignored,
                            user.user.id,
                            clock.now_ms(),
                        )
                        .await
                        .map(|i| id = Some(i))
                }
                Upload::Rows(lines) => match id {
                    Some(i) => {
                        store
                            .stage_rows(agency, i, lines, &lookups, clock.now_ms())
                            .await
                    }
                    None => Ok(()),
                },
                Upload::End { sha256 } => match id {
                    Some(i) => match store
                        .finish_import(agency, i, Ok(&sha256), clock.now_ms())
                        .await
                    {
                        Ok(()) => break Ok(i),
                        Err(e) => Err(e),
                    },
                    None => Ok(()),
                },
                Upload::Failed(e) => break Err(file_error(e)),
            };
            if let Err(e) = step {
                break Err(e.into());
            }
        };
        if let (Err(e), Some(i)) = (&out, id) {
            let code = match e {
                ApiError::TooLarge => "too_large",
                ApiError::Invalid { .. } | ApiError::BadRequest(_) => "unreadable",
                _ => "interrupted",
            };
            // Best effort: a failed mark that cannot be written reads as interrupted later.
            let _ = store
                .finish_import(agency, i, Err(code), clock.now_ms())
                .await;
        }
        out
    };
    let ((), out) = tokio::join!(pump, consume);
    let _ = reader.await;
    let id = out?;
    Ok((
        StatusCode::CREATED,
        Json(app.store.import(agency, id, app.clock.now_ms()).await?),
    ))
}

fn file_error(e: FileError) -> ApiError {
    match e {
        FileError::Empty => ApiError::invalid("file", "the file is empty"),
        FileError::MissingColumn(c) => {
            ApiError::invalid(c.clone(), format!("the file has no column {c}"))
        }
        FileError::TooLarge => ApiError::TooLarge,
        FileError::Broken(m) => {
            ApiError::invalid("file", format!("the file could not be read: {m}"))
        }
    }
}

/// The agency's newest imports (20), newest first; the page polls it while a file uploads.
#[utoipa::path(get, path = "/api/v1/imports", responses((status = 200, body = [Import])))]
pub async fn list_imports(
    State(app): State<AppState>,
    user: Require<Managers>,
) -> Result<Json<Vec<Import>>, ApiError> {
    Ok(Json(
        app.store.imports(user.agency(), app.clock.now_ms()).await?,
    ))
}

/// An import's counts and progress (`rows` while read, `written` while confirmed).
#[utoipa::path(get, path = "/api/v1/imports/{id}", responses((status = 200, body = Import), (status = 404)))]
pub async fn get_import(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Import>, ApiError> {
    Ok(Json(
        app.store
            .import(user.agency(), id, app.clock.now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowsQuery {
    /// `valid`, `invalid` or `duplicate`; all when absent.
    status: Option<String>,
    /// Rows after this line (the last `row` of the previous page).
    after: Option<i64>,
    /// 1–500, default 100.
    limit: Option<i64>,
}

/// The staged rows in file order, each with its reason when it will not be imported.
#[utoipa::path(get, path = "/api/v1/imports/{id}/rows", params(RowsQuery),
    responses((status = 200, body = [ImportRow]), (status = 404)))]
pub async fn list_import_rows(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
    Query(q): Query<RowsQuery>,
) -> Result<Json<Vec<ImportRow>>, ApiError> {
    if let Some(s) = q.status.as_deref() {
        if !["valid", "invalid", "duplicate"].contains(&s) {
            return Err(ApiError::invalid(
                "status",
                "status must be valid, invalid or duplicate",
            ));
        }
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 500"));
    }
    Ok(Json(
        app.store
            .import_rows(
                user.agency(),
                id,
                q.status.as_deref(),
                q.after.unwrap_or(0),
                limit,
            )
            .await?,
    ))
}

/// Writes exactly the preview's valid rows, in batches. Idempotent: confirming again answers
/// the same result and writes nothing; a confirmation cut off resumes where it stopped.
#[utoipa::path(post, path = "/api/v1/imports/{id}/confirm",
    responses((status = 200, body = Import), (status = 404), (status = 409, description = "the file was not read to its end")))]
pub async fn confirm_import(
    State(app): State<AppState>,
    user: Require<Managers>,
    Path(id): Path<i64>,
) -> Result<Json<Import>, ApiError> {
    Ok(Json(
        app.store
            .confirm_import(user.agency(), id, app.clock.now_ms())
            .await?,
    ))
}
