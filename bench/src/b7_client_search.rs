//! B7, the client search at scale: one agency with 1,000,000 clients (and another with 50,000
//! beside it), 200,000 leads spread over statuses and sources, 20 brokers, clients in campaigns;
//! then each filter the campaign and distribution pages use, timed through the store as the API
//! runs it (first page of 50, newest first), plus a deep keyset page, the O2 preview of the
//! first 10,000 matches and a distribution of 1,000 clients to a team.
//! `bench-b7 [--clients 1000000] [--database-url …]` (default: an SQLite file in a temp folder).

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use roleta::model::{AgencyId, BrokerId};
use roleta::store::{CampaignDef, ClientFilter, Selection, Store};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Isabela", "João",
    "Karina", "Lucas", "Mariana", "Nicolas", "Olívia", "Paulo", "Queila", "Rafael", "Sofia",
    "Tiago",
];
const LAST: &[&str] = &[
    "Silva",
    "Souza",
    "Oliveira",
    "Santos",
    "Lima",
    "Pereira",
    "Ferreira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Carvalho",
    "Araújo",
    "Ribeiro",
    "Gomes",
    "Martins",
    "Rocha",
    "Barbosa",
    "Melo",
    "Cardoso",
    "Teixeira",
    "Moreira",
    "Correia",
    "Mendes",
    "Freitas",
    "Vieira",
    "Monteiro",
    "Campos",
    "Pinto",
    "Zuleica",
];
const SOURCES: &[&str] = &["portal", "site", "facebook", "reception", "instagram"];
const STATUSES: &[&str] = &["Novo", "Em atendimento", "Proposta", "Fechado", "Perdido"];
const DAY: i64 = 86_400_000;

/// Multi-row INSERT of `rows` tuples of `cols` placeholders.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn fill(
    store: &Store,
    agency: AgencyId,
    base: usize,
    n: usize,
    brokers: &[BrokerId],
    now: i64,
) -> anyhow::Result<()> {
    const CHUNK: usize = 1000;
    let sql_head = "INSERT INTO clients (agency_id, name, phone, email, broker_id, created_at_ms, search_key, role) VALUES ";
    let mut i = 0;
    while i < n {
        let rows = CHUNK.min(n - i);
        let sql = format!("{sql_head}{}", values(rows, 8));
        let mut q = sqlx::query(&sql);
        let mut tx = store.pool().begin().await?;
        for k in i..i + rows {
            let g = base + k;
            let name = format!(
                "{} {} {}",
                FIRST[g % FIRST.len()],
                LAST[(g / 7) % LAST.len()],
                g
            );
            let email = format!("cliente{g}@exemplo.com.br");
            let broker = (g % 3 == 0 && !brokers.is_empty()).then(|| brokers[g % brokers.len()]);
            q = q
                .bind(agency)
                .bind(name.clone())
                .bind(format!("+55119{g:08}"))
                .bind(email.clone())
                .bind(broker)
                .bind(now - 730 * DAY + (g as i64 % 730) * DAY + g as i64 % 1000)
                .bind(roleta::store::search_key(&name, Some(&email)))
                .bind("buyer");
        }
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        i += rows;
    }
    Ok(())
}

async fn leads(
    store: &Store,
    agency: AgencyId,
    dept: i64,
    n: usize,
    now: i64,
) -> anyhow::Result<()> {
    const CHUNK: usize = 1000;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM clients WHERE agency_id = $1 ORDER BY id")
            .bind(agency)
            .fetch_all(store.pool())
            .await?;
    let step = (ids.len() / n.max(1)).max(1);
    let picked: Vec<i64> = ids.iter().step_by(step).take(n).copied().collect();
    let head = "INSERT INTO leads (agency_id, number, client_id, department_id, source, channel, state, created_at_ms, status) VALUES ";
    for (c, chunk) in picked.chunks(CHUNK).enumerate() {
        let sql = format!("{head}{}", values(chunk.len(), 9));
        let mut q = sqlx::query(&sql);
        for (k, client) in chunk.iter().enumerate() {
            let g = c * CHUNK + k;
            q = q
                .bind(agency)
                .bind(format!("B7-{g:07}"))
                .bind(*client)
                .bind(dept)
                .bind(SOURCES[g % SOURCES.len()])
                .bind("other")
                .bind("unrouted")
                .bind(now - (g as i64 % 365) * DAY)
                .bind(STATUSES[g % STATUSES.len()]);
        }
        q.execute(store.pool()).await?;
    }
    Ok(())
}

