//! The dispatcher: a fixed set of actor tasks, each owning the roulette of the agencies hashed
//! to it (every department of one agency lives on one actor, so "one offer per broker at a
//! time" is a local fact even for brokers in several departments). Callers hold a cheap
//! [`Dispatcher`] handle and talk to the actors over bounded channels.

mod actor;
pub mod engine;
pub mod ports;
mod sweeper;

pub use ports::{Hop, Roster, Route, Status, ThisNode};
pub use sweeper::Sweeper;

use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId, OfferId, OfferState};
use crate::store::{LeadSummary, OfferRecord, OfferRejection, Store, StoreError};
use crate::Clock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What the core tells the edges; `ws/protocol.rs` turns these into wire messages, the
/// cluster's bus carries them between nodes as they are (versioned, `cluster/wire.rs`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Offered {
        offer: OfferRecord,
        lead: Arc<LeadSummary>,
    },
    OfferEnded {
        offer: OfferId,
        outcome: OfferState,
        reason: String,
    },
    Assigned {
        lead: LeadId,
        offer: Option<OfferId>,
        attendance_id: i64,
        kind: AttendanceKind,
    },
    Presence {
        online: bool,
        reason: String,
        /// Switched off by the dispatcher after this many offers in a row expired unanswered
        /// (R8); absent for every other change. Older nodes' bus messages lack it.
        #[serde(default)]
        missed: Option<i64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Rejected(#[from] OfferRejection),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the dispatcher is shutting down")]
    Stopped,
    /// Cluster: the agency's roulette is changing nodes (or the owner did not answer in time).
    #[error("this agency's roulette is moving to another node; try again")]
    Moving,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Refuse,
}

/// A live view of one agency's roulette, for operators.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AgencyStats {
    pub waiting: usize,
    pub offers_in_flight: usize,
    /// Department id → arrival (epoch ms) of its oldest waiting lead.
    pub oldest_waiting_ms: std::collections::BTreeMap<i64, i64>,
}

/// What the actors are asked to do (`Route::send` carries it to the right node).
pub enum Command {
    LeadArrived {
        agency: AgencyId,
        lead: LeadId,
    },
    BrokerChanged {
        agency: AgencyId,
        broker: BrokerId,
    },
    SettingsChanged {
        agency: AgencyId,
    },
    Load {
        agency: AgencyId,
    },
    /// Drop what the actor holds for the agency and read it again from the store (leads moved
    /// between departments).
    Reload {
        agency: AgencyId,
    },
    Answer {
        agency: AgencyId,
        broker: BrokerId,
        offer: OfferId,
        answer: Answer,
        reason: Option<String>,
        reply: oneshot::Sender<Result<(), AnswerError>>,
    },
    Stats {
        agency: AgencyId,
        reply: oneshot::Sender<AgencyStats>,
    },
    /// Cluster: this node took the agency's lease; claim it (new epoch) and load it afresh.
    Own {
        agency: AgencyId,
    },
    /// Cluster drain: stop dispatching the agency and release it.
    Disown {
        agency: AgencyId,
        done: Option<oneshot::Sender<()>>,
    },
    /// Cluster: who is online in the agency on any node, as the heartbeat read it.
    Scan {
        agency: AgencyId,
        online: Vec<BrokerId>,
    },
}

impl Command {
    /// Tells the command's caller, if it waits for an answer, that it could not be carried out
    /// here because the agency's roulette is moving: `Moving`, or empty stats. A caller that
    /// stopped waiting needs no answer.
    pub fn answer_moving(self) {
        match self {
            Command::Answer { reply, .. } => {
                reply.send(Err(AnswerError::Moving)).ok();
            }
            Command::Stats { reply, .. } => {
                reply.send(AgencyStats::default()).ok();
            }
            _ => {}
        }
    }
}

/// The actors' command queues on this node.
#[derive(Clone)]
pub struct Local {
    senders: Arc<[mpsc::Sender<Command>]>,
}

impl Local {
    /// Queues the command on the actor of its agency (waits while that queue is full).
    pub async fn send(&self, agency: AgencyId, cmd: Command) -> Result<(), AnswerError> {
        let i = agency.0.rem_euclid(self.senders.len().max(1) as i64) as usize;
        let Some(tx) = self.senders.get(i) else {
            return Err(AnswerError::Stopped);
        };
        tx.send(cmd).await.map_err(|_| AnswerError::Stopped)
    }
}

/// The actors' queues, made before the actors so the cluster side can hold them too.
pub struct Queues {
    local: Local,
    receivers: Vec<mpsc::Receiver<Command>>,
}

