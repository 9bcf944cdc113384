//! B0 / B6: one 256-byte message to one of N plain WebSocket subscribers per POST (the bare
//! push server, the physical limit; and nchan, the peer).

use super::children::spawn_children;
use crate::report;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct PushBench {
    /// Label for the result line (B0 or B6).
    #[arg(long)]
    label: String,
    /// http:// URL with `{id}`: where a message for subscriber id is published.
    #[arg(long)]
    publish: String,
    /// ws:// URL with `{id}`: where subscriber id listens.
    #[arg(long)]
    subscribe: String,
    #[arg(long, default_value_t = 10000)]
    connections: usize,
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10000)]
    messages: u64,
    #[arg(long, default_value_t = 4)]
    procs: usize,
    #[arg(long, default_value_t = 5)]
    settle: u64,
}

impl PushBench {
    /// One 256-byte message to one of N subscribers per send, open loop, latency from the
    /// scheduled send time to the frame at the subscriber.
    pub async fn run(self) -> anyhow::Result<()> {
        let subscribe = self.subscribe.clone();
        let subs = spawn_children(self.connections, self.procs, |from, to| {
            vec![
                "subscribers".into(),
                "--url".into(),
                subscribe.clone(),
                "--from".into(),
                from.to_string(),
                "--to".into(),
                to.to_string(),
            ]
        })
        .await?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()?;
        let gate = Arc::new(Semaphore::new(1024));
        let start = crate::now_us() + 200_000;
        let interval = 1_000_000 / self.rate.max(1);
        let mut sends = tokio::task::JoinSet::new();
        for seq in 0..self.messages {
            let scheduled = start + seq * interval;
            let now = crate::now_us();
            if scheduled > now {
                tokio::time::sleep(Duration::from_micros(scheduled - now)).await;
            }
            let id = (seq as usize) % self.connections;
            let url = self.publish.replace("{id}", &id.to_string());
            let mut body = format!("seq:{seq}:");
            body.push_str(&"x".repeat(256usize.saturating_sub(body.len())));
            let (http, gate) = (http.clone(), gate.clone());
            sends.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let ok = http
                    .post(url)
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                (seq, scheduled, ok)
            });
        }
        let mut scheduled = HashMap::new();
        let mut failed = 0;
        while let Some(r) = sends.join_next().await {
            let (seq, at, ok) = r?;
            if ok {
                scheduled.insert(seq as i64, at);
            } else {
                failed += 1;
            }
        }
        tokio::time::sleep(Duration::from_secs(self.settle)).await;
        let got = subs.finish().await?;
        let mut h = report::histogram();
        let mut missing = 0;
        for (seq, at) in &scheduled {
            match got.get(seq) {
                Some(t) => {
                    let _ = h.record(t[0].saturating_sub(*at).max(1));
                }
                None => missing += 1,
            }
        }
        println!(
            "{} push at {}/s to {} connections: {}; {} missing, {} publishes failed",
            self.label,
            self.rate,
            self.connections,
            report::line(&h),
            missing,
            failed
        );
        Ok(())
    }
}
