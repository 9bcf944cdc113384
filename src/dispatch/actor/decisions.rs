//! Carrying decisions out, always in the order "commit to the store, arm the timer, tell the
//! broker": offers, answers, expiries, new rounds, the fallback, auto-offline.

use super::{Actor, RETRY_AFTER_ERROR_MS};
use crate::dispatch::engine::{Decision, Ended};
use crate::dispatch::{Answer, AnswerError, Event};
use crate::metrics as m;
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};
use crate::push::PushJob;
use crate::store::{
    AuditEntry, Closed, LeadSummary, OfferDraft, OfferRecord, StoreError, StoreResult,
};
use std::sync::Arc;

/// Offers written per transaction at most.
const MAX_BATCH: usize = 256;

/// An offer decided but not yet written.
struct Pending {
    draft: OfferDraft,
    provisional: OfferId,
    previous_turn: Option<OfferId>,
}

impl Actor {
    /// Carries out decisions until the engine has none. Offers decided one after another are
    /// written in one transaction (one disk sync for the batch), then each is armed and pushed.
    pub(super) async fn pump(&mut self, agency: AgencyId) {
        loop {
            let now = self.clock.now_ms();
            let Some(a) = self.agencies.get_mut(&agency) else {
                return;
            };
            let deadline = now + a.settings.answer_seconds.max(1) * 1000;
            let mut batch: Vec<Pending> = Vec::new();
            let mut other = None;
            while batch.len() < MAX_BATCH {
                match a.engine.decide(now) {
                    Some(Decision::Offer {
                        lead,
                        broker,
                        department,
                        sticky,
                        reason,
                    }) => {
                        // Provisional ids (negative) let the engine see the broker as busy
                        // while the batch is being decided; real ids replace them after commit.
                        let provisional = -(batch.len() as i64) - 1;
                        let previous_turn = a.engine.turn(department, broker);
                        a.engine.offer_made(lead, broker, provisional, sticky);
                        batch.push(Pending {
                            draft: OfferDraft {
                                lead,
                                broker,
                                department,
                                sticky,
                                reason,
                            },
                            provisional,
                            previous_turn,
                        });
                    }
                    Some(d) => {
                        other = Some(d);
                        break;
                    }
                    None => break,
                }
            }
            if batch.is_empty() && other.is_none() {
                return;
            }
            if !batch.is_empty() {
                self.commit_batch(agency, batch, now, deadline).await;
            }
            if let Some(d) = other {
                self.carry_out(agency, d, now).await;
            }
        }
    }

    async fn commit_batch(
        &mut self,
        agency: AgencyId,
        batch: Vec<Pending>,
        now: i64,
        deadline: i64,
    ) {
        let drafts: Vec<OfferDraft> = batch.iter().map(|p| p.draft.clone()).collect();
        match self
            .store
            .commit_offers(agency, &drafts, now, deadline)
            .await
        {
            Ok(records) => {
                for (p, rec) in batch.into_iter().zip(records) {
                    match rec {
                        Some(rec) => {
                            if let Some(a) = self.agencies.get_mut(&agency) {
                                a.engine.rekey_offer(p.provisional, rec.id);
                            }
                            self.arm(agency, rec.id, rec.deadline_ms);
                            m::offer_made();
                            self.deliver_offer(agency, rec).await;
                        }
                        None => {
                            self.undo(agency, &p);
                            self.resync_lead(agency, p.draft.lead).await;
                        }
                    }
                }
            }
            Err(e) => {
                for p in &batch {
                    self.undo(agency, p);
                    self.defer(agency, p.draft.lead, now, &e);
                }
            }
        }
    }

