//! Cluster mode: several identical nodes share PostgreSQL (the authority on every lead, offer
//! and attendance) and Redis (presence across nodes, the bus between them, dispatch leases).
//! Redis only saves work — who dispatches an agency, where a broker's sockets are; whether a
//! write may change who holds a lead is decided by PostgreSQL's fencing epoch (store/shards.rs).
//!
//! - `presence.rs`: each node's brokers in a Redis sorted set per agency, with expiry scores
//!   refreshed by the heartbeat; the owner reads it to know who is online anywhere.
//! - `bus.rs`: Redis pub/sub, one channel per node plus one broadcast channel. Commands go to
//!   the node that dispatches the agency; events go to the nodes that hold the broker's sockets.
//! - `leases.rs`: one lease per agency (`SET NX PX`, renewed by compare-and-expire), claimed in
//!   PostgreSQL with a new epoch before the roulette is loaded; the drain on SIGTERM.
//! - `roster.rs`: the dispatcher's `Roster` and `Route` ports and the edges' `Presence`, in
//!   cluster mode.
//!
//! The safety sweep (`dispatch::Sweeper`) runs on every node, with this node as its route.

mod bus;
mod leases;
mod presence;
mod roster;
mod wire;

use crate::dispatch::{AgencyStats, AnswerError, Command, Hop, Local};
use crate::model::{AgencyId, BrokerId};
use crate::presence::Hub;
use crate::push::Push;
use crate::settings::RedisSettings;
use crate::store::Store;
use crate::supervise::Supervisor;
use crate::Clock;
use anyhow::Context;
use dashmap::{DashMap, DashSet};
use deadpool_redis::redis;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// A reply another node owes this one.
enum Waiting {
    Answer(oneshot::Sender<Result<(), AnswerError>>),
    Stats(oneshot::Sender<AgencyStats>),
}

impl Waiting {
    fn is_closed(&self) -> bool {
        match self {
            Waiting::Answer(t) => t.is_closed(),
            Waiting::Stats(t) => t.is_closed(),
        }
    }
}

struct Inner {
    node: String,
    prefix: String,
    settings: RedisSettings,
    pool: deadpool_redis::Pool,
    client: redis::Client,
    hub: Hub,
    store: Store,
    clock: Clock,
    push: Push,
    local: Local,
    /// Agencies whose lease this node holds.
    owned: DashSet<AgencyId>,
    /// Live nodes, as read at the last heartbeat.
    nodes: RwLock<Vec<String>>,
    /// Broker → nodes holding their sockets, as the owner last read them.
    routes: DashMap<BrokerId, Vec<String>>,
    out: mpsc::Sender<(String, String)>,
    out_rx: std::sync::Mutex<Option<mpsc::Receiver<(String, String)>>>,
    pending: DashMap<u64, Waiting>,
    next_req: AtomicU64,
    draining: AtomicBool,
    /// The publisher has stopped (shutdown): later messages are dropped quietly.
    closed: AtomicBool,
    /// Wakes the lease loop early (a lease was released, a lead has no dispatcher).
    lease_check: Notify,
}

/// Cheap handle on the node's cluster side.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

/// Who dispatches an agency right now.
enum Owner {
    Me,
    Node(String),
    Nobody,
}

impl Cluster {
    /// Connects to Redis (checked with a PING so a wrong URL fails at start-up).
    pub async fn connect(
        settings: &RedisSettings,
        store: Store,
        hub: Hub,
        clock: Clock,
        push: Push,
        local: Local,
    ) -> anyhow::Result<Self> {
        if store.backend() != crate::store::Backend::Postgres {
            anyhow::bail!(
                "cluster mode (redis.url is set) needs PostgreSQL shared by every node: \
                 set database.url to postgres://…, or leave redis.url empty for a single node"
            );
        }
        let url = settings.url.expose().to_string();
        let client = redis::Client::open(url.as_str()).context("parsing redis.url")?;
        let mut cfg = deadpool_redis::Config::from_url(url);
        let t = Some(Duration::from_millis(1000));
        cfg.pool = Some(deadpool_redis::PoolConfig {
            max_size: 32,
            timeouts: deadpool_redis::Timeouts {
                wait: t,
                create: t,
                recycle: t,
            },
            ..Default::default()
        });
        let pool = cfg
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .context("creating the Redis pool")?;
        {
            let mut c = pool.get().await.context("connecting to Redis")?;
            let _: String = redis::cmd("PING")
                .query_async(&mut c)
                .await
                .context("pinging Redis")?;
        }
        let node = if settings.node_id.trim().is_empty() {
            format!("node-{}-{:04x}", std::process::id(), rand::random::<u16>())
        } else {
            settings.node_id.trim().to_string()
        };
        let (out, out_rx) = mpsc::channel(settings.publish_queue.max(16));
        Ok(Self {
            inner: Arc::new(Inner {
                node,
                prefix: settings.prefix.clone(),
                settings: settings.clone(),
                pool,
                client,
                hub,
                store,
                clock,
                push,
                local,
                owned: DashSet::new(),
                nodes: RwLock::new(Vec::new()),
                routes: DashMap::new(),
                out,
                out_rx: std::sync::Mutex::new(Some(out_rx)),
                pending: DashMap::new(),
                next_req: AtomicU64::new(1),
                draining: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                lease_check: Notify::new(),
            }),
        })
    }

