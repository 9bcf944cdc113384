//! Carrying decisions out, always in the order "commit to the store, arm the timer, tell the
//! broker": offers (batched), new rounds and the fallback. How offers end is in `endings.rs`.

use super::{Actor, RETRY_AFTER_ERROR_MS};
use crate::dispatch::engine::Decision;
use crate::dispatch::Event;
use crate::metrics as m;
use crate::model::{AgencyId, LeadId, OfferId};
use crate::store::{AuditEntry, LeadSummary, OfferDraft, OfferRecord, StoreError, StoreResult};
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
        self.flush_presence_audit().await;
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
                        let provisional = OfferId(-(batch.len() as i64) - 1);
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
        let epoch = self.epoch(agency);
        match self
            .store
            .commit_offers(agency, epoch, &drafts, now, deadline)
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
                if self.was_fenced(agency, &e).await {
                    return;
                }
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
        let lead = rec.lead_id;
        match self.summary(agency, lead).await {
            Ok(summary) => self.roster.offer(agency, rec, summary),
            Err(e) => tracing::warn!(%lead, error = %e, "reading the lead summary failed"),
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
                let epoch = self.epoch(agency);
                match self
                    .store
                    .new_round(
                        agency,
                        epoch,
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
                    Err(e) => {
                        if !self.was_fenced(agency, &e).await {
                            self.defer(agency, lead, now, &e);
                        }
                    }
                }
            }
            Decision::Fallback { lead, broker } => {
                let reason = "refused by every online broker; given to the fallback broker";
                let epoch = Some(self.epoch(agency));
                match self
                    .store
                    .assign_lead(agency, epoch, lead, broker, "waiting", reason, now)
                    .await
                {
                    Ok(Some((attendance_id, kind))) => {
                        if let Some(a) = self.agencies.get_mut(&agency) {
                            a.engine.remove_lead(lead);
                        }
                        self.summaries.remove(&lead);
                        self.roster.deliver(
                            broker,
                            Event::Assigned {
                                lead,
                                offer: None,
                                attendance_id,
                                kind,
                            },
                        );
                    }
                    Ok(None) => self.resync_lead(agency, lead).await,
                    Err(e) => {
                        if !self.was_fenced(agency, &e).await {
                            self.defer(agency, lead, now, &e);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn defer(&mut self, agency: AgencyId, lead: LeadId, now: i64, e: &StoreError) {
        tracing::warn!(%agency, %lead, error = %e, "dispatch write failed; retrying shortly");
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
}
