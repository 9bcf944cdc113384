//! B1: durable ingest, leads per second committed before their 2xx.

use super::lead_body;
use crate::report;
use crate::seed;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct B1 {
    #[arg(long)]
    server: String,
    #[arg(long)]
    seed: String,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

impl B1 {
    /// Closed loop: `concurrency` senders post leads as fast as they are answered.
    pub async fn run(self) -> anyhow::Result<()> {
        let seed = seed::load(&self.seed)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency)
            .build()?;
        let ok = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let counter = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(self.seconds);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.concurrency {
            let (http, ok, errors, counter, key) = (
                http.clone(),
                ok.clone(),
                errors.clone(),
                counter.clone(),
                seed.api_key.clone(),
            );
            let url = format!("{}/api/v1/leads", self.server);
            workers.spawn(async move {
                let mut h = report::histogram();
                while Instant::now() < until {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t0 = crate::now_us();
                    let r = http
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(lead_body(n))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            let _ = h.record((crate::now_us() - t0).max(1));
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                h
            });
        }
        let start = Instant::now();
        let mut last = 0;
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = ok.load(Ordering::Relaxed);
            eprintln!(
                "  {:>3} s  {} leads/s  ({} errors)",
                start.elapsed().as_secs(),
                now - last,
                errors.load(Ordering::Relaxed)
            );
            last = now;
        }
        let mut all = report::histogram();
        while let Some(h) = workers.join_next().await {
            all.add(h?)?;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "B1 ingest: {:.0} leads/s sustained over {:.1} s, {} errors; response {}",
            ok.load(Ordering::Relaxed) as f64 / secs,
            secs,
            errors.load(Ordering::Relaxed),
            report::line(&all)
        );
        Ok(())
    }
}
