//! Who is away from the roulette (issue 12): a broker the manager took out of it ("participa
//! da roleta" off), or one inside an absence period (férias / ausência). Away brokers are never
//! offered a lead — not in the rotation, not as the client's own broker, not as the fallback —
//! whether or not they are online. The absence is checked against the moment of each decision,
//! so it starts and ends by time alone; the rotation indexes do not change with it.

use super::{Engine, Rotation};
use crate::model::{AbsenceReason, BrokerId};

/// What keeps a broker from roulette offers, as the store last said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// The manager switched "participa da roleta" off.
    pub excluded: bool,
    pub absence: Option<Absence>,
}

/// An absence period, as moments: `[from_ms, until_ms)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    pub from_ms: i64,
    pub until_ms: i64,
    pub reason: AbsenceReason,
    /// The last day away as the manager reads it (`05/01`), for the audit.
    pub last_day: String,
}

/// Why a broker is away right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Away<'a> {
    Excluded,
    Absent(&'a Absence),
}

impl Away<'_> {
    /// The audit's words for the manager when the client's own broker is passed over.
    pub fn owner_note(self) -> String {
        match self {
            Away::Excluded => {
                "Corretor dono do cliente não participa da roleta; lead foi para a roleta".into()
            }
            Away::Absent(a) => {
                let state = match a.reason {
                    AbsenceReason::Ferias => "está de férias",
                    AbsenceReason::Ausencia => "está ausente",
                };
                format!(
                    "Corretor dono do cliente {state} até {}; lead foi para a roleta",
                    a.last_day
                )
            }
        }
    }
}

impl Availability {
    fn restricted(&self) -> bool {
        self.excluded || self.absence.is_some()
    }

    fn away_at(&self, now_ms: i64) -> Option<Away<'_>> {
        if self.excluded {
            return Some(Away::Excluded);
        }
        self.absence
            .as_ref()
            .filter(|a| a.from_ms <= now_ms && now_ms < a.until_ms)
            .map(Away::Absent)
    }
}

impl Engine {
    /// The manager changed the broker's flag or absence (or the agency was loaded).
    pub fn set_availability(&mut self, id: BrokerId, availability: Availability) {
        if availability.restricted() {
            self.sidelined.insert(id);
        } else {
            self.sidelined.remove(&id);
        }
        self.brokers.entry(id).or_default().availability = availability;
    }

    /// Why the broker may not be offered a lead at `now_ms`, if they may not.
    pub fn away(&self, id: BrokerId, now_ms: i64) -> Option<Away<'_>> {
        self.brokers.get(&id)?.availability.away_at(now_ms)
    }

    /// Online members of the rotation who are away at `now_ms` (few: only brokers with a flag
    /// or an absence are looked at, never the whole rotation).
    pub(super) fn away_online(&self, rotation: &Rotation, now_ms: i64) -> Vec<BrokerId> {
        self.sidelined
            .iter()
            .copied()
            .filter(|id| rotation.online.contains(id) && self.away(*id, now_ms).is_some())
            .collect()
    }

    /// The next moment an absence starts or ends, after `now_ms`: decisions may change then.
    pub(super) fn next_absence_edge(&self, now_ms: i64) -> Option<i64> {
        self.sidelined
            .iter()
            .filter_map(|id| self.brokers.get(id)?.availability.absence.as_ref())
            .flat_map(|a| [a.from_ms, a.until_ms])
            .filter(|&t| t > now_ms)
            .min()
    }
}
