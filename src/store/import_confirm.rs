//! Confirming an import: the staged valid rows, in file order, a batch per transaction. Each
//! batch first moves the import's `written_upto` mark from where it was read to its last row,
//! conditionally, so two confirmations at once never write a batch twice, and one cut off
//! resumes where it stopped. Clients are inserted only if their phone is still new
//! (`ON CONFLICT DO NOTHING`: one client per phone, L2); properties are upserted by code. A
//! confirmed import answers its stored result again and writes nothing.

use super::{Import, Store, StoreError, StoreResult};
use crate::import::{ClientLine, PropertyLine, BATCH};
use crate::model::AgencyId;

impl Store {
    pub async fn confirm_import(
        &self,
        agency: AgencyId,
        id: i64,
        now_ms: i64,
    ) -> StoreResult<Import> {
        let current = self.import(agency, id, now_ms).await?;
        match current.status.as_str() {
            "confirmed" => return Ok(current),
            "ready" | "confirming" => {}
            _ => {
                return Err(StoreError::Conflict(
                    "the file has not been read to its end; upload it again".into(),
                ))
            }
        }
        sqlx::query(
            "UPDATE imports SET status = 'confirming', updated_at_ms = $3 \
             WHERE agency_id = $1 AND id = $2 AND status IN ('ready', 'confirming')",
        )
        .bind(agency)
        .bind(id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        let properties = current.kind == "properties";
        // Rows created so far by this confirmation (for the statistics' refresh).
        let mut done = 0i64;
        loop {
            let upto: i64 = sqlx::query_scalar(
                "SELECT written_upto FROM imports WHERE agency_id = $1 AND id = $2",
            )
            .bind(agency)
            .bind(id)
            .fetch_one(self.pool())
            .await?;
            let batch: Vec<(i64, String)> = sqlx::query_as(
                "SELECT row_no, data FROM import_rows WHERE import_id = $1 AND status = 'valid' AND row_no > $2 \
                 ORDER BY row_no LIMIT $3",
            )
            .bind(id)
            .bind(upto)
            .bind(BATCH as i64)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = batch.last().map(|(r, _)| *r) else {
                break;
            };
            let mut tx = self.begin_write().await?;
            let moved = sqlx::query(
                "UPDATE imports SET written_upto = $3, updated_at_ms = $5 \
                 WHERE agency_id = $1 AND id = $2 AND written_upto = $4 AND status = 'confirming'",
            )
            .bind(agency)
            .bind(id)
            .bind(last)
            .bind(upto)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                // Another confirmation wrote this batch (or finished): read the mark again.
                tx.rollback().await?;
                if self.import(agency, id, now_ms).await?.status == "confirmed" {
                    break;
                }
                continue;
            }
            let data: Vec<&str> = batch.iter().map(|(_, d)| d.as_str()).collect();
            let (created, updated, skipped) = if properties {
                let rows = parse::<PropertyLine>(&data)?;
                upsert_properties(&mut tx, agency, &rows, now_ms).await?
            } else {
                let rows = parse::<ClientLine>(&data)?;
                insert_clients(&mut tx, agency, &rows, now_ms).await?
            };
            sqlx::query(
                "UPDATE imports SET written = written + $3, created = created + $4, updated = updated + $5, \
                 skipped = skipped + $6 WHERE agency_id = $1 AND id = $2",
            )
            .bind(agency)
            .bind(id)
            .bind(batch.len() as i64)
            .bind(created)
            .bind(updated)
            .bind(skipped)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            let table = if properties { "properties" } else { "clients" };
            if super::import_staging::doubled(done, done + created) {
                self.refresh_statistics(table).await?;
            }
            done += created;
        }
        sqlx::query(
            "UPDATE imports SET status = 'confirmed', confirmed_at_ms = $3, updated_at_ms = $3 \
             WHERE agency_id = $1 AND id = $2 AND status = 'confirming'",
        )
        .bind(agency)
        .bind(id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        self.import(agency, id, now_ms).await
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: &[&str]) -> StoreResult<Vec<T>> {
    data.iter()
        .map(|d| serde_json::from_str(d).map_err(|e| StoreError::Other(e.into())))
        .collect()
}

/// `($1, $2, …), (…)` for `rows` rows of `cols` values.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// (created, updated, skipped)
async fn insert_clients(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    rows: &[ClientLine],
    now_ms: i64,
) -> StoreResult<(i64, i64, i64)> {
    let sql = format!(
        "INSERT INTO clients (agency_id, name, phone, email, broker_id, department_id, notes, created_at_ms, search_key) \
         VALUES {} ON CONFLICT (agency_id, phone) DO NOTHING RETURNING id, phone",
        values(rows.len(), 9)
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for c in rows {
        q = q
            .bind(agency)
            .bind(c.name.clone())
            .bind(c.phone.clone())
            .bind(c.email.clone())
            .bind(c.broker_id)
            .bind(c.department_id)
            .bind(c.notes.clone())
            .bind(now_ms)
            .bind(super::search_key(&c.name, c.email.as_deref()));
    }
    let inserted = q.fetch_all(&mut *conn).await?;
    let links: Vec<(i64, i64)> = inserted
        .iter()
        .flat_map(|(client, phone)| {
            rows.iter()
                .find(|c| &c.phone == phone)
                .map(|c| {
                    c.property_ids
                        .iter()
                        .map(|p| (*client, *p))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    for chunk in links.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO client_properties (agency_id, client_id, property_id) VALUES {} ON CONFLICT DO NOTHING",
            values(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (client, property) in chunk {
            q = q.bind(agency).bind(*client).bind(*property);
        }
        q.execute(&mut *conn).await?;
    }
    let created = inserted.len() as i64;
    Ok((created, 0, rows.len() as i64 - created))
}

async fn upsert_properties(
    conn: &mut sqlx::AnyConnection,
    agency: AgencyId,
    rows: &[PropertyLine],
    now_ms: i64,
) -> StoreResult<(i64, i64, i64)> {
    let marks: Vec<String> = (0..rows.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT COUNT(*) FROM properties WHERE agency_id = $1 AND code IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(agency);
    for p in rows {
        q = q.bind(p.code.clone());
    }
    let existing = q.fetch_one(&mut *conn).await?;
    // An empty cell keeps what the property had.
    let sql = format!(
        "INSERT INTO properties (agency_id, code, kind, purpose, price_cents, neighbourhood, bedrooms, parking_spaces, \
         address, captador_id, status, created_at_ms) VALUES {} \
         ON CONFLICT (agency_id, code) DO UPDATE SET kind = excluded.kind, purpose = excluded.purpose, \
         price_cents = COALESCE(excluded.price_cents, properties.price_cents), \
         neighbourhood = COALESCE(excluded.neighbourhood, properties.neighbourhood), \
         bedrooms = COALESCE(excluded.bedrooms, properties.bedrooms), \
         parking_spaces = COALESCE(excluded.parking_spaces, properties.parking_spaces), \
         address = COALESCE(excluded.address, properties.address), \
         captador_id = COALESCE(excluded.captador_id, properties.captador_id)",
        values(rows.len(), 12)
    );
    let mut q = sqlx::query(&sql);
    for p in rows {
        q = q
            .bind(agency)
            .bind(p.code.clone())
            .bind(p.kind.clone())
            .bind(p.purpose.clone())
            .bind(p.price_cents)
            .bind(p.neighbourhood.clone())
            .bind(p.bedrooms)
            .bind(p.parking_spaces)
            .bind(p.address.clone())
            .bind(p.captador_id)
            .bind("available")
            .bind(now_ms);
    }
    q.execute(&mut *conn).await?;
    let n = rows.len() as i64;
    Ok((n - existing, existing, 0))
}