    /// Starts the node's background tasks under the supervisor; they stop when the node's
    /// shutdown fires.
    pub fn start(&self, sup: &Supervisor) {
        let rx = self.inner.out_rx.lock().ok().and_then(|mut g| g.take());
        if let Some(rx) = rx {
            sup.spawn("bus-publisher", (self.clone(), rx), |(c, rx), cancel| {
                Box::pin(bus::publisher(c.clone(), rx, cancel))
            });
        }
        sup.spawn("bus-listener", self.clone(), |c, cancel| {
            Box::pin(bus::listener(c.clone(), cancel))
        });
        sup.spawn("heartbeat", self.clone(), |c, cancel| {
            Box::pin(presence::heartbeat(c.clone(), cancel))
        });
        sup.spawn("lease-loop", self.clone(), |c, cancel| {
            Box::pin(leases::lease_loop(c.clone(), cancel))
        });
        tracing::info!(node = %self.inner.node, "cluster mode: Redis presence, bus and leases");
    }

    /// How late an offer or a waiting lead must be before the safety sweep steps in: past any
    /// live owner's own timers, and past a takeover after an owner's death.
    pub fn sweep_grace_ms(&self) -> i64 {
        let s = &self.inner.settings;
        (s.lease_ms + 2 * s.sweep_ms) as i64
    }

    /// How often the safety sweep runs on this node.
    pub fn sweep_every_ms(&self) -> u64 {
        self.inner.settings.sweep_ms
    }

    /// Whether this node holds the agency's lease (and so may load its roulette).
    fn holds(&self, agency: AgencyId) -> bool {
        self.inner.owned.contains(&agency)
    }

    async fn redis(&self) -> Result<deadpool_redis::Connection, String> {
        self.inner.pool.get().await.map_err(|e| e.to_string())
    }

    /// One command on a pooled connection; the error as text (callers only log it).
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let mut c = self.redis().await?;
        cmd.query_async(&mut c).await.map_err(|e| e.to_string())
    }

    /// A pipeline on a pooled connection; the error as text.
    async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, String> {
        let mut c = self.redis().await?;
        pipe.query_async(&mut c).await.map_err(|e| e.to_string())
    }

    fn key(&self, what: &str) -> String {
        format!("{}:{what}", self.inner.prefix)
    }

    fn node_channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.inner.prefix)
    }

    fn broadcast_channel(&self) -> String {
        format!("{}:cluster", self.inner.prefix)
    }

    async fn owner(&self, agency: AgencyId) -> Owner {
        if self.holds(agency) {
            return Owner::Me;
        }
        let key = leases::lease_key(self, agency);
        let got: Result<Option<String>, String> = self.query(redis::cmd("GET").arg(&key)).await;
        match got {
            Ok(Some(n)) if n == self.inner.node => Owner::Me,
            Ok(Some(n)) => Owner::Node(n),
            Ok(None) => Owner::Nobody,
            Err(e) => {
                tracing::warn!(%agency, error = %e, "reading the lease failed");
                Owner::Nobody
            }
        }
    }

    /// Takes a dispatcher command to the node that dispatches its agency: this one's actors,
    /// another node over the bus, or — when nobody holds the lease yet — the lease loop is
    /// woken to take it (the sweeper catches anything that falls between).
    async fn route(&self, agency: AgencyId, cmd: Command) -> Result<Hop, AnswerError> {
        match self.owner(agency).await {
            Owner::Me => self
                .inner
                .local
                .send(agency, cmd)
                .await
                .map(|()| Hop::Local),
            Owner::Node(node) => {
                self.forward(&node, agency, cmd);
                Ok(Hop::Remote)
            }
            Owner::Nobody => {
                self.inner.lease_check.notify_one();
                cmd.answer_moving();
                Ok(Hop::Local)
            }
        }
    }

    fn next_req(&self) -> u64 {
        self.inner.next_req.fetch_add(1, Ordering::Relaxed)
    }

    fn publish(&self, channel: String, payload: String) {
        if self.inner.closed.load(Ordering::Relaxed) {
            return;
        }
        if self.inner.out.try_send((channel, payload)).is_err() {
            crate::metrics::bus_dropped();
            tracing::warn!("the bus queue is full; a message to another node was dropped");
        }
    }
}
