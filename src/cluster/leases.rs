//! Dispatch leases: one Redis key per agency, `SET NX PX` to take, compare-and-expire to keep.
//! Which free agency a node takes first follows rendezvous hashing over the live nodes, so the
//! agencies spread over the cluster and come back to the same node after a restart. A lease
//! only says who *should* dispatch; the actor then claims the agency in PostgreSQL, which
//! raises the fencing epoch that every dispatch write checks.

use super::bus::pause;
use super::wire::BusMsg;
use super::Cluster;
use crate::dispatch::Command;
use crate::model::AgencyId;
use deadpool_redis::redis;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Keeps the lease if it is still ours (1); takes it back if it vanished — Redis flushed or
/// restarted — (2); 0 when another node holds it.
const RENEW: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0";

/// Deletes the lease only if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

pub(super) fn lease_key(c: &Cluster, agency: AgencyId) -> String {
    c.key(&format!("lease:{agency}"))
}

fn score(node: &str, agency: AgencyId) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (node, agency).hash(&mut h);
    h.finish()
}

/// The live node that should dispatch the agency (highest rendezvous score).
fn preferred(nodes: &[String], agency: AgencyId) -> Option<&str> {
    nodes
        .iter()
        .max_by_key(|n| score(n, agency))
        .map(String::as_str)
}

impl Cluster {
    pub(super) fn is_draining(&self) -> bool {
        self.inner
            .draining
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lease_ms(&self) -> u64 {
        self.inner.settings.lease_ms.max(300)
    }

    async fn eval(&self, script: &str, key: &str, args: &[String]) -> Result<i64, String> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(1).arg(key);
        for a in args {
            cmd.arg(a);
        }
        self.query(&cmd).await
    }

    /// Keeps every lease this node holds. One that another node now holds is dropped here; the
    /// actor learns it from the fence at its next write.
    async fn renew_all(&self) {
        let owned: Vec<AgencyId> = self.inner.owned.iter().map(|a| *a).collect();
        let args = [self.inner.node.clone(), self.lease_ms().to_string()];
        for agency in owned {
            match self.eval(RENEW, &lease_key(self, agency), &args).await {
                Ok(0) => {
                    tracing::warn!(%agency, "the lease is held by another node now");
                    self.inner.owned.remove(&agency);
                }
                Ok(_) => {}
                // Redis unreachable: nobody can take the lease meanwhile; the fence decides.
                Err(e) => tracing::warn!(%agency, error = %e, "renewing a lease failed"),
            }
        }
    }

    /// Takes the free leases this node should hold: at once where it is the preferred node,
    /// after `patience` ticks of seeing it free otherwise (its preferred node may be slow).
    async fn acquire(&self, agencies: &[AgencyId], free_for: &mut HashMap<AgencyId, u32>) {
        if self.is_draining() {
            return;
        }
        let nodes = self.live_nodes();
        let candidates: Vec<AgencyId> = agencies
            .iter()
            .copied()
            .filter(|a| !self.holds(*a))
            .collect();
        if candidates.is_empty() {
            return;
        }
        let mut mget = redis::cmd("MGET");
        for a in &candidates {
            mget.arg(lease_key(self, *a));
        }
        let holders: Result<Vec<Option<String>>, String> = self.query(&mget).await;
        let holders = match holders {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "reading leases failed");
                return;
            }
        };
        for (agency, holder) in candidates.into_iter().zip(holders) {
            if holder.is_some() {
                free_for.remove(&agency);
                continue;
            }
            let seen = free_for.entry(agency).or_insert(0);
            *seen += 1;
            let mine = preferred(&nodes, agency) == Some(self.inner.node.as_str());
            if !mine && *seen < 3 {
                continue;
            }
            let mut set = redis::cmd("SET");
            set.arg(lease_key(self, agency))
                .arg(&self.inner.node)
                .arg("NX")
                .arg("PX")
                .arg(self.lease_ms());
            let took: Result<Option<String>, String> = self.query(&set).await;
            if let Ok(Some(_)) = took {
                free_for.remove(&agency);
                self.inner.owned.insert(agency);
                tracing::info!(%agency, node = %self.inner.node, "took the agency's dispatch lease");
                if let Err(e) = self.inner.local.send(agency, Command::Own { agency }).await {
                    tracing::warn!(%agency, error = %e, "the actors stopped before loading a taken agency");
                }
            }
        }
    }

    /// Graceful drain: hands every agency over (actor stopped for it, shard released in
    /// PostgreSQL, lease deleted, the others told), then withdraws this node's presence.
    pub async fn drain(&self) {
        if self.is_draining() {
            return;
        }
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let owned: Vec<AgencyId> = self.inner.owned.iter().map(|a| *a).collect();
        tracing::info!(
            agencies = owned.len(),
            "draining: handing the agencies over"
        );
        for agency in owned {
            let (done, rx) = tokio::sync::oneshot::channel();
            let sent = self
                .inner
                .local
                .send(
                    agency,
                    Command::Disown {
                        agency,
                        done: Some(done),
                    },
                )
                .await;
            if sent.is_ok()
                && tokio::time::timeout(Duration::from_secs(2), rx)
                    .await
                    .is_err()
            {
                tracing::warn!(
                    %agency,
                    "the actor did not let the agency go within 2 s; releasing anyway"
                );
            }
            self.inner.owned.remove(&agency);
            let args = [self.inner.node.clone()];
            if let Err(e) = self.eval(RELEASE, &lease_key(self, agency), &args).await {
                tracing::warn!(%agency, error = %e, "releasing a lease failed; it expires by itself");
            }
            self.broadcast(&BusMsg::Released { agency });
        }
        self.withdraw_presence().await;
        // Give the publisher a moment to send the hand-over messages.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn lease_loop(cluster: Cluster, cancel: CancellationToken) {
    let tick = cluster.lease_ms() / 3;
    let mut agencies: Vec<AgencyId> = Vec::new();
    let mut free_for: HashMap<AgencyId, u32> = HashMap::new();
    while !cancel.is_cancelled() {
        cluster.renew_all().await;
        // One indexed read per tick: a new agency is dispatched within a tick.
        match cluster.inner.store.agency_ids().await {
            Ok(a) => agencies = a,
            Err(e) => tracing::warn!(error = %e, "listing agencies failed"),
        }
        cluster.acquire(&agencies, &mut free_for).await;
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = cluster.inner.lease_check.notified() => {
                // Something changed hands: look again soon, but not in a tight loop.
                pause(&cancel, 50).await;
                // A released or unowned agency counts as seen free already.
                for v in free_for.values_mut() { *v = (*v).max(2); }
            }
            _ = tokio::time::sleep(Duration::from_millis(tick)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agency_has_one_preferred_node_and_they_spread() -> Result<(), &'static str> {
        let nodes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for agency in (0..300).map(AgencyId) {
            let p = preferred(&nodes, agency).ok_or("a node")?;
            *count.entry(p).or_default() += 1;
            assert_eq!(preferred(&nodes, agency), Some(p), "stable");
        }
        assert_eq!(count.len(), 3, "{count:?}");
        assert!(count.values().all(|c| *c > 50), "{count:?}");
        Ok(())
    }
}
