//! Staging an import's rows as the file is read (docs/IMPORT.md): each batch resolved against
//! the agency (brokers, departments, property codes, phones) and the rows staged before, then
//! written with the counts in one transaction.

use super::imports::Lookups;
use super::{Store, StoreError, StoreResult};
use crate::import::{Line, Parsed, Problem};
use crate::model::AgencyId;
use std::collections::HashMap;

impl Store {
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
