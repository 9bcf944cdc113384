//! The dispatcher: a fixed set of actor tasks, each owning the roulette of the agencies hashed
//! to it (every department of one agency lives on one actor, so "one offer per broker at a
//! time" is a local fact even for brokers in several departments). Callers hold a cheap
//! [`Dispatcher`] handle and talk to the actors over bounded channels.

mod actor;
pub mod engine;

use crate::model::{AgencyId, AttendanceKind, BrokerId, LeadId, OfferId, OfferState};
use crate::presence::Hub;
use crate::push::Push;
use crate::store::{LeadSummary, OfferRecord, OfferRejection, Store, StoreError};
use crate::Clock;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Refuse,
}

/// A live view of one agency's roulette, for operators.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct AgencyStats {
    pub waiting: usize,
    pub offers_in_flight: usize,
    /// Department id → arrival (epoch ms) of its oldest waiting lead.
    pub oldest_waiting_ms: std::collections::BTreeMap<i64, i64>,
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
}

#[derive(Clone)]
pub struct Dispatcher {
    senders: Arc<[mpsc::Sender<Command>]>,
}

impl Dispatcher {
    /// Starts `settings.actors` actor tasks on the tracker; they stop when `cancel` fires.
    pub fn spawn(
        store: Store,
        hub: Hub,
        push: Push,
        clock: Clock,
        settings: &crate::settings::DispatchSettings,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let senders: Vec<_> = (0..settings.actors.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
                let actor = actor::Actor::new(store.clone(), hub.clone(), push.clone(), clock, rx);
                tracker.spawn(actor.run(cancel.clone()));
                tx
            })
            .collect();
        Self {
            senders: senders.into(),
        }
    }

    fn shard(&self, agency: AgencyId) -> &mpsc::Sender<Command> {
        &self.senders[agency.rem_euclid(self.senders.len() as i64) as usize]
    }

    async fn send(&self, agency: AgencyId, cmd: Command) -> Result<(), AnswerError> {
        self.shard(agency)
            .send(cmd)
            .await
            .map_err(|_| AnswerError::Stopped)
    }

    /// A committed lead needs a broker. If this is lost (shutdown), restart recovery finds it.
    pub async fn lead_arrived(&self, agency: AgencyId, lead: LeadId) -> Result<(), AnswerError> {
        self.send(agency, Command::LeadArrived { agency, lead })
            .await
    }

    /// A broker connected, disconnected, toggled, or had their departments changed.
    pub async fn broker_changed(
        &self,
        agency: AgencyId,
        broker: BrokerId,
    ) -> Result<(), AnswerError> {
        self.send(agency, Command::BrokerChanged { agency, broker })
            .await
    }

    pub async fn settings_changed(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.send(agency, Command::SettingsChanged { agency }).await
    }

    /// Restart recovery: re-read the agency's waiting leads and pending offers.
    pub async fn load(&self, agency: AgencyId) -> Result<(), AnswerError> {
        self.send(agency, Command::Load { agency }).await
    }

    pub async fn answer(
        &self,
        agency: AgencyId,
        broker: BrokerId,
        offer: OfferId,
        answer: Answer,
        reason: Option<String>,
    ) -> Result<(), AnswerError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            agency,
            Command::Answer {
                agency,
                broker,
                offer,
                answer,
                reason,
                reply,
            },
        )
        .await?;
        rx.await.map_err(|_| AnswerError::Stopped)?
    }

    pub async fn stats(&self, agency: AgencyId) -> Result<AgencyStats, AnswerError> {
        let (reply, rx) = oneshot::channel();
        self.send(agency, Command::Stats { agency, reply }).await?;
        rx.await.map_err(|_| AnswerError::Stopped)
    }
}
