//! Bulk-creates the bench agency straight in the database (creating 10,000 users through the
//! API would measure Argon2, not dispatch), with sessions for every broker.

use anyhow::Context;
use roleta::store::Store;
use serde::{Deserialize, Serialize};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 1000)]
    brokers: usize,
    /// Seconds to answer: long, so that offers do not expire during a run.
    #[arg(long, default_value_t = 600)]
    answer_seconds: i64,
    /// Leave the roulette off (pure ingest, B1).
    #[arg(long)]
    roulette_off: bool,
    #[arg(long)]
    out: String,
}

#[derive(Serialize, Deserialize)]
pub struct Seed {
    pub agency: i64,
    pub api_key: String,
    pub tokens: Vec<String>,
}

pub fn load(path: &str) -> anyhow::Result<Seed> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(serde_json::from_str(&text)?)
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let store = Store::connect(&a.database_url, 4).await?;
    let now = roleta::Clock::new().now_ms();
    let bulk = roleta::demo::bulk_agency(
        &store,
        "Bench",
        a.brokers,
        a.answer_seconds,
        !a.roulette_off,
        now,
    )
    .await?;
    let (agency, api_key, tokens) = (bulk.agency, bulk.api_key, bulk.tokens);
    std::fs::write(
        &a.out,
        serde_json::to_string(&Seed {
            agency,
            api_key,
            tokens,
        })?,
    )?;
    eprintln!(
        "seeded agency {agency} with {} brokers into {}",
        a.brokers, a.out
    );
    Ok(())
}