fn figures(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!(
        "p50={:.1} p95={:.1} max={:.1} ms",
        q(0.5),
        q(0.95),
        v[v.len() - 1]
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--clients")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("roleta-b7-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = arg("--database-url")
        .unwrap_or_else(|| format!("sqlite://{}/b7.db?mode=rwc", dir.display()));
    let store = Store::connect(&url, 4).await?;
    let now = roleta::Clock::new().now_ms();
    let agency = store.create_agency("B7", now).await?;
    let other = store.create_agency("B7 vizinha", now).await?;
    let dept = store.create_department(agency, "Vendas", true, now).await?;
    let mut brokers = Vec::new();
    for b in 0..20 {
        let id = store
            .create_user(
                agency,
                &format!("b7-{b}@b7"),
                &format!("Corretor {b}"),
                roleta::model::Role::Broker,
                "x",
                false,
                now,
            )
            .await?;
        brokers.push(BrokerId(id));
    }
    let t0 = Instant::now();
    fill(&store, agency, 0, n, &brokers, now).await?;
    fill(&store, other, n, n / 20, &[], now).await?;
    leads(&store, agency, dept, n / 5, now).await?;
    let campaign = CampaignDef {
        name: "Vigente".into(),
        expires_at_ms: now + 30 * DAY,
        property_id: None,
        development: None,
        description: None,
        brokers: brokers[..5].to_vec(),
    };
    let k = store
        .create_campaign(agency, &campaign, brokers[0].0, now)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO campaign_clients (agency_id, campaign_id, client_id, added_at_ms) \
         SELECT agency_id, {k}, id, {now} FROM clients WHERE agency_id = $1 AND id % 50 = 0"
    ))
    .bind(agency)
    .execute(store.pool())
    .await?;
    if url.starts_with("postgres") {
        sqlx::query("ANALYZE").execute(store.pool()).await?;
    }
    println!(
        "generated {n} clients (+{} in another agency), {} leads, {} in a campaign in {:.1} s",
        n / 20,
        n / 5,
        n / 50,
        t0.elapsed().as_secs_f64()
    );

    let f =
        |v: serde_json::Value| -> anyhow::Result<ClientFilter> { Ok(serde_json::from_value(v)?) };
    let deep: i64 = sqlx::query_scalar(
        "SELECT id FROM clients WHERE agency_id = $1 ORDER BY id LIMIT 1 OFFSET $2",
    )
    .bind(agency)
    .bind((n / 2) as i64)
    .fetch_one(store.pool())
    .await?;
    let cases: Vec<(&str, ClientFilter, Option<i64>)> = vec![
        ("no filter", f(serde_json::json!({}))?, None),
        (
            "text, common (silva)",
            f(serde_json::json!({"q": "silva"}))?,
            None,
        ),
        (
            "text, rare (zuleica 99)",
            f(serde_json::json!({"q": "zuleica 99"}))?,
            None,
        ),
        (
            "text, no match",
            f(serde_json::json!({"q": "xyzzy"}))?,
            None,
        ),
        (
            "phone exact",
            f(serde_json::json!({"phone": format!("+55119{:08}", n / 3)}))?,
            None,
        ),
        (
            "broker",
            f(serde_json::json!({"broker_id": brokers[3]}))?,
            None,
        ),
        (
            "active clients",
            f(serde_json::json!({"has_broker": true}))?,
            None,
        ),
        (
            "created in one month",
            f(
                serde_json::json!({"created_from_ms": now - 400 * DAY, "created_to_ms": now - 370 * DAY}),
            )?,
            None,
        ),
        (
            "status (lead)",
            f(serde_json::json!({"status": "Proposta"}))?,
            None,
        ),
        (
            "source + department",
            f(serde_json::json!({"source": "facebook", "department_id": dept}))?,
            None,
        ),
        (
            "in a campaign",
            f(serde_json::json!({"in_campaign": true}))?,
            None,
        ),
        (
            "free: no campaign, no quarantine",
            f(serde_json::json!({"in_campaign": false, "quarantine": false}))?,
            None,
        ),
        (
            "not worked, not distributed",
            f(serde_json::json!({"worked": false, "distributed": false}))?,
            None,
        ),
        (
            "text + active + month",
            f(
                serde_json::json!({"q": "ana", "has_broker": true, "created_from_ms": now - 400 * DAY, "created_to_ms": now - 300 * DAY}),
            )?,
            None,
        ),
        (
            "deep page (keyset, 500k in)",
            f(serde_json::json!({}))?,
            Some(deep),
        ),
    ];
    for (label, filter, before) in cases {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..20 {
            let t = Instant::now();
            found = store
                .search_clients(agency, &filter, before, 50, now)
                .await?
                .len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("B7 {label}: rows={found} {}", figures(times));
    }
    let sel = Selection::Search {
        filter: f(serde_json::json!({"q": "silva"}))?,
        limit: 10_000,
    };
    let t = Instant::now();
    let p = store.preview_campaign_add(agency, k, &sel, now).await?;
    println!(
        "B7 O2 preview of the first 10,000 matches: to_add={} in {:.0} ms",
        p.to_add,
        t.elapsed().as_secs_f64() * 1000.0
    );
    let team = store
        .save_team(agency, None, "Equipe", brokers[0].0, &brokers[..4], now)
        .await?;
    let t = Instant::now();
    let d = store
        .distribute_to_team(
            agency,
            team,
            &f(serde_json::json!({"q": "souza"}))?,
            1000,
            now,
        )
        .await?;
    println!(
        "B7 T2 distribution of 1,000 to a team of 4: distributed={} in {:.0} ms",
        d.distributed,
        t.elapsed().as_secs_f64() * 1000.0
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
