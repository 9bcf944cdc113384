//! The agency's settings and standing as the dispatcher sees them: new settings are read at
//! once; a suspended agency is not dispatched (its engine is dropped and the brokers holding
//! offers are told they ended); a reactivated one is loaded again, its waiting leads first.

use super::{engine_settings, Actor};
use crate::dispatch::Event;
use crate::model::{AgencyId, OfferState};
use crate::store::{StoreError, StoreResult, SUSPENDED_REASON};

impl Actor {
    /// Re-reads the agency's standing and settings (after a manager's change, a suspension or
    /// a reactivation).
    pub(super) async fn settings_changed(&mut self, agency: AgencyId) {
        match self.store.agency_standing(agency).await {
            Ok(s) if s.suspended => return self.suspended(agency),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%agency, error = %e, "reading the agency's standing failed");
                return;
            }
        }
        if !self.agencies.contains_key(&agency) {
            // Reactivated (or never loaded): load it now so waiting leads go out at once. A
            // failed load is logged there; the next command or the sweep loads it again.
            self.ensure_loaded(agency).await.ok();
            return;
        }
        match self.store.roulette_settings(agency).await {
            Ok(s) => {
                if let Some(a) = self.agencies.get_mut(&agency) {
                    a.engine.set_settings(engine_settings(&s));
                    a.settings = s;
                }
            }
            Err(e) => tracing::warn!(%agency, error = %e, "reloading settings failed"),
        }
    }

    /// The store has already cancelled the agency's offers (`Store::suspend_agency`): the
    /// holders' popups close, and the agency is forgotten until it is reactivated.
    pub(super) fn suspended(&mut self, agency: AgencyId) {
        let Some(a) = self.agencies.get(&agency) else {
            return;
        };
        let held: Vec<_> = a
            .engine
            .offer_ids()
            .into_iter()
            .filter_map(|o| a.engine.offer(o).map(|(_, broker)| (o, broker)))
            .collect();
        for (offer, broker) in held {
            crate::metrics::offer_ended(OfferState::Cancelled);
            let ev = Event::OfferEnded {
                offer,
                outcome: OfferState::Cancelled,
                reason: SUSPENDED_REASON.to_string(),
            };
            self.roster.deliver(broker, ev);
        }
        self.drop_agency(agency);
        tracing::info!(%agency, "agency suspended: its roulette stops");
    }

    /// Refuses to load a suspended agency: commands for it (a socket not yet closed, recovery
    /// at start-up, a cluster lease) leave it alone.
    pub(super) async fn refuse_suspended(&self, agency: AgencyId) -> StoreResult<()> {
        if self.store.agency_standing(agency).await?.suspended {
            Err(StoreError::Conflict("this agency is suspended".into()))
        } else {
            Ok(())
        }
    }
}
