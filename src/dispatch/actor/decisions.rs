//! Carrying decisions out, always in the order "commit to the store, arm the timer, tell the
//! broker": offers, answers, expiries, new rounds, the fallback, auto-offline.

use super::{Actor, RETRY_AFTER_ERROR_MS};
use crate::dispatch::engine::{Decision, Ended};
use crate::dispatch::{Answer, AnswerError, Event};
use crate::metrics as m;
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};
use crate::push::PushJob;
use crate::store::{AuditEntry, LeadSummary, StoreError, StoreResult};
use std::sync::Arc;

impl Actor {
    /// Carries out decisions until the engine has none: each offer is committed, then armed,
    /// then pushed.
    pub(super) async fn pump(&mut self, agency: AgencyId) {
        loop {
            let now = self.clock.now_ms();
            let Some(a) = self.agencies.get(&agency) else {
                return;
            };
            let Some(decision) = a.engine.decide(now) else {
                return;
            };
            let answer_ms = a.settings.answer_seconds.max(1) * 1000;
            match decision {
                Decision::Offer {
                    lead,
                    broker,
                    department,
                    sticky,
                    reason,
                } => {
                    let deadline = now + answer_ms;
                    match self
                        .store
                        .commit_offer(
                            agency, lead, broker, department, sticky, &reason, now, deadline,
                        )
                        .await
                    {
                        Ok(Some(rec)) => {
                            if let Some(a) = self.agencies.get_mut(&agency) {
                                a.engine.offer_made(lead, broker, rec.id, sticky);
                            }
                            self.arm(agency, rec.id, deadline);
                            m::offer_made();
                            match self.summary(agency, lead).await {
                                Ok(summary) => {
                                    // Pages in the background get a web push as well (R8).
                                    if !self.hub.any_visible(broker) {
                                        self.push.offer(PushJob {
                                            agency,
                                            broker,
                                            offer: rec.id,
                                            deadline_ms: rec.deadline_ms,
                                            client_name: summary.client_name.clone(),
                                        });
                                    }
                                    let ev = Event::Offered {
                                        offer: rec,
                                        lead: summary,
                                    };
                                    self.hub.deliver(broker, &ev);
                                }
                                Err(e) => {
                                    tracing::warn!(lead, error = %e, "reading the lead summary failed")
                                }
                            }
                        }
                        Ok(None) => self.resync_lead(agency, lead).await,
                        Err(e) => self.defer(agency, lead, now, &e),
                    }
                }
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

    pub(super) async fn expire(&mut self, agency: AgencyId, offer: OfferId) {
        let answer_seconds = self
            .agencies
            .get(&agency)
            .map_or(0, |a| a.settings.answer_seconds);
        let reason = format!("no answer within {answer_seconds} s");
        if let Ok(closed) = self
            .end_offer(agency, offer, None, OfferState::Expired, &reason)
            .await
        {
            let max = self
                .agencies
                .get(&agency)
                .map_or(0, |a| a.settings.max_missed_in_row);
            if max > 0 && closed >= max {
                self.auto_offline(agency, offer, max).await;
            }
        }
        self.pump(agency).await;
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
        self.disarm(offer);
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.offer_ended(offer, Ended::NotTaken);
        }
        m::offer_ended(state);
        self.hub.deliver(
            closed.broker_id,
            &Event::OfferEnded {
                offer,
                outcome: state,
                reason: reason.to_string(),
            },
        );
        Ok(closed.missed_in_row)
    }
}
