//! Lead-source integrations (docs/SOURCES.md): each has a kind, a public id for its URL, a key
//! kept as its SHA-256, and a kind-specific configuration. Meta deliveries are kept as jobs
//! until the lead is fetched from the Graph API; a Graph outage leaves them waiting, never lost.

use super::{one_row, Store, StoreError, StoreResult};
use crate::model::{AgencyId, LeadId};
use serde::{Deserialize, Serialize};

/// Which sender's contract an integration speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Grupo OLX (ZAP Imóveis, VivaReal, OLX): one POST per lead, Basic authentication.
    Grupozap,
    /// Facebook and Instagram lead ads: signed webhook, lead fetched from the Graph API.
    Meta,
    /// RD Station Marketing's conversion webhook.
    Rdstation,
    /// Any form or portal posting JSON or a form, read through the manager's field mapping.
    Form,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Grupozap => "grupozap",
            SourceKind::Meta => "meta",
            SourceKind::Rdstation => "rdstation",
            SourceKind::Form => "form",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "grupozap" => SourceKind::Grupozap,
            "meta" => SourceKind::Meta,
            "rdstation" => SourceKind::Rdstation,
            "form" => SourceKind::Form,
            _ => return None,
        })
    }
}

/// An integration as the server uses it (with its configuration, secrets included).
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: i64,
    pub agency_id: AgencyId,
    pub kind: SourceKind,
    pub name: String,
    pub public_id: String,
    pub key_hash: String,
    pub config: serde_json::Value,
    pub department_id: Option<i64>,
    pub active: bool,
    /// The agency is suspended (docs/PLATFORM.md): its sources are refused.
    pub suspended: bool,
}

/// An integration as the manager's page lists it: never its key nor a secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntegrationInfo {
    pub id: i64,
    pub kind: SourceKind,
    pub name: String,
    pub public_id: String,
    pub department_id: Option<i64>,
    pub active: bool,
    pub created_at_ms: i64,
    /// Leads this integration brought, and when the last arrived.
    pub leads: i64,
    pub last_lead_at_ms: Option<i64>,
    /// Meta only: deliveries still waiting for the Graph API, and why the last attempt failed.
    pub waiting: i64,
    pub last_error: Option<String>,
    /// Meta only: deliveries set aside because the form gave no phone.
    pub refused: i64,
    /// Which secrets are set (Meta: `app_secret`, `page_token`), never their values; the
    /// form's field mapping as configured.
    pub configured: Vec<String>,
    pub mapping: Option<serde_json::Value>,
    /// Meta: the page whose leads are taken (not a secret); form: the leads' badge.
    pub page_id: Option<String>,
    pub channel: Option<String>,
}

/// A new integration, its key already hashed.
pub struct NewIntegration<'a> {
    pub agency: AgencyId,
    pub kind: SourceKind,
    pub name: &'a str,
    pub public_id: &'a str,
    pub key_hash: &'a str,
    pub config: &'a serde_json::Value,
    pub department_id: Option<i64>,
}

/// A Meta delivery waiting for its lead's fields.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceJob {
    pub id: i64,
    pub agency_id: AgencyId,
    pub integration_id: i64,
    pub external_id: String,
    pub payload: String,
    pub attempts: i64,
}

type Row = (
    i64,
    AgencyId,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
);

const COLS: &str = "i.id, i.agency_id, i.kind, i.name, i.public_id, i.key_hash, i.config, \
     i.department_id, i.active, a.suspended_at_ms FROM integrations i JOIN agencies a ON a.id = i.agency_id";

fn integration(r: Row) -> StoreResult<Integration> {
    let kind = SourceKind::parse(&r.2)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("integration {}: kind {:?}", r.0, r.2)))?;
    Ok(Integration {
        id: r.0,
        agency_id: r.1,
        kind,
        name: r.3,
        public_id: r.4,
        key_hash: r.5,
        config: serde_json::from_str(&r.6).unwrap_or_else(|_| serde_json::json!({})),
        department_id: r.7,
        active: r.8 != 0,
        suspended: r.9.is_some(),
    })
}

/// The config keys that hold secrets: listed as set, never shown.
const SECRETS: &[&str] = &["app_secret", "page_token"];

