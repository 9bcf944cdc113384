//! The roulette's decisions for one agency, as a plain state machine: no I/O, no clock, no
//! randomness. The actor feeds it events and carries out its decisions; the property test
//! drives it with random histories. Rules: DOMAIN.md R2–R7 and docs/ROUTING.md.

use crate::model::{BrokerId, DepartmentId, EveryoneRefused, LeadId, OfferId};
mod availability;
mod decide;
mod rotation;

pub use availability::{Absence, Availability, Away};
use rotation::Rotation;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    pub everyone_refused: EveryoneRefused,
    pub retry_pause_ms: i64,
    pub fallback_broker: Option<BrokerId>,
}

/// A lead that needs a broker, as the store knows it.
#[derive(Debug, Clone)]
pub struct LiveLead {
    pub id: LeadId,
    pub department: DepartmentId,
    pub arrived_ms: i64,
    /// The client's linked broker (R3).
    pub owner: Option<BrokerId>,
    /// Brokers who refused (or let expire) this lead in its current round.
    pub refused: Vec<BrokerId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Offer `lead` to `broker`; the caller commits it, then calls [`Engine::offer_made`].
    Offer {
        lead: LeadId,
        broker: BrokerId,
        department: DepartmentId,
        sticky: bool,
        reason: String,
    },
    /// Every online broker of the department refused: a new round starts at `at_ms` (brokers
    /// who have not refused it — someone just online — may still get it before then).
    ScheduleRound { lead: LeadId, at_ms: i64 },
    /// The pause is over: forget this round's refusals.
    NewRound { lead: LeadId },
    /// Every online broker refused and the agency names a fallback broker.
    Fallback { lead: LeadId, broker: BrokerId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Accepted,
    /// Refused, expired, or cancelled: the lead goes back to waiting without this broker.
    NotTaken,
}

#[derive(Debug, Default)]
struct Broker {
    online: bool,
    departments: BTreeSet<DepartmentId>,
    holding: Option<OfferId>,
    availability: Availability,
}

#[derive(Debug)]
struct Lead {
    department: DepartmentId,
    arrived_ms: i64,
    owner: Option<BrokerId>,
    refused: BTreeSet<BrokerId>,
    offer: Option<OfferId>,
    not_before_ms: i64,
    round_at_ms: Option<i64>,
}

#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    brokers: HashMap<BrokerId, Broker>,
    leads: HashMap<LeadId, Lead>,
    /// Leads without an offer, per department, oldest first.
    waiting: BTreeMap<DepartmentId, BTreeSet<(i64, LeadId)>>,
    offers: HashMap<OfferId, (LeadId, BrokerId)>,
    /// Latest rotation offer per (department, broker): lower goes first (R2).
    turns: HashMap<(DepartmentId, BrokerId), OfferId>,
    rotations: HashMap<DepartmentId, Rotation>,
    /// Brokers with a flag or an absence on record (see `availability.rs`).
    sidelined: BTreeSet<BrokerId>,
}

impl Engine {
    pub fn new(settings: EngineSettings) -> Self {
        Self {
            settings,
            brokers: HashMap::new(),
            leads: HashMap::new(),
            waiting: BTreeMap::new(),
            offers: HashMap::new(),
            turns: HashMap::new(),
            rotations: HashMap::new(),
            sidelined: BTreeSet::new(),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn set_settings(&mut self, settings: EngineSettings) {
        self.settings = settings;
    }

    /// Adds a lead that needs a broker (no-op if already known).
    pub fn add_lead(&mut self, l: LiveLead) {
        if self.leads.contains_key(&l.id) {
            return;
        }
        self.waiting
            .entry(l.department)
            .or_default()
            .insert((l.arrived_ms, l.id));
        self.leads.insert(
            l.id,
            Lead {
                department: l.department,
                arrived_ms: l.arrived_ms,
                owner: l.owner,
                refused: l.refused.into_iter().collect(),
                offer: None,
                not_before_ms: 0,
                round_at_ms: None,
            },
        );
    }

    /// After a restart: a pending offer read back from the store.
    pub fn restore_offer(&mut self, offer: OfferId, lead: LeadId, broker: BrokerId) {
        self.mark_offered(lead, broker, offer);
    }

    /// A broker's presence or departments changed (R7, R9).
    pub fn set_broker(
        &mut self,
        id: BrokerId,
        online: bool,
        departments: impl IntoIterator<Item = DepartmentId>,
    ) {
        self.unindex(id);
        let b = self.brokers.entry(id).or_default();
        b.online = online;
        b.departments = departments.into_iter().collect();
        self.index(id);
    }

    pub fn is_online(&self, id: BrokerId) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.online)
    }

    pub fn holding(&self, id: BrokerId) -> Option<OfferId> {
        self.brokers.get(&id).and_then(|b| b.holding)
    }

