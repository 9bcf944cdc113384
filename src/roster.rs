//! The presence seam the dispatcher sees: who is online and how to reach them. One node: the
//! in-process `Hub`. Cluster: Redis presence across nodes and delivery over the bus, with the
//! local `Hub` as the fast path (see `cluster/`).

use crate::cluster::Cluster;
use crate::dispatch::Event;
use crate::model::{AgencyId, BrokerId};
use crate::presence::{Hub, Sockets};
use crate::push::{Push, PushJob};
use crate::store::{LeadSummary, OfferRecord, Store};
use crate::ws::protocol::close;
use crate::ws::protocol::ServerMsg;
use std::sync::Arc;

#[derive(Clone)]
pub enum Roster {
    Local(Hub),
    Cluster(Cluster),
}

/// A broker as the roulette sees them.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub online: bool,
    /// Offline because they switched the toggle off (not because a connection dropped).
    pub toggled_off: bool,
}

impl Roster {
    pub async fn status(&self, store: &Store, agency: AgencyId, broker: BrokerId) -> Status {
        match self {
            Roster::Local(hub) => Status {
                online: hub.is_online(broker),
                toggled_off: hub.toggle(broker) == Some(false),
            },
            Roster::Cluster(c) => {
                let online = c.broker_online(agency, broker).await;
                let toggled_off =
                    !online && !store.broker_toggle(agency, broker).await.unwrap_or(true);
                Status {
                    online,
                    toggled_off,
                }
            }
        }
    }

    /// Everyone online in the agency, sorted.
    pub async fn online_brokers(&self, agency: AgencyId) -> Vec<BrokerId> {
        match self {
            Roster::Local(hub) => hub.online_brokers(agency),
            Roster::Cluster(c) => match c.online_brokers(agency).await {
                Some(v) => v,
                None => c.inner.hub.online_brokers(agency),
            },
        }
    }

    /// Whether this node may dispatch the agency (always, on one node).
    pub fn owns(&self, agency: AgencyId) -> bool {
        match self {
            Roster::Local(_) => true,
            Roster::Cluster(c) => c.owns(agency),
        }
    }

    /// The fence refused a write: another node dispatches the agency now.
    pub fn lost(&self, agency: AgencyId) {
        if let Roster::Cluster(c) = self {
            c.lost(agency);
        }
    }

    /// The node name written as the shard's owner.
    pub fn node(&self) -> &str {
        match self {
            Roster::Local(_) => "local",
            Roster::Cluster(c) => c.node(),
        }
    }

    pub fn deliver(&self, broker: BrokerId, event: &Event) {
        match self {
            Roster::Local(hub) => {
                hub.deliver(broker, event);
            }
            Roster::Cluster(c) => {
                let now = c.inner.clock.now_ms();
                c.deliver_text(broker, ServerMsg::from_event(event, now).to_json(), None);
            }
        }
    }

    /// A delivery from outside the dispatcher (an HTTP handler): in a cluster, where the
    /// broker's sockets are is looked up first.
    pub async fn deliver_now(&self, agency: AgencyId, broker: BrokerId, event: &Event) {
        if let Roster::Cluster(c) = self {
            c.broker_online(agency, broker).await;
        }
        self.deliver(broker, event);
    }

    /// A committed offer to the broker's pages, and by web push if none of them is in front.
    pub fn offer(&self, push: &Push, agency: AgencyId, rec: OfferRecord, lead: Arc<LeadSummary>) {
        let job = PushJob {
            agency,
            broker: rec.broker_id,
            offer: rec.id,
            deadline_ms: rec.deadline_ms,
            client_name: lead.client_name.clone(),
        };
        let broker = rec.broker_id;
        let event = Event::Offered { offer: rec, lead };
        match self {
            Roster::Local(hub) => {
                if !hub.any_visible(broker) {
                    push.offer(job);
                }
                hub.deliver(broker, &event);
            }
            Roster::Cluster(c) => {
                let now = c.inner.clock.now_ms();
                c.deliver_text(
                    broker,
                    ServerMsg::from_event(&event, now).to_json(),
                    Some(job),
                );
            }
        }
    }

    /// The broker's availability toggle, on every node that holds one of their pages.
    pub async fn set_toggle(&self, agency: AgencyId, broker: BrokerId, on: bool, reason: &str) {
        match self {
            Roster::Local(hub) => hub.set_toggle(broker, on),
            Roster::Cluster(c) => c.set_toggle(agency, broker, on, reason.to_string()).await,
        }
    }

    /// Closes the chosen WebSockets with `code` (`ws::protocol::close`) on every node: this
    /// node's at once, the others' over the bus. Each closed connection leaves the rotation as
    /// any dropped one does. It closes sockets only: revoking what they were opened with (the
    /// sessions) is the caller's, before, so that the socket's own check agrees.
    pub fn close_sockets(&self, which: Sockets, code: u16) {
        match self {
            Roster::Local(hub) => {
                hub.close(&which, code, close::reason(code));
            }
            Roster::Cluster(c) => c.close_sockets(which, code),
        }
    }

    /// Every WebSocket of one user of the agency, on every node.
    pub fn close_user_sockets(&self, agency: AgencyId, user: i64, code: u16) {
        let which = Sockets::User {
            agency,
            user,
            except_session: None,
        };
        self.close_sockets(which, code);
    }

    /// Every WebSocket of every user of the agency, on every node (an agency suspended:
    /// `close::AGENCY_SUSPENDED`).
    pub fn close_agency_sockets(&self, agency: AgencyId, code: u16) {
        self.close_sockets(Sockets::Agency { agency }, code);
    }
}
