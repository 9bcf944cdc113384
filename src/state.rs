//! The application's shared handles, cloned into every handler.

use crate::dispatch::Dispatcher;
use crate::presence::{Hub, Presence};
use crate::push::Push;
use crate::settings::Settings;
use crate::store::Store;
use crate::Clock;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Lead ingest with group commit.
    pub ingest: crate::ingest::Ingestor,
    pub hub: Hub,
    /// Who is online and how to reach them: this node, or the cluster.
    pub roster: Arc<dyn Presence>,
    pub push: Push,
    pub dispatcher: Dispatcher,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// Exact browser origins allowed to use the session cookie.
    pub origins: Arc<Vec<String>>,
    /// Cancelled when the node is asked to stop (a signal, a test): readiness fails at once,
    /// and the stop begins (`App::run_until_stopped`).
    pub stopping: CancellationToken,
    /// Cancelled once a cluster node has handed its agencies over: every task stops.
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    /// Whether every supervised background task is up (`/readyz`).
    pub health: crate::supervise::Health,
    /// Bounded Argon2 work for every password a request carries.
    pub passwords: crate::passwords::Passwords,
    /// Sign-in and credential throttles, and the client address of a request.
    pub throttle: crate::throttle::Throttle,
}

/// The throttle's own extractor (`throttle::ClientAddr`) reaches it without knowing the app.
impl axum::extract::FromRef<AppState> for crate::throttle::Throttle {
    fn from_ref(app: &AppState) -> Self {
        app.throttle.clone()
    }
}

impl AppState {
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}
