#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Property tests of the dispatcher's decisions. A simulated store plays the database; random
//! histories of leads, toggles, accepts, refusals, timeouts, pauses and restarts drive the
//! engine, and after every step: at most one holder and one pending offer per lead, at most one
//! offer per broker, no offer to an offline broker, none to a broker the manager took out of
//! the roulette or who is inside an absence period, nothing lost. At the end every offer ends.
//! A second property checks fairness: with a stable roster, offer counts differ by at most one;
//! a third that an absent broker is offered the waiting lead when the absence ends, by time.

use proptest::prelude::*;
use roleta::dispatch::engine::{
    Absence, Availability, Decision, Ended, Engine, EngineSettings, LiveLead,
};
use roleta::model::{AbsenceReason, BrokerId, EveryoneRefused, LeadId, OfferId};
use std::collections::{BTreeMap, BTreeSet};

const ANSWER_MS: i64 = 20_000;

#[derive(Debug, Clone)]
enum Op {
    Lead {
        dept: i64,
        owner: Option<BrokerId>,
    },
    Toggle {
        broker: BrokerId,
        online: bool,
    },
    Accept(usize),
    Refuse(usize),
    Timeout(usize),
    Advance(i64),
    /// The manager switches "participa da roleta" off (true) or on.
    Exclude {
        broker: BrokerId,
        excluded: bool,
    },
    /// The manager sets an absence `[now + start, now + start + len)`, or clears it.
    Absence {
        broker: BrokerId,
        window: Option<(i64, i64)>,
    },
    Restart,
    /// The next batch of offers fails to write (database unreachable): all of it is undone.
    FailNextBatch,
}

#[derive(Debug, Clone, PartialEq)]
enum LeadSt {
    Waiting,
    Offered(OfferId),
    Assigned(BrokerId),
}

#[derive(Debug)]
struct SimLead {
    dept: i64,
    arrived: i64,
    owner: Option<BrokerId>,
    st: LeadSt,
    refused: BTreeSet<BrokerId>,
}

#[derive(Debug)]
struct SimOffer {
    lead: LeadId,
    broker: BrokerId,
    dept: i64,
    sticky: bool,
    pending: bool,
    made_at: i64,
}

struct Sim {
    settings: EngineSettings,
    engine: Engine,
    depts: BTreeMap<BrokerId, Vec<i64>>,
    online: BTreeMap<BrokerId, bool>,
    /// Per broker: excluded, and the absence window `[from, until)`.
    away: BTreeMap<BrokerId, (bool, Option<(i64, i64)>)>,
    leads: BTreeMap<LeadId, SimLead>,
    offers: BTreeMap<OfferId, SimOffer>,
    offered: BTreeMap<BrokerId, u32>,
    now: i64,
    fail_next_batch: bool,
}

impl Sim {
    fn new(brokers: i64, settings: EngineSettings) -> Self {
        let mut depts = BTreeMap::new();
        for b in 1..=brokers {
            // Broker 1 is in both departments; the others alternate.
            let d = if b == 1 { vec![0, 1] } else { vec![b % 2] };
            depts.insert(BrokerId(b), d);
        }
        let online = (1..=brokers).map(|b| (BrokerId(b), false)).collect();
        Sim {
            engine: Engine::new(settings.clone()),
            settings,
            depts,
            online,
            away: BTreeMap::new(),
            leads: BTreeMap::new(),
            offers: BTreeMap::new(),
            offered: BTreeMap::new(),
            now: 1_000,
            fail_next_batch: false,
        }
    }

    /// Whether the store says the broker may not be offered a lead at `now`.
    fn is_away(&self, broker: BrokerId, now: i64) -> bool {
        match self.away.get(&broker) {
            Some((excluded, window)) => {
                *excluded || window.is_some_and(|(from, until)| from <= now && now < until)
            }
            None => false,
        }
    }

    fn availability(&self, broker: BrokerId) -> Availability {
        let (excluded, window) = self.away.get(&broker).copied().unwrap_or_default();
        Availability {
            excluded,
            absence: window.map(|(from_ms, until_ms)| Absence {
                from_ms,
                until_ms,
                reason: AbsenceReason::Ferias,
                last_day: "05/01".into(),
            }),
        }
    }

