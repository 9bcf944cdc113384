//! One dispatcher actor: owns the engines of its agencies and the offer timers, and carries
//! out each decision in the order "commit to the store, then tell the broker". It is the only
//! writer of dispatch state for its agencies; the store's conditional updates make it safe
//! even if it is wrong about the world (a late timer, a repeated answer).

use super::engine::{Decision, Ended, Engine, EngineSettings, LiveLead};
use super::{AgencyStats, Answer, AnswerError, Command, Event};
use crate::metrics as m;
use crate::model::{AgencyId, BrokerId, LeadId, OfferId, OfferState};
use crate::presence::Hub;
use crate::store::{AuditEntry, LeadSummary, RouletteSettings, Store, StoreError, StoreResult};
use crate::Clock;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::time::{delay_queue, DelayQueue};

/// Back-off for a lead whose write failed (database briefly unreachable).
const RETRY_AFTER_ERROR_MS: i64 = 1_000;

struct Agency {
    engine: Engine,
    settings: RouletteSettings,
}

pub(crate) struct Actor {
    store: Store,
    hub: Hub,
    clock: Clock,
    rx: mpsc::Receiver<Command>,
    agencies: HashMap<AgencyId, Agency>,
    summaries: HashMap<LeadId, Arc<LeadSummary>>,
    timers: DelayQueue<(AgencyId, OfferId)>,
    timer_keys: HashMap<OfferId, delay_queue::Key>,
}

fn engine_settings(s: &RouletteSettings) -> EngineSettings {
    EngineSettings {
        everyone_refused: s.everyone_refused,
        retry_pause_ms: s.retry_pause_seconds.max(0) * 1000,
        fallback_broker: s.fallback_broker_id,
    }
}

impl Actor {
    pub(crate) fn new(store: Store, hub: Hub, clock: Clock, rx: mpsc::Receiver<Command>) -> Self {
        Self {
            store,
            hub,
            clock,
            rx,
            agencies: HashMap::new(),
            summaries: HashMap::new(),
            timers: DelayQueue::new(),
            timer_keys: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        loop {
            let wake = self.next_wake();
            tokio::select! {
                _ = cancel.cancelled() => break,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                Some(expired) = self.timers.next(), if !self.timers.is_empty() => {
                    let (agency, offer) = expired.into_inner();
                    self.timer_keys.remove(&offer);
                    self.expire(agency, offer).await;
                }
                _ = sleep_until(wake) => {
                    let due: Vec<AgencyId> = self.agencies.keys().copied().collect();
                    for agency in due {
                        self.pump(agency).await;
                    }
                }
            }
        }
        tracing::debug!("dispatcher actor stopped");
    }

    fn next_wake(&self) -> Option<tokio::time::Instant> {
        let now = self.clock.now_ms();
        self.agencies
            .values()
            .filter_map(|a| a.engine.next_wake_ms(now))
            .min()
            .map(|ms| self.clock.instant_at(ms))
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::LeadArrived { agency, lead } => {
                if self.ensure_loaded(agency).await.is_ok() {
                    self.add_lead(agency, lead).await;
                    self.pump(agency).await;
                }
            }
            Command::BrokerChanged { agency, broker } => {
                if self.ensure_loaded(agency).await.is_ok() {
                    self.refresh_broker(agency, broker).await;
                    self.pump(agency).await;
                }
            }
            Command::SettingsChanged { agency } => {
                match self.store.roulette_settings(agency).await {
                    Ok(s) => {
                        if let Some(a) = self.agencies.get_mut(&agency) {
                            a.engine.set_settings(engine_settings(&s));
                            a.settings = s;
                        }
                    }
                    Err(e) => tracing::warn!(agency, error = %e, "reloading settings failed"),
                }
                self.pump(agency).await;
            }
            Command::Load { agency } => {
                if self.ensure_loaded(agency).await.is_ok() {
                    self.pump(agency).await;
                }
            }
            Command::Answer {
                agency,
                broker,
                offer,
                answer,
                reason,
                reply,
            } => {
                let r = self.answer(agency, broker, offer, answer, reason).await;
                let _ = reply.send(r);
                self.pump(agency).await;
            }
            Command::Stats { agency, reply } => {
                let stats = self.agencies.get(&agency).map(|a| AgencyStats {
                    waiting: a.engine.waiting_count(),
                    offers_in_flight: a.engine.offers_count(),
                    oldest_waiting_ms: a.engine.oldest_waiting(),
                });
                let _ = reply.send(stats.unwrap_or_default());
            }
        }
    }

    /// Builds the agency's engine from the store the first time it is needed: settings,
    /// waiting leads, pending offers (timers re-armed), refusals and rotation order.
    async fn ensure_loaded(&mut self, agency: AgencyId) -> StoreResult<()> {
        if self.agencies.contains_key(&agency) {
            return Ok(());
        }
        let r = self.load(agency).await;
        if let Err(e) = &r {
            tracing::warn!(agency, error = %e, "loading the agency's roulette failed");
        }
        r
    }

    async fn load(&mut self, agency: AgencyId) -> StoreResult<()> {
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
        for (dept, broker, offer) in self.store.rotation_turns(agency).await? {
            engine.restore_turn(dept, broker, offer);
        }
        for o in self.store.pending_offers(agency).await? {
            engine.restore_offer(o.id, o.lead_id, o.broker_id);
            self.arm(agency, o.id, o.deadline_ms);
        }
        self.agencies.insert(agency, Agency { engine, settings });
        // Brokers already connected come in through the same path as any presence change,
        // so the audit records them as online before any offer reaches them.
        for broker in self.hub.online_brokers(agency) {
            self.refresh_broker(agency, broker).await;
        }
        Ok(())
    }

