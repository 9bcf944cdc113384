//! B3: idle brokers, the server's memory per connection, its idle CPU and connects per second.

use super::children::spawn_brokers;
use crate::seed;
use std::time::Duration;

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