    fn pending(&self) -> Vec<OfferId> {
        self.offers
            .iter()
            .filter(|(_, o)| o.pending)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Decides like the actor: offers decided one after another get provisional ids, then are
    /// written as a batch (or undone when the write fails) and re-keyed to real ids.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut batch = Vec::new();
            let mut other = None;
            while let Some(d) = self.engine.decide(self.now) {
                match d {
                    Decision::Offer {
                        lead,
                        broker,
                        department,
                        sticky,
                        ..
                    } => {
                        assert!(self.online[&broker], "I6: offer to offline broker {broker}");
                        assert!(
                            !self.is_away(broker, self.now),
                            "offer to broker {broker}, who is out of the roulette or absent (sticky: {sticky})"
                        );
                        assert!(
                            !self
                                .offers
                                .values()
                                .any(|o| o.pending && o.broker == broker),
                            "broker {broker} holds two offers"
                        );
                        assert!(
                            !batch.iter().any(|(_, b, _, _, _, _)| *b == broker),
                            "broker {broker} twice in one batch"
                        );
                        assert_eq!(
                            self.leads[&lead].st,
                            LeadSt::Waiting,
                            "I2: second offer for lead {lead}"
                        );
                        assert_eq!(self.leads[&lead].dept, department);
                        let provisional = OfferId(-(batch.len() as i64) - 1);
                        let previous = self.engine.turn(department, broker);
                        self.engine.offer_made(lead, broker, provisional, sticky);
                        batch.push((lead, broker, department, sticky, provisional, previous));
                    }
                    d => {
                        other = Some(d);
                        break;
                    }
                }
            }
            if batch.is_empty() && other.is_none() {
                return;
            }
            let fail = std::mem::take(&mut self.fail_next_batch) && !batch.is_empty();
            for (lead, broker, department, sticky, provisional, previous) in batch {
                if fail {
                    self.engine.undo_offer(provisional, department, previous);
                    self.engine.defer(lead, self.now + 1_000);
                    continue;
                }
                let id = OfferId(self.offers.keys().next_back().map_or(1, |k| k.0 + 1));
                self.leads.get_mut(&lead).expect("lead").st = LeadSt::Offered(id);
                self.offers.insert(
                    id,
                    SimOffer {
                        lead,
                        broker,
                        dept: department,
                        sticky,
                        pending: true,
                        made_at: self.now,
                    },
                );
                *self.offered.entry(broker).or_default() += 1;
                self.engine.rekey_offer(provisional, id);
            }
            match other {
                Some(Decision::ScheduleRound { lead, at_ms }) => {
                    assert!(at_ms >= self.now);
                    self.engine.schedule_round(lead, at_ms);
                }
                Some(Decision::NewRound { lead }) => {
                    self.leads.get_mut(&lead).expect("lead").refused.clear();
                    self.engine.new_round(lead);
                }
                Some(Decision::Fallback { lead, broker }) => {
                    assert!(
                        !self.is_away(broker, self.now),
                        "lead {lead} given to fallback broker {broker}, who is away"
                    );
                    let l = self.leads.get_mut(&lead).expect("lead");
                    assert_eq!(l.st, LeadSt::Waiting);
                    l.st = LeadSt::Assigned(broker);
                    self.engine.remove_lead(lead);
                }
                _ => {}
            }
        }
        panic!("the engine kept deciding: no fixed point");
    }

    fn end(&mut self, offer: OfferId, accepted: bool) {
        let o = self.offers.get_mut(&offer).expect("offer");
        assert!(o.pending);
        o.pending = false;
        let (lead, broker) = (o.lead, o.broker);
        let l = self.leads.get_mut(&lead).expect("lead");
        if accepted {
            l.st = LeadSt::Assigned(broker);
            self.engine.offer_ended(offer, Ended::Accepted);
        } else {
            l.st = LeadSt::Waiting;
            l.refused.insert(broker);
            self.engine.offer_ended(offer, Ended::NotTaken);
        }
    }

    fn toggle(&mut self, broker: BrokerId, online: bool) {
        self.online.insert(broker, online);
        self.engine
            .set_broker(broker, online, self.depts[&broker].clone());
        if !online {
            // The actor hands back the offer of a broker who goes offline on purpose.
            if let Some(o) = self
                .pending()
                .into_iter()
                .find(|o| self.offers[o].broker == broker)
            {
                self.end(o, false);
            }
        }
    }

    /// Rebuilds the engine from the "store" the way the actor does after a restart.
    fn restart(&mut self) {
        let mut e = Engine::new(self.settings.clone());
        for (&id, l) in &self.leads {
            if !matches!(l.st, LeadSt::Assigned(_)) {
                e.add_lead(LiveLead {
                    id,
                    department: l.dept,
                    arrived_ms: l.arrived,
                    owner: l.owner,
                    refused: l.refused.iter().copied().collect(),
                });
            }
        }
        for (&id, o) in &self.offers {
            if !o.sticky {
                e.restore_turn(o.dept, o.broker, id);
            }
            if o.pending {
                e.restore_offer(id, o.lead, o.broker);
            }
        }
        // The actor reads every broker's availability when it loads the agency.
        for &b in self.away.keys() {
            e.set_availability(b, self.availability(b));
        }
        for (&b, &on) in &self.online {
            if on {
                e.set_broker(b, true, self.depts[&b].clone());
            }
        }
        self.engine = e;
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Lead { dept, owner } => {
                let id = LeadId(self.leads.keys().next_back().map_or(1, |k| k.0 + 1));
                self.now += 1;
                self.leads.insert(
                    id,
                    SimLead {
                        dept,
                        arrived: self.now,
                        owner,
                        st: LeadSt::Waiting,
                        refused: BTreeSet::new(),
                    },
                );
                self.engine.add_lead(LiveLead {
                    id,
                    department: dept,
                    arrived_ms: self.now,
                    owner,
                    refused: vec![],
                });
            }
            Op::Toggle { broker, online } => self.toggle(broker, online),
            Op::Accept(i) | Op::Refuse(i) | Op::Timeout(i) => {
                let p = self.pending();
                if !p.is_empty() {
                    if matches!(op, Op::Timeout(_)) {
                        self.now += ANSWER_MS;
                    }
                    self.end(p[i % p.len()], matches!(op, Op::Accept(_)));
                }
            }
            Op::Advance(ms) => self.advance(ms),
            Op::Exclude { broker, excluded } => {
                self.away.entry(broker).or_default().0 = excluded;
                self.engine
                    .set_availability(broker, self.availability(broker));
            }
            Op::Absence { broker, window } => {
                let window = window.map(|(start, len)| (self.now + start, self.now + start + len));
                self.away.entry(broker).or_default().1 = window;
                self.engine
                    .set_availability(broker, self.availability(broker));
            }
            Op::Restart => self.restart(),
            Op::FailNextBatch => self.fail_next_batch = true,
        }
        self.pump();
        self.check();
    }

    /// Lets time pass the way the actor does: it wakes at each moment the engine asks for (a
    /// held-back lead, a new round, an absence starting or ending) and decides then.
    fn advance(&mut self, ms: i64) {
        let target = self.now + ms;
        while let Some(at) = self.engine.next_wake_ms(self.now).filter(|&t| t <= target) {
            self.now = at;
            self.pump();
        }
        self.now = target;
    }

    fn check(&self) {
        let mut per_broker = BTreeMap::new();
        for o in self.offers.values().filter(|o| o.pending) {
            *per_broker.entry(o.broker).or_insert(0) += 1;
            assert_eq!(
                self.leads[&o.lead].st,
                LeadSt::Offered(
                    self.offers
                        .iter()
                        .find(|(_, x)| x.pending && x.lead == o.lead)
                        .map(|(k, _)| *k)
                        .unwrap_or_default()
                )
            );
        }
        assert!(
            per_broker.values().all(|&n| n <= 1),
            "a broker holds two offers"
        );
        let per_lead =
            self.offers
                .values()
                .filter(|o| o.pending)
                .fold(BTreeMap::new(), |mut m, o| {
                    *m.entry(o.lead).or_insert(0) += 1;
                    m
                });
        assert!(
            per_lead.values().all(|&n| n <= 1),
            "I2: a lead has two pending offers"
        );
        let waiting = self
            .leads
            .values()
            .filter(|l| l.st == LeadSt::Waiting)
            .count();
        assert_eq!(
            self.engine.waiting_count(),
            waiting,
            "engine and store disagree on waiting leads"
        );
        assert_eq!(
            self.engine.offers_count(),
            self.pending().len(),
            "engine and store disagree on offers"
        );
    }

    /// Every offer ends: brokers go offline (handing offers back) and time passes.
    fn drain(&mut self) {
        for b in self.online.keys().copied().collect::<Vec<_>>() {
            self.toggle(b, false);
            self.pump();
        }
        assert!(self.pending().is_empty(), "I3: offers left pending");
        for l in self.leads.values() {
            assert!(
                matches!(l.st, LeadSt::Waiting | LeadSt::Assigned(_)),
                "I1: lead lost: {l:?}"
            );
        }
    }
}

