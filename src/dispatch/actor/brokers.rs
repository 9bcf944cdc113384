//! What the actor knows of each broker: online or not (local toggles and the cluster's
//! heartbeat), their departments, whether they take part in the roulette, and the presence
//! audit those changes write.

use super::Actor;
use crate::model::{AgencyId, BrokerId, OfferState};
use crate::store::AuditEntry;

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
        for b in changed {
            self.refresh_broker(agency, b).await;
            if let Some(a) = self.agencies.get_mut(&agency) {
                a.misses.remove(&b);
            }
        }
    }

    /// Handles `first` and whatever else is already queued (bounded), then pumps each agency
    /// touched once: under load, leads that arrived together are offered in one batch, one
    /// disk sync, instead of one sync each.
    pub(super) async fn refresh_broker(&mut self, agency: AgencyId, broker: BrokerId) {
        let deps = match self.store.broker_departments(agency, broker).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(agency, broker, error = %e, "reading departments failed");
                return;
            }
        };
        let Some(availability) = self.broker_availability(agency, broker).await else {
            return;
        };
        // A deactivated user (or one who is no longer a broker) is out at once, wherever their
        // sockets still are; on a store error the presence decides, as before.
        let removed = !self
            .store
            .broker_routable(agency, broker)
            .await
            .unwrap_or(true);
        let status = self.roster.status(&self.store, agency, broker).await;
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
            let _ = self
                .end_offer(agency, offer, None, OfferState::Cancelled, reason)
                .await;
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
