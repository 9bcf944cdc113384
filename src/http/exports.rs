//! CSV exports of the agency's clients and leads, streamed a page at a time (never the whole
//! list in memory), for a Brazilian spreadsheet: a UTF-8 BOM, `;` by default (`?sep=,` for the
//! rest of the world), headers in pt-BR, dates in Brasília time. The clients' columns are the
//! ones the client import reads, so an export imports back (docs/IMPORT.md).

use crate::auth::{Managers, Require};
use crate::error::{ApiError, Query};
use crate::model::AgencyId;
use crate::state::AppState;
use crate::store::{ClientExport, LeadExport, Store, StoreResult};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exports/clients.csv", get(export_clients))
        .route("/api/v1/exports/leads.csv", get(export_leads))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `;` (the default: what a spreadsheet in Portuguese reads) or `,`.
    sep: Option<String>,
}

fn separator(q: &ExportQuery) -> Result<u8, ApiError> {
    match q.sep.as_deref().map(str::trim) {
        None | Some(";") | Some("") => Ok(b';'),
        Some(",") => Ok(b','),
        Some(_) => Err(ApiError::invalid("sep", "sep must be ; or ,")),
    }
}

/// Rows per page read from the store.
const PAGE: i64 = 1000;

const CLIENT_HEADER: &[&str] = &[
    "Nome",
    "Telefone",
    "E-mail",
    "Corretor (e-mail)",
    "Nome do corretor",
    "Departamento",
    "Observações",
    "Imóveis",
    "Cadastrado em",
];

const LEAD_HEADER: &[&str] = &[
    "Número",
    "Nome",
    "Telefone",
    "E-mail",
    "Corretor (e-mail)",
    "Nome do corretor",
    "Departamento",
    "Origem",
    "Canal",
    "Status",
    "Imóvel",
    "Observações",
    "Criado em",
];

/// The agency's clients as CSV (the client import's columns, and when each was registered).
#[utoipa::path(get, path = "/api/v1/exports/clients.csv", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "UTF-8 with BOM")))]
pub async fn export_clients(
    State(app): State<AppState>,
    user: Require<Managers>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let sep = separator(&q)?;
    Ok(csv_response(
        "clientes",
        app.clock.now_ms(),
        paged(
            app.store.clone(),
            user.agency(),
            sep,
            CLIENT_HEADER,
            client_page,
        ),
    ))
}

/// The agency's leads as CSV, one row per lead with its client (importable as clients).
#[utoipa::path(get, path = "/api/v1/exports/leads.csv", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "UTF-8 with BOM")))]
pub async fn export_leads(
    State(app): State<AppState>,
    user: Require<Managers>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let sep = separator(&q)?;
    Ok(csv_response(
        "leads",
        app.clock.now_ms(),
        paged(
            app.store.clone(),
            user.agency(),
            sep,
            LEAD_HEADER,
            lead_page,
        ),
    ))
}

