//! The scenarios: B1 durable ingest, B2 lead → offer latency, B3 idle brokers.

use crate::report;
use crate::seed;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

fn lead_body(n: u64) -> String {
    format!(
        r#"{{"name":"Lead {n}","phone":"+55119{}","external_id":"bench-{n}-{}","comment":"Quer visitar o apartamento no sábado de manhã, prefere contato por WhatsApp depois das 18h"}}"#,
        10_000_000 + n,
        crate::now_us()
    )
}

struct Brokers {
    children: Vec<(Child, ChildStdin, tokio::io::Lines<BufReader<ChildStdout>>)>,
    connect_ms: u128,
    total: usize,
}

/// Starts `procs` child processes holding `count` brokers between them; waits until all are online.
async fn spawn_brokers(
    ws: &str,
    seed_path: &str,
    count: usize,
    procs: usize,
) -> anyhow::Result<Brokers> {
    spawn_children(count, procs, |from, to| {
        vec![
            "brokers".into(),
            "--ws".into(),
            ws.into(),
            "--seed".into(),
            seed_path.into(),
            "--from".into(),
            from.to_string(),
            "--to".into(),
            to.to_string(),
        ]
    })
    .await
}

/// Starts `procs` copies of this program, each given its slice `[from, to)` of `count`.
async fn spawn_children(
    count: usize,
    procs: usize,
    args: impl Fn(usize, usize) -> Vec<String>,
) -> anyhow::Result<Brokers> {
    let exe = std::env::current_exe()?;
    let per = count.div_ceil(procs.max(1));
    let started = Instant::now();
    let mut children = Vec::new();
    for p in 0..procs.max(1) {
        let (from, to) = (p * per, ((p + 1) * per).min(count));
        if from >= to {
            break;
        }
        let mut child = Command::new(&exe)
            .args(args(from, to))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        )
        .lines();
        children.push((child, stdin, stdout));
    }
    for (_, _, out) in children.iter_mut() {
        loop {
            match out.next_line().await? {
                Some(l) if l.starts_with("READY") => break,
                Some(_) => continue,
                None => anyhow::bail!("a client process ended before it was ready"),
            }
        }
    }
    let connect_ms = started.elapsed().as_millis();
    eprintln!(
        "{count} clients connected over {} processes in {connect_ms} ms",
        children.len()
    );
    Ok(Brokers {
        children,
        connect_ms,
        total: count,
    })
}

impl Brokers {
    /// Stops the children and returns every offer they saw: lead id → receive time (µs).
    async fn finish(self) -> anyhow::Result<HashMap<i64, Vec<u64>>> {
        let mut offers: HashMap<i64, Vec<u64>> = HashMap::new();
        for (mut child, mut stdin, mut out) in self.children {
            stdin.write_all(b"stop\n").await?;
            while let Some(l) = out.next_line().await? {
                let mut parts = l.split_whitespace();
                match parts.next() {
                    Some("OFFER") | Some("MSG") => {
                        let lead: i64 = parts.next().unwrap_or("-1").parse()?;
                        let at: u64 = parts.next().unwrap_or("0").parse()?;
                        offers.entry(lead).or_default().push(at);
                    }
                    Some("DONE") => break,
                    _ => {}
                }
            }
            let _ = child.wait().await;
        }
        Ok(offers)
    }
}

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

#[derive(clap::Args)]
pub struct B3 {
    #[arg(long)]
    server: String,
    #[arg(long)]
    seed: String,
    #[arg(long, default_value_t = 4)]
    procs: usize,
    /// The server's process id, to read its memory and CPU from /proc.
    #[arg(long)]
    server_pid: u32,
    #[arg(long, default_value_t = 10)]
    idle_seconds: u64,
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    Ok(f.get(11).unwrap_or(&"0").parse::<u64>()? + f.get(12).unwrap_or(&"0").parse::<u64>()?)
}

impl B3 {
    pub async fn run(self) -> anyhow::Result<()> {
        let seed = seed::load(&self.seed)?;
        let ws = self.server.replacen("http", "ws", 1) + "/ws";
        let before = rss_kib(self.server_pid)?;
        let brokers = spawn_brokers(&ws, &self.seed, seed.tokens.len(), self.procs).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib(self.server_pid)?;
        let t0 = cpu_ticks(self.server_pid)?;
        tokio::time::sleep(Duration::from_secs(self.idle_seconds)).await;
        let t1 = cpu_ticks(self.server_pid)?;
        let per_conn = (after.saturating_sub(before)) as f64 / brokers.total as f64;
        let cpu = (t1 - t0) as f64 / (self.idle_seconds as f64 * 100.0) * 100.0;
        println!(
            "B3 idle: {} brokers online; RSS {} → {} MiB = {:.1} KiB per connection; idle CPU {:.1} % of a core; {:.0} connects/s (handshake + online)",
            brokers.total, before / 1024, after / 1024, per_conn, cpu, brokers.total as f64 / (brokers.connect_ms as f64 / 1000.0)
        );
        brokers.finish().await?;
        Ok(())
    }
}

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
