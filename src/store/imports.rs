//! Import jobs (docs/IMPORT.md): each uploaded file's rows are staged in `import_rows` as they
//! are read — valid, invalid with the reason, or duplicate (of an earlier row of the file, or
//! of a client the agency already has) — with the counts on the `imports` row, which the page
//! polls for progress. The confirmation (`import_confirm.rs`) writes exactly the valid rows.

use super::{Department, Store, StoreError, StoreResult};
use crate::import::{Kind, Line, Parsed, Problem};
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
    brokers: HashMap<String, i64>,
    departments: Vec<Department>,
}

impl Lookups {
    fn department(&self, wanted: &str) -> Option<i64> {
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

    /// Resolves a batch of read rows against the agency and the rows staged before, and
    /// stages them with the counts, in one transaction.
    pub async fn stage_rows(
        &self,
        agency: AgencyId,
        import: i64,
        mut lines: Vec<Line>,
        lk: &Lookups,
        now_ms: i64,
    ) -> StoreResult<()> {
        let codes: Vec<String> = lines
            .iter()
            .filter_map(|l| match &l.parsed {
                Parsed::Client(c) if l.problem.is_none() => Some(c.property_codes.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let known = self.codes_in(agency, &codes).await?;
        for l in &mut lines {
            if l.problem.is_none() {
                l.problem = resolve(&mut l.parsed, lk, &known);
            }
        }
        let keys: Vec<String> = lines
            .iter()
            .filter(|l| l.problem.is_none())
            .map(|l| l.parsed.key().to_string())
            .collect();
        let staged: HashMap<String, i64> = self.staged_keys(import, &keys).await?;
        let existing = match lines.first().map(|l| &l.parsed) {
            Some(Parsed::Property(_)) => self.codes_in(agency, &keys).await?,
            _ => self.phones_in(agency, &keys).await?,
        };
        let mut first_in_batch: HashMap<String, i64> = HashMap::new();
        let mut rows = Vec::with_capacity(lines.len());
        let (mut valid, mut invalid, mut dups, mut updates) = (0i64, 0i64, 0i64, 0i64);
        for l in lines {
            let key = l.parsed.key().to_string();
            let mut r = Staged {
                row: l.line,
                status: "valid",
                key: Some(key.clone()),
                broker: None,
                action: None,
                problem: None,
                duplicate_of: None,
                data: String::new(),
            };
            if let Some(p) = l.problem {
                r.status = "invalid";
                r.key = None;
                r.problem = Some(p);
                invalid += 1;
            } else if let Some(first) = staged.get(&key).or(first_in_batch.get(&key)) {
                r.status = "duplicate";
                r.duplicate_of = Some(*first);
                dups += 1;
            } else {
                first_in_batch.insert(key.clone(), l.line);
                match &l.parsed {
                    Parsed::Client(_) if existing.contains_key(&key) => {
                        r.status = "duplicate";
                        dups += 1;
                    }
                    Parsed::Client(c) => {
                        r.broker = c.broker_id;
                        valid += 1;
                    }
                    Parsed::Property(p) => {
                        r.broker = p.captador_id;
                        let update = existing.contains_key(&key);
                        r.action = Some(if update { "update" } else { "create" });
                        updates += i64::from(update);
                        valid += 1;
                    }
                }
            }
            r.data = match &l.parsed {
                Parsed::Client(c) => serde_json::to_string(c),
                Parsed::Property(p) => serde_json::to_string(p),
            }
            .map_err(|e| StoreError::Other(e.into()))?;
            rows.push(r);
        }
        let total = rows.len() as i64;
        let mut tx = self.begin_write().await?;
        let before: i64 = sqlx::query_scalar("SELECT total_rows FROM imports WHERE id = $1")
            .bind(import)
            .fetch_one(&mut *tx)
            .await?;
        insert_staged(&mut tx, import, &rows).await?;
        sqlx::query(
            "UPDATE imports SET total_rows = total_rows + $3, valid = valid + $4, invalid = invalid + $5, \
             duplicates = duplicates + $6, updates = updates + $7, updated_at_ms = $8 \
             WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(import)
        .bind(total)
        .bind(valid)
        .bind(invalid)
        .bind(dups)
        .bind(updates)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if doubled(before, before + total) {
            self.refresh_statistics("import_rows").await?;
        }
        Ok(())
    }

    /// PostgreSQL plans by its statistics, which lag behind a bulk load: with a table believed
    /// tiny, the batch lookups (`… IN (500 keys)`) become full scans, slower with every batch.
    /// Refreshed as a table's imported rows double (a sample; cheap). SQLite needs nothing.
    pub(crate) async fn refresh_statistics(&self, table: &'static str) -> StoreResult<()> {
        if self.backend() == super::Backend::Postgres {
            sqlx::query(&format!("ANALYZE {table}"))
                .execute(self.pool())
                .await?;
        }
        Ok(())
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

    /// Which of `codes` the agency's properties have: code → id.
    async fn codes_in(
        &self,
        agency: AgencyId,
        codes: &[String],
    ) -> StoreResult<HashMap<String, i64>> {
        self.lookup_in(
            "SELECT code, id FROM properties WHERE agency_id = $1 AND code IN",
            agency,
            codes,
        )
        .await
    }

    /// Which of `phones` are the agency's clients: phone → id.
    async fn phones_in(
        &self,
        agency: AgencyId,
        phones: &[String],
    ) -> StoreResult<HashMap<String, i64>> {
        self.lookup_in(
            "SELECT phone, id FROM clients WHERE agency_id = $1 AND phone IN",
            agency,
            phones,
        )
        .await
    }

    /// Keys of rows staged before (valid or duplicate): key → the first such row.
    async fn staged_keys(&self, import: i64, keys: &[String]) -> StoreResult<HashMap<String, i64>> {
        self.lookup_in(
            "SELECT match_key, MIN(row_no) FROM import_rows WHERE import_id = $1 AND status <> 'invalid' AND match_key IN",
            import,
            keys,
        )
        .await
        .map(|m| m.into_iter().collect())
    }

    /// `head (…keys…)` [GROUP BY for the staged rows], keys bound one by one.
    async fn lookup_in(
        &self,
        head: &str,
        first: impl Into<i64>,
        keys: &[String],
    ) -> StoreResult<HashMap<String, i64>> {
        let mut out = HashMap::new();
        let first = first.into();
        for chunk in keys.chunks(crate::import::BATCH) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let mut sql = format!("{head} ({})", marks.join(", "));
            if head.contains("MIN(") {
                sql.push_str(" GROUP BY match_key");
            }
            let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(first);
            for k in chunk {
                q = q.bind(k);
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }
}

/// `before → after` crossed a power of two from 1,024 up.
pub(crate) fn doubled(before: i64, after: i64) -> bool {
    let mut mark = 1024;
    while mark <= after {
        if before < mark {
            return true;
        }
        mark *= 2;
    }
    false
}

/// A client's broker, department and properties; a property's captador.
fn resolve(parsed: &mut Parsed, lk: &Lookups, known: &HashMap<String, i64>) -> Option<Problem> {
    let broker = |email: &Option<String>, field: &str| match email {
        None => Ok(None),
        Some(e) => lk
            .brokers
            .get(e)
            .map(|id| Some(*id))
            .ok_or_else(|| Problem::new(field, "broker_unknown", Some(e.clone()))),
    };
    match parsed {
        Parsed::Client(c) => {
            match broker(&c.owner_email, "corretor") {
                Ok(b) => c.broker_id = b,
                Err(p) => return Some(p),
            }
            if let Some(d) = &c.department {
                match lk.department(d) {
                    Some(id) => c.department_id = Some(id),
                    None => {
                        return Some(Problem::new(
                            "departamento",
                            "department_unknown",
                            Some(d.clone()),
                        ))
                    }
                }
            }
            for code in &c.property_codes {
                match known.get(code) {
                    Some(id) => c.property_ids.push(*id),
                    None => {
                        return Some(Problem::new(
                            "imoveis",
                            "property_unknown",
                            Some(code.clone()),
                        ))
                    }
                }
            }
            None
        }
        Parsed::Property(p) => match broker(&p.captador_email, "captador") {
            Ok(b) => {
                p.captador_id = b;
                None
            }
            Err(e) => Some(e),
        },
    }
}

struct Staged {
    row: i64,
    status: &'static str,
    key: Option<String>,
    broker: Option<i64>,
    action: Option<&'static str>,
    problem: Option<Problem>,
    duplicate_of: Option<i64>,
    data: String,
}

async fn insert_staged(
    conn: &mut sqlx::AnyConnection,
    import: i64,
    rows: &[Staged],
) -> StoreResult<()> {
    const COLS: usize = 11;
    for chunk in rows.chunks(crate::import::BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=COLS).map(|c| format!("${}", r * COLS + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO import_rows (import_id, row_no, status, match_key, broker_id, action, field, reason, \
             detail, duplicate_of, data) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(import)
                .bind(r.row)
                .bind(r.status)
                .bind(r.key.clone())
                .bind(r.broker)
                .bind(r.action)
                .bind(r.problem.as_ref().map(|p| p.field.clone()))
                .bind(r.problem.as_ref().map(|p| p.reason.clone()))
                .bind(r.problem.as_ref().and_then(|p| p.detail.clone()))
                .bind(r.duplicate_of)
                .bind(r.data.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
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
