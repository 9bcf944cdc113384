//! The dispatcher's ports in cluster mode: [`Roster`] (presence across nodes in Redis, events
//! carried by the bus to the nodes that hold a broker's sockets, this node's hub as the fast
//! path), [`Route`] (the agency's lease says which node dispatches it) and the edges'
//! [`Presence`].

use super::wire::{BusMsg, EVENT_VERSION};
use super::{Cluster, Owner};
use crate::dispatch::{AnswerError, Command, Event, Hop, Roster, Route, Status};
use crate::model::{AgencyId, BrokerId};
use crate::presence::{push_job, Outbound, Presence, Sockets};
use crate::push::PushJob;
use crate::store::{LeadSummary, OfferRecord};
use futures_util::future::BoxFuture;
use std::sync::Arc;

impl Cluster {
    /// The event to the broker's sockets here and, by the bus, on every node that holds one;
    /// `push` when it is an offer (sent by web push where none of the broker's pages is in
    /// front).
    fn deliver_event(&self, broker: BrokerId, event: Event, push: Option<PushJob>) {
        let nodes = self
            .inner
            .routes
            .get(&broker)
            .map(|n| n.clone())
            .unwrap_or_default();
        for node in nodes.iter().filter(|n| **n != self.inner.node) {
            let msg = BusMsg::Event {
                v: EVENT_VERSION,
                broker,
                event: event.clone(),
                push: push.clone(),
            };
            self.send_to(node, &msg);
        }
        self.deliver_here(broker, Outbound::Event(Arc::new(event)), push);
    }

    /// To this node's sockets of the broker, if it holds any: an event, or a frame a node of
    /// the previous release encoded; `push` goes out if none of those pages is in front.
    pub(super) fn deliver_here(&self, broker: BrokerId, out: Outbound, push: Option<PushJob>) {
        let hub = &self.inner.hub;
        if !hub.is_connected(broker) {
            return;
        }
        if let Some(job) = push.filter(|_| !hub.any_visible(broker)) {
            self.inner.push.offer(job);
        }
        hub.fan_out(broker, out);
    }
}

impl Roster for Cluster {
    fn status(&self, agency: AgencyId, broker: BrokerId) -> BoxFuture<'_, Status> {
        Box::pin(async move {
            let online = self.broker_online(agency, broker).await;
            let toggled_off = !online
                && match self.inner.store.broker_toggle(agency, broker).await {
                    Ok(on) => !on,
                    Err(e) => {
                        // Read as a dropped connection: the open offer waits for its deadline.
                        tracing::warn!(%agency, %broker, error = %e, "reading the broker's toggle failed");
                        false
                    }
                };
            Status {
                online,
                toggled_off,
            }
        })
    }

    fn online_brokers(&self, agency: AgencyId) -> BoxFuture<'_, Vec<BrokerId>> {
        Box::pin(async move {
            match self.read_online_brokers(agency).await {
                Some(v) => v,
                None => self.inner.hub.online_brokers(agency),
            }
        })
    }

    fn deliver(&self, broker: BrokerId, event: Event) {
        self.deliver_event(broker, event, None);
    }

    fn offer(&self, agency: AgencyId, offer: OfferRecord, lead: Arc<LeadSummary>) {
        let job = push_job(agency, &offer, &lead);
        let broker = offer.broker_id;
        self.deliver_event(broker, Event::Offered { offer, lead }, Some(job));
    }

    fn set_toggle<'a>(
        &'a self,
        agency: AgencyId,
        broker: BrokerId,
        on: bool,
        reason: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(self.change_toggle(agency, broker, on, reason.to_string()))
    }
}

impl Presence for Cluster {
    fn close_sockets(&self, which: Sockets, code: u16) {
        self.close_everywhere(which, code);
    }

    fn deliver_now(&self, agency: AgencyId, broker: BrokerId, event: Event) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Where the broker's sockets are: read now, the routes may be stale here.
            self.broker_online(agency, broker).await;
            self.deliver_event(broker, event, None);
        })
    }
}

impl Route for Cluster {
    fn owns(&self, agency: AgencyId) -> bool {
        self.inner.owned.contains(&agency)
    }

    fn lost(&self, agency: AgencyId) {
        self.inner.owned.remove(&agency);
        self.inner.lease_check.notify_one();
    }

    fn node(&self) -> &str {
        &self.inner.node
    }

    fn send(&self, agency: AgencyId, cmd: Command) -> BoxFuture<'_, Result<Hop, AnswerError>> {
        Box::pin(self.route(agency, cmd))
    }

    fn before_broker_change(&self, agency: AgencyId, broker: BrokerId) -> BoxFuture<'_, ()> {
        Box::pin(self.sync_presence(agency, broker))
    }

    fn sweeping(&self) -> bool {
        !self.is_draining()
    }

    fn unowned_lead(&self, agency: AgencyId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if matches!(self.owner(agency).await, Owner::Nobody) {
                self.inner.lease_check.notify_one();
            }
        })
    }
}