    fn arm(&mut self, agency: AgencyId, offer: OfferId, deadline_ms: i64) {
        let at = self.clock.instant_at(deadline_ms);
        match self.timer_keys.get(&offer) {
            Some(key) => self.timers.reset_at(key, at),
            None => {
                let key = self.timers.insert_at((agency, offer), at);
                self.timer_keys.insert(offer, key);
            }
        }
    }

    fn disarm(&mut self, offer: OfferId) {
        if let Some(key) = self.timer_keys.remove(&offer) {
            self.timers.try_remove(&key);
        }
    }

    async fn add_lead(&mut self, agency: AgencyId, lead: LeadId) {
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
                tracing::warn!(agency, lead, error = %e, "reading a new lead failed; recovery will retry")
            }
        }
    }

    async fn refresh_broker(&mut self, agency: AgencyId, broker: BrokerId) {
        let deps = match self.store.broker_departments(agency, broker).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(agency, broker, error = %e, "reading departments failed");
                return;
            }
        };
        let online = self.hub.is_online(broker);
        let toggled_off = self.hub.toggle(broker) == Some(false);
        let Some(a) = self.agencies.get_mut(&agency) else {
            return;
        };
        let was = a.engine.is_online(broker);
        a.engine.set_broker(broker, online, deps);
        if was != online {
            let (decision, reason) = if online {
                ("broker_online", "toggle on with a live connection")
            } else if toggled_off {
                ("broker_offline", "toggled off")
            } else {
                ("broker_offline", "no connection left")
            };
            let entry = AuditEntry {
                agency,
                broker: Some(broker),
                decision,
                reason,
                ..Default::default()
            };
            if let Err(e) = self.store.audit(&entry, self.clock.now_ms()).await {
                tracing::warn!(error = %e, "audit write failed");
            }
        }
        // Going offline on purpose hands the open offer back at once; a dropped connection
        // keeps it until its deadline so a quick reconnect still sees it.
        if !online && toggled_off {
            if let Some(offer) = a.engine.holding(broker) {
                self.end_offer(
                    agency,
                    offer,
                    None,
                    OfferState::Cancelled,
                    "broker went offline",
                )
                .await;
            }
        }
    }

    async fn answer(
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
                self.end_offer_checked(agency, offer, Some(broker), OfferState::Refused, &why)
                    .await
            }
        }
    }

    async fn expire(&mut self, agency: AgencyId, offer: OfferId) {
        let answer_seconds = self
            .agencies
            .get(&agency)
            .map_or(0, |a| a.settings.answer_seconds);
        let reason = format!("no answer within {answer_seconds} s");
        if let Some(closed) = self
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

    async fn auto_offline(&mut self, agency: AgencyId, offer: OfferId, max: i64) {
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
    async fn end_offer(
        &mut self,
        agency: AgencyId,
        offer: OfferId,
        broker: Option<BrokerId>,
        state: OfferState,
        reason: &str,
    ) -> Option<i64> {
        self.end_offer_inner(agency, offer, broker, state, reason)
            .await
            .ok()
    }

    async fn end_offer_checked(
        &mut self,
        agency: AgencyId,
        offer: OfferId,
        broker: Option<BrokerId>,
        state: OfferState,
        reason: &str,
    ) -> Result<(), AnswerError> {
        self.end_offer_inner(agency, offer, broker, state, reason)
            .await
            .map(|_| ())
    }

    async fn end_offer_inner(
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

    /// The store disagrees with the engine about a lead: trust the store. A lead the store
    /// shows as offered has a pending offer the engine missed, so the agency is re-read whole.
    async fn resync_lead(&mut self, agency: AgencyId, lead: LeadId) {
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.remove_lead(lead);
        }
        match self.store.live_lead(agency, lead).await {
            Ok(Some(l)) if l.state == "offered" => {
                self.agencies.remove(&agency);
                // Boxed: loading can end offers, which can resync leads, which can load.
                let _ = Box::pin(self.ensure_loaded(agency)).await;
            }
            Ok(Some(_)) => self.add_lead(agency, lead).await,
            Ok(None) => {
                self.summaries.remove(&lead);
            }
            Err(e) => tracing::warn!(agency, lead, error = %e, "re-reading a lead failed"),
        }
    }

    /// Carries out decisions until the engine has none: each offer is committed, then armed,
    /// then pushed.
    async fn pump(&mut self, agency: AgencyId) {
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
                                    self.hub.deliver(
                                        broker,
                                        &Event::Offered {
                                            offer: rec,
                                            lead: summary,
                                        },
                                    );
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
                    if let Err(e) = self.store.audit(&entry, now).await {
                        tracing::warn!(error = %e, "audit write failed");
                    }
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

    fn defer(&mut self, agency: AgencyId, lead: LeadId, now: i64, e: &StoreError) {
        tracing::warn!(agency, lead, error = %e, "dispatch write failed; retrying shortly");
        if let Some(a) = self.agencies.get_mut(&agency) {
            a.engine.defer(lead, now + RETRY_AFTER_ERROR_MS);
        }
    }

    async fn summary(&mut self, agency: AgencyId, lead: LeadId) -> StoreResult<Arc<LeadSummary>> {
        if let Some(s) = self.summaries.get(&lead) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.store.lead_summary(agency, lead).await?);
        self.summaries.insert(lead, s.clone());
        Ok(s)
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
