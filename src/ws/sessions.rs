//! The session check: at every ping interval, one task per node confirms against the store
//! that each open broker connection's session or token still holds, for every connection at
//! once (a statement per 500 sessions, not one per socket per ping). A connection whose
//! session ended is closed with the code that says why, so changes made where no close
//! reaches — the command line, a bus message lost between nodes — still close it within one
//! interval. A store that does not answer keeps every connection: the next round checks again.

use super::protocol::close;
use crate::model::{AgencyId, BrokerId, Role};
use crate::presence::Hub;
use crate::store::{Store, StoreError};
use crate::Clock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct SessionCheck {
    store: Store,
    hub: Hub,
    clock: Clock,
    every: Duration,
}

impl SessionCheck {
    pub fn new(store: Store, hub: Hub, clock: Clock, every_seconds: u64) -> Self {
        Self {
            store,
            hub,
            clock,
            every: Duration::from_secs(every_seconds.max(1)),
        }
    }

    pub async fn run(&mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
            }
            self.check().await;
        }
    }

    /// One round; how many connections were told to close.
    pub async fn check(&self) -> usize {
        let open = self.hub.sessions();
        if open.is_empty() {
            return 0;
        }
        let hashes: Vec<String> = open.iter().map(|(_, _, s)| s.clone()).collect();
        let live = match self
            .store
            .live_broker_sessions(&hashes, self.clock.now_ms())
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "checking the open sessions failed; next round retries");
                return 0;
            }
        };
        let mut closed = 0;
        for (agency, broker, session) in open.iter().filter(|(_, _, s)| !live.contains(s)) {
            if let Some(code) = self.ended(*agency, *broker, session).await {
                closed += self
                    .hub
                    .close_session(*broker, session, code, close::reason(code));
            }
        }
        closed
    }

    /// Why this connection's session no longer holds, as its close code: the user
    /// deactivated, the agency suspended, or simply signed out (ended, revoked, expired, a
    /// password to change, no longer a broker). `None` when it holds after all (it changed
    /// between the two reads) or the store cannot say.
    async fn ended(&self, agency: AgencyId, broker: BrokerId, session: &str) -> Option<u16> {
        match self
            .store
            .user_for_token(session, self.clock.now_ms())
            .await
        {
            Ok(u) if u.role == Role::Broker && !u.must_change_password => None,
            Ok(_) => Some(close::SIGNED_OUT),
            Err(StoreError::NotFound) => match self.store.user(agency, broker.0).await {
                Ok(u) if !u.active => Some(close::DEACTIVATED),
                // Suspended from the command line, where no close reaches (docs/PLATFORM.md).
                Ok(_) if self.suspended(agency).await => Some(close::AGENCY_SUSPENDED),
                Ok(_) | Err(StoreError::NotFound) => Some(close::SIGNED_OUT),
                Err(e) => {
                    tracing::warn!(%broker, error = %e, "reading a signed-out broker failed");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(%broker, error = %e, "reading a session failed");
                None
            }
        }
    }

    async fn suspended(&self, agency: AgencyId) -> bool {
        match self.store.agency_standing(agency).await {
            Ok(s) => s.suspended,
            Err(e) => {
                tracing::warn!(%agency, error = %e, "reading the agency's standing failed");
                false
            }
        }
    }
}
