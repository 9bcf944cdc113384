//! Who is connected and who is available. A broker may hold several connections (tabs,
//! devices); they are *online* for the roulette only when their own toggle is on and at least
//! one connection is open (R7). Delivery to a broker fans out to every connection through a
//! bounded queue each; a connection whose queue is full is a slow consumer and is closed,
//! never buffered without limit. The queues carry domain events; each connection encodes
//! what it takes off its queue (`ws/protocol.rs`), so no JSON is made below the edge.
//!
//! - `roster.rs`: the dispatcher's `Roster` port on one node (this hub and web push), and the
//!   `Presence` the HTTP and WebSocket edges use, one node or a cluster.
//! - `close.rs`: the close codes a connection ends with (docs/PROTOCOL.md).

pub mod close;
mod roster;

pub use roster::{push_job, LocalRoster, Presence};

use crate::dispatch::Event;
use crate::model::{AgencyId, BrokerId};
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tungstenite::Utf8Bytes;

struct Conn {
    id: u64,
    /// The hash of the session or personal token the connection was opened with.
    session: String,
    tx: mpsc::Sender<Outbound>,
    /// Fired when the server closes the connection (slow consumer, signed out, …).
    kick: Closer,
    /// Whether the page is in front (the page says so); background-only brokers get web push.
    visible: bool,
}

struct Entry {
    agency: AgencyId,
    toggle: bool,
    conns: Vec<Conn>,
}

struct Inner {
    brokers: DashMap<BrokerId, Entry>,
    next_id: AtomicU64,
}

/// What a connection's queue holds.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// An event for the broker; the connection encodes it when it sends it.
    Event(Arc<Event>),
    /// A frame an older node encoded (the bus's pre-event `deliver` shape), sent as it came.
    Encoded(Utf8Bytes),
}

/// One registered connection's receiving end.
pub struct Registration {
    pub conn_id: u64,
    pub rx: mpsc::Receiver<Outbound>,
    pub kick: Closer,
}

/// Tells one connection's task to close, and with which code (docs/PROTOCOL.md). The first
/// reason given wins.
#[derive(Clone, Default)]
pub struct Closer {
    token: CancellationToken,
    why: Arc<OnceLock<(u16, &'static str)>>,
}

impl Closer {
    pub fn close(&self, code: u16, reason: &'static str) {
        // Already set: the first reason given wins.
        self.why.set((code, reason)).ok();
        self.token.cancel();
    }

    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Waits until the connection is told to close; the code and reason to close with.
    pub async fn closed(&self) -> (u16, &'static str) {
        self.token.cancelled().await;
        self.why
            .get()
            .copied()
            .unwrap_or((close::SLOW, "slow consumer"))
    }
}

/// Which connections to close ([`Hub::close`]; the cluster sends it to every node).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum Sockets {
    /// Every connection of the agency's users.
    Agency { agency: AgencyId },
    /// Every connection of one user, except those opened with the session whose token hash
    /// is `except_session` (the one that asked for it, after a password change).
    User {
        agency: AgencyId,
        user: i64,
        except_session: Option<String>,
    },
}

