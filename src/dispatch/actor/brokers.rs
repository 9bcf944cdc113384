//! What the actor knows of each broker: online or not (local toggles and the cluster's
//! heartbeat), their departments, whether they take part in the roulette, and the presence
//! audit those changes write.

use super::Actor;
use crate::model::{AgencyId, BrokerId, OfferState};
use crate::store::{AuditEntry, BrokerState};

impl Actor {
    /// Cluster presence as the heartbeat read it: newcomers come online at once; a broker
    /// missing twice in a row goes offline (once may be a Redis that was just flushed).
    pub(super) async fn scan(&mut self, agency: AgencyId, online: Vec<BrokerId>) {
        let Some(a) = self.agencies.get_mut(&agency) else {
            return;
        };
        let seen: std::collections::HashSet<BrokerId> = online.iter().copied().collect();
        let mut changed: Vec<BrokerId> = online
            .iter()
            .copied()
            .filter(|b| !a.engine.is_online(*b))
            .collect();
        a.misses.retain(|b, _| !seen.contains(b));
        for b in a.engine.online_brokers() {
            if seen.contains(&b) {
                continue;
            }
            let n = a.misses.entry(b).or_insert(0);
            *n += 1;
            if *n >= 2 {
                changed.push(b);
            }
        }
        self.refresh_brokers(agency, &changed).await;
        if let Some(a) = self.agencies.get_mut(&agency) {
            for b in &changed {
                a.misses.remove(b);
            }
        }
    }

    /// One broker changed (connected, disconnected, toggled, edited by a manager).
    pub(super) async fn refresh_broker(&mut self, agency: AgencyId, broker: BrokerId) {
        self.refresh_brokers(agency, &[broker]).await;
    }

    /// Brings the engine in line with the store and the roster for these brokers: what the
    /// store says of them is read for all of them at once (`Store::broker_states`), so a burst
    /// of brokers coming online costs three reads, not three per broker.
    pub(super) async fn refresh_brokers(&mut self, agency: AgencyId, brokers: &[BrokerId]) {
        let mut states = match self
            .store
            .broker_states(agency, brokers, self.clock.now_ms())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%agency, count = brokers.len(), error = %e, "reading brokers failed; their next change retries");
                return;
            }
        };
        for broker in brokers {
            if let Some(state) = states.remove(broker) {
                self.apply_broker(agency, *broker, state).await;
            }
        }
    }

    async fn apply_broker(&mut self, agency: AgencyId, broker: BrokerId, state: BrokerState) {
        let deps = state.departments;
        let availability = super::recovery::engine_availability(&state.availability);
        // A deactivated user (or one who is no longer a broker) is out at once, wherever their
        // sockets still are.
        let removed = !state.routable;
        let status = self.roster.status(agency, broker).await;
        let online = status.online && !removed;
        let toggled_off = status.toggled_off || removed;
        let Some(a) = self.agencies.get_mut(&agency) else {
            return;
        };
        let was = a.engine.is_online(broker);
        a.engine.set_availability(broker, availability);
        a.engine.set_broker(broker, online, deps);
        let holding = a.engine.holding(broker);
        if was != online {
            let (decision, reason) = if online {
                ("broker_online", "toggle on with a live connection")
            } else if removed {
                ("broker_offline", "deactivated or no longer a broker")
            } else if toggled_off {
                ("broker_offline", "toggled off")
            } else {
                ("broker_offline", "no connection left")
            };
            // Queued, not written: a burst of brokers coming online costs one transaction.
            // `pump` writes the queue before any offer, so the audit still shows the broker
            // online before an offer reaches them.
            self.presence_audit.push(AuditEntry {
                agency,
                broker: Some(broker),
                decision,
                reason,
                ..Default::default()
            });
        }
        // Going offline on purpose hands the open offer back at once; a dropped connection
        // keeps it until its deadline so a quick reconnect still sees it.
        if let Some(offer) = holding.filter(|_| !online && toggled_off) {
            let reason = if removed {
                "broker deactivated"
            } else {
                "broker went offline"
            };
            // Refused by the store: already ended elsewhere, and `end_offer` resynced the lead.
            if let Err(e) = self
                .end_offer(agency, offer, None, OfferState::Cancelled, reason)
                .await
            {
                tracing::debug!(%agency, %offer, error = %e, "handing the offer back found it ended");
            }
        }
    }

    /// Writes the queued presence changes (best effort, like every audit outside a decision).
    pub(super) async fn flush_presence_audit(&mut self) {
        if self.presence_audit.is_empty() {
            return;
        }
        let entries = std::mem::take(&mut self.presence_audit);
        if let Err(e) = self.store.audit_many(&entries, self.clock.now_ms()).await {
            tracing::warn!(error = %e, count = entries.len(), "presence audit write failed");
        }
    }
}