fn csv_response(name: &str, now_ms: i64, body: Body) -> Response {
    let day = brasilia(now_ms).get(..10).unwrap_or("").replace('/', "-");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-{day}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

type Page = futures_util::future::BoxFuture<'static, StoreResult<(Vec<Vec<String>>, Option<i64>)>>;

/// A page of rows after `after`: the cells, and the last id (None: the end).
fn client_page(store: Store, agency: AgencyId, after: i64) -> Page {
    Box::pin(async move {
        let rows = store.export_clients(agency, after, PAGE).await?;
        let last = (rows.len() as i64 == PAGE)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok((rows.iter().map(client_cells).collect(), last))
    })
}

fn lead_page(store: Store, agency: AgencyId, after: i64) -> Page {
    Box::pin(async move {
        let rows = store.export_leads(agency, after, PAGE).await?;
        let last = (rows.len() as i64 == PAGE)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok((rows.iter().map(lead_cells).collect(), last))
    })
}

fn client_cells(c: &ClientExport) -> Vec<String> {
    vec![
        c.name.clone(),
        phone_for_people(&c.phone),
        c.email.clone().unwrap_or_default(),
        c.broker_email.clone().unwrap_or_default(),
        c.broker_name.clone().unwrap_or_default(),
        c.department.clone().unwrap_or_default(),
        c.notes.clone().unwrap_or_default(),
        c.property_codes.join(" | "),
        brasilia(c.created_at_ms),
    ]
}

fn lead_cells(l: &LeadExport) -> Vec<String> {
    vec![
        l.number.clone(),
        l.name.clone(),
        phone_for_people(&l.phone),
        l.email.clone().unwrap_or_default(),
        l.broker_email.clone().unwrap_or_default(),
        l.broker_name.clone().unwrap_or_default(),
        l.department.clone().unwrap_or_default(),
        source_name(&l.source),
        channel_name(&l.channel).to_string(),
        l.status.clone().unwrap_or_default(),
        l.property_code.clone().unwrap_or_default(),
        l.comment.clone().unwrap_or_default(),
        brasilia(l.created_at_ms),
    ]
}

/// The body: the BOM and the header, then a chunk per page, read as the client takes them.
fn paged(
    store: Store,
    agency: AgencyId,
    sep: u8,
    header: &'static [&'static str],
    page: fn(Store, AgencyId, i64) -> Page,
) -> Body {
    let head = {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend(encode(
            sep,
            &[header.iter().map(|s| s.to_string()).collect()],
        ));
        Bytes::from(out)
    };
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) });
    let rest = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            match page(store, agency, after).await {
                Ok((rows, next)) if rows.is_empty() => {
                    let _ = next;
                    None
                }
                Ok((rows, next)) => Some((Ok(Bytes::from(encode(sep, &rows))), next)),
                Err(e) => {
                    tracing::error!(error = %e, "export failed midway");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    });
    use futures_util::StreamExt;
    Body::from_stream(first.chain(rest))
}

/// Rows as CSV with `sep`; a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
/// gets a leading `'`, which the import drops again.
fn encode(sep: u8, rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(sep)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        let guarded = r.iter().map(|c| {
            if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                c.clone()
            }
        });
        // Writing to a Vec cannot fail.
        let _ = w.write_record(guarded);
    }
    w.into_inner().unwrap_or_default()
}

/// A Brazilian number as Brazilians write it (`(11) 98765-4321`), any other in international
/// form; both import back to the same E.164.
fn phone_for_people(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(p) if p.code().value() == 55 => p.format().mode(phonenumber::Mode::National).to_string(),
        Ok(p) => p
            .format()
            .mode(phonenumber::Mode::International)
            .to_string(),
        Err(_) => e164.to_string(),
    }
}

/// `dd/mm/aaaa hh:mm` in Brasília time (UTC−3, no daylight saving since 2019).
pub(crate) fn brasilia(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_hms(-3, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

fn channel_name(code: &str) -> &str {
    match code {
        "lf" => "Lead do Facebook",
        "lp" => "Lead de portal",
        "ls" => "Lead do site",
        "phone" => "Telefone",
        "walk_in" => "Recepção",
        "other" => "Outro",
        other => other,
    }
}

/// The three sources the server names itself in pt-BR; an API key's source as its manager
/// typed it.
fn source_name(code: &str) -> String {
    match code {
        "reception" => "Recepção".into(),
        "oferta_ativa" => "Oferta ativa".into(),
        "equipe" => "Distribuição para equipe".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_for_a_spreadsheet() {
        assert_eq!(phone_for_people("+5511987654321"), "(11) 98765-4321");
        assert_eq!(brasilia(0), "31/12/1969 21:00");
        let out = String::from_utf8(encode(b';', &[vec!["=1+1".into(), "a;b".into()]]))
            .unwrap_or_default();
        assert_eq!(out, "'=1+1;\"a;b\"\r\n");
    }
}
