//! B4, timeouts: 100,000 pending offers with deadlines spread over 10–30 s (one agency per answer
//! time, 10 s … 30 s), each expiry reassigning its lead. In-process — 100,000 sockets are more
//! than one server process may hold — with the real store, dispatcher and hub; brokers are hub
//! registrations without a socket. Reports the lateness of expiry and of reassignment, lost and
//! duplicated leads, and memory per pending offer.
//! `bench-b4 --offers 100000 [--database-url …]` (default: an SQLite file in a temp folder).

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use roleta::model::{AgencyId, BrokerId};
use roleta::presence::Hub;
use roleta::push::Push;
use roleta::settings::{DispatchSettings, PushSettings, Secret};
use roleta::store::Store;
use roleta::Clock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.pool())
        .await?)
}

fn figures(mut v: Vec<i64>) -> String {
    if v.is_empty() {
        return "n=0".into();
    }
    v.sort_unstable();
    let q = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!(
        "n={} p50={} p99={} p99.9={} max={} (ms)",
        v.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        v[v.len() - 1]
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let offers: usize = arg("--offers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile_dir()?;
    let url = arg("--database-url").unwrap_or_else(|| format!("sqlite://{dir}/b4.db?mode=rwc"));
    let store = Store::connect(&url, 8).await?;
    let clock = Clock::new();
    let now = clock.now_ms();
    let answers: Vec<i64> = (10..=30).collect();
    let per_agency = offers.div_ceil(answers.len());
    let spare = per_agency / 10 + 1; // free brokers to reassign to
    let mut agencies = Vec::new();
    let mut tx = store.pool().begin().await?;
    for (i, answer) in answers.iter().enumerate() {
        let agency: i64 = sqlx::query_scalar("INSERT INTO agencies (name, answer_seconds, max_missed_in_row, retry_pause_seconds, created_at_ms) VALUES ($1, $2, 0, 3600, $3) RETURNING id")
            .bind(format!("B4 {answer}s")).bind(answer).bind(now).fetch_one(&mut *tx).await?;
        let dept: i64 = sqlx::query_scalar("INSERT INTO departments (agency_id, name, is_default, created_at_ms) VALUES ($1, 'Vendas', 1, $2) RETURNING id")
            .bind(agency).bind(now).fetch_one(&mut *tx).await?;
        let mut brokers = Vec::new();
        for b in 0..per_agency + spare {
            let id: i64 = sqlx::query_scalar("INSERT INTO users (agency_id, email, name, role, password_hash, online, created_at_ms) VALUES ($1, $2, 'B', 'broker', 'x', 1, $3) RETURNING id")
                .bind(agency).bind(format!("b{b}.{i}@b4")).bind(now).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO broker_departments (agency_id, broker_id, department_id) VALUES ($1, $2, $3)").bind(agency).bind(id).bind(dept).execute(&mut *tx).await?;
            brokers.push(id);
        }
        for l in 0..per_agency {
            let client: i64 = sqlx::query_scalar("INSERT INTO clients (agency_id, name, phone, created_at_ms) VALUES ($1, 'Lead', $2, $3) RETURNING id")
                .bind(agency).bind(format!("+55119{:08}", l)).bind(now).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO leads (agency_id, number, client_id, department_id, source, channel, state, created_at_ms) VALUES ($1, $2, $3, $4, 'b4', 'other', 'waiting', $5)")
                .bind(agency).bind(format!("L{l}")).bind(client).bind(dept).bind(now + l as i64).execute(&mut *tx).await?;
        }
        agencies.push((agency, brokers));
    }
    tx.commit().await?;
    let total_offers = per_agency * answers.len();
    eprintln!(
        "seeded {} agencies, {total_offers} leads, {} brokers",
        answers.len(),
        agencies.iter().map(|a| a.1.len()).sum::<usize>()
    );

    let hub = Hub::new();
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let sup = roleta::supervise::Supervisor::new(tracker.clone(), cancel.clone());
    let push_settings = PushSettings {
        enabled: false,
        subject: String::new(),
        vapid_private_key: Secret::new(""),
        queue: 1,
        allowed_hosts: Vec::new(),
        allow_insecure_endpoints: false,
    };
    let push = Push::start(&push_settings, store.clone(), clock, &sup).await?;
    let dispatcher = roleta::startup::single_node_dispatcher(
        store.clone(),
        hub.clone(),
        push,
        clock,
        &DispatchSettings {
            actors: 2,
            queue_capacity: 4096,
            sweep_ms: 5000,
        },
        &sup,
    );
    let mut registrations = Vec::new();
    let before = rss_kib();
    let start = std::time::Instant::now();
    for (agency, brokers) in &agencies {
        let agency = AgencyId(*agency);
        dispatcher.load(agency).await.ok();
        for b in brokers {
            let b = BrokerId(*b);
            registrations.push(hub.register(agency, b, "bench", true, 1));
            dispatcher.broker_changed(agency, b).await.ok();
        }
    }
    loop {
        let pending = count(
            &store,
            "SELECT COUNT(*) FROM offers WHERE state = 'pending'",
        )
        .await?;
        if pending as usize >= total_offers || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let made = start.elapsed();
    let after = rss_kib();
    eprintln!("{total_offers} offers pending after {made:?}; waiting for the expiries");
    // Every first-round offer ends by its deadline (≤ 30 s after it was made); give it 10 s more.
    tokio::time::sleep(Duration::from_secs(40)).await;
    cancel.cancel();
    tracker.close();
    tracker.wait().await;

    let expiry: Vec<i64> = sqlx::query_scalar(
        "SELECT decided_at_ms - deadline_ms FROM offers WHERE state = 'expired'",
    )
    .fetch_all(store.pool())
    .await?;
    let reassign: Vec<i64> = sqlx::query_scalar(
        "SELECT n.offered_at_ms - o.deadline_ms FROM offers o JOIN offers n ON n.lead_id = o.lead_id AND n.round = o.round \
         AND n.id = (SELECT MIN(id) FROM offers x WHERE x.lead_id = o.lead_id AND x.id > o.id) WHERE o.state = 'expired'",
    )
    .fetch_all(store.pool()).await?;
    let lost = count(&store, "SELECT COUNT(*) FROM leads l WHERE l.state = 'waiting' AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.lead_id = l.id AND o.state = 'pending')").await?;
    let duplicated = count(&store, "SELECT COUNT(*) FROM (SELECT lead_id FROM offers WHERE state = 'pending' GROUP BY lead_id HAVING COUNT(*) > 1) x").await?;
    let stuck = count(
        &store,
        &format!(
            "SELECT COUNT(*) FROM offers WHERE state = 'pending' AND deadline_ms < {}",
            clock.now_ms() - 5000
        ),
    )
    .await?;
    println!(
        "B4 timeouts: {total_offers} pending offers made in {:.1} s; expiry lateness {}; reassignment lateness {}; \
         {} leads waiting without an offer, {duplicated} with two, {stuck} stuck; {:.0} B RSS per pending offer",
        made.as_secs_f64(), figures(expiry), figures(reassign), lost,
        (after.saturating_sub(before) * 1024) as f64 / total_offers as f64
    );
    drop(registrations);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("roleta-b4-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.display().to_string())
}
