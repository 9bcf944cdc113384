//! The sweeper, on every node: offers still pending well past their deadline (their owner died
//! and nobody has taken the agency over, or a timer was lost) are expired, and leads waiting
//! longer than that are handed to whoever dispatches their agency now. `FOR UPDATE SKIP LOCKED`
//! lets every node sweep at once without two closing the same offer or waiting on each other.

use super::bus::pause;
use super::Cluster;
use crate::dispatch::Command;
use tokio_util::sync::CancellationToken;

/// Rows looked at per sweep at most.
const SWEEP_LIMIT: i64 = 500;

impl Cluster {
    /// How late an offer or a waiting lead must be before the sweeper steps in: past any live
    /// owner's own timers, and past a takeover after an owner's death.
    fn sweep_grace_ms(&self) -> i64 {
        let s = &self.inner.settings;
        (s.lease_ms + 2 * s.sweep_ms) as i64
    }

    async fn sweep(&self) {
        let now = self.inner.clock.now_ms();
        let before = now - self.sweep_grace_ms();
        let store = &self.inner.store;
        let swept = match store.sweep_overdue_offers(before, SWEEP_LIMIT, now).await {
            Ok(v) => {
                if !v.is_empty() {
                    tracing::warn!(
                        count = v.len(),
                        "the sweeper expired offers nobody was timing"
                    );
                    crate::metrics::swept(v.len());
                }
                v
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweeping overdue offers failed");
                Vec::new()
            }
        };
        for (agency, lead) in swept {
            let _ = self
                .route(agency, Command::LeadArrived { agency, lead })
                .await;
        }
        // Waiting leads: each node looks after the agencies it dispatches (the engine ignores
        // leads it knows); an agency nobody dispatches wakes the lease loop.
        let waiting = match store.stale_waiting_leads(before, SWEEP_LIMIT).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "reading waiting leads failed");
                return;
            }
        };
        let mut unowned_checked = std::collections::BTreeSet::new();
        for (agency, lead) in waiting {
            if self.owns(agency) {
                let _ = self
                    .inner
                    .local
                    .send(agency, Command::LeadArrived { agency, lead })
                    .await;
            } else if unowned_checked.insert(agency)
                // One lease lookup per agency, not per lead.
                && matches!(self.owner(agency).await, super::Owner::Nobody)
            {
                self.inner.lease_check.notify_one();
            }
        }
    }
}

pub(super) async fn sweeper(cluster: Cluster, cancel: CancellationToken) {
    let every = cluster.inner.settings.sweep_ms.max(100);
    while !cancel.is_cancelled() {
        pause(&cancel, every).await;
        if cancel.is_cancelled() || cluster.is_draining() {
            break;
        }
        cluster.sweep().await;
    }
}
