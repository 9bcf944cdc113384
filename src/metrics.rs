//! Prometheus metrics for operators' dashboards. Counters and the time-to-accept histogram are
//! recorded where things happen; gauges (online brokers, waiting leads) are read at scrape time.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const OFFERS: &str = "roleta_offers_total";
pub const OFFERS_ENDED: &str = "roleta_offers_ended_total";
pub const TIME_TO_ACCEPT: &str = "roleta_time_to_accept_seconds";
pub const LEADS_INGESTED: &str = "roleta_leads_ingested_total";
pub const BROKERS_ONLINE: &str = "roleta_brokers_online";
pub const LEADS_WAITING: &str = "roleta_leads_waiting";
pub const WS_CONNECTIONS: &str = "roleta_ws_connections";
pub const SOURCE_JOBS: &str = "roleta_source_jobs_total";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (tests start many apps in one process).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(TIME_TO_ACCEPT.into()),
                    &[0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0],
                )
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .as_ref()
}

pub fn offer_made() {
    metrics::counter!(OFFERS).increment(1);
}

pub fn offer_ended(state: crate::model::OfferState) {
    metrics::counter!(OFFERS_ENDED, "outcome" => state.as_str()).increment(1);
}

pub fn time_to_accept(ms: i64) {
    metrics::histogram!(TIME_TO_ACCEPT).record(ms.max(0) as f64 / 1000.0);
}

pub fn lead_ingested(replayed: bool) {
    let result = if replayed { "replayed" } else { "created" };
    metrics::counter!(LEADS_INGESTED, "result" => result).increment(1);
}

/// Meta lead ads deliveries: `queued` from the webhook, then `fetched` or `retried` by the
/// worker (a retry means the Graph API failed or refused; the lead still waits).
pub fn source_jobs_queued(n: usize) {
    metrics::counter!(SOURCE_JOBS, "result" => "queued").increment(n as u64);
}

pub fn source_job(result: &'static str) {
    metrics::counter!(SOURCE_JOBS, "result" => result).increment(1);
}

pub fn set_gauges(online: usize, waiting: i64, connections: usize) {
    metrics::gauge!(BROKERS_ONLINE).set(online as f64);
    metrics::gauge!(LEADS_WAITING).set(waiting as f64);
    metrics::gauge!(WS_CONNECTIONS).set(connections as f64);
}

pub const BUS_DROPPED: &str = "roleta_bus_dropped_total";
pub const SWEPT: &str = "roleta_swept_offers_total";
pub const FENCED: &str = "roleta_fenced_writes_total";

/// A message to another node was dropped because the bus queue was full.
pub fn bus_dropped() {
    metrics::counter!(BUS_DROPPED).increment(1);
}

/// Offers the sweeper expired because no node was timing them.
pub fn swept(n: usize) {
    metrics::counter!(SWEPT).increment(n as u64);
}

/// Dispatch writes refused because another node had taken the agency over.
pub fn fenced() {
    metrics::counter!(FENCED).increment(1);
}

pub const INGEST_BATCH: &str = "roleta_ingest_batch_size";

/// Leads written together in one ingest transaction.
pub fn ingest_batch(n: usize) {
    metrics::histogram!(INGEST_BATCH).record(n as f64);
}

pub const TASK_PANICS: &str = "roleta_task_panics_total";

/// A background task (or one unit of its work) panicked and was restarted or answered.
pub fn task_panicked(task: &str) {
    // The task's kind, without its index: one series per writer kind, not per writer.
    let kind = task.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    metrics::counter!(TASK_PANICS, "task" => kind.to_string()).increment(1);
}
