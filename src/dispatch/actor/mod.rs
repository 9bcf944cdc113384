//! One dispatcher actor: owns the engines of its agencies and the offer timers, and carries
//! out each decision in the order "commit to the store, then tell the broker". It is the only
//! writer of dispatch state for its agencies; the store's conditional updates make it safe
//! even if it is wrong about the world (a late timer, a repeated answer).

mod brokers;
mod decisions;
mod endings;
mod recovery;
mod standing;

use super::engine::{Engine, EngineSettings};
use super::{AgencyStats, Command, Roster, Route};
use crate::model::{AgencyId, BrokerId, LeadId, OfferId};
use crate::store::{AuditEntry, LeadSummary, RouletteSettings, Store, StoreError};
use crate::Clock;
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::time::{delay_queue, DelayQueue};

/// Commands taken from the queue before pumping.
const MAX_BURST: usize = 512;

/// Back-off for a lead whose write failed (database briefly unreachable).
const RETRY_AFTER_ERROR_MS: i64 = 1_000;

struct Agency {
    engine: Engine,
    settings: RouletteSettings,
    /// The shard epoch this actor claimed: every dispatch write is fenced with it.
    epoch: i64,
    /// Cluster: heartbeats in a row a broker the engine has online was missing from presence.
    misses: HashMap<BrokerId, u8>,
}

pub(crate) struct Actor {
    store: Store,
    roster: Arc<dyn Roster>,
    route: Arc<dyn Route>,
    clock: Clock,
    rx: mpsc::Receiver<Command>,
    agencies: HashMap<AgencyId, Agency>,
    summaries: HashMap<LeadId, Arc<LeadSummary>>,
    timers: DelayQueue<(AgencyId, OfferId)>,
    timer_keys: HashMap<OfferId, delay_queue::Key>,
    /// Presence changes not yet in the audit: written together before the next offer.
    presence_audit: Vec<AuditEntry<'static>>,
    /// Set while `run` runs: found set at the start of a run, the last one panicked.
    running: bool,
}

fn engine_settings(s: &RouletteSettings) -> EngineSettings {
    EngineSettings {
        everyone_refused: s.everyone_refused,
        retry_pause_ms: s.retry_pause_seconds.max(0) * 1000,
        fallback_broker: s.fallback_broker_id,
    }
}

impl Actor {
    pub(crate) fn new(
        store: Store,
        roster: Arc<dyn Roster>,
        route: Arc<dyn Route>,
        clock: Clock,
        rx: mpsc::Receiver<Command>,
    ) -> Self {
        Self {
            store,
            roster,
            route,
            clock,
            rx,
            agencies: HashMap::new(),
            summaries: HashMap::new(),
            timers: DelayQueue::new(),
            timer_keys: HashMap::new(),
            presence_audit: Vec::new(),
            running: false,
        }
    }

    pub(crate) async fn run(&mut self, cancel: CancellationToken) {
        if std::mem::replace(&mut self.running, true) {
            self.rebuild().await;
        }
        loop {
            let wake = self.next_wake();
            tokio::select! {
                _ = cancel.cancelled() => break,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle_burst(cmd).await,
                    None => break,
                },
                Some(expired) = self.timers.next(), if !self.timers.is_empty() => {
                    // Take every other timer already due too, so they expire in one write.
                    let mut due = vec![expired.into_inner()];
                    while due.len() < MAX_BURST {
                        match futures_util::FutureExt::now_or_never(self.timers.next()) {
                            Some(Some(e)) => due.push(e.into_inner()),
                            _ => break,
                        }
                    }
                    for (_, offer) in &due {
                        self.timer_keys.remove(offer);
                    }
                    self.expire_due(due).await;
                }
                _ = sleep_until(wake) => {
                    let due: Vec<AgencyId> = self.agencies.keys().copied().collect();
                    for agency in due {
                        self.pump(agency).await;
                    }
                }
            }
        }
        self.running = false;
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