    fn undo(&mut self, agency: AgencyId, p: &Pending) {
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine
                .undo_offer(p.provisional, p.draft.department, p.previous_turn);
        }
    }

    /// Pushes a committed offer to the broker's pages, and by web push if none is in front.
    async fn deliver_offer(&mut self, agency: AgencyId, rec: OfferRecord) {
        let (lead, broker) = (rec.lead_id, rec.broker_id);
        match self.summary(agency, lead).await {
            Ok(summary) => {
                if !self.hub.any_visible(broker) {
                    self.push.offer(PushJob {
                        agency,
                        broker,
                        offer: rec.id,
                        deadline_ms: rec.deadline_ms,
                        client_name: summary.client_name.clone(),
                    });
                }
                self.hub.deliver(
                    broker,
                    &Event::Offered {
                        offer: rec,
                        lead: summary,
                    },
                );
            }
            Err(e) => tracing::warn!(lead, error = %e, "reading the lead summary failed"),
        }
    }

    /// Every decision but an offer.
    async fn carry_out(&mut self, agency: AgencyId, decision: Decision, now: i64) {
        match decision {
            Decision::Offer { .. } => {}
            Decision::ScheduleRound { lead, at_ms } => {
                if let Some(a) = self.agencies.get_mut(&agency) {
                    a.engine.schedule_round(lead, at_ms);
                }
                let reason = format!(
                    "refused by every online broker; next round in {} s",
                    (at_ms - now) / 1000
                );
                let entry = AuditEntry {
                    agency,
                    lead: Some(lead),
                    decision: "everyone_refused",
                    reason: &reason,
                    ..Default::default()
                };
                self.audit(&entry).await;
            }
            Decision::NewRound { lead } => {
                match self
                    .store
                    .new_round(
                        agency,
                        lead,
                        "the pause after everyone refused is over",
                        now,
                    )
                    .await
                {
                    Ok(Some(_)) => {
                        if let Some(a) = self.agencies.get_mut(&agency) {
                            a.engine.new_round(lead);
                        }
                    }
                    Ok(None) => self.resync_lead(agency, lead).await,
                    Err(e) => self.defer(agency, lead, now, &e),
                }
            }
            Decision::Fallback { lead, broker } => {
                let reason = "refused by every online broker; given to the fallback broker";
                match self
                    .store
                    .assign_lead(agency, lead, broker, "waiting", reason, now)
                    .await
                {
                    Ok(Some((attendance_id, kind))) => {
                        if let Some(a) = self.agencies.get_mut(&agency) {
                            a.engine.remove_lead(lead);
                        }
                        self.summaries.remove(&lead);
                        self.hub.deliver(
                            broker,
                            &Event::Assigned {
                                lead,
                                offer: None,
                                attendance_id,
                                kind,
                            },
                        );
                    }
                    Ok(None) => self.resync_lead(agency, lead).await,
                    Err(e) => self.defer(agency, lead, now, &e),
                }
            }
        }
    }

    pub(super) fn defer(&mut self, agency: AgencyId, lead: LeadId, now: i64, e: &StoreError) {
        tracing::warn!(agency, lead, error = %e, "dispatch write failed; retrying shortly");
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.defer(lead, now + RETRY_AFTER_ERROR_MS);
        }
    }

    pub(super) async fn summary(
        &mut self,
        agency: AgencyId,
        lead: LeadId,
    ) -> StoreResult<Arc<LeadSummary>> {
        if let Some(s) = self.summaries.get(&lead) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.store.lead_summary(agency, lead).await?);
        self.summaries.insert(lead, s.clone());
        Ok(s)
    }

    pub(super) async fn answer(
        &mut self,
        agency: AgencyId,
        broker: BrokerId,
        offer: OfferId,
        answer: Answer,
        reason: Option<String>,
    ) -> Result<(), AnswerError> {
        let now = self.clock.now_ms();
        self.ensure_loaded(agency).await?;
        match answer {
            Answer::Accept => {
                let acc = self
                    .store
                    .accept_offer(agency, offer, broker, now)
                    .await??;
                self.disarm(offer);
                if let Some(a) = self.agencies.get_mut(&agency) {
                    a.engine.offer_ended(offer, Ended::Accepted);
                }
                self.summaries.remove(&acc.lead_id);
                m::offer_ended(OfferState::Accepted);
                m::time_to_accept(now - acc.offered_at_ms);
                self.hub.deliver(
                    broker,
                    &Event::Assigned {
                        lead: acc.lead_id,
                        offer: Some(offer),
                        attendance_id: acc.attendance_id,
                        kind: acc.kind,
                    },
                );
                Ok(())
            }
            Answer::Refuse => {
                let why = reason.unwrap_or_else(|| "refused by broker".into());
                self.end_offer(agency, offer, Some(broker), OfferState::Refused, &why)
                    .await
                    .map(|_| ())
            }
        }
    }

    /// Expires every offer whose timer fell due together: one transaction per agency (one disk
    /// sync however many fell due), then each lead moves on. If the write fails, the timers are
    /// armed again so no offer is left pending without one.
    pub(super) async fn expire_due(&mut self, due: Vec<(AgencyId, OfferId)>) {
        let mut by_agency: std::collections::BTreeMap<AgencyId, Vec<OfferId>> = Default::default();
        for (agency, offer) in due {
            by_agency.entry(agency).or_default().push(offer);
        }
        for (agency, offers) in by_agency {
            let (answer_seconds, max) = self.agencies.get(&agency).map_or((0, 0), |a| {
                (a.settings.answer_seconds, a.settings.max_missed_in_row)
            });
            let reason = format!("no answer within {answer_seconds} s");
            let now = self.clock.now_ms();
            match self
                .store
                .expire_offers(agency, &offers, &reason, now)
                .await
            {
                Ok(results) => {
                    for (offer, closed) in offers.into_iter().zip(results) {
                        match closed {
                            Some(c) => {
                                self.after_close(agency, offer, &c, OfferState::Expired, &reason);
                                if max > 0 && c.missed_in_row >= max {
                                    self.auto_offline(agency, offer, max).await;
                                }
                            }
                            None => {
                                let lead = self
                                    .agencies
                                    .get(&agency)
                                    .and_then(|a| a.engine.offer(offer));
                                if let Some((lead, _)) = lead {
                                    self.resync_lead(agency, lead).await;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(agency, error = %e, "expiring offers failed; retrying shortly");
                    for offer in offers {
                        self.arm(agency, offer, now + RETRY_AFTER_ERROR_MS);
                    }
                }
            }
            self.pump(agency).await;
        }
    }

    pub(super) async fn auto_offline(&mut self, agency: AgencyId, offer: OfferId, max: i64) {
        let Ok(o) = self.store.offer(agency, offer).await else {
            return;
        };
        let reason = format!("{max} offers in a row expired without an answer");
        if let Err(e) = self
            .store
            .auto_offline(agency, o.broker_id, &reason, self.clock.now_ms())
            .await
        {
            tracing::warn!(error = %e, "auto-offline failed");
            return;
        }
        self.hub.set_toggle(o.broker_id, false);
        self.hub.deliver(
            o.broker_id,
            &Event::Presence {
                online: false,
                reason,
            },
        );
        if let Some(a) = self.agencies.get_mut(&agency) {
            let deps: Vec<i64> = Vec::new();
            a.engine.set_broker(o.broker_id, false, deps);
        }
    }

    /// Ends a pending offer without acceptance; returns the broker's missed-in-a-row count.
    pub(super) async fn end_offer(
        &mut self,
        agency: AgencyId,
        offer: OfferId,
        broker: Option<BrokerId>,
        state: OfferState,
        reason: &str,
    ) -> Result<i64, AnswerError> {
        let now = self.clock.now_ms();
        let closed = match self
            .store
            .close_offer(agency, offer, broker, state, reason, now)
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(rejection)) => {
                // Already ended elsewhere: bring the engine back in line with the store.
                if let Some((lead, _)) = self
                    .agencies
                    .get(&agency)
                    .and_then(|a| a.engine.offer(offer))
                {
                    self.resync_lead(agency, lead).await;
                }
                return Err(rejection.into());
            }
            Err(e) => {
                tracing::warn!(agency, offer, error = %e, "closing an offer failed");
                return Err(e.into());
            }
        };
        self.after_close(agency, offer, &closed, state, reason);
        Ok(closed.missed_in_row)
    }

    /// The engine, the metrics and the broker's pages learn that an offer ended untaken.
    fn after_close(
        &mut self,
        agency: AgencyId,
        offer: OfferId,
        closed: &Closed,
        state: OfferState,
        reason: &str,
    ) {
        self.disarm(offer);
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.offer_ended(offer, Ended::NotTaken);
        }
        m::offer_ended(state);
        let ev = Event::OfferEnded {
            offer,
            outcome: state,
            reason: reason.to_string(),
        };
        self.hub.deliver(closed.broker_id, &ev);
    }
}
