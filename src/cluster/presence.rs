//! Presence across nodes. Each node writes its brokers into `{prefix}:presence:{agency}`, a
//! sorted set whose members are `broker@node` and whose scores are expiry times; the heartbeat
//! refreshes them, so the brokers of a node that died age out after three heartbeats, and a
//! flushed or restarted Redis is whole again after one. The local `Hub` stays the fast path
//! for everything on this node.

use super::bus::pause;
use super::wire::BusMsg;
use super::Cluster;
use crate::dispatch::{Command, Event};
use crate::model::{AgencyId, BrokerId};
use deadpool_redis::redis;
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

/// Presence entries live this many heartbeats unless refreshed.
const EXPIRY_HEARTBEATS: i64 = 3;

/// Members written per ZADD at most.
const ZADD_CHUNK: usize = 1000;

impl Cluster {
    fn presence_key(&self, agency: AgencyId) -> String {
        self.key(&format!("presence:{agency}"))
    }

    fn member(&self, broker: BrokerId) -> String {
        format!("{broker}@{}", self.inner.node)
    }

    fn expiry_ms(&self) -> i64 {
        self.inner.clock.now_ms() + EXPIRY_HEARTBEATS * self.inner.settings.heartbeat_ms as i64
    }

    /// After a connect, disconnect or toggle here: this node's entry for the broker, now, so
    /// the owner reads the truth when it hears of the change.
    pub(super) async fn sync_presence(&self, agency: AgencyId, broker: BrokerId) {
        let key = self.presence_key(agency);
        let member = self.member(broker);
        let cmd = if self.inner.hub.is_online(broker) && !self.is_draining() {
            let mut c = redis::cmd("ZADD");
            c.arg(&key).arg(self.expiry_ms()).arg(&member);
            c
        } else {
            let mut c = redis::cmd("ZREM");
            c.arg(&key).arg(&member);
            c
        };
        if let Err(e) = self.query::<()>(&cmd).await {
            tracing::warn!(%broker, error = %e, "writing presence to Redis failed; the heartbeat will retry");
        }
    }

    pub(super) fn live_nodes(&self) -> Vec<String> {
        let mut v = self
            .inner
            .nodes
            .read()
            .map(|n| n.clone())
            .unwrap_or_default();
        if !v.iter().any(|n| n == &self.inner.node) {
            v.push(self.inner.node.clone());
        }
        v
    }

    /// Whether the broker is online on any live node; remembers where, for delivery.
    pub(super) async fn broker_online(&self, agency: AgencyId, broker: BrokerId) -> bool {
        let nodes = self.live_nodes();
        let key = self.presence_key(agency);
        let mut cmd = redis::cmd("ZMSCORE");
        cmd.arg(&key);
        for n in &nodes {
            cmd.arg(format!("{broker}@{n}"));
        }
        let scores: Result<Vec<Option<f64>>, String> = self.query(&cmd).await;
        let now = self.inner.clock.now_ms() as f64;
        match scores {
            Ok(scores) => {
                let at: Vec<String> = nodes
                    .into_iter()
                    .zip(scores)
                    .filter(|(_, s)| s.is_some_and(|s| s > now))
                    .map(|(n, _)| n)
                    .collect();
                let online = !at.is_empty();
                if online {
                    self.inner.routes.insert(broker, at);
                } else {
                    self.inner.routes.remove(&broker);
                }
                online
            }
            Err(e) => {
                tracing::warn!(%broker, error = %e, "reading presence failed; using what this node knows");
                self.inner.hub.is_online(broker) || self.inner.routes.contains_key(&broker)
            }
        }
    }