    /// Applies one command; returns the agency whose roulette must be pumped afterwards. An
    /// agency that cannot be loaded (`ensure_loaded` logs why, except a suspension or another
    /// node's agency, left alone on purpose) drops the command: the store keeps what it was
    /// about, and the safety sweep or the next command brings it back.
    async fn handle(&mut self, cmd: Command) -> Option<AgencyId> {
        match cmd {
            Command::LeadArrived { agency, lead } => {
                self.ensure_loaded(agency).await.ok()?;
                self.add_lead(agency, lead).await;
                Some(agency)
            }
            Command::BrokerChanged { agency, broker } => {
                self.ensure_loaded(agency).await.ok()?;
                self.refresh_broker(agency, broker).await;
                Some(agency)
            }
            Command::SettingsChanged { agency } => {
                self.settings_changed(agency).await;
                Some(agency)
            }
            Command::Load { agency } => {
                self.ensure_loaded(agency).await.ok()?;
                Some(agency)
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
                if reply.send(r).is_err() {
                    tracing::debug!(%agency, %offer, "the answer's caller stopped waiting");
                }
                Some(agency)
            }
            Command::Stats { agency, reply } => {
                let stats = self.agencies.get(&agency).map(|a| AgencyStats {
                    waiting: a.engine.waiting_count(),
                    offers_in_flight: a.engine.offers_count(),
                    oldest_waiting_ms: a.engine.oldest_waiting(),
                });
                if reply.send(stats.unwrap_or_default()).is_err() {
                    tracing::debug!(%agency, "the stats' caller stopped waiting");
                }
                None
            }
            Command::Own { agency } => {
                // Whatever this actor held for the agency is from an older epoch: start afresh.
                self.drop_agency(agency);
                self.ensure_loaded(agency).await.ok()?;
                Some(agency)
            }
            Command::Reload { agency } => {
                // Not loaded: the next use reads it fresh anyway.
                if self.agencies.contains_key(&agency) {
                    self.drop_agency(agency);
                    self.ensure_loaded(agency).await.ok()?;
                }
                Some(agency)
            }
            Command::Disown { agency, done } => {
                if let Some(a) = self.agencies.get(&agency) {
                    let epoch = a.epoch;
                    self.drop_agency(agency);
                    if let Err(e) = self.store.release_shard(agency, epoch).await {
                        tracing::warn!(%agency, error = %e, "releasing the shard failed");
                    }
                }
                // The drain may have given up waiting: nothing to tell then.
                if let Some(done) = done {
                    done.send(()).ok();
                }
                None
            }
            Command::Scan { agency, online } => {
                self.scan(agency, online).await;
                Some(agency)
            }
        }
    }

    /// The epoch this actor dispatches the agency under (0, never valid, if it does not).
    pub(super) fn epoch(&self, agency: AgencyId) -> i64 {
        self.agencies.get(&agency).map_or(0, |a| a.epoch)
    }

    /// Forgets the agency: its engine and the timers of its offers (they stay pending in the
    /// store for whoever dispatches the agency next).
    fn drop_agency(&mut self, agency: AgencyId) {
        if let Some(a) = self.agencies.remove(&agency) {
            for offer in a.engine.offer_ids() {
                self.disarm(offer);
            }
        }
    }

    /// A write was refused by the fence: another node dispatches the agency now. Stop at once.
    pub(super) async fn fenced(&mut self, agency: AgencyId) {
        if self.refuse_suspended(agency).await.is_err() {
            // Suspended by another process (the command line): the fence refused on purpose.
            return self.suspended(agency);
        }
        let epoch = self.agencies.get(&agency).map_or(0, |a| a.epoch);
        tracing::warn!(%agency, epoch, "fenced: another node took this agency over");
        crate::metrics::fenced();
        self.drop_agency(agency);
        self.route.lost(agency);
        let reason = format!("write refused: epoch {epoch} is no longer the dispatching one");
        let entry = AuditEntry {
            agency,
            decision: "fenced",
            reason: &reason,
            ..Default::default()
        };
        self.audit(&entry).await;
    }

    /// Handles a store error of a dispatch write; true if it was the fence (agency dropped).
    pub(super) async fn was_fenced(&mut self, agency: AgencyId, e: &StoreError) -> bool {
        if matches!(e, StoreError::Fenced { .. }) {
            self.fenced(agency).await;
            true
        } else {
            false
        }
    }

    /// Handles `first` and whatever else is already queued (bounded), then pumps each agency
    /// touched once: under load, leads that arrived together are offered in one batch, one
    /// disk sync, instead of one sync each. Broker changes that come in a row are read from
    /// the store together; any other command first flushes them, so order is kept.
    async fn handle_burst(&mut self, first: Command) {
        let mut touched = BTreeSet::new();
        let mut changed: Vec<(AgencyId, BrokerId)> = Vec::new();
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(cmd) = next.take() {
            match cmd {
                Command::BrokerChanged { agency, broker } => changed.push((agency, broker)),
                other => {
                    self.brokers_changed(&mut changed, &mut touched).await;
                    touched.extend(self.handle(other).await);
                }
            }
            if taken < MAX_BURST {
                taken += 1;
                next = self.rx.try_recv().ok();
            }
        }
        self.brokers_changed(&mut changed, &mut touched).await;
        for agency in touched {
            self.pump(agency).await;
        }
    }

    /// The broker changes gathered by [`Actor::handle_burst`], one batch per agency.
    async fn brokers_changed(
        &mut self,
        changed: &mut Vec<(AgencyId, BrokerId)>,
        touched: &mut BTreeSet<AgencyId>,
    ) {
        let mut by_agency: BTreeMap<AgencyId, Vec<BrokerId>> = BTreeMap::new();
        for (agency, broker) in changed.drain(..) {
            let list = by_agency.entry(agency).or_default();
            if !list.contains(&broker) {
                list.push(broker);
            }
        }
        for (agency, brokers) in by_agency {
            if self.ensure_loaded(agency).await.is_ok() {
                self.refresh_brokers(agency, &brokers).await;
                touched.insert(agency);
            }
        }
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

    /// Best-effort audit of a decision that has no transaction of its own.
    pub(super) async fn audit(&self, entry: &AuditEntry<'_>) {
        if let Err(e) = self.store.audit(entry, self.clock.now_ms()).await {
            tracing::warn!(error = %e, "audit write failed");
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
