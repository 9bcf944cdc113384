//! The presence layer as the rest of the node sees it. [`Presence`] is what the HTTP and
//! WebSocket edges use (who is online, tell a broker, close sockets); it extends the
//! dispatcher's own [`Roster`] port. [`LocalRoster`] is the single-node implementation: this
//! node's hub, and web push for a broker with no page in front. The cluster's lives in
//! `cluster/roster.rs`.

use super::{close, Hub, Sockets};
use crate::dispatch::{Event, Roster, Status};
use crate::model::{AgencyId, BrokerId};
use crate::push::{Push, PushJob};
use crate::store::{LeadSummary, OfferRecord};
use futures_util::future::BoxFuture;
use std::sync::Arc;

pub trait Presence: Roster {
    /// Closes the chosen WebSockets with `code` (`close`) wherever they are open. Each closed
    /// connection leaves the rotation as any dropped one does. It closes sockets only:
    /// revoking what they were opened with (the sessions) is the caller's, before, so that
    /// the node's session check (`ws/sessions.rs`) agrees.
    fn close_sockets(&self, which: Sockets, code: u16);

    /// A delivery from outside the dispatcher (an HTTP handler): in a cluster, where the
    /// broker's sockets are is looked up first.
    fn deliver_now(&self, agency: AgencyId, broker: BrokerId, event: Event) -> BoxFuture<'_, ()>;

    /// Every WebSocket of one user of the agency.
    fn close_user_sockets(&self, agency: AgencyId, user: i64, code: u16) {
        let which = Sockets::User {
            agency,
            user,
            except_session: None,
        };
        self.close_sockets(which, code);
    }

    /// Every WebSocket of every user of the agency (an agency suspended:
    /// `close::AGENCY_SUSPENDED`).
    fn close_agency_sockets(&self, agency: AgencyId, code: u16) {
        self.close_sockets(Sockets::Agency { agency }, code);
    }
}

/// The push job for a committed offer: sent only if none of the broker's pages is in front.
pub fn push_job(agency: AgencyId, offer: &OfferRecord, lead: &LeadSummary) -> PushJob {
    PushJob {
        agency,
        broker: offer.broker_id,
        offer: offer.id,
        deadline_ms: offer.deadline_ms,
        client_name: lead.client_name.clone(),
    }
}

/// One node: presence is this process's hub.
#[derive(Clone)]
pub struct LocalRoster {
    hub: Hub,
    push: Push,
}

impl LocalRoster {
    pub fn new(hub: Hub, push: Push) -> Self {
        Self { hub, push }
    }
}

impl Roster for LocalRoster {
    fn status(&self, _agency: AgencyId, broker: BrokerId) -> BoxFuture<'_, Status> {
        let status = Status {
            online: self.hub.is_online(broker),
            toggled_off: self.hub.toggle(broker) == Some(false),
        };
        Box::pin(async move { status })
    }

    fn online_brokers(&self, agency: AgencyId) -> BoxFuture<'_, Vec<BrokerId>> {
        let online = self.hub.online_brokers(agency);
        Box::pin(async move { online })
    }

    fn deliver(&self, broker: BrokerId, event: Event) {
        self.hub.deliver(broker, event);
    }

    fn offer(&self, agency: AgencyId, offer: OfferRecord, lead: Arc<LeadSummary>) {
        let broker = offer.broker_id;
        if !self.hub.any_visible(broker) {
            self.push.offer(push_job(agency, &offer, &lead));
        }
        self.hub.deliver(broker, Event::Offered { offer, lead });
    }

    fn set_toggle<'a>(
        &'a self,
        _agency: AgencyId,
        broker: BrokerId,
        on: bool,
        _reason: &'a str,
    ) -> BoxFuture<'a, ()> {
        self.hub.set_toggle(broker, on);
        Box::pin(async {})
    }
}

impl Presence for LocalRoster {
    fn close_sockets(&self, which: Sockets, code: u16) {
        self.hub.close(&which, code, close::reason(code));
    }

    fn deliver_now(&self, _agency: AgencyId, broker: BrokerId, event: Event) -> BoxFuture<'_, ()> {
        self.hub.deliver(broker, event);
        Box::pin(async {})
    }
}
