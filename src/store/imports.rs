//! Import jobs (docs/IMPORT.md): each uploaded file's rows are staged in `import_rows` as they
//! are read — valid, invalid with the reason, or duplicate (of an earlier row of the file, or
//! of a client the agency already has) — with the counts on the `imports` row, which the page
//! polls for progress. The confirmation (`import_confirm.rs`) writes exactly the valid rows.

use super::{Department, Store, StoreError, StoreResult};
use crate::import::{Kind, Problem};
use crate::model::{AgencyId, BrokerId};
use serde::Serialize;
use std::collections::HashMap;

/// A file still `previewing` whose rows stopped coming this long ago was abandoned (the upload
/// broke off); it reads as failed.
const STALE_MS: i64 = 120_000;

/// How many of the rows to write go to each broker (owner, or captador).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BrokerRows {
    /// None: rows without a broker.
    pub broker_id: Option<BrokerId>,
    pub name: Option<String>,
    pub rows: i64,
}

/// An import: the preview's counts while and after the file is read, then the confirmation's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Import {
    pub id: i64,
    /// `clients` or `properties`.
    pub kind: String,
    /// `previewing` (the file is being read), `ready`, `failed`, `confirming`, `confirmed`.
    pub status: String,
    /// `;`, `,` or `tab`, as read off the header.
    pub separator: String,
    /// Header names the import does not read.
    pub ignored_columns: Vec<String>,
    /// Data rows read so far (the progress while `previewing`).
    pub rows: i64,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    /// Properties: valid rows whose code the agency already has (they update it).
    pub updates: i64,
    /// Valid rows per broker they will be linked to.
    pub brokers: Vec<BrokerRows>,
    /// The same file (by SHA-256) was confirmed before, in this import.
    pub same_file_as: Option<i64>,
    /// Why a failed file failed: `interrupted`, `too_large`, `unreadable`.
    pub error: Option<String>,
    /// Valid rows the confirmation has gone through (its progress while `confirming`).
    pub written: i64,
    pub created: i64,
    pub updated: i64,
    /// Valid rows not written because a client with the phone appeared after the preview.
    pub skipped: i64,
    pub created_at_ms: i64,
    pub confirmed_at_ms: Option<i64>,
}

/// One staged row, for the preview's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub row: i64,
    /// `valid`, `invalid`, `duplicate`.
    pub status: String,
    /// The client's name or the property's code, as read.
    pub label: String,
    /// The phone (E.164 once valid) or the property's type.
    pub key: String,
    pub problem: Option<Problem>,
    /// A duplicate of this earlier row of the file (None: of a client the agency has).
    pub duplicate_of: Option<i64>,
    pub broker_id: Option<BrokerId>,
    /// Properties: `create` or `update`.
    pub action: Option<String>,
}

/// What the staging checks against: the agency's active brokers by e-mail and departments.
pub struct Lookups {
    pub(super) brokers: HashMap<String, i64>,
    pub(super) departments: Vec<Department>,
}

impl Lookups {
    pub(super) fn department(&self, wanted: &str) -> Option<i64> {
        let folded = crate::import::fold_name(wanted);
        self.departments
            .iter()
            .find(|d| d.id.to_string() == wanted || crate::import::fold_name(&d.name) == folded)
            .map(|d| d.id)
    }
}

#[derive(sqlx::FromRow)]
struct ImportCols {
    id: i64,
    kind: String,
    status: String,
    separator: String,
    ignored_columns: String,
    total_rows: i64,
    valid: i64,
    invalid: i64,
    duplicates: i64,
    updates: i64,
    written: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    error: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
    confirmed_at_ms: Option<i64>,
}

impl Store {
    pub async fn import_lookups(&self, agency: AgencyId) -> StoreResult<Lookups> {
        let brokers: Vec<(String, i64)> = sqlx::query_as(
            "SELECT email, id FROM users WHERE agency_id = $1 AND role = 'broker' AND active = 1",
        )
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        Ok(Lookups {
            brokers: brokers
                .into_iter()
                .map(|(e, id)| (e.to_lowercase(), id))
                .collect(),
            departments: self.departments(agency).await?,
        })
    }

    pub async fn create_import(
        &self,
        agency: AgencyId,
        kind: Kind,
        separator: &str,
        ignored: &[String],
        user: i64,
        now_ms: i64,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO imports (agency_id, kind, status, separator, ignored_columns, created_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 'previewing', $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(agency)
        .bind(kind.as_str())
        .bind(separator)
        .bind(ignored.join("\n"))
        .bind(user)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await?)
    }

