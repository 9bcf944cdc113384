//! What a fault test runs on: its own `redis-server` (so it may kill and restart it), its own
//! PostgreSQL database, three real `roleta` processes, a TCP proxy it can cut, and the signals.

use roleta::store::Store;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub const HEARTBEAT_MS: u64 = 500;
pub const LEASE_MS: u64 = 2000;
pub const SWEEP_MS: u64 = 1000;

/// Full size with `ROLETA_CLUSTER_FULL=1` (docs/CLUSTER.md); a shorter run otherwise (CI).
pub fn full() -> bool {
    std::env::var("ROLETA_CLUSTER_FULL").is_ok_and(|v| v == "1")
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid}");
}

/// A redis-server of the test's own on a free port: it can be flushed, killed and restarted
/// without touching the machine's Redis.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub async fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.spawn().await;
        r
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cmd(&["PING"]).await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// One command; `None` if Redis is not answering.
    pub async fn cmd(&self, args: &[&str]) -> Option<deadpool_redis::redis::Value> {
        let client = deadpool_redis::redis::Client::open(self.url()).ok()?;
        let mut c = tokio::time::timeout(
            Duration::from_secs(1),
            client.get_multiplexed_async_connection(),
        )
        .await
        .ok()?
        .ok()?;
        let mut cmd = deadpool_redis::redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut c).await.ok()
    }

    /// Members of every presence set with an expiry still ahead.
    pub async fn presence_count(&self, prefix: &str) -> usize {
        use deadpool_redis::redis::Value;
        let Some(Value::Array(keys)) = self.cmd(&["KEYS", &format!("{prefix}:presence:*")]).await
        else {
            return 0;
        };
        let now = now_ms().to_string();
        let mut n = 0;
        for k in keys {
            if let Value::BulkString(k) = k {
                let k = String::from_utf8_lossy(&k).to_string();
                if let Some(Value::Int(c)) = self.cmd(&["ZCOUNT", &k, &now, "+inf"]).await {
                    n += c as usize;
                }
            }
        }
        n
    }

    pub async fn kill_and_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.spawn().await;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A fresh PostgreSQL database, migrated, with its store.
pub async fn database() -> (String, Store) {
    let url = crate::pg::create_database("roleta_c_").await;
    let store = Store::connect(&url, 8).await.expect("migrate");
    (url, store)
}

/// One `roleta` process.
pub struct Node {
    pub name: String,
    pub port: u16,
    db_url: String,
    redis_url: String,
    prefix: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    pub async fn start(
        name: &str,
        db_url: &str,
        redis_url: &str,
        prefix: &str,
        logs: &std::path::Path,
    ) -> Self {
        let mut n = Self {
            name: name.to_string(),
            port: free_port(),
            db_url: db_url.to_string(),
            redis_url: redis_url.to_string(),
            prefix: prefix.to_string(),
            log: logs.join(format!("{name}.log")),
            child: None,
        };
        n.spawn().await;
        n
    }

    pub async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_roleta"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--no-demo",
            ])
            .args([
                "--database-url",
                &self.db_url,
                "--redis-url",
                &self.redis_url,
            ])
            .env("ROLETA__REDIS__NODE_ID", &self.name)
            // Behind nginx every client has its address: the cap is set at the proxy instead.
            .env("ROLETA__SERVER__MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("ROLETA__SERVER__TRUSTED_PROXIES", "127.0.0.1")
            .env("ROLETA__REDIS__PREFIX", &self.prefix)
            .env("ROLETA__REDIS__HEARTBEAT_MS", HEARTBEAT_MS.to_string())
            .env("ROLETA__REDIS__LEASE_MS", LEASE_MS.to_string())
            .env("ROLETA__REDIS__SWEEP_MS", SWEEP_MS.to_string())
            .env("ROLETA__DATABASE__MAX_CONNECTIONS", "10")
            .env("ROLETA__PUSH__ENABLED", "false")
            .env("ROLETA__SERVER__SHUTDOWN_GRACE_SECONDS", "10")
            .env("ROLETA__LOG__FILTER", "warn,roleta=info")
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start roleta");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/healthz", self.base())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "node {} did not come up; see {}",
            self.name,
            self.log.display()
        );
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    pub fn kill9(&mut self) {
        signal(self.pid(), "KILL");
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    pub fn stop(&self) {
        signal(self.pid(), "STOP");
    }

    pub fn cont(&self) {
        signal(self.pid(), "CONT");
    }

    /// SIGTERM and wait for the exit; returns how long it took and whether it exited cleanly.
    pub async fn terminate(&mut self) -> (Duration, bool) {
        let t = Instant::now();
        signal(self.pid(), "TERM");
        let mut child = self.child.take().expect("running");
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait");
        (t.elapsed(), status.success())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A TCP proxy of the test's own between the nodes and PostgreSQL: `cut` drops every
/// connection and refuses new ones until `restore`.
pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
    cancel: CancellationToken,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let (gen_tx, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(gen_tx);
        let cancel = CancellationToken::new();
        let (up2, gen2, cancel2, target) = (
            up.clone(),
            generation.clone(),
            cancel.clone(),
            target.to_string(),
        );
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel2.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = gen2.subscribe();
                let target = target.clone();
                let cancel3 = cancel2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
                        _ = cut.changed() => {},
                        _ = cancel3.cancelled() => {},
                    }
                });
            }
        });
        Self {
            port,
            up,
            generation,
            cancel,
        }
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