fn op(brokers: i64) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2i64, prop::option::weighted(0.2, (1..=brokers).prop_map(BrokerId))).prop_map(|(dept, owner)| Op::Lead { dept, owner }),
        3 => ((1..=brokers).prop_map(BrokerId), prop::bool::weighted(0.7)).prop_map(|(broker, online)| Op::Toggle { broker, online }),
        3 => any::<usize>().prop_map(Op::Accept),
        3 => any::<usize>().prop_map(Op::Refuse),
        2 => any::<usize>().prop_map(Op::Timeout),
        1 => (0..90_000i64).prop_map(Op::Advance),
        1 => ((1..=brokers).prop_map(BrokerId), prop::bool::weighted(0.5)).prop_map(|(broker, excluded)| Op::Exclude { broker, excluded }),
        2 => (1..=brokers, prop::option::weighted(0.8, (-60_000..60_000i64, 1..120_000i64)))
            .prop_map(|(broker, window)| Op::Absence { broker: BrokerId(broker), window }),
        1 => Just(Op::Restart),
        1 => Just(Op::FailNextBatch),
    ]
}

fn settings() -> impl Strategy<Value = EngineSettings> {
    (prop::bool::ANY, 0..60_000i64, prop::bool::ANY).prop_map(|(fallback, pause, has)| {
        EngineSettings {
            everyone_refused: if fallback {
                EveryoneRefused::Fallback
            } else {
                EveryoneRefused::Retry
            },
            retry_pause_ms: pause,
            fallback_broker: has.then_some(BrokerId(1)),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
    ))]

    #[test]
    fn random_histories_keep_one_holder_and_end_every_offer(
        s in settings(),
        (brokers, ops) in (2..6i64).prop_flat_map(|n| (Just(n), prop::collection::vec(op(n), 1..80)))
    ) {
        let mut sim = Sim::new(brokers, s);
        for o in &ops {
            sim.apply(o);
        }
        sim.drain();
    }

    #[test]
    fn an_absent_broker_is_offered_the_waiting_lead_when_the_absence_ends(
        start in -10_000..10_000i64,
        len in 1..100_000i64,
        owner in prop::bool::ANY,
        arrive_after in 0..50_000i64,
    ) {
        let s = EngineSettings { everyone_refused: EveryoneRefused::Retry, retry_pause_ms: 0, fallback_broker: None };
        let mut sim = Sim::new(2, s);
        sim.toggle(BrokerId(1), true);
        let until = sim.now + start + len;
        sim.apply(&Op::Absence { broker: BrokerId(1), window: Some((start, len)) });
        sim.apply(&Op::Advance(arrive_after));
        sim.apply(&Op::Lead { dept: 0, owner: owner.then_some(BrokerId(1)) });
        let offered_at = |sim: &Sim| sim.offers.values().find(|o| o.broker == BrokerId(1) && o.pending).map(|o| o.made_at);
        let during = sim.now >= until - len && sim.now < until;
        if during {
            prop_assert_eq!(offered_at(&sim), None, "offered during the absence");
        }
        // Time alone (no presence change, no manager action), well past the end: the offer is
        // made the moment the absence ends, not at the next unrelated event.
        sim.apply(&Op::Advance((until - sim.now).max(0) + 30_000));
        let at = offered_at(&sim);
        prop_assert!(at.is_some(), "not offered once the absence ended");
        if during {
            prop_assert_eq!(at, Some(until));
        }
    }

    #[test]
    fn with_a_stable_roster_offer_counts_differ_by_at_most_one(
        brokers in 2..7i64,
        answers in prop::collection::vec(0..3u8, 1..200),
    ) {
        let s = EngineSettings { everyone_refused: EveryoneRefused::Retry, retry_pause_ms: 0, fallback_broker: None };
        let mut sim = Sim::new(brokers, s);
        for b in 1..=brokers {
            sim.depts.insert(BrokerId(b), vec![0]);
            sim.toggle(BrokerId(b), true);
        }
        let mut answers = answers.into_iter();
        'leads: loop {
            sim.apply(&Op::Lead { dept: 0, owner: None });
            loop {
                let Some(a) = answers.next() else { break 'leads };
                let p = sim.pending();
                prop_assert_eq!(p.len(), 1, "one lead at a time, always offered");
                let accepted = a == 0;
                sim.apply(&match a { 0 => Op::Accept(0), 1 => Op::Refuse(0), _ => Op::Timeout(0) });
                let counts: Vec<u32> = (1..=brokers).map(|b| sim.offered.get(&BrokerId(b)).copied().unwrap_or(0)).collect();
                let spread = counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0);
                prop_assert!(spread <= 1, "I7: offers per broker {:?}", counts);
                if accepted {
                    continue 'leads;
                }
            }
        }
    }
}
