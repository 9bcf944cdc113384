#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Cluster fault tests: three real `roleta` processes on the local PostgreSQL and a Redis of
//! the test's own, scripted brokers over WebSocket, and the invariant checker's six counters
//! after every fault. `ROLETA_CLUSTER_FULL=1` runs the full-size variant (docs/CLUSTER.md);
//! the default is the shorter one CI runs. Scenarios run one at a time (they load the machine).

mod actors;
mod availability;
mod harness;
#[path = "../api/invariants.rs"]
mod invariants;
mod lifecycle;
#[path = "../common/pg.rs"]
mod pg;

use actors::{lead_body, post_lead, Fleet, Policy, Post, Traffic};
use harness::{database, full, now_ms, Node, Proxy, Redis, HEARTBEAT_MS, LEASE_MS};
use invariants::Counters;
use roleta::demo::BulkAgency;
use roleta::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn run(name: &str, f: impl std::future::Future<Output = ()>) {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "== {name} ({} variant)",
        if full() { "full" } else { "short" }
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

/// Fields drop in order: the nodes stop before their Redis does.
struct Setup {
    nodes: Vec<Node>,
    redis: Redis,
    store: Store,
    prefix: String,
    agencies: Vec<BulkAgency>,
    logs: PathBuf,
}

impl Setup {
    /// Three nodes that see each other, then the agencies (so their leases spread), each
    /// taken by a node before this returns. `via` gives the nodes' database URL.
    async fn start(
        scenario: &str,
        agencies: usize,
        brokers: usize,
        answer_seconds: i64,
        proxy: Option<&Proxy>,
    ) -> Self {
        let redis = Redis::start().await;
        let (url, store) = database().await;
        let node_url = match proxy {
            Some(p) => url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", p.port), 1),
            None => url.clone(),
        };
        let prefix = format!("rt{}", std::process::id());
        let logs = std::env::temp_dir().join(format!("roleta-cluster-{scenario}-{}", now_ms()));
        std::fs::create_dir_all(&logs).unwrap();
        println!("   node logs in {}", logs.display());
        let mut nodes = Vec::new();
        for i in 1..=3 {
            nodes
                .push(Node::start(&format!("n{i}"), &node_url, &redis.url(), &prefix, &logs).await);
        }
        let nodes_key = format!("{prefix}:nodes");
        wait_for("three live nodes", 20, || async {
            matches!(
                redis.cmd(&["ZCARD", &nodes_key]).await,
                Some(deadpool_redis::redis::Value::Int(3))
            )
        })
        .await;
        let mut list = Vec::new();
        for i in 0..agencies {
            let a = roleta::demo::bulk_agency(
                &store,
                &format!("Imobiliária {i}"),
                brokers,
                answer_seconds,
                true,
                now_ms(),
            )
            .await
            .unwrap();
            list.push(a);
        }
        let s = Self {
            redis,
            store,
            nodes,
            prefix,
            agencies: list,
            logs,
        };
        let n = agencies as i64;
        wait_for("every agency taken by a node", 30, || async {
            s.scalar("SELECT COUNT(*) FROM shards WHERE owner IS NOT NULL")
                .await
                == n
        })
        .await;
        s
    }

    fn bases(&self) -> Vec<String> {
        self.nodes.iter().map(Node::base).collect()
    }

    fn ws_urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::ws).collect()
    }

    fn tokens(&self) -> Vec<String> {
        self.agencies
            .iter()
            .flat_map(|a| a.tokens.clone())
            .collect()
    }

    fn api_keys(&self) -> Vec<String> {
        self.agencies.iter().map(|a| a.api_key.clone()).collect()
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Node name → agencies it dispatches, from the shards table.
    async fn owners(&self) -> BTreeMap<String, Vec<i64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT owner, agency_id FROM shards WHERE owner IS NOT NULL")
                .fetch_all(self.store.pool())
                .await
                .unwrap();
        let mut m: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (o, a) in rows {
            m.entry(o).or_default().push(a);
        }
        m
    }

    /// The node dispatching the most agencies.
    async fn busiest(&self) -> usize {
        let owners = self.owners().await;
        println!("   agencies per node: {owners:?}");
        let (name, _) = owners
            .iter()
            .max_by_key(|(_, a)| a.len())
            .expect("some owner");
        self.nodes
            .iter()
            .position(|n| &n.name == name)
            .expect("known node")
    }

    /// Waits (bounded) for the counters to reach zero — offers of a dead node end only after
    /// their deadline — then asserts they did.
    async fn settle_and_check(&self) -> Counters {
        let mut last = Counters::default();
        for _ in 0..60 {
            last = invariants::check(&self.store, now_ms()).await;
            if last.all_zero() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        println!("   counters: {last:?}");
        assert!(
            last.all_zero(),
            "invariants broken: {last:?} (logs: {})",
            self.logs.display()
        );
        last
    }
}

