//! The dispatcher: a fixed set of actor tasks, each owning the roulette of the agencies hashed
//! to it (every department of one agency lives on one actor, so "one offer per broker at a
//! time" is a local fact even for brokers in several departments). Callers hold a cheap
//! [`Dispatcher`] handle and talk to the actors over bounded channels.

mod actor;
pub mod engine;

use crate::cluster::{Cluster, ReplyBody};
use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId, OfferId, OfferState};
use crate::presence::Hub;
use crate::push::Push;
use crate::roster::Roster;
use crate::store::{LeadSummary, OfferRecord, OfferRejection, Store, StoreError};
use crate::supervise::Supervisor;
use crate::Clock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the core tells the edges; `ws` turns these into wire messages.
#[derive(Debug, Clone)]
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

/// Where an actor sends a result: back to a caller on this node, or over the bus to the node
/// that forwarded the command.
pub(crate) enum Responder<T> {
    Local(oneshot::Sender<T>),
    Remote {
        cluster: Cluster,
        node: String,
        req: u64,
    },
}

impl<T: Into<ReplyBody>> Responder<T> {
    pub(crate) fn send(self, v: T) {
        match self {
            Responder::Local(tx) => {
                let _ = tx.send(v);
            }
            Responder::Remote { cluster, node, req } => cluster.reply(&node, req, v.into()),
        }
    }
}

pub(crate) enum Command {
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
        reply: Responder<Result<(), AnswerError>>,
    },
    Stats {
        agency: AgencyId,
        reply: Responder<AgencyStats>,
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

/// The actors' command queues on this node.
#[derive(Clone)]
pub(crate) struct Local {
    senders: Arc<[mpsc::Sender<Command>]>,
}

impl Local {
    pub(crate) async fn send(&self, agency: AgencyId, cmd: Command) -> Result<(), AnswerError> {
        self.senders[agency.rem_euclid(self.senders.len() as i64) as usize]
            .send(cmd)
            .await
            .map_err(|_| AnswerError::Stopped)
    }
}

/// The actors' queues, made before the actors so the cluster side can hold them too.
pub(crate) struct Queues {
    local: Local,
    receivers: Vec<mpsc::Receiver<Command>>,
}

impl Queues {
    pub(crate) fn new(settings: &crate::settings::DispatchSettings) -> Self {
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

    pub(crate) fn local(&self) -> Local {
        self.local.clone()
    }
}

/// How long a caller waits for another node's answer.
const REMOTE_REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a command went: this node's actors answer for sure (or stop); another node's reply
/// crosses the bus and may never come, so only that wait is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hop {
    Local,
    Remote,
}

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
    local: Local,
    cluster: Option<Cluster>,
}

impl Dispatcher {
    /// A single node's dispatcher: `settings.actors` supervised actors, stopping when the
    /// node's shutdown fires.
    pub fn spawn(
        store: Store,
        hub: Hub,
        push: Push,
        clock: Clock,
        settings: &crate::settings::DispatchSettings,
        sup: &Supervisor,
    ) -> Self {
        let queues = Queues::new(settings);
        let roster = Roster::Local(hub);
        Self::start(queues, None, store, roster, push, clock, sup)
    }

    /// Starts one supervised actor per queue; they stop when the node's shutdown fires. An
    /// actor that panics is started again and rebuilds its agencies from the store.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        queues: Queues,
        cluster: Option<Cluster>,
        store: Store,
        roster: Roster,
        push: Push,
        clock: Clock,
        sup: &Supervisor,
    ) -> Self {
        for (i, rx) in queues.receivers.into_iter().enumerate() {
            let actor = actor::Actor::new(store.clone(), roster.clone(), push.clone(), clock, rx);
            sup.spawn(format!("dispatcher-{i}"), actor, |a, cancel| {
                Box::pin(a.run(cancel))
            });
        }
        Self {
            local: queues.local,
            cluster,
        }
    }

    /// To the actor that dispatches the agency: on this node, or (cluster) on its owner.
    async fn send(&self, agency: AgencyId, cmd: Command) -> Result<Hop, AnswerError> {
        match &self.cluster {
            None => self.local.send(agency, cmd).await.map(|()| Hop::Local),
            Some(c) => c.route(agency, cmd).await,
        }
    }

    /// A committed lead needs a broker. If this is lost (shutdown), restart recovery finds it.
    pub async fn lead_arrived(&self, agency: AgencyId, lead: LeadId) -> Result<(), AnswerError> {
        self.send(agency, Command::LeadArrived { agency, lead })
            .await
            .map(drop)
    }

    /// A broker connected, disconnected, toggled, or had their departments changed. In a
    /// cluster, this node's presence entry for them is written first.
    pub async fn broker_changed(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> Result<(), AnswerError> {
        if let Some(c) = &self.cluster {
            c.sync_presence(agency, broker).await;
        }
        self.send(agency, Command::BrokerChanged { agency, broker })
            .await
            .map(drop)
    }

    pub async fn settings_changed(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.send(agency, Command::SettingsChanged { agency })
            .await
            .map(drop)
    }

    /// The store changed under the roulette (a department removed moved its waiting leads):
    /// the agency's dispatcher reads it again, pending offers and their deadlines included.
    pub async fn reload(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.send(agency, Command::Reload { agency })
            .await
            .map(drop)
    }

    /// Restart recovery: re-read the agency's waiting leads and pending offers (one node; in a
    /// cluster the lease loop loads what this node takes).
    pub async fn load(&self, agency: AgencyId) -> Result<(), AnswerError> {
        if self.cluster.is_some() {
            return Ok(());
        }
        self.local.send(agency, Command::Load { agency }).await
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
        let hop = self
            .send(
                agency,
                Command::Answer {
                    agency,
                    broker,
                    offer,
                    answer,
                    reason,
                    reply: Responder::Local(tx),
                },
            )
            .await?;
        reply(hop, rx).await?
    }

    pub async fn stats(&self, agency: AgencyId) -> Result<AgencyStats, AnswerError> {
        let (tx, rx) = oneshot::channel();
        let hop = self
            .send(
                agency,
                Command::Stats {
                    agency,
                    reply: Responder::Local(tx),
                },
            )
            .await?;
        reply(hop, rx).await
    }

    /// Cluster drain (no-op on one node).
    pub async fn drain(&self) {
        if let Some(c) = &self.cluster {
            c.drain().await;
        }
    }
}