impl Store {
    /// Creates an integration; `Conflict` when the agency already has one of that name.
    pub async fn create_integration(&self, n: NewIntegration<'_>, now_ms: i64) -> StoreResult<i64> {
        let r = sqlx::query_scalar(
            "INSERT INTO integrations (agency_id, kind, name, public_id, key_hash, config, department_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(n.agency)
        .bind(n.kind.as_str())
        .bind(n.name)
        .bind(n.public_id)
        .bind(n.key_hash)
        .bind(n.config.to_string())
        .bind(n.department_id)
        .bind(now_ms)
        .fetch_one(self.pool())
        .await;
        match r {
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(StoreError::Conflict(
                format!("this agency already has an integration named {:?}", n.name),
            )),
            other => Ok(other?),
        }
    }

    /// The integration behind a URL's public id, whatever its agency.
    pub async fn integration_by_public_id(&self, public_id: &str) -> StoreResult<Integration> {
        let r: Row = sqlx::query_as(&format!("SELECT {COLS} WHERE i.public_id = $1"))
            .bind(public_id)
            .fetch_one(self.pool())
            .await?;
        integration(r)
    }

    pub async fn integration(&self, agency: AgencyId, id: i64) -> StoreResult<Integration> {
        let r: Row = sqlx::query_as(&format!(
            "SELECT {COLS} WHERE i.agency_id = $1 AND i.id = $2"
        ))
        .bind(agency)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        integration(r)
    }

    /// The agency's integrations (or the one `only` names), oldest first, with what each
    /// brought and what waits — one query, whatever their number.
    pub async fn integrations(
        &self,
        agency: AgencyId,
        only: Option<i64>,
    ) -> StoreResult<Vec<IntegrationInfo>> {
        #[derive(sqlx::FromRow)]
        struct InfoRow {
            id: i64,
            kind: String,
            name: String,
            public_id: String,
            department_id: Option<i64>,
            active: i64,
            created_at_ms: i64,
            config: String,
            leads: i64,
            last_lead_at_ms: Option<i64>,
            waiting: i64,
            last_error: Option<String>,
            refused: i64,
        }
        let rows: Vec<InfoRow> = sqlx::query_as(
            "SELECT i.id, i.kind, i.name, i.public_id, i.department_id, i.active, i.created_at_ms, i.config, \
             (SELECT COUNT(*) FROM leads l WHERE l.agency_id = i.agency_id AND l.source = i.name) AS leads, \
             (SELECT MAX(l.created_at_ms) FROM leads l WHERE l.agency_id = i.agency_id AND l.source = i.name) AS last_lead_at_ms, \
             (SELECT COUNT(*) FROM source_jobs j WHERE j.integration_id = i.id AND j.done_at_ms IS NULL) AS waiting, \
             (SELECT MAX(j.last_error) FROM source_jobs j WHERE j.integration_id = i.id AND j.done_at_ms IS NULL) AS last_error, \
             (SELECT COUNT(*) FROM source_jobs j WHERE j.integration_id = i.id AND j.done_at_ms IS NOT NULL AND j.lead_id IS NULL) AS refused \
             FROM integrations i WHERE i.agency_id = $1 AND ($2 IS NULL OR i.id = $2) ORDER BY i.id",
        )
        .bind(agency)
        .bind(only)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let kind = SourceKind::parse(&r.kind)?;
                let config: serde_json::Value =
                    serde_json::from_str(&r.config).unwrap_or_else(|_| serde_json::json!({}));
                let text = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
                let configured = SECRETS
                    .iter()
                    .filter(|k| text(k).is_some_and(|v| !v.is_empty()))
                    .map(|k| k.to_string())
                    .collect();
                Some(IntegrationInfo {
                    id: r.id,
                    kind,
                    name: r.name,
                    public_id: r.public_id,
                    department_id: r.department_id,
                    active: r.active != 0,
                    created_at_ms: r.created_at_ms,
                    leads: r.leads,
                    last_lead_at_ms: r.last_lead_at_ms,
                    waiting: r.waiting,
                    last_error: r.last_error,
                    refused: r.refused,
                    configured,
                    mapping: config.get("mapping").cloned(),
                    page_id: text("page_id"),
                    channel: text("channel"),
                })
            })
            .collect())
    }

    /// Replaces an integration's key (the old one stops working at once).
    pub async fn set_integration_key(
        &self,
        agency: AgencyId,
        id: i64,
        key_hash: &str,
    ) -> StoreResult<()> {
        let r =
            sqlx::query("UPDATE integrations SET key_hash = $3 WHERE agency_id = $1 AND id = $2")
                .bind(agency)
                .bind(id)
                .bind(key_hash)
                .execute(self.pool())
                .await?;
        one_row(r)
    }

    /// Replaces what the manager may change: configuration, department, on or off.
    pub async fn update_integration(
        &self,
        agency: AgencyId,
        id: i64,
        config: &serde_json::Value,
        department_id: Option<i64>,
        active: bool,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE integrations SET config = $3, department_id = $4, active = $5 WHERE agency_id = $1 AND id = $2",
        )
        .bind(agency)
        .bind(id)
        .bind(config.to_string())
        .bind(department_id)
        .bind(i64::from(active))
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// Queues Meta deliveries (one per `leadgen_id`) in one transaction; a repeat of a queued
    /// one is ignored. Answers how many were new.
    pub async fn enqueue_source_jobs(
        &self,
        agency: AgencyId,
        integration: i64,
        jobs: &[(String, String)],
        now_ms: i64,
    ) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for (external_id, payload) in jobs {
            let r = sqlx::query(
                "INSERT INTO source_jobs (agency_id, integration_id, external_id, payload, next_at_ms, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (integration_id, external_id) DO NOTHING",
            )
            .bind(agency)
            .bind(integration)
            .bind(external_id)
            .bind(payload)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            added += r.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Up to `limit` jobs due at `now_ms`, oldest first, of active integrations.
    pub async fn due_source_jobs(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<SourceJob>> {
        Ok(sqlx::query_as(
            "SELECT j.id, j.agency_id, j.integration_id, j.external_id, j.payload, j.attempts \
             FROM source_jobs j JOIN integrations i ON i.id = j.integration_id \
             WHERE j.done_at_ms IS NULL AND j.next_at_ms <= $1 AND i.active = 1 \
             ORDER BY j.next_at_ms, j.id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The job's lead is written.
    pub async fn source_job_done(&self, id: i64, lead: LeadId, now_ms: i64) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE source_jobs SET done_at_ms = $2, lead_id = $3, last_error = NULL, attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms)
        .bind(lead)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// The lead can never be written (the form gave no phone): set aside with `error`.
    pub async fn source_job_refused(&self, id: i64, error: &str, now_ms: i64) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE source_jobs SET done_at_ms = $2, last_error = $3, attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms)
        .bind(error)
        .execute(self.pool())
        .await?;
        one_row(r)
    }

    /// The attempt failed: try again at `next_at_ms`; `error` is a code the page words.
    pub async fn source_job_retry(&self, id: i64, error: &str, next_at_ms: i64) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE source_jobs SET attempts = attempts + 1, last_error = $2, next_at_ms = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(next_at_ms)
        .execute(self.pool())
        .await?;
        one_row(r)
    }
}
