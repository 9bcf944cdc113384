//! The rotation indexes and the bookkeeping that keeps them true: every change to a broker
//! (presence, departments, an offer made, re-keyed or undone, a restored turn) takes them out of
//! the indexes and puts them back as they now are.

use super::Engine;
use crate::model::{BrokerId, DepartmentId, OfferId};
use std::collections::BTreeSet;

/// The rotation of one department, kept indexed so a decision never scans every broker.
#[derive(Debug, Default)]
pub(super) struct Rotation {
    /// Online members (free or busy).
    pub(super) online: BTreeSet<BrokerId>,
    /// Online members holding no offer, in rotation order: (latest rotation offer, broker).
    pub(super) free: BTreeSet<(OfferId, BrokerId)>,
}

impl Engine {
    /// Takes a broker out of the rotation indexes before their state changes…
    pub(super) fn unindex(&mut self, id: BrokerId) {
        let Some(b) = self.brokers.get(&id) else {
            return;
        };
        for d in &b.departments {
            if let Some(r) = self.rotations.get_mut(d) {
                r.online.remove(&id);
                r.free
                    .remove(&(self.turns.get(&(*d, id)).copied().unwrap_or_default(), id));
            }
        }
    }

    /// …and puts them back afterwards, as they now are.
    pub(super) fn index(&mut self, id: BrokerId) {
        let Some(b) = self.brokers.get(&id) else {
            return;
        };
        if !b.online {
            return;
        }
        for d in &b.departments {
            let r = self.rotations.entry(*d).or_default();
            r.online.insert(id);
            if b.holding.is_none() {
                r.free
                    .insert((self.turns.get(&(*d, id)).copied().unwrap_or_default(), id));
            }
        }
    }

    pub(super) fn set_holding(&mut self, id: BrokerId, holding: Option<OfferId>) {
        self.unindex(id);
        self.brokers.entry(id).or_default().holding = holding;
        self.index(id);
    }

    /// After a restart: rotation order read back from the store.
    pub fn restore_turn(&mut self, department: DepartmentId, broker: BrokerId, offer: OfferId) {
        self.unindex(broker);
        let t = self.turns.entry((department, broker)).or_insert(offer);
        *t = (*t).max(offer);
        self.index(broker);
    }

    /// The broker's latest rotation offer in the department, if any.
    pub fn turn(&self, department: DepartmentId, broker: BrokerId) -> Option<OfferId> {
        self.turns.get(&(department, broker)).copied()
    }

    /// Gives an offer recorded under a provisional id its real one (after a batch commit).
    pub fn rekey_offer(&mut self, from: OfferId, to: OfferId) {
        let Some((lead, broker)) = self.offers.remove(&from) else {
            return;
        };
        self.offers.insert(to, (lead, broker));
        if let Some(l) = self.leads.get_mut(&lead) {
            l.offer = Some(to);
        }
        self.unindex(broker);
        if let Some(b) = self.brokers.get_mut(&broker) {
            if b.holding == Some(from) {
                b.holding = Some(to);
            }
        }
        for t in self.turns.values_mut().filter(|t| **t == from) {
            *t = to;
        }
        self.index(broker);
    }

    /// Takes back an offer that could not be written: the broker is free with their old turn
    /// and the lead waits again, refused by nobody new.
    pub fn undo_offer(
        &mut self,
        offer: OfferId,
        department: DepartmentId,
        previous_turn: Option<OfferId>,
    ) {
        let Some((lead, broker)) = self.offers.remove(&offer) else {
            return;
        };
        self.unindex(broker);
        if let Some(b) = self.brokers.get_mut(&broker) {
            b.holding = None;
        }
        match previous_turn {
            Some(t) => self.turns.insert((department, broker), t),
            None if self.turns.get(&(department, broker)) == Some(&offer) => {
                self.turns.remove(&(department, broker))
            }
            None => None,
        };
        self.index(broker);
        if let Some(l) = self.leads.get_mut(&lead) {
            l.offer = None;
            self.waiting
                .entry(l.department)
                .or_default()
                .insert((l.arrived_ms, lead));
        }
    }
}