impl Queues {
    pub fn new(settings: &crate::settings::DispatchSettings) -> Self {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..settings.actors.max(1))
            .map(|_| mpsc::channel(settings.queue_capacity.max(1)))
            .unzip();
        Self {
            local: Local {
                senders: senders.into(),
            },
            receivers,
        }
    }

    pub fn local(&self) -> Local {
        self.local.clone()
    }
}

/// One dispatcher actor, for the composition root to run under its supervisor: `run` until
/// the token fires; run again after a panic, it rebuilds its agencies from the store.
pub struct ActorTask(actor::Actor);

impl ActorTask {
    pub async fn run(&mut self, cancel: CancellationToken) {
        self.0.run(cancel).await
    }
}

/// How long a caller waits for another node's answer.
const REMOTE_REPLY_TIMEOUT: Duration = Duration::from_secs(3);

async fn reply<T>(hop: Hop, rx: oneshot::Receiver<T>) -> Result<T, AnswerError> {
    match hop {
        Hop::Local => rx.await.map_err(|_| AnswerError::Stopped),
        Hop::Remote => match tokio::time::timeout(REMOTE_REPLY_TIMEOUT, rx).await {
            Ok(r) => r.map_err(|_| AnswerError::Stopped),
            Err(_) => Err(AnswerError::Moving),
        },
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    route: Arc<dyn Route>,
    /// Fault injection for tests: this many next lead hand-overs are lost on the way.
    lose_handovers: Arc<AtomicU32>,
}

impl Dispatcher {
    /// The dispatcher handle and its actors (one per queue), which the caller runs. `roster`
    /// is how the actors reach brokers, `route` where each agency is dispatched.
    pub fn new(
        queues: Queues,
        store: Store,
        roster: Arc<dyn Roster>,
        route: Arc<dyn Route>,
        clock: Clock,
    ) -> (Self, Vec<ActorTask>) {
        let actors = queues
            .receivers
            .into_iter()
            .map(|rx| {
                ActorTask(actor::Actor::new(
                    store.clone(),
                    roster.clone(),
                    route.clone(),
                    clock,
                    rx,
                ))
            })
            .collect();
        let d = Self {
            route,
            lose_handovers: Arc::new(AtomicU32::new(0)),
        };
        (d, actors)
    }

    /// A committed lead needs a broker. If this is lost (shutdown, a full stop of the
    /// actors), the safety sweep ([`Sweeper`]) finds the lead and hands it over again.
    pub async fn lead_arrived(&self, agency: AgencyId, lead: LeadId) -> Result<(), AnswerError> {
        let lose = self
            .lose_handovers
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if lose {
            tracing::warn!(%agency, %lead, "fault injection: a lead hand-over was lost");
            return Ok(());
        }
        self.route
            .send(agency, Command::LeadArrived { agency, lead })
            .await
            .map(drop)
    }

    /// Fault injection for tests: the next `n` lead hand-overs are lost as if the actor had
    /// failed to read them. Nothing in the server calls it.
    #[doc(hidden)]
    pub fn lose_next_handovers(&self, n: u32) {
        self.lose_handovers.store(n, Ordering::Relaxed);
    }

    /// A broker connected, disconnected, toggled, or had their departments changed. In a
    /// cluster, this node's presence entry for them is written first.
    pub async fn broker_changed(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> Result<(), AnswerError> {
        self.route.before_broker_change(agency, broker).await;
        self.route
            .send(agency, Command::BrokerChanged { agency, broker })
            .await
            .map(drop)
    }

    pub async fn settings_changed(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.route
            .send(agency, Command::SettingsChanged { agency })
            .await
            .map(drop)
    }

    /// The store changed under the roulette (a department removed moved its waiting leads):
    /// the agency's dispatcher reads it again, pending offers and their deadlines included.
    pub async fn reload(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.route
            .send(agency, Command::Reload { agency })
            .await
            .map(drop)
    }

    /// Restart recovery on one node: re-read the agency's waiting leads and pending offers
    /// (in a cluster the lease loop loads what the node takes instead).
    pub async fn load(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.route
            .send(agency, Command::Load { agency })
            .await
            .map(drop)
    }

    pub async fn answer(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        offer: OfferId,
        answer: Answer,
        reason: Option<String>,
    ) -> Result<(), AnswerError> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Answer {
            agency,
            broker,
            offer,
            answer,
            reason,
            reply: tx,
        };
        let hop = self.route.send(agency, cmd).await?;
        reply(hop, rx).await?
    }

    pub async fn stats(&self, agency: AgencyId) -> Result<AgencyStats, AnswerError> {
        let (tx, rx) = oneshot::channel();
        let hop = self
            .route
            .send(agency, Command::Stats { agency, reply: tx })
            .await?;
        reply(hop, rx).await
    }

    pub(crate) fn route(&self) -> &Arc<dyn Route> {
        &self.route
    }
}
