//! The safety sweep, on every node, one node or a cluster: offers still pending well past
//! their deadline (a timer lost, an owner that died) are expired, and waiting leads the
//! dispatcher should have heard of (a hand-over lost on the way) are handed to whoever
//! dispatches their agency now. The engine ignores a lead it already holds, so handing over
//! a lead that is only waiting for a broker costs one lookup in memory.

use super::{Command, Dispatcher};
use crate::model::{AgencyId, LeadId};
use crate::store::Store;
use crate::Clock;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows looked at per sweep at most.
const SWEEP_LIMIT: i64 = 500;

pub struct Sweeper {
    store: Store,
    dispatcher: Dispatcher,
    clock: Clock,
    every: Duration,
    /// How late an offer or a waiting lead must be before the sweep steps in.
    grace_ms: i64,
    /// Waiting leads are read in id order from here, so every one is seen in turn however
    /// many are waiting (0: start again from the first).
    after: LeadId,
}

impl Sweeper {
    /// Sweeps every `every_ms`; steps in for what is `grace_ms` late.
    pub fn new(
        store: Store,
        dispatcher: Dispatcher,
        clock: Clock,
        every_ms: u64,
        grace_ms: i64,
    ) -> Self {
        Self {
            store,
            dispatcher,
            clock,
            every: Duration::from_millis(every_ms.max(100)),
            grace_ms: grace_ms.max(0),
            after: LeadId(0),
        }
    }

    pub async fn run(&mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
            }
            if !self.dispatcher.route().sweeping() {
                return;
            }
            self.sweep().await;
        }
    }

    /// One pass; what it handed over, for tests and the log.
    pub async fn sweep(&mut self) -> usize {
        let now = self.clock.now_ms();
        let before = now - self.grace_ms;
        let mut handed = 0;
        match self
            .store
            .sweep_overdue_offers(before, SWEEP_LIMIT, now)
            .await
        {
            Ok(v) => {
                if !v.is_empty() {
                    tracing::warn!(
                        count = v.len(),
                        "the sweeper expired offers nobody was timing"
                    );
                    crate::metrics::swept(v.len());
                }
                for (agency, lead) in v {
                    if let Err(e) = self.dispatcher.lead_arrived(agency, lead).await {
                        tracing::warn!(%agency, %lead, error = %e, "handing a swept lead over failed; the next sweep retries");
                    }
                    handed += 1;
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeping overdue offers failed"),
        }
        let waiting = match self
            .store
            .stale_waiting_leads(before, self.after, SWEEP_LIMIT)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "reading waiting leads failed");
                return handed;
            }
        };
        self.after = match waiting.last() {
            Some((_, lead)) if waiting.len() as i64 == SWEEP_LIMIT => *lead,
            _ => LeadId(0),
        };
        let mut unowned: BTreeSet<AgencyId> = BTreeSet::new();
        for (agency, lead) in waiting {
            if !self.dispatcher.route().owns(agency) {
                // One look per agency, not per lead (cluster: is anyone dispatching it?).
                if unowned.insert(agency) {
                    self.dispatcher.route().unowned_lead(agency).await;
                }
                continue;
            }
            let cmd = Command::LeadArrived { agency, lead };
            match self.dispatcher.route().send(agency, cmd).await {
                Ok(_) => handed += 1,
                Err(e) => {
                    tracing::warn!(%agency, %lead, error = %e, "handing a waiting lead over failed")
                }
            }
        }
        handed
    }
}
