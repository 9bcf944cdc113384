//! Paged reads for the CSV exports: an agency's clients and leads in id order, a page at a
//! time (keyset: after the last id), so a streamed export of a million rows holds one page.

use super::{Store, StoreResult};
use crate::model::AgencyId;
use std::collections::HashMap;

/// A client as exported (the columns the client import reads back).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientExport {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub broker_email: Option<String>,
    pub broker_name: Option<String>,
    pub department: Option<String>,
    pub notes: Option<String>,
    /// Codes of the properties it is interested in (imported, or named by its leads).
    #[sqlx(skip)]
    pub property_codes: Vec<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadExport {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub broker_email: Option<String>,
    pub broker_name: Option<String>,
    pub department: Option<String>,
    pub source: String,
    pub channel: String,
    pub status: Option<String>,
    pub property_code: Option<String>,
    pub comment: Option<String>,
    pub created_at_ms: i64,
}

impl Store {
    pub async fn export_clients(
        &self,
        agency: AgencyId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClientExport>> {
        let mut rows: Vec<ClientExport> = sqlx::query_as(
            "SELECT c.id, c.name, c.phone, c.email, u.email AS broker_email, u.name AS broker_name, \
             d.name AS department, c.notes, c.created_at_ms FROM clients c \
             LEFT JOIN users u ON u.id = c.broker_id LEFT JOIN departments d ON d.id = c.department_id \
             WHERE c.agency_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
        )
        .bind(agency)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id))
        else {
            return Ok(rows);
        };
        // The page's properties, by an id range rather than a list of ids.
        let codes: Vec<(i64, String)> = sqlx::query_as(
            "SELECT cp.client_id, p.code FROM client_properties cp JOIN properties p ON p.id = cp.property_id \
             WHERE cp.agency_id = $1 AND cp.client_id BETWEEN $2 AND $3 \
             UNION SELECT l.client_id, p.code FROM leads l JOIN properties p ON p.id = l.property_id \
             WHERE l.agency_id = $1 AND l.client_id BETWEEN $2 AND $3 ORDER BY 1, 2",
        )
        .bind(agency)
        .bind(first)
        .bind(last)
        .fetch_all(self.pool())
        .await?;
        let mut by_client: HashMap<i64, Vec<String>> = HashMap::new();
        for (client, code) in codes {
            by_client.entry(client).or_default().push(code);
        }
        for r in &mut rows {
            r.property_codes = by_client.remove(&r.id).unwrap_or_default();
        }
        Ok(rows)
    }

    pub async fn export_leads(
        &self,
        agency: AgencyId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<LeadExport>> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.number, c.name, c.phone, c.email, u.email AS broker_email, u.name AS broker_name, \
             d.name AS department, l.source, l.channel, l.status, p.code AS property_code, l.comment, l.created_at_ms \
             FROM leads l JOIN clients c ON c.id = l.client_id LEFT JOIN users u ON u.id = l.broker_id \
             LEFT JOIN departments d ON d.id = l.department_id LEFT JOIN properties p ON p.id = l.property_id \
             WHERE l.agency_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3",
        )
        .bind(agency)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