async fn wait_for<F, Fut>(what: &str, seconds: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentiles(label: &str, mut v: Vec<i64>) {
    if v.is_empty() {
        println!("   {label}: none");
        return;
    }
    v.sort_unstable();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "   {label} (ms, n={}): p50 {} p90 {} p99 {} max {}",
        v.len(),
        p(0.5),
        p(0.9),
        p(0.99),
        v[v.len() - 1]
    );
}

/// Sends every lead again with its own key until it is answered 2xx (the source's retry).
async fn retry_until_accepted(setup: &Setup, posts: &mut [(String, serde_json::Value, Post)]) {
    let http = reqwest::Client::new();
    let bases = setup.bases();
    for (api_key, body, post) in posts.iter_mut() {
        for attempt in 0..20 {
            if (200..300).contains(&post.status) {
                break;
            }
            *post = post_lead(&http, &bases, attempt, api_key, &post.key, body).await;
            if !(200..300).contains(&post.status) {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        assert!(
            (200..300).contains(&post.status),
            "lead {} never accepted: {}",
            post.key,
            post.status
        );
    }
}

async fn post_all(setup: &Setup, per_agency: usize) -> usize {
    let http = reqwest::Client::new();
    let bases = setup.bases();
    let mut set = tokio::task::JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(48));
    let mut i = 0;
    for a in &setup.agencies {
        for _ in 0..per_agency {
            let (http, bases, key, gate) =
                (http.clone(), bases.clone(), a.api_key.clone(), gate.clone());
            set.spawn(async move {
                let _p = gate.acquire_owned().await;
                post_lead(&http, &bases, i, &key, &format!("k-{i}"), &lead_body(i)).await
            });
            i += 1;
        }
    }
    while let Some(p) = set.join_next().await {
        let p = p.unwrap();
        assert_eq!(p.status, 202, "{p:?}");
    }
    i
}

#[test]
fn a_killed_node_s_offers_are_all_taken_over_and_reassigned() {
    run("kill -9 with offers in flight", async {
        let (agencies, brokers) = if full() { (6, 500) } else { (6, 60) };
        let s = Setup::start("kill9", agencies, brokers, 8, None).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Silent);
        fleet.wait_connected(agencies * brokers).await;
        tokio::time::sleep(Duration::from_millis(2 * HEARTBEAT_MS)).await;
        let leads = post_all(&s, brokers).await as i64;
        wait_for("every lead offered", 60, || async {
            s.scalar("SELECT COUNT(*) FROM offers WHERE state = 'pending'")
                .await
                == leads
        })
        .await;
        let victim = s.busiest().await;
        let name = s.nodes[victim].name.clone();
        let in_flight: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT o.id, o.lead_id FROM offers o JOIN shards s ON s.agency_id = o.agency_id \
             WHERE o.state = 'pending' AND s.owner = $1",
        )
        .bind(&name)
        .fetch_all(s.store.pool())
        .await
        .unwrap();
        println!(
            "   killing {name} with {} offers in flight (of {leads})",
            in_flight.len()
        );
        if full() {
            assert!(in_flight.len() >= 1000, "{}", in_flight.len());
        }
        let mut s = s;
        let kill_ms = now_ms();
        s.nodes[victim].kill9();
        let victims: Vec<i64> = in_flight.iter().map(|(_, l)| *l).collect();
        let list = victims
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let n = victims.len() as i64;
        let moved_on = format!(
            "SELECT COUNT(*) FROM leads l WHERE l.id IN ({list}) AND EXISTS \
             (SELECT 1 FROM offers o WHERE o.lead_id = l.id AND o.offered_at_ms > {kill_ms})"
        );
        wait_for("every offer of the dead node reassigned", 90, || async {
            s.scalar(&moved_on).await == n
        })
        .await;
        let ended = s
            .scalar(&format!(
                "SELECT COUNT(*) FROM offers WHERE id IN ({}) AND state <> 'pending'",
                in_flight
                    .iter()
                    .map(|(o, _)| o.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .await;
        assert_eq!(ended, n, "every offer in flight ended");
        let takeover: Vec<(i64,)> = sqlx::query_as(&format!(
            "SELECT claimed_at_ms - {kill_ms} FROM shards WHERE owner <> $1 AND claimed_at_ms > {kill_ms}"
        ))
        .bind(&name)
        .fetch_all(s.store.pool())
        .await
        .unwrap();
        percentiles(
            "takeover of the dead node's agencies",
            takeover.into_iter().map(|t| t.0).collect(),
        );
        let delays: Vec<(i64,)> = sqlx::query_as(&format!(
            "SELECT MIN(o.offered_at_ms) - {kill_ms} FROM offers o WHERE o.lead_id IN ({list}) \
             AND o.offered_at_ms > {kill_ms} GROUP BY o.lead_id"
        ))
        .fetch_all(s.store.pool())
        .await
        .unwrap();
        percentiles(
            "kill -> lead offered again (answer time 8 s)",
            delays.into_iter().map(|d| d.0).collect(),
        );
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn a_paused_node_s_late_writes_are_refused_by_epoch() {
    run("SIGSTOP longer than the lease", async {
        let (agencies, brokers, rate) = if full() { (6, 100, 40) } else { (3, 30, 12) };
        let s = Setup::start("sigstop", agencies, brokers, 4, None).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Mixed);
        fleet.wait_connected(agencies * brokers).await;
        let victim = s.busiest().await;
        let others: Vec<String> = s
            .bases()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, b)| b)
            .collect();
        let traffic = Traffic::start(others, s.api_keys(), rate, 0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let stop_ms = now_ms();
        s.nodes[victim].stop();
        tokio::time::sleep(Duration::from_millis(LEASE_MS * 5 / 2)).await;
        s.nodes[victim].cont();
        println!(
            "   {} stopped for {} ms",
            s.nodes[victim].name,
            now_ms() - stop_ms
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut posts = traffic.stop().await;
        retry_until_accepted(&s, &mut posts).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let fenced = s
            .scalar("SELECT COUNT(*) FROM dispatch_audit WHERE decision = 'fenced'")
            .await;
        let late = s
            .scalar(
                "SELECT COUNT(*) FROM offers o JOIN shards s ON s.agency_id = o.agency_id \
                 WHERE o.shard_epoch < s.epoch AND o.offered_at_ms > s.claimed_at_ms",
            )
            .await;
        println!(
            "   writes refused by epoch: {fenced}; offers written under a stale epoch after a takeover: {late}; broker errors: {:?}",
            fleet.errors()
        );
        assert!(fenced >= 1, "the paused node wrote nothing after resuming?");
        assert_eq!(late, 0);
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn presence_is_rebuilt_after_redis_is_flushed_and_restarted() {
    run("Redis flushed, then restarted", async {
        let (agencies, brokers, rate) = if full() { (6, 200, 40) } else { (3, 30, 10) };
        let mut s = Setup::start("redis", agencies, brokers, 5, None).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Mixed);
        let all = agencies * brokers;
        fleet.wait_connected(all).await;
        let traffic = Traffic::start(s.bases(), s.api_keys(), rate, 0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let prefix = s.prefix.clone();
        for fault in ["flush", "restart"] {
            let t0 = now_ms();
            if fault == "flush" {
                s.redis.cmd(&["FLUSHALL"]).await.expect("flush");
            } else {
                s.redis.kill_and_restart().await;
            }
            let t1 = now_ms();
            wait_for("presence rebuilt", 30, || async {
                s.redis.presence_count(&prefix).await >= all
            })
            .await;
            let rebuilt = now_ms() - t1;
            println!(
                "   {fault}: presence of {all} brokers rebuilt {rebuilt} ms after Redis was back (fault took {} ms; heartbeat {HEARTBEAT_MS} ms)",
                t1 - t0
            );
            assert!(rebuilt <= 2 * HEARTBEAT_MS as i64 + 1000, "{rebuilt} ms");
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        let mut posts = traffic.stop().await;
        retry_until_accepted(&s, &mut posts).await;
        // Every lead reaches a broker: none waits without ever having been offered.
        wait_for("every lead offered at least once", 30, || async {
            s.scalar("SELECT COUNT(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.lead_id = l.id)").await == 0
        })
        .await;
        println!(
            "   {} leads, all offered; broker errors: {:?}",
            posts.len(),
            fleet.errors()
        );
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn with_postgres_unreachable_ingest_answers_503_and_never_a_false_2xx() {
    run("PostgreSQL unreachable", async {
        let (agencies, brokers, rate) = if full() { (3, 50, 40) } else { (2, 20, 10) };
        let proxy = Proxy::start("127.0.0.1:5432").await;
        let s = Setup::start("pg", agencies, brokers, 5, Some(&proxy)).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Mixed);
        fleet.wait_connected(agencies * brokers).await;
        let traffic = Traffic::start(s.bases(), s.api_keys(), rate, 0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let cut_ms = now_ms();
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(6)).await;
        proxy.restore();
        let back_ms = now_ms();
        tokio::time::sleep(Duration::from_secs(4)).await;
        let mut posts = traffic.stop().await;
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for (_, _, p) in &posts {
            *by_status.entry(p.status).or_default() += 1;
        }
        println!(
            "   answers while cut for {} ms: {by_status:?}",
            back_ms - cut_ms
        );
        assert!(
            by_status.get(&503).copied().unwrap_or(0) > 0,
            "the cut never showed"
        );
        assert!(
            by_status
                .keys()
                .all(|s| *s == 202 || *s == 200 || *s == 503),
            "only 2xx or 503: {by_status:?}"
        );
        // Every 2xx names a lead that exists.
        let ok_ids: Vec<i64> = posts
            .iter()
            .filter_map(|(_, _, p)| p.lead.filter(|_| p.status < 300))
            .collect();
        let list = ok_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        if !ok_ids.is_empty() {
            let found = s
                .scalar(&format!("SELECT COUNT(*) FROM leads WHERE id IN ({list})"))
                .await;
            assert_eq!(
                found as usize,
                ok_ids.len(),
                "a 2xx without a committed lead"
            );
        }
        retry_until_accepted(&s, &mut posts).await;
        let keys: std::collections::BTreeSet<&str> =
            posts.iter().map(|(_, _, p)| p.key.as_str()).collect();
        let committed = s.scalar("SELECT COUNT(*) FROM leads").await;
        println!(
            "   {} leads answered 2xx in the end, {committed} committed",
            keys.len()
        );
        assert_eq!(committed as usize, keys.len());
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn one_source_event_delivered_five_times_across_nodes_is_one_lead() {
    run("same event five times", async {
        let s = Setup::start("dup", 1, 5, 30, None).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Silent);
        fleet.wait_connected(5).await;
        let http = reqwest::Client::new();
        let bases = s.bases();
        let key = s.agencies[0].api_key.clone();
        let mut body = lead_body(1);
        body["external_id"] = serde_json::json!("portal-evt-42");
        let mut set = tokio::task::JoinSet::new();
        for i in 0..5 {
            let (http, bases, key, body) = (http.clone(), bases.clone(), key.clone(), body.clone());
            // A different delivery id each time: only the source's own event id is shared.
            set.spawn(async move {
                post_lead(&http, &bases, i, &key, &format!("delivery-{i}"), &body).await
            });
        }
        let mut ids = std::collections::BTreeSet::new();
        while let Some(p) = set.join_next().await {
            let p = p.unwrap();
            assert!((200..300).contains(&p.status), "{p:?}");
            ids.insert(p.lead.unwrap());
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(s.scalar("SELECT COUNT(*) FROM leads").await, 1);
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn a_rolling_restart_under_traffic_keeps_every_invariant() {
    run("rolling restart", async {
        let (agencies, brokers, rate) = if full() { (6, 150, 40) } else { (3, 30, 10) };
        let mut s = Setup::start("rolling", agencies, brokers, 4, None).await;
        let fleet = Fleet::start(s.ws_urls(), &s.tokens(), Policy::Mixed);
        fleet.wait_connected(agencies * brokers).await;
        let traffic = Traffic::start(s.bases(), s.api_keys(), rate, 0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        for i in 0..s.nodes.len() {
            let (took, clean) = s.nodes[i].terminate().await;
            println!(
                "   {} drained and exited in {} ms (clean: {clean})",
                s.nodes[i].name,
                took.as_millis()
            );
            assert!(clean, "exit status");
            assert!(took < Duration::from_secs(12), "within the grace period");
            s.nodes[i].spawn().await;
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let mut posts = traffic.stop().await;
        retry_until_accepted(&s, &mut posts).await;
        let restarts = fleet.closes(1012);
        println!(
            "   {} leads; brokers told to reconnect (1012): {restarts}; broker errors: {:?}",
            posts.len(),
            fleet.errors()
        );
        assert!(restarts > 0, "draining nodes close sockets with 1012");
        assert_eq!(
            s.scalar("SELECT COUNT(*) FROM leads").await as usize,
            posts.len()
        );
        fleet.stop().await;
        s.settle_and_check().await;
    });
}

#[test]
fn the_documented_nginx_config_serves_three_nodes() {
    run(
        "three nodes behind nginx (config/nginx-cluster.conf)",
        async {
            use futures_util::SinkExt;
            use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
            let s = Setup::start("nginx", 1, 1, 30, None).await;
            let port = harness::free_port();
            let prefix = s.logs.join("nginx");
            std::fs::create_dir_all(&prefix).unwrap();
            let conf = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config/nginx-cluster.conf"
            ))
            .unwrap()
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
            .replace("127.0.0.1:8081", &format!("127.0.0.1:{}", s.nodes[0].port))
            .replace("127.0.0.1:8082", &format!("127.0.0.1:{}", s.nodes[1].port))
            .replace("127.0.0.1:8083", &format!("127.0.0.1:{}", s.nodes[2].port));
            let conf_path = prefix.join("nginx.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let mut nginx = std::process::Command::new("nginx")
                .arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(&conf_path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("nginx must be installed (scripts/test installs nginx-light)");
            let base = format!("http://127.0.0.1:{port}");
            let http = reqwest::Client::new();
            wait_for("nginx", 10, || async {
                http.get(format!("{base}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
            .await;
            let mut req = format!("ws://127.0.0.1:{port}/ws")
                .into_client_request()
                .unwrap();
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {}", s.agencies[0].tokens[0])
                    .parse()
                    .unwrap(),
            );
            let (mut ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .expect("WebSocket through nginx");
            ws.send(Message::text(r#"{"type":"set_online","online":true}"#))
                .await
                .unwrap();
            next(&mut ws, "presence").await;
            let post = post_lead(
                &http,
                std::slice::from_ref(&base),
                0,
                &s.agencies[0].api_key,
                "via-nginx",
                &lead_body(7),
            )
            .await;
            assert_eq!(post.status, 202);
            let offer = next(&mut ws, "offer").await;
            assert_eq!(offer["lead"]["id"].as_i64(), post.lead);
            let id = offer["offer_id"].as_i64().unwrap();
            ws.send(Message::text(format!(
                r#"{{"type":"accept","offer_id":{id}}}"#
            )))
            .await
            .unwrap();
            let assigned = next(&mut ws, "assigned").await;
            assert_eq!(assigned["lead_id"].as_i64(), post.lead);
            println!("   a lead posted through nginx was offered and accepted through nginx");
            // SIGTERM: the master takes its workers down with it (SIGKILL would orphan them).
            let _ = std::process::Command::new("kill")
                .arg(nginx.id().to_string())
                .status();
            let _ = nginx.wait();
            s.settle_and_check().await;
        },
    );
}

/// The next message of the given type on a broker's socket (bounded wait).
async fn next<S>(ws: &mut S, want: &str) -> serde_json::Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {want} within 15 s"))
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == want {
                return v;
            }
        }
    }
}
