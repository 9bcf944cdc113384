//! What the dispatcher reads about brokers whenever their presence changes: their
//! departments, their availability ("participa da roleta", absence) and whether they are still
//! an active broker. Read for many brokers at once — a burst of brokers coming online, an
//! agency loaded with its brokers connected — in three statements per chunk, not three per
//! broker.

use super::{Availability, Store, StoreResult};
use crate::model::{AgencyId, BrokerId, DepartmentId};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Brokers per statement at most.
const CHUNK: usize = 500;

/// One broker as the roulette needs them after a presence change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerState {
    pub departments: Vec<DepartmentId>,
    pub availability: Availability,
    /// An active user with the broker role (false: deactivated, no longer a broker, unknown).
    pub routable: bool,
}

impl Store {
    /// The state of each listed broker of the agency (every one listed has an entry).
    pub async fn broker_states(
        &self,
        agency: AgencyId,
        brokers: &[BrokerId],
        now_ms: i64,
    ) -> StoreResult<HashMap<BrokerId, BrokerState>> {
        let mut out = HashMap::with_capacity(brokers.len());
        for chunk in brokers.chunks(CHUNK) {
            // Integers, formatted here: nothing from outside reaches the statement's text.
            let mut ids = String::new();
            for (i, b) in chunk.iter().enumerate() {
                if i > 0 {
                    ids.push(',');
                }
                write!(ids, "{b}").ok();
            }
            let rows: Vec<(BrokerId, DepartmentId)> = sqlx::query_as(&format!(
                "SELECT broker_id, department_id FROM broker_departments \
                 WHERE agency_id = $1 AND broker_id IN ({ids}) ORDER BY broker_id, department_id"
            ))
            .bind(agency)
            .fetch_all(self.pool())
            .await?;
            let mut departments: HashMap<BrokerId, Vec<DepartmentId>> = HashMap::new();
            for (b, d) in rows {
                departments.entry(b).or_default().push(d);
            }
            let routable: HashSet<BrokerId> = sqlx::query_scalar::<_, BrokerId>(&format!(
                "SELECT id FROM users WHERE agency_id = $1 AND id IN ({ids}) \
                 AND role = 'broker' AND active = 1"
            ))
            .bind(agency)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect();
            let mut availability = self.availabilities_in(agency, &ids, now_ms).await?;
            for b in chunk {
                out.insert(
                    *b,
                    BrokerState {
                        departments: departments.remove(b).unwrap_or_default(),
                        availability: Availability::take(&mut availability, *b, now_ms),
                        routable: routable.contains(b),
                    },
                );
            }
        }
        Ok(out)
    }
}
