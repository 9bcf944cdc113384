//! Deciding the next offer (R2, R3, R7, and the silent cases of docs/ROUTING.md): the oldest
//! waiting lead first, its client's own broker before the rotation, away brokers never.

use super::{Decision, Engine, Lead};
use crate::model::{DepartmentId, EveryoneRefused, LeadId};

impl Engine {
    /// The next thing to do, if any. Pure: call the matching method after carrying it out.
    pub fn decide(&self, now_ms: i64) -> Option<Decision> {
        for (&department, queue) in &self.waiting {
            for &(_, lead_id) in queue {
                let Some(lead) = self.leads.get(&lead_id) else {
                    continue;
                };
                if lead.not_before_ms > now_ms {
                    continue;
                }
                if let Some(d) = self.decide_lead(now_ms, department, lead_id, lead) {
                    return Some(d);
                }
            }
        }
        None
    }

    fn decide_lead(
        &self,
        now_ms: i64,
        department: DepartmentId,
        lead_id: LeadId,
        lead: &Lead,
    ) -> Option<Decision> {
        if lead.round_at_ms.is_some_and(|at| at <= now_ms) {
            return Some(Decision::NewRound { lead: lead_id });
        }
        // R3: the client's own broker first, whatever the rotation says — if online and not
        // away from the roulette; an away owner is passed over and the audit says why.
        let mut owner_note = None;
        if let Some(owner) = lead.owner.filter(|o| !lead.refused.contains(o)) {
            if let Some(away) = self.away(owner, now_ms) {
                owner_note = Some(away.owner_note());
            } else if let Some(b) = self.brokers.get(&owner).filter(|b| b.online) {
                return b.holding.is_none().then(|| Decision::Offer {
                    lead: lead_id,
                    broker: owner,
                    department,
                    sticky: true,
                    reason: "sticky owner online".into(),
                });
            }
        }
        // R2/R7: free online members of the department, in rotation order.
        let rotation = self.rotations.get(&department)?;
        if rotation.online.is_empty() {
            return None; // nobody online: the lead waits (ROUTING.md)
        }
        let mut skipped = Vec::new();
        let mut away = 0;
        for &(_, id) in &rotation.free {
            if lead.refused.contains(&id) {
                skipped.push(format!("{id} refused this lead"));
                continue;
            }
            if self.away(id, now_ms).is_some() {
                away += 1;
                continue;
            }
            let mut reason = owner_note.map(|n| n + "; ").unwrap_or_default();
            reason.push_str("next in rotation");
            let busy = rotation.online.len() - rotation.free.len();
            if away > 0 {
                skipped.push(format!("{away} away from the roulette"));
            }
            if busy > 0 {
                skipped.push(format!("{busy} holding other offers"));
            }
            if !skipped.is_empty() {
                reason.push_str("; skipped: ");
                reason.push_str(&skipped.join(", "));
            }
            return Some(Decision::Offer {
                lead: lead_id,
                broker: id,
                department,
                sticky: false,
                reason,
            });
        }
        // Away brokers count as not there: when every online member is away the lead waits as
        // if nobody were online, and "everyone refused" means everyone who may be offered it.
        let away_online = self.away_online(rotation, now_ms);
        let available = rotation.online.len() - away_online.len();
        if available == 0 {
            return None;
        }
        let everyone_refused = lead.refused.len() >= available
            && rotation
                .online
                .iter()
                .all(|id| lead.refused.contains(id) || away_online.contains(id));
        if everyone_refused {
            return match (
                self.settings.everyone_refused,
                self.settings.fallback_broker,
            ) {
                // An away fallback broker is not given the lead: it goes round again instead.
                (EveryoneRefused::Fallback, Some(broker))
                    if self.away(broker, now_ms).is_none() =>
                {
                    Some(Decision::Fallback {
                        lead: lead_id,
                        broker,
                    })
                }
                _ if lead.round_at_ms.is_none() => Some(Decision::ScheduleRound {
                    lead: lead_id,
                    at_ms: now_ms + self.settings.retry_pause_ms,
                }),
                _ => None, // the pause is running
            };
        }
        None // some online brokers are busy: wait for them
    }
}
