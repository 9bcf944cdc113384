//! Building an agency's engine from the store (first use, restart) and bringing one lead back
//! in line with the store when they disagree.

use super::{engine_settings, Actor, Agency};
use crate::dispatch::engine::{self, Engine, LiveLead};
use crate::model::{AgencyId, BrokerId, LeadId, LeadState};
use crate::store::{Availability, StoreResult};
use std::collections::HashMap;

/// The store's availability as the engine checks it (issue 12).
pub(super) fn engine_availability(a: &Availability) -> engine::Availability {
    engine::Availability {
        excluded: !a.in_roulette,
        absence: a.absence.as_ref().map(|x| engine::Absence {
            from_ms: x.starts_at_ms,
            until_ms: x.ends_at_ms,
            reason: x.reason,
            // `YYYY-MM-DD` → `DD/MM`
            last_day: match (x.to.get(8..10), x.to.get(5..7)) {
                (Some(d), Some(m)) => format!("{d}/{m}"),
                _ => x.to.clone(),
            },
        }),
    }
}

impl Actor {
    /// After a panic the engines may be half-way through a decision: drop them and load each
    /// agency again from the store, which is the authority (offers, refusals, rotation).
    pub(super) async fn rebuild(&mut self) {
        let agencies: Vec<AgencyId> = self.agencies.keys().copied().collect();
        self.agencies.clear();
        self.summaries.clear();
        self.timers.clear();
        self.timer_keys.clear();
        for agency in agencies {
            if self.ensure_loaded(agency).await.is_ok() {
                self.pump(agency).await;
            }
        }
        tracing::warn!("dispatcher actor rebuilt its agencies from the store");
    }

    /// Builds the agency's engine from the store the first time it is needed: settings,
    /// waiting leads, pending offers (timers re-armed), refusals and rotation order.
    pub(super) async fn ensure_loaded(&mut self, agency: AgencyId) -> StoreResult<()> {
        if self.agencies.contains_key(&agency) {
            return Ok(());
        }
        if !self.route.owns(agency) {
            return Err(crate::store::StoreError::Unavailable(
                "another node dispatches this agency".into(),
            ));
        }
        // Not logged: a suspended agency is left alone on purpose.
        self.refuse_suspended(agency).await?;
        let r = self.load(agency).await;
        if let Err(e) = &r {
            tracing::warn!(%agency, error = %e, "loading the agency's roulette failed");
        }
        r
    }

    pub(super) async fn load(&mut self, agency: AgencyId) -> StoreResult<()> {
        // Claiming first raises the epoch, so a previous owner can write nothing after the
        // state below is read.
        let epoch = self
            .store
            .claim_shard(agency, self.route.node(), self.clock.now_ms())
            .await?;
        let settings = self.store.roulette_settings(agency).await?;
        let mut engine = Engine::new(engine_settings(&settings));
        let leads = self.store.live_leads(agency).await?;
        let mut refusals: HashMap<LeadId, Vec<BrokerId>> = HashMap::new();
        for (lead, broker) in self.store.current_refusals(agency).await? {
            refusals.entry(lead).or_default().push(broker);
        }
        for l in leads {
            engine.add_lead(LiveLead {
                id: l.id,
                department: l.department_id,
                arrived_ms: l.created_at_ms,
                owner: l.owner_id,
                refused: refusals.remove(&l.id).unwrap_or_default(),
            });
        }
        // Every broker with a flag or an absence, online or not: an offline client's owner who
        // is on holiday is named in the audit too, and an away fallback broker is not used.
        let now = self.clock.now_ms();
        for (broker, a) in self.store.availabilities(agency, now).await? {
            engine.set_availability(broker, engine_availability(&a));
        }
        for (dept, broker, offer) in self.store.rotation_turns(agency).await? {
            engine.restore_turn(dept, broker, offer);
        }
        for o in self.store.pending_offers(agency).await? {
            engine.restore_offer(o.id, o.lead_id, o.broker_id);
            self.arm(agency, o.id, o.deadline_ms);
        }
        self.agencies.insert(
            agency,
            Agency {
                engine,
                settings,
                epoch,
                misses: HashMap::new(),
            },
        );
        // Brokers already connected come in through the same path as any presence change,
        // so the audit records them as online before any offer reaches them.
        let online = self.roster.online_brokers(agency).await;
        self.refresh_brokers(agency, &online).await;
        Ok(())
    }

    pub(super) async fn add_lead(&mut self, agency: AgencyId, lead: LeadId) {
        if self
            .agencies
            .get(&agency)
            .is_some_and(|a| a.engine.knows_lead(lead))
        {
            return;
        }
        match self.store.live_lead(agency, lead).await {
            Ok(Some(l)) => {
                if let Some(a) = self.agencies.get_mut(&agency) {
                    a.engine.add_lead(LiveLead {
                        id: l.id,
                        department: l.department_id,
                        arrived_ms: l.created_at_ms,
                        owner: l.owner_id,
                        refused: Vec::new(),
                    });
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%agency, %lead, error = %e, "reading a new lead failed; recovery will retry")
            }
        }
    }

    /// The store disagrees with the engine about a lead: trust the store. A lead the store
    /// shows as offered has a pending offer the engine missed, so the agency is re-read whole.
    pub(super) async fn resync_lead(&mut self, agency: AgencyId, lead: LeadId) {
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.remove_lead(lead);
        }
        match self.store.live_lead(agency, lead).await {
            Ok(Some(l)) if l.state == LeadState::Offered => {
                self.agencies.remove(&agency);
                // Boxed: loading can end offers, which can resync leads, which can load. A
                // failed load is logged there; the next command or the sweep loads it again.
                Box::pin(self.ensure_loaded(agency)).await.ok();
            }
            Ok(Some(_)) => self.add_lead(agency, lead).await,
            Ok(None) => {
                self.summaries.remove(&lead);
            }
            Err(e) => tracing::warn!(%agency, %lead, error = %e, "re-reading a lead failed"),
        }
    }
}
