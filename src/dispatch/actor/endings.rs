//! How offers end without an acceptance being pending any more: a broker's answer, expiries
//! that fall due (batched), going offline on purpose, and auto-offline after missed offers.

use super::{Actor, RETRY_AFTER_ERROR_MS};
use crate::dispatch::engine::Ended;
use crate::dispatch::{Answer, AnswerError, Event};
use crate::metrics as m;
use crate::model::{AgencyId, BrokerId, OfferId, OfferState};
use crate::store::Closed;

impl Actor {
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
                let epoch = self.epoch(agency);
                let acc = match self
                    .store
                    .accept_offer(agency, epoch, offer, broker, now)
                    .await
                {
                    Ok(r) => r?,
                    Err(e) => {
                        return Err(if self.was_fenced(agency, &e).await {
                            AnswerError::Moving
                        } else {
                            e.into()
                        });
                    }
                };
                self.disarm(offer);
                if let Some(a) = self.agencies.get_mut(&agency) {
                    a.engine.offer_ended(offer, Ended::Accepted);
                }
                self.summaries.remove(&acc.lead_id);
                m::offer_ended(OfferState::Accepted);
                m::time_to_accept(now - acc.offered_at_ms);
                self.roster.deliver(
                    broker,
                    Event::Assigned {
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
            let epoch = self.epoch(agency);
            match self
                .store
                .expire_offers(agency, epoch, &offers, &reason, now)
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
                Err(e) if self.was_fenced(agency, &e).await => continue,
                Err(e) => {
                    tracing::warn!(%agency, error = %e, "expiring offers failed; retrying shortly");
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
        self.roster
            .set_toggle(agency, o.broker_id, false, &reason)
            .await;
        self.roster.deliver(
            o.broker_id,
            Event::Presence {
                online: false,
                reason,
                missed: Some(max),
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
        let epoch = self.epoch(agency);
        let closed = match self
            .store
            .close_offer(agency, epoch, offer, broker, state, reason, now)
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
                if self.was_fenced(agency, &e).await {
                    return Err(AnswerError::Moving);
                }
                tracing::warn!(%agency, %offer, error = %e, "closing an offer failed");
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
        self.roster.deliver(closed.broker_id, ev);
    }
}
