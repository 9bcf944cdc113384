//! The second half of Meta lead ads: the queued deliveries (`source_jobs`) are fetched from the
//! Graph API (`GET {sources.meta_graph_url}/{leadgen_id}?access_token=<page token>`) and written
//! as leads with channel LF. A failed fetch (Graph down, a 5xx, a refused token) is tried again
//! later, the wait doubling from `sources.retry_first_ms` to `sources.retry_max_ms` with jitter;
//! a lead Roleta cannot take (no phone in the form) is set aside with its reason, once.

use super::text;
use crate::error::ApiError;
use crate::http::lead_input::LeadIn;
use crate::model::Channel;
use crate::state::AppState;
use crate::store::SourceJob;
use futures_util::future::BoxFuture;
use rand::Rng;
use serde::Deserialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Jobs taken per round.
const BATCH: i64 = 32;
/// The Graph API gets this long per request.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct MetaWorker {
    app: AppState,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct GraphLead {
    #[serde(default)]
    field_data: Vec<Field>,
    form_id: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Field {
    name: String,
    #[serde(default)]
    values: Vec<serde_json::Value>,
}

/// Why an attempt failed, as a code the integrations page words in pt-BR.
enum Failure {
    /// Try again later: `unreachable`, `graph_5xx`, `token` (Graph error 190), `graph_4xx`.
    Retry(String),
    /// Never going to work (the form gave no phone): set aside with the field at fault.
    Refused(String),
}

impl MetaWorker {
    pub fn new(app: AppState) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { app, http })
    }

    pub fn run_boxed(&mut self, cancel: CancellationToken) -> BoxFuture<'_, ()> {
        Box::pin(self.run(cancel))
    }

    async fn run(&mut self, cancel: CancellationToken) {
        let poll = Duration::from_millis(self.app.settings.sources.poll_ms.max(10));
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(poll) => {}
            }
            let now = self.app.clock.now_ms();
            let jobs = match self.app.store.due_source_jobs(now, BATCH).await {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "Meta lead queue not read");
                    continue;
                }
            };
            for job in jobs {
                if cancel.is_cancelled() {
                    break;
                }
                self.one(job).await;
            }
        }
    }

    async fn one(&self, job: SourceJob) {
        let now = self.app.clock.now_ms();
        let store = &self.app.store;
        let result = match self.fetch_and_write(&job).await {
            Ok(lead) => {
                crate::metrics::source_job("fetched");
                store.source_job_done(job.id, lead, now).await
            }
            Err(Failure::Retry(code)) => {
                crate::metrics::source_job("retried");
                tracing::info!(job = job.id, attempts = job.attempts + 1, error = %code, "Meta lead not fetched yet");
                store
                    .source_job_retry(job.id, &code, now + self.delay(job.attempts))
                    .await
            }
            Err(Failure::Refused(code)) => {
                crate::metrics::source_job("refused");
                tracing::warn!(job = job.id, error = %code, "Meta lead set aside");
                store.source_job_refused(job.id, &code, now).await
            }
        };
        if let Err(e) = result {
            // The job stays due: the next round takes it again (the lead's source id makes
            // a second write of it the same lead).
            tracing::warn!(job = job.id, error = %e, "Meta lead job not updated");
        }
    }

    /// The wait before attempt `attempts + 2`: doubling, capped, with up to half of it as jitter.
    fn delay(&self, attempts: i64) -> i64 {
        let s = &self.app.settings.sources;
        let first = s.retry_first_ms.max(1) as i64;
        let cap = (s.retry_max_ms as i64).max(first);
        let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
        let full = first.saturating_mul(1_i64 << exp).min(cap);
        full - rand::thread_rng().gen_range(0..=full / 2)
    }

    async fn fetch_and_write(&self, job: &SourceJob) -> Result<crate::model::LeadId, Failure> {
        let app = &self.app;
        let integration = app
            .store
            .integration(job.agency_id, job.integration_id)
            .await
            .map_err(|e| Failure::Retry(format!("store: {e}")))?;
        let token = text(integration.config.get("page_token"))
            .ok_or_else(|| Failure::Retry("no_token".into()))?;
        let mut url = reqwest::Url::parse(&app.settings.sources.meta_graph_url)
            .map_err(|_| Failure::Retry("graph_url".into()))?;
        url.path_segments_mut()
            .map_err(|_| Failure::Retry("graph_url".into()))?
            .pop_if_empty()
            .push(&job.external_id);
        let resp = self
            .http
            .get(url)
            .query(&[
                ("access_token", token.as_str()),
                ("fields", "id,created_time,ad_id,form_id,field_data"),
            ])
            .send()
            .await
            // Never the URL in the log: it carries the page token.
            .map_err(|e| Failure::Retry(format!("unreachable: {}", e.without_url())))?;
        let status = resp.status();
        if !status.is_success() {
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let code = body.pointer("/error/code").and_then(|c| c.as_i64());
            return Err(Failure::Retry(match (status.as_u16(), code) {
                (_, Some(190)) => "token".into(),
                (s, _) if s >= 500 => format!("graph_{s}"),
                (s, c) => format!(
                    "graph_{s}{}",
                    c.map(|c| format!(":{c}")).unwrap_or_default()
                ),
            }));
        }
        let lead: GraphLead = resp
            .json()
            .await
            .map_err(|_| Failure::Retry("graph_body".into()))?;
        let input = to_lead(lead, &job.external_id);
        match super::ingest(app, &integration, input).await {
            Ok((_, out)) => Ok(out.0.lead_id),
            Err(ApiError::Invalid { field, .. }) => {
                Err(Failure::Refused(format!("invalid:{field}")))
            }
            Err(e) => Err(Failure::Retry(format!("ingest: {e}"))),
        }
    }
}

/// The form's answers as a lead: the name, phone and e-mail Meta's standard questions give,
/// every other answer in the comment ("question: answer").
fn to_lead(g: GraphLead, leadgen_id: &str) -> LeadIn {
    let mut name = None;
    let (mut first, mut last) = (None, None);
    let (mut phone, mut email) = (None, None);
    let mut notes = Vec::new();
    for f in g.field_data {
        let v = text(f.values.first());
        match f.name.as_str() {
            "full_name" | "name" | "nome" | "nome_completo" => name = v,
            "first_name" => first = v,
            "last_name" => last = v,
            "phone_number" | "phone" | "telefone" | "celular" | "whatsapp" => phone = v,
            "email" | "e-mail" => email = v,
            other => {
                if let Some(v) = v {
                    notes.push(format!("{}: {v}", other.replace('_', " ")));
                }
            }
        }
    }
    let name = name.or_else(|| match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    });
    if let Some(form) = text(g.form_id.as_ref()) {
        notes.push(format!("Formulário de anúncio {form}"));
    }
    LeadIn {
        // A form without a name question still brings a client to call.
        name: name.unwrap_or_else(|| "Contato do Facebook/Instagram".into()),
        phone: phone.unwrap_or_default(),
        email,
        external_id: Some(leadgen_id.to_string()),
        channel: Some(Channel::Lf),
        comment: (!notes.is_empty()).then(|| notes.join("\n")),
        ..LeadIn::default()
    }
}
