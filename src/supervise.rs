//! No background task dies silently. Every long-lived task of the node — the ingest writers,
//! the dispatcher actors, the web-push sender, the cluster's bus, heartbeat, leases and
//! sweeper — runs under [`Supervisor::spawn`]: a panic is caught, logged, counted in
//! `roleta_task_panics_total{task}`, and the task is started again (after a short back-off)
//! from the state it keeps outside the panicking future, so its queue and whatever waits in it
//! survive. While a task is down, or if one ever returns without being asked to stop,
//! [`Health::problem`] says so and `/readyz` answers 503.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// First wait before a restart; doubles on each panic in a row, up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A task that ran this long before panicking starts again from the shortest back-off.
const STEADY: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskState {
    Running,
    Restarting,
    /// Returned without the node asking it to stop: the node cannot do its work.
    Stopped,
}

/// Which supervised tasks are up. Cheap to clone; the lock is never held across `.await`.
#[derive(Clone, Default)]
pub struct Health {
    tasks: Arc<Mutex<BTreeMap<String, TaskState>>>,
}

impl Health {
    fn set(&self, name: &str, state: TaskState) {
        if let Ok(mut t) = self.tasks.lock() {
            t.insert(name.to_string(), state);
        }
    }

    /// The first task that is not running, in words for an operator; `None` when all are up.
    pub fn problem(&self) -> Option<String> {
        let tasks = self.tasks.lock().ok()?;
        tasks.iter().find_map(|(name, s)| match s {
            TaskState::Running => None,
            TaskState::Restarting => Some(format!("{name} is restarting")),
            TaskState::Stopped => Some(format!("{name} has stopped")),
        })
    }
}

/// The body of a supervised task: runs until `cancel` fires (or its queue closes) with
/// mutable access to the state that outlives a panic.
pub type TaskFn<S> = for<'a> fn(&'a mut S, CancellationToken) -> BoxFuture<'a, ()>;

/// Spawns supervised tasks on the node's tracker.
#[derive(Clone)]
pub struct Supervisor {
    tracker: TaskTracker,
    cancel: CancellationToken,
    health: Health,
}

impl Supervisor {
    pub fn new(tracker: TaskTracker, cancel: CancellationToken) -> Self {
        Self {
            tracker,
            cancel,
            health: Health::default(),
        }
    }

    /// A supervisor for tasks started later (the accept loop's certificate watcher) whose
    /// state shows in the same readiness as the node's other tasks.
    pub fn with_health(tracker: TaskTracker, cancel: CancellationToken, health: Health) -> Self {
        Self {
            tracker,
            cancel,
            health,
        }
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    pub fn cancel(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Runs `run(&mut state, cancel)` on the tracker and starts it again after each panic.
    pub fn spawn<S: Send + 'static>(&self, name: impl Into<String>, state: S, run: TaskFn<S>) {
        let name = name.into();
        let cancel = self.cancel.clone();
        let health = self.health.clone();
        health.set(&name, TaskState::Running);
        self.tracker.spawn(async move {
            let mut state = state;
            let mut backoff = MIN_BACKOFF;
            loop {
                let started = tokio::time::Instant::now();
                let outcome = AssertUnwindSafe(run(&mut state, cancel.clone()))
                    .catch_unwind()
                    .await;
                match outcome {
                    Ok(()) => {
                        if !cancel.is_cancelled() {
                            tracing::error!(task = %name, "background task stopped on its own");
                            health.set(&name, TaskState::Stopped);
                        }
                        return;
                    }
                    Err(panic) => {
                        crate::metrics::task_panicked(&name);
                        if started.elapsed() >= STEADY {
                            backoff = MIN_BACKOFF;
                        }
                        tracing::error!(
                            task = %name,
                            panic = %panic_message(panic.as_ref()),
                            restart_in_ms = backoff.as_millis() as u64,
                            "background task panicked; restarting it"
                        );
                        health.set(&name, TaskState::Restarting);
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        health.set(&name, TaskState::Running);
                    }
                }
            }
        });
    }
}

/// Runs one unit of work (a batch, a message) and turns its panic into an error, so a task
/// can answer whoever waits on that unit and carry on with the next.
pub async fn contain<T>(
    task: &str,
    work: impl std::future::Future<Output = T>,
) -> Result<T, String> {
    AssertUnwindSafe(work).catch_unwind().await.map_err(|p| {
        crate::metrics::task_panicked(task);
        let msg = panic_message(p.as_ref());
        tracing::error!(task, panic = %msg, "a unit of work panicked; it was answered with an error");
        msg
    })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Flaky {
        runs: Arc<AtomicU32>,
        panics_left: u32,
    }

    fn flaky(f: &mut Flaky, cancel: CancellationToken) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            f.runs.fetch_add(1, Ordering::SeqCst);
            if f.panics_left > 0 {
                f.panics_left -= 1;
                panic!("boom");
            }
            cancel.cancelled().await;
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_readiness_follows_it() {
        let sup = Supervisor::new(TaskTracker::new(), CancellationToken::new());
        let runs = Arc::new(AtomicU32::new(0));
        let state = Flaky {
            runs: runs.clone(),
            panics_left: 2,
        };
        sup.spawn("flaky", state, flaky);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            sup.health().problem().as_deref(),
            Some("flaky is restarting")
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // Panicked twice, running the third time, state kept across the restarts.
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(sup.health().problem(), None);
        sup.cancel.cancel();
        sup.tracker.close();
        sup.tracker.wait().await;
    }

    fn quits(_: &mut (), _: CancellationToken) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    #[tokio::test]
    async fn a_task_that_stops_on_its_own_fails_readiness() {
        let sup = Supervisor::new(TaskTracker::new(), CancellationToken::new());
        sup.spawn("quitter", (), quits);
        sup.tracker.close();
        sup.tracker.wait().await;
        assert_eq!(
            sup.health().problem().as_deref(),
            Some("quitter has stopped")
        );
    }

    #[tokio::test]
    async fn contained_work_answers_an_error() {
        let r = contain("unit", async { panic!("bad lead") }).await;
        let r: Result<(), String> = r;
        assert_eq!(r.err().as_deref(), Some("bad lead"));
    }
}