    pub fn offer(&self, offer: OfferId) -> Option<(LeadId, BrokerId)> {
        self.offers.get(&offer).copied()
    }

    pub fn knows_lead(&self, lead: LeadId) -> bool {
        self.leads.contains_key(&lead)
    }

    pub fn waiting_count(&self) -> usize {
        self.waiting.values().map(BTreeSet::len).sum()
    }

    pub fn offers_count(&self) -> usize {
        self.offers.len()
    }

    /// Every pending offer the engine tracks.
    pub fn offer_ids(&self) -> Vec<OfferId> {
        self.offers.keys().copied().collect()
    }

    /// Brokers the engine counts as online, sorted.
    pub fn online_brokers(&self) -> Vec<BrokerId> {
        let mut v: Vec<BrokerId> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.online)
            .map(|(id, _)| *id)
            .collect();
        v.sort_unstable();
        v
    }

    /// Oldest waiting lead's arrival, per department (for the wallboard).
    pub fn oldest_waiting(&self) -> BTreeMap<DepartmentId, i64> {
        self.waiting
            .iter()
            .filter_map(|(d, q)| q.first().map(|(at, _)| (*d, *at)))
            .collect()
    }

    /// The offer decided by [`Decision::Offer`] is committed.
    pub fn offer_made(&mut self, lead: LeadId, broker: BrokerId, offer: OfferId, sticky: bool) {
        if !sticky {
            if let Some(d) = self.leads.get(&lead).map(|l| l.department) {
                self.unindex(broker);
                self.turns.insert((d, broker), offer);
                self.index(broker);
            }
        }
        self.mark_offered(lead, broker, offer);
    }

    fn mark_offered(&mut self, lead: LeadId, broker: BrokerId, offer: OfferId) {
        let Some(l) = self.leads.get_mut(&lead) else {
            return;
        };
        if let Some(q) = self.waiting.get_mut(&l.department) {
            q.remove(&(l.arrived_ms, lead));
        }
        l.offer = Some(offer);
        self.set_holding(broker, Some(offer));
        self.offers.insert(offer, (lead, broker));
    }

    /// An offer ended; returns its (lead, broker) if it was known.
    pub fn offer_ended(&mut self, offer: OfferId, how: Ended) -> Option<(LeadId, BrokerId)> {
        let (lead, broker) = self.offers.remove(&offer)?;
        if self.holding(broker) == Some(offer) {
            self.set_holding(broker, None);
        }
        match how {
            Ended::Accepted => self.remove_lead(lead),
            Ended::NotTaken => {
                if let Some(l) = self.leads.get_mut(&lead) {
                    l.offer = None;
                    l.refused.insert(broker);
                    self.waiting
                        .entry(l.department)
                        .or_default()
                        .insert((l.arrived_ms, lead));
                }
            }
        }
        Some((lead, broker))
    }

    /// Everyone refused: the refusals are forgotten at `at_ms`.
    pub fn schedule_round(&mut self, lead: LeadId, at_ms: i64) {
        if let Some(l) = self.leads.get_mut(&lead) {
            l.round_at_ms = Some(at_ms);
        }
    }

    /// A new round began: every broker may be offered the lead again.
    pub fn new_round(&mut self, lead: LeadId) {
        if let Some(l) = self.leads.get_mut(&lead) {
            l.refused.clear();
            l.round_at_ms = None;
        }
    }

    /// Holds a lead back until `at_ms` (after a failed write, say).
    pub fn defer(&mut self, lead: LeadId, at_ms: i64) {
        if let Some(l) = self.leads.get_mut(&lead) {
            l.not_before_ms = at_ms;
        }
    }

    /// The lead no longer needs a broker (assigned, or gone from the store).
    pub fn remove_lead(&mut self, lead: LeadId) {
        let Some(l) = self.leads.remove(&lead) else {
            return;
        };
        if let Some(q) = self.waiting.get_mut(&l.department) {
            q.remove(&(l.arrived_ms, lead));
        }
        if let Some(offer) = l.offer {
            if let Some((_, broker)) = self.offers.remove(&offer) {
                self.set_holding(broker, None);
            }
        }
    }

    /// When the next held-back lead becomes eligible, or (with leads waiting) the next absence
    /// starts or ends, if either happens after `now_ms`.
    pub fn next_wake_ms(&self, now_ms: i64) -> Option<i64> {
        let held = self
            .waiting
            .values()
            .flatten()
            .filter_map(|(_, id)| self.leads.get(id))
            .flat_map(|l| [Some(l.not_before_ms), l.round_at_ms])
            .flatten()
            .filter(|&t| t > now_ms)
            .min();
        let absence = if self.waiting_count() > 0 {
            self.next_absence_edge(now_ms)
        } else {
            None
        };
        held.into_iter().chain(absence).min()
    }
}