    /// Everyone online in the agency on any node (sorted); remembers where each one is.
    pub(super) async fn read_online_brokers(&self, agency: AgencyId) -> Option<Vec<BrokerId>> {
        let key = self.presence_key(agency);
        let now = self.inner.clock.now_ms();
        let members: Result<Vec<String>, String> = self
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&key)
                    .arg(now + 1)
                    .arg("+inf"),
            )
            .await;
        let members = match members {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%agency, error = %e, "reading presence failed");
                return None;
            }
        };
        let mut at: BTreeMap<BrokerId, Vec<String>> = BTreeMap::new();
        for m in members {
            if let Some((b, n)) = m.split_once('@') {
                if let Ok(b) = b.parse::<BrokerId>() {
                    at.entry(b).or_default().push(n.to_string());
                }
            }
        }
        let brokers: Vec<BrokerId> = at.keys().copied().collect();
        for (b, nodes) in at {
            self.inner.routes.insert(b, nodes);
        }
        Some(brokers)
    }

    /// The toggle on this node's connections of the broker, its presence entry, and their pages.
    pub(super) async fn apply_toggle(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        on: bool,
        reason: String,
    ) {
        self.inner.hub.set_toggle(broker, on);
        self.sync_presence(agency, broker).await;
        self.inner.hub.deliver(
            broker,
            Event::Presence {
                online: on,
                reason,
                missed: None,
            },
        );
    }

    /// A toggle changed here: this node's entry now, every other node's pages by broadcast.
    pub(super) async fn change_toggle(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        on: bool,
        reason: String,
    ) {
        self.inner.hub.set_toggle(broker, on);
        self.sync_presence(agency, broker).await;
        self.broadcast(&BusMsg::Toggle {
            agency,
            broker,
            on,
            reason,
            from: self.inner.node.clone(),
        });
    }

    /// One heartbeat: this node alive, its brokers' entries refreshed, the live nodes read.
    async fn beat(&self) -> Result<(), String> {
        let now = self.inner.clock.now_ms();
        let expiry = self.expiry_ms();
        let nodes_key = self.key("nodes");
        let mut pipe = redis::pipe();
        if !self.is_draining() {
            pipe.cmd("ZADD")
                .arg(&nodes_key)
                .arg(expiry)
                .arg(&self.inner.node)
                .ignore();
        }
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&nodes_key)
            .arg("-inf")
            .arg(now)
            .ignore();
        pipe.cmd("ZRANGEBYSCORE")
            .arg(&nodes_key)
            .arg(now + 1)
            .arg("+inf");
        let mut by_agency: BTreeMap<AgencyId, Vec<BrokerId>> = BTreeMap::new();
        if !self.is_draining() {
            for (agency, broker) in self.inner.hub.online_here() {
                by_agency.entry(agency).or_default().push(broker);
            }
        }
        for (agency, brokers) in &by_agency {
            for chunk in brokers.chunks(ZADD_CHUNK) {
                let mut cmd = redis::cmd("ZADD");
                cmd.arg(self.presence_key(*agency));
                for b in chunk {
                    cmd.arg(expiry).arg(self.member(*b));
                }
                pipe.add_command(cmd).ignore();
            }
        }
        let (nodes,): (Vec<String>,) = self.query_pipe(&pipe).await?;
        if let Ok(mut n) = self.inner.nodes.write() {
            *n = nodes;
        }
        Ok(())
    }

    /// The owner's look at each agency it dispatches: brokers whose entries expired (a dead
    /// node's) go offline, brokers that appeared come online.
    async fn scan_owned(&self) {
        let owned: Vec<AgencyId> = self.inner.owned.iter().map(|a| *a).collect();
        for agency in owned {
            let Some(online) = self.read_online_brokers(agency).await else {
                continue;
            };
            let scan = Command::Scan { agency, online };
            if let Err(e) = self.inner.local.send(agency, scan).await {
                tracing::debug!(%agency, error = %e, "the actors stopped before the presence scan");
            }
        }
        // Expired entries are dead weight; drop them now and then.
        let mut pipe = redis::pipe();
        let now = self.inner.clock.now_ms();
        for a in self.inner.owned.iter() {
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(self.presence_key(*a))
                .arg("-inf")
                .arg(now)
                .ignore();
        }
        if let Err(e) = self.query_pipe::<()>(&pipe).await {
            tracing::debug!(error = %e, "presence cleanup failed");
        }
    }

    /// Drain: this node's entries go at once, and each owner hears that its brokers here left.
    pub(super) async fn withdraw_presence(&self) {
        let here = self.inner.hub.connected_here();
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM")
            .arg(self.key("nodes"))
            .arg(&self.inner.node)
            .ignore();
        for (agency, broker) in &here {
            pipe.cmd("ZREM")
                .arg(self.presence_key(*agency))
                .arg(self.member(*broker))
                .ignore();
        }
        if let Err(e) = self.query_pipe::<()>(&pipe).await {
            tracing::warn!(error = %e, "withdrawing presence failed; it expires by itself");
        }
        // One owner lookup per agency, not per broker.
        let mut by_agency: BTreeMap<AgencyId, Vec<BrokerId>> = BTreeMap::new();
        for (agency, broker) in here {
            by_agency.entry(agency).or_default().push(broker);
        }
        for (agency, brokers) in by_agency {
            if let super::Owner::Node(node) = self.owner(agency).await {
                for broker in brokers {
                    self.forward(&node, agency, Command::BrokerChanged { agency, broker });
                }
            }
        }
    }
}

pub(super) async fn heartbeat(cluster: Cluster, cancel: CancellationToken) {
    let every = cluster.inner.settings.heartbeat_ms.max(50);
    while !cancel.is_cancelled() {
        match cluster.beat().await {
            Ok(()) => cluster.scan_owned().await,
            Err(e) => tracing::warn!(error = %e, "heartbeat to Redis failed"),
        }
        cluster.forget_abandoned();
        pause(&cancel, every).await;
    }
}
