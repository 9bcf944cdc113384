//! What the dispatcher needs from the world outside it, as traits it owns. The core calls
//! these; the presence layer (`presence::LocalRoster`, one node) and the cluster
//! (`cluster::ClusterRoster`, `cluster::ClusterRoute`) implement them. Nothing here knows
//! about sockets, JSON or Redis.

use super::{AnswerError, Command, Event, Local};
use crate::model::{AgencyId, BrokerId};
use crate::store::{LeadSummary, OfferRecord};
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// A broker as the roulette sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub online: bool,
    /// Offline because they switched the toggle off (not because a connection dropped).
    pub toggled_off: bool,
}

/// Who is online, and how an event reaches a broker's pages.
pub trait Roster: Send + Sync + 'static {
    /// Whether the broker is online for the roulette, and why not.
    fn status(&self, agency: AgencyId, broker: BrokerId) -> BoxFuture<'_, Status>;

    /// Everyone online in the agency, sorted.
    fn online_brokers(&self, agency: AgencyId) -> BoxFuture<'_, Vec<BrokerId>>;

    /// An event to every page of the broker, wherever it is open.
    fn deliver(&self, broker: BrokerId, event: Event);

    /// A committed offer to the broker's pages, and by web push if none of them is in front.
    fn offer(&self, agency: AgencyId, offer: OfferRecord, lead: Arc<LeadSummary>);

    /// The broker's availability toggle, on every page of theirs.
    fn set_toggle<'a>(
        &'a self,
        agency: AgencyId,
        broker: BrokerId,
        on: bool,
        reason: &'a str,
    ) -> BoxFuture<'a, ()>;
}

/// Where a command comes back from: this node's actors always answer (or stop); another
/// node's reply crosses the bus and may never come, so only that wait is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    Local,
    Remote,
}

/// Which node dispatches an agency, and how a command reaches it.
pub trait Route: Send + Sync + 'static {
    /// Whether this node may dispatch the agency now.
    fn owns(&self, agency: AgencyId) -> bool;

    /// The fence refused a write: another node dispatches the agency now.
    fn lost(&self, agency: AgencyId);

    /// The name written as the shard's owner.
    fn node(&self) -> &str;

    /// Takes a command to the actor that dispatches its agency. A command with a reply that
    /// cannot be delivered is answered (`Moving`, empty stats), never dropped unanswered.
    fn send(&self, agency: AgencyId, cmd: Command) -> BoxFuture<'_, Result<Hop, AnswerError>>;

    /// Called before a broker change is sent (the cluster writes its presence entry first).
    fn before_broker_change(&self, _agency: AgencyId, _broker: BrokerId) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Whether the safety sweep should go on (a draining cluster node stops it).
    fn sweeping(&self) -> bool {
        true
    }

    /// The safety sweep found a waiting lead of an agency this node does not dispatch.
    fn unowned_lead(&self, _agency: AgencyId) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// One node: every agency is dispatched here, by this node's actors.
pub struct ThisNode {
    local: Local,
}

impl ThisNode {
    pub fn new(local: Local) -> Self {
        Self { local }
    }
}

impl Route for ThisNode {
    fn owns(&self, _agency: AgencyId) -> bool {
        true
    }

    fn lost(&self, agency: AgencyId) {
        // One node holds every shard; a fence refusal here means another process (the
        // command line) suspended the agency, which the actor handles itself.
        tracing::debug!(%agency, "fenced on a single node");
    }

    fn node(&self) -> &str {
        "local"
    }

    fn send(&self, agency: AgencyId, cmd: Command) -> BoxFuture<'_, Result<Hop, AnswerError>> {
        Box::pin(async move { self.local.send(agency, cmd).await.map(|()| Hop::Local) })
    }
}
