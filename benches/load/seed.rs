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
    let agency = store.create_agency("Bench", now).await?;
    let mut s = store.roulette_settings(agency).await?;
    s.answer_seconds = a.answer_seconds;
    s.roulette_enabled = !a.roulette_off;
    s.max_missed_in_row = 0;
    store.update_roulette_settings(agency, &s).await?;
    let dept = store.create_department(agency, "Vendas", true, now).await?;
    let hash = roleta::auth::hash_password("bench-password".into()).await?;
    let api_key = roleta::auth::new_token("rk_");
    store
        .create_api_key(
            agency,
            "bench",
            &api_key[..10],
            &roleta::auth::token_hash(&api_key),
            now,
        )
        .await?;
    let mut tokens = Vec::with_capacity(a.brokers);
    let mut tx = store.pool().begin().await?;
    for i in 0..a.brokers {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (agency_id, email, name, role, password_hash, online, created_at_ms) \
             VALUES ($1, $2, $3, 'broker', $4, 1, $5) RETURNING id",
        )
        .bind(agency)
        .bind(format!("b{i}.{agency}@bench.roleta"))
        .bind(format!("Corretor {i}"))
        .bind(&hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO broker_departments (agency_id, broker_id, department_id) VALUES ($1, $2, $3)")
            .bind(agency)
            .bind(id)
            .bind(dept)
            .execute(&mut *tx)
            .await?;
        let token = roleta::auth::new_token("rs_");
        sqlx::query(
            "INSERT INTO sessions (agency_id, user_id, token_hash, kind, created_at_ms) VALUES ($1, $2, $3, 'personal', $4)",
        )
        .bind(agency)
        .bind(id)
        .bind(roleta::auth::token_hash(&token))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tokens.push(token);
    }
    tx.commit().await?;
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