    /// The file was read to its end (`ready`, with its hash) or could not be (`failed`).
    pub async fn finish_import(
        &self,
        agency: AgencyId,
        import: i64,
        outcome: Result<&str, &str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (status, sha, error) = match outcome {
            Ok(sha) => ("ready", Some(sha), None),
            Err(e) => ("failed", None, Some(e)),
        };
        sqlx::query(
            "UPDATE imports SET status = $3, file_sha256 = $4, error = $5, updated_at_ms = $6 \
             WHERE agency_id = $1 AND id = $2 AND status = 'previewing'",
        )
        .bind(agency)
        .bind(import)
        .bind(status)
        .bind(sha)
        .bind(error)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn import(&self, agency: AgencyId, id: i64, now_ms: i64) -> StoreResult<Import> {
        let mut list = self.imports_where(agency, Some(id), now_ms).await?;
        let mut i = list.pop().ok_or(StoreError::NotFound)?;
        i.brokers = sqlx::query_as(
            "SELECT r.broker_id, u.name, COUNT(*) FROM import_rows r LEFT JOIN users u ON u.id = r.broker_id \
             WHERE r.import_id = $1 AND r.status = 'valid' GROUP BY r.broker_id, u.name ORDER BY COUNT(*) DESC",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|(broker_id, name, rows): (Option<BrokerId>, Option<String>, i64)| BrokerRows {
            broker_id,
            name,
            rows,
        })
        .collect();
        if i.status == "ready" || i.status == "confirmed" {
            i.same_file_as = sqlx::query_scalar(
                "SELECT MAX(o.id) FROM imports o JOIN imports i ON i.id = $2 \
                 WHERE o.agency_id = $1 AND o.id <> i.id AND o.kind = i.kind AND o.status = 'confirmed' \
                 AND o.file_sha256 = i.file_sha256",
            )
            .bind(agency)
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        }
        Ok(i)
    }

    /// The agency's 20 newest imports (without the per-broker counts).
    pub async fn imports(&self, agency: AgencyId, now_ms: i64) -> StoreResult<Vec<Import>> {
        self.imports_where(agency, None, now_ms).await
    }

    async fn imports_where(
        &self,
        agency: AgencyId,
        id: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<Vec<Import>> {
        let rows: Vec<ImportCols> = sqlx::query_as(
            "SELECT id, kind, status, separator, ignored_columns, total_rows, valid, invalid, duplicates, \
             updates, written, created, updated, skipped, error, created_at_ms, updated_at_ms, \
             confirmed_at_ms FROM imports WHERE agency_id = $1 AND ($2 = 0 OR id = $2) ORDER BY id DESC LIMIT 20",
        )
        .bind(agency)
        .bind(id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| import_of(r, now_ms)).collect())
    }

    /// Staged rows of an import in file order, after row `after`, of one status or all.
    pub async fn import_rows(
        &self,
        agency: AgencyId,
        id: i64,
        status: Option<&str>,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportRow>> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM imports WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        found.ok_or(StoreError::NotFound)?;
        type R = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<BrokerId>,
            Option<String>,
            String,
        );
        let rows: Vec<R> = sqlx::query_as(
            "SELECT row_no, status, field, reason, detail, duplicate_of, broker_id, action, data FROM import_rows \
             WHERE import_id = $1 AND ($2 = '' OR status = $2) AND row_no > $3 ORDER BY row_no LIMIT $4",
        )
        .bind(id)
        .bind(status.unwrap_or(""))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(row, status, field, reason, detail, duplicate_of, broker_id, action, data)| {
                    let v: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
                    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                    let (label, key) = if v.get("code").is_some() {
                        (s("code"), s("kind"))
                    } else {
                        (s("name"), s("phone"))
                    };
                    ImportRow {
                        row,
                        status,
                        label,
                        key,
                        problem: reason.map(|reason| Problem {
                            field: field.unwrap_or_default(),
                            reason,
                            detail,
                        }),
                        duplicate_of,
                        broker_id,
                        action,
                    }
                },
            )
            .collect())
    }
}

fn import_of(r: ImportCols, now_ms: i64) -> Import {
    let (mut status, mut error) = (r.status, r.error);
    if status == "previewing" && now_ms - r.updated_at_ms > STALE_MS {
        status = "failed".into();
        error = Some("interrupted".into());
    }
    Import {
        id: r.id,
        kind: r.kind,
        status,
        separator: if r.separator == "\t" {
            "tab".into()
        } else {
            r.separator
        },
        ignored_columns: r
            .ignored_columns
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        rows: r.total_rows,
        valid: r.valid,
        invalid: r.invalid,
        duplicates: r.duplicates,
        updates: r.updates,
        brokers: Vec::new(),
        same_file_as: None,
        error,
        written: r.written,
        created: r.created,
        updated: r.updated,
        skipped: r.skipped,
        created_at_ms: r.created_at_ms,
        confirmed_at_ms: r.confirmed_at_ms,
    }
}
