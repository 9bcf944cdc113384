//! `roleta-load`: Roleta's load generator. Open-loop (each lead has a scheduled send time and
//! latency is measured from it, so a slow server cannot hide its queueing), HdrHistogram for
//! the figures, brokers spread over child processes (one process may hold only ~20,000 files).
//!
//! ```text
//! roleta-load seed    --database-url URL --brokers 10000 --out bench.json
//! roleta-load b1      --server http://127.0.0.1:8080 --seed bench.json --seconds 10
//! roleta-load b2      --server … --seed bench.json --rate 1000 --leads 10000 --procs 4
//! roleta-load b3      --server … --seed bench.json --procs 4 --server-pid PID
//! ```
//! Everything targets loopback and stops by itself.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

mod brokers;
mod child;
mod report;
mod scenarios;
mod seed;
mod subscribers;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "roleta-load",
    about = "Load generator for Roleta (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Creates a bench agency with N brokers online-ready and writes their tokens.
    Seed(seed::Args),
    /// (child process) holds a slice of broker sockets and records offers.
    Brokers(brokers::Args),
    /// Durable ingest: leads per second committed before their 2xx.
    B1(scenarios::B1),
    /// Lead → offer latency from the POST's scheduled time to the offer frame.
    B2(scenarios::B2),
    /// Idle brokers: memory per connection, idle CPU, connects per second.
    B3(scenarios::B3),
    /// (child process) plain WebSocket subscribers for B0 and B6.
    Subscribers(subscribers::Args),
    /// B0 / B6: one 256-byte message to one of N subscribers per POST (the limit, and nchan).
    Push(scenarios::PushBench),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Seed(a) => seed::run(a).await,
            Cmd::Brokers(a) => brokers::run(a).await,
            Cmd::B1(a) => a.run().await,
            Cmd::B2(a) => a.run().await,
            Cmd::B3(a) => a.run().await,
            Cmd::Subscribers(a) => subscribers::run(a).await,
            Cmd::Push(a) => a.run().await,
        }
    })
}

/// Microseconds since the epoch: every process on this machine reads the same clock.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
