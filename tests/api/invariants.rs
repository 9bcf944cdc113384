//! The invariant checker: SQL over the tables and the audit, run after every scenario.
//! Each counter counts violations; all must be zero.

use roleta::store::Store;

#[derive(Debug, Default)]
pub struct Counters {
    /// I1: leads that are in no known state (neither waiting, offered, assigned nor unrouted),
    /// or offered without a pending offer, or assigned without an attendance.
    pub lost: i64,
    /// I2: leads with two accepted offers, two open attendances, two pending offers, or a
    /// holder different from the broker whose offer was accepted.
    pub double_assigned: i64,
    /// I3: offers still pending more than 3 s past their deadline.
    pub stuck_past_deadline: i64,
    /// I4: two leads for the same (source, external id) or idempotency key.
    pub duplicate: i64,
    /// I6: offers made while the audit showed the broker offline.
    pub offered_to_offline: i64,
    /// I8: rows that join records of two agencies.
    pub cross_agency: i64,
}

impl Counters {
    pub fn all_zero(&self) -> bool {
        self.lost == 0
            && self.double_assigned == 0
            && self.stuck_past_deadline == 0
            && self.duplicate == 0
            && self.offered_to_offline == 0
            && self.cross_agency == 0
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn check(store: &Store, now_ms: i64) -> Counters {
    let lost = count(store, "SELECT COUNT(*) FROM leads WHERE state NOT IN ('waiting','offered','assigned','unrouted')").await
        + count(store, "SELECT COUNT(*) FROM leads l WHERE l.state = 'offered' AND NOT EXISTS \
                (SELECT 1 FROM offers o WHERE o.lead_id = l.id AND o.state = 'pending')").await
        + count(store, "SELECT COUNT(*) FROM leads l WHERE l.state = 'assigned' AND (l.broker_id IS NULL OR NOT EXISTS \
                (SELECT 1 FROM attendances a WHERE a.lead_id = l.id AND a.broker_id = l.broker_id))").await;
    let double_assigned = count(store, "SELECT COUNT(*) FROM (SELECT lead_id FROM offers WHERE state = 'accepted' \
                GROUP BY lead_id HAVING COUNT(*) > 1) x").await
        + count(store, "SELECT COUNT(*) FROM (SELECT lead_id FROM offers WHERE state = 'pending' \
                GROUP BY lead_id HAVING COUNT(*) > 1) x").await
        + count(store, "SELECT COUNT(*) FROM (SELECT lead_id FROM attendances WHERE concluded_at_ms IS NULL \
                GROUP BY lead_id HAVING COUNT(*) > 1) x").await
        + count(store, "SELECT COUNT(*) FROM offers o JOIN leads l ON l.id = o.lead_id WHERE o.state = 'accepted' \
                AND (l.broker_id IS NULL OR l.broker_id <> o.broker_id)").await
        + count(store, "SELECT COUNT(*) FROM offers o JOIN leads l ON l.id = o.lead_id WHERE o.state = 'pending' \
                AND l.state <> 'offered'").await;
    let stuck_past_deadline = count(
        store,
        &format!(
            "SELECT COUNT(*) FROM offers WHERE state = 'pending' AND deadline_ms < {}",
            now_ms - 3000
        ),
    )
    .await;
    let duplicate = count(store, "SELECT COUNT(*) FROM (SELECT 1 FROM leads WHERE external_id IS NOT NULL \
                GROUP BY agency_id, source, external_id HAVING COUNT(*) > 1) x").await
        + count(store, "SELECT COUNT(*) FROM (SELECT 1 FROM idempotency_keys GROUP BY agency_id, key HAVING COUNT(*) > 1) x").await;
    // For each offer, the broker's latest presence entry before it must say online.
    let offered_to_offline = count(store, "SELECT COUNT(*) FROM dispatch_audit o WHERE o.decision = 'offered' AND \
                COALESCE((SELECT p.decision FROM dispatch_audit p WHERE p.broker_id = o.broker_id AND p.id < o.id \
                AND p.decision IN ('broker_online','broker_offline','auto_offline') ORDER BY p.id DESC LIMIT 1), 'none') \
                <> 'broker_online'").await;
    let cross_agency = count(store, "SELECT COUNT(*) FROM offers o JOIN users u ON u.id = o.broker_id WHERE u.agency_id <> o.agency_id").await
        + count(store, "SELECT COUNT(*) FROM offers o JOIN leads l ON l.id = o.lead_id WHERE l.agency_id <> o.agency_id").await
        + count(store, "SELECT COUNT(*) FROM leads l JOIN users u ON u.id = l.broker_id WHERE u.agency_id <> l.agency_id").await
        + count(store, "SELECT COUNT(*) FROM leads l JOIN clients c ON c.id = l.client_id WHERE c.agency_id <> l.agency_id").await
        + count(store, "SELECT COUNT(*) FROM attendances a JOIN users u ON u.id = a.broker_id WHERE u.agency_id <> a.agency_id").await
        + count(store, "SELECT COUNT(*) FROM contact_logs c JOIN leads l ON l.id = c.lead_id WHERE l.agency_id <> c.agency_id").await;
    Counters {
        lost,
        double_assigned,
        stuck_past_deadline,
        duplicate,
        offered_to_offline,
        cross_agency,
    }
}