/// Cheap to clone: a handle on the shared registry.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                brokers: DashMap::new(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// A new connection of the broker, opened with the session whose token hash is `session`.
    pub fn register(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        session: &str,
        toggle: bool,
        capacity: usize,
    ) -> Registration {
        let conn_id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let kick = Closer::default();
        let mut e = self.inner.brokers.entry(broker).or_insert_with(|| Entry {
            agency,
            toggle,
            conns: Vec::new(),
        });
        e.toggle = toggle;
        e.conns.push(Conn {
            id: conn_id,
            session: session.to_string(),
            tx,
            kick: kick.clone(),
            visible: true,
        });
        Registration { conn_id, rx, kick }
    }

    pub fn unregister(&self, broker: BrokerId, conn_id: u64) {
        self.inner.brokers.remove_if_mut(&broker, |_, e| {
            e.conns.retain(|c| c.id != conn_id);
            e.conns.is_empty()
        });
    }

    /// Tells the chosen connections on this node to close with `code`; how many were told.
    /// Each unregisters as it ends, which takes its broker out of the rotation.
    pub fn close(&self, which: &Sockets, code: u16, reason: &'static str) -> usize {
        let mut told = 0;
        match which {
            Sockets::Agency { agency } => {
                for e in self.inner.brokers.iter().filter(|e| e.agency == *agency) {
                    for c in &e.conns {
                        c.kick.close(code, reason);
                        told += 1;
                    }
                }
            }
            Sockets::User {
                agency,
                user,
                except_session,
            } => {
                if let Some(e) = self
                    .inner
                    .brokers
                    .get(&BrokerId(*user))
                    .filter(|e| e.agency == *agency)
                {
                    for c in &e.conns {
                        if except_session.as_deref() != Some(c.session.as_str()) {
                            c.kick.close(code, reason);
                            told += 1;
                        }
                    }
                }
            }
        }
        told
    }

    /// Every (agency, broker, session hash) with a connection here, each once: what the
    /// session check ([`crate::ws`]) confirms against the store at every ping interval.
    pub fn sessions(&self) -> Vec<(AgencyId, BrokerId, String)> {
        let mut out = Vec::new();
        for e in self.inner.brokers.iter() {
            let mut seen: Vec<&str> = Vec::new();
            for c in &e.conns {
                if !seen.contains(&c.session.as_str()) {
                    seen.push(&c.session);
                    out.push((e.agency, *e.key(), c.session.clone()));
                }
            }
        }
        out
    }

    /// Tells the broker's connections opened with this session to close; how many were told.
    pub fn close_session(
        &self,
        broker: BrokerId,
        session: &str,
        code: u16,
        reason: &'static str,
    ) -> usize {
        let mut told = 0;
        if let Some(e) = self.inner.brokers.get(&broker) {
            for c in e.conns.iter().filter(|c| c.session == session) {
                c.kick.close(code, reason);
                told += 1;
            }
        }
        told
    }

    pub fn set_toggle(&self, broker: BrokerId, on: bool) {
        if let Some(mut e) = self.inner.brokers.get_mut(&broker) {
            e.toggle = on;
        }
    }

    pub fn set_visible(&self, broker: BrokerId, conn_id: u64, visible: bool) {
        if let Some(mut e) = self.inner.brokers.get_mut(&broker) {
            if let Some(c) = e.conns.iter_mut().find(|c| c.id == conn_id) {
                c.visible = visible;
            }
        }
    }

    /// Whether any of the broker's pages is in front.
    pub fn any_visible(&self, broker: BrokerId) -> bool {
        self.inner
            .brokers
            .get(&broker)
            .is_some_and(|e| e.conns.iter().any(|c| c.visible))
    }

    /// Toggle on and at least one connection open.
    pub fn is_online(&self, broker: BrokerId) -> bool {
        self.inner
            .brokers
            .get(&broker)
            .is_some_and(|e| e.toggle && !e.conns.is_empty())
    }

    /// Whether the broker's toggle is on (false when not connected at all).
    pub fn toggle(&self, broker: BrokerId) -> Option<bool> {
        self.inner.brokers.get(&broker).map(|e| e.toggle)
    }

    pub fn online_brokers(&self, agency: AgencyId) -> Vec<BrokerId> {
        let mut v: Vec<BrokerId> = self
            .inner
            .brokers
            .iter()
            .filter(|e| e.agency == agency && e.toggle && !e.conns.is_empty())
            .map(|e| *e.key())
            .collect();
        v.sort_unstable();
        v
    }

    /// Every broker connected here with the toggle on, with their agency (cluster heartbeat).
    pub fn online_here(&self) -> Vec<(AgencyId, BrokerId)> {
        self.inner
            .brokers
            .iter()
            .filter(|e| e.toggle && !e.conns.is_empty())
            .map(|e| (e.agency, *e.key()))
            .collect()
    }

    /// Every broker with a connection here, toggle on or off (cluster drain).
    pub fn connected_here(&self) -> Vec<(AgencyId, BrokerId)> {
        self.inner
            .brokers
            .iter()
            .map(|e| (e.agency, *e.key()))
            .collect()
    }

    /// Whether the broker has a connection on this node.
    pub fn is_connected(&self, broker: BrokerId) -> bool {
        self.inner.brokers.contains_key(&broker)
    }

    pub fn online_count(&self) -> usize {
        self.inner
            .brokers
            .iter()
            .filter(|e| e.toggle && !e.conns.is_empty())
            .count()
    }

    pub fn connection_count(&self) -> usize {
        self.inner.brokers.iter().map(|e| e.conns.len()).sum()
    }

    /// Queues a domain event on every connection of the broker; returns how many got it.
    pub fn deliver(&self, broker: BrokerId, event: Event) -> usize {
        if !self.inner.brokers.contains_key(&broker) {
            return 0;
        }
        self.fan_out(broker, Outbound::Event(Arc::new(event)))
    }

    /// Queues one item on every connection of the broker; returns how many got it.
    pub fn fan_out(&self, broker: BrokerId, out: Outbound) -> usize {
        let Some(e) = self.inner.brokers.get(&broker) else {
            return 0;
        };
        let mut sent = 0;
        for c in &e.conns {
            match c.tx.try_send(out.clone()) {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    c.kick.close(close::SLOW, "slow consumer")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OfferId, OfferState};

    const A: AgencyId = AgencyId(1);
    const B: BrokerId = BrokerId(7);

    fn event() -> Event {
        Event::OfferEnded {
            offer: OfferId(1),
            outcome: OfferState::Expired,
            reason: "x".into(),
        }
    }

    #[test]
    fn a_connection_that_does_not_read_is_kicked_when_its_queue_is_full() {
        let hub = Hub::new();
        let slow = hub.register(A, B, "s", true, 2);
        let mut fast = hub.register(A, B, "s", true, 8);
        for _ in 0..2 {
            assert_eq!(hub.deliver(B, event()), 2);
        }
        assert!(!slow.kick.is_closed());
        while fast.rx.try_recv().is_ok() {}
        assert_eq!(
            hub.deliver(B, event()),
            1,
            "only the connection with room gets it"
        );
        assert!(slow.kick.is_closed(), "the full one is told to close");
        assert!(!fast.kick.is_closed());
    }

    #[test]
    fn online_needs_the_toggle_and_a_connection() {
        let hub = Hub::new();
        let r = hub.register(A, B, "s", false, 4);
        assert!(!hub.is_online(B));
        hub.set_toggle(B, true);
        assert!(hub.is_online(B));
        assert_eq!(hub.online_brokers(A), vec![B]);
        assert!(
            hub.online_brokers(AgencyId(2)).is_empty(),
            "another agency sees nobody"
        );
        hub.unregister(B, r.conn_id);
        assert!(!hub.is_online(B));
        assert_eq!(hub.toggle(B), None);
    }
}
