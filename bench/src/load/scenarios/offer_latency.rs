//! B2: lead → offer latency, from each POST's scheduled time to the offer frame at a broker.

use super::children::spawn_brokers;
use super::lead_body;
use crate::report;
use crate::seed;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct B2 {
    #[arg(long)]
    server: String,
    /// Where leads are posted (B5: another node of the cluster); `--server` when absent.
    #[arg(long)]
    post_server: Option<String>,
    #[arg(long)]
    seed: String,
    /// Leads per second, open loop.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10000)]
    leads: u64,
    /// Brokers online (taken from the seed).
    #[arg(long)]
    brokers: Option<usize>,
    #[arg(long, default_value_t = 4)]
    procs: usize,
    /// Seconds to wait for the last offers after the last send.
    #[arg(long, default_value_t = 10)]
    settle: u64,
    /// Seconds between the last broker coming online and the first lead, so the server has
    /// taken every broker in (B5: presence travels through Redis to the dispatching node).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
}

impl B2 {
    pub async fn run(self) -> anyhow::Result<()> {
        let seed = seed::load(&self.seed)?;
        let ws = self.server.replacen("http", "ws", 1) + "/ws";
        let count = self
            .brokers
            .unwrap_or(seed.tokens.len())
            .min(seed.tokens.len());
        let brokers = spawn_brokers(&ws, &self.seed, count, self.procs).await?;
        tokio::time::sleep(Duration::from_secs(self.warmup)).await;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()?;
        let gate = Arc::new(Semaphore::new(1024)); // sockets to the server in flight
        let url = format!(
            "{}/api/v1/leads",
            self.post_server.as_deref().unwrap_or(&self.server)
        );
        let start = crate::now_us() + 200_000;
        let interval = 1_000_000 / self.rate.max(1);
        let mut sends = tokio::task::JoinSet::new();
        let sent = Arc::new(AtomicU64::new(0));
        let progress = {
            let sent = sent.clone();
            let total = self.leads;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    eprintln!("  answered {} of {total}", sent.load(Ordering::Relaxed));
                }
            })
        };
        for i in 0..self.leads {
            let scheduled = start + i * interval;
            let now = crate::now_us();
            if scheduled > now {
                tokio::time::sleep(Duration::from_micros(scheduled - now)).await;
            }
            let (http, url, key, gate, sent) = (
                http.clone(),
                url.clone(),
                seed.api_key.clone(),
                gate.clone(),
                sent.clone(),
            );
            sends.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let r = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(lead_body(i))
                    .send()
                    .await;
                sent.fetch_add(1, Ordering::Relaxed);
                let body: serde_json::Value = r.ok()?.json().await.ok()?;
                Some((body["lead_id"].as_i64()?, scheduled))
            });
        }
        let mut scheduled = HashMap::new();
        let mut failed = 0;
        while let Some(r) = sends.join_next().await {
            match r? {
                Some((lead, at)) => {
                    scheduled.insert(lead, at);
                }
                None => failed += 1,
            }
        }
        progress.abort();
        tokio::time::sleep(Duration::from_secs(self.settle)).await;
        let offers = brokers.finish().await?;
        let mut h = report::histogram();
        let mut missing = 0;
        let mut duplicated = 0;
        for (lead, at) in &scheduled {
            match offers.get(lead) {
                Some(times) => {
                    if times.len() > 1 {
                        duplicated += 1;
                    }
                    let _ = h.record(times[0].saturating_sub(*at).max(1));
                }
                None => missing += 1,
            }
        }
        println!(
            "B2 lead→offer at {}/s, {} brokers online: {}; {} leads without an offer (expected when leads > brokers: {}), {} offered twice, {} posts failed",
            self.rate, count, report::line(&h), missing, self.leads.saturating_sub(count as u64), duplicated, failed
        );
        Ok(())
    }
}
