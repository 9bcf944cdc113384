//! Building and running the application: production (`main`) and tests start it the same way.

//!
//! This is the composition root: the one place that knows every part. It builds the
//! dispatcher's ports (`dispatch::ports`) — this node's hub and web push, or the cluster — and
//! runs the actors, the safety sweep and the cluster's tasks under one supervisor, and it owns
//! the one way the node stops ([`App::run_until_stopped`]).

use crate::cluster::Cluster;
use crate::dispatch::{ActorTask, Dispatcher, Queues, Roster, Route, Sweeper, ThisNode};
use crate::presence::{Hub, LocalRoster, Presence};
use crate::push::Push;
use crate::settings::{DispatchSettings, Settings};
use crate::state::AppState;
use crate::store::Store;
use crate::supervise::Supervisor;
use crate::Clock;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub struct App {
    listener: TcpListener,
    state: AppState,
    port: u16,
    cluster: Option<Cluster>,
}

/// Runs the dispatcher's actors under the supervisor: a panicking actor is started again and
/// rebuilds its agencies from the store.
fn run_actors(sup: &Supervisor, actors: Vec<ActorTask>) {
    for (i, actor) in actors.into_iter().enumerate() {
        sup.spawn(format!("dispatcher-{i}"), actor, |a, cancel| {
            Box::pin(a.run(cancel))
        });
    }
}

/// A single node's dispatcher, its actors and its safety sweep running under `sup` (the
/// in-process benchmark builds it this way).
pub fn single_node_dispatcher(
    store: Store,
    hub: Hub,
    push: Push,
    clock: Clock,
    settings: &DispatchSettings,
    sup: &Supervisor,
) -> Dispatcher {
    let queues = Queues::new(settings);
    let route: Arc<dyn Route> = Arc::new(ThisNode::new(queues.local()));
    let roster: Arc<dyn Roster> = Arc::new(LocalRoster::new(hub, push));
    let (dispatcher, actors) = Dispatcher::new(queues, store.clone(), roster, route, clock);
    run_actors(sup, actors);
    let every = settings.sweep_ms;
    run_sweeper(
        sup,
        Sweeper::new(store, dispatcher.clone(), clock, every, 2 * every as i64),
    );
    dispatcher
}

fn run_sweeper(sup: &Supervisor, sweeper: Sweeper) {
    sup.spawn("sweeper", sweeper, |s, cancel| Box::pin(s.run(cancel)));
}

impl App {
    /// Binds the listener (port 0 picks a free one), connects and migrates the database,
    /// seeds the demo agency on an empty database, starts the dispatcher and recovers the
    /// roulette's state from the store.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let port = listener.local_addr()?.port();
        let store = Store::connect(
            settings.database.url.expose(),
            settings.database.max_connections,
        )
        .await?;
        let clock = Clock::new();
        if settings.demo.seed {
            crate::demo::seed(
                &store,
                &settings,
                clock.now_ms(),
                &settings.server.host,
                port,
            )
            .await?;
        }
        let hub = Hub::new();
        let stopping = CancellationToken::new();
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let sup = Supervisor::new(tracker.clone(), cancel.clone());
        let push = Push::start(&settings.push, store.clone(), clock, &sup).await?;
        let (cluster, roster, dispatcher) = if settings.redis.enabled() {
            let queues = Queues::new(&settings.dispatch);
            let c = Cluster::connect(
                &settings.redis,
                store.clone(),
                hub.clone(),
                clock,
                push.clone(),
                queues.local(),
            )
            .await?;
            let (dispatcher, actors) = Dispatcher::new(
                queues,
                store.clone(),
                Arc::new(c.clone()),
                Arc::new(c.clone()),
                clock,
            );
            run_actors(&sup, actors);
            let sweep = Sweeper::new(
                store.clone(),
                dispatcher.clone(),
                clock,
                c.sweep_every_ms(),
                c.sweep_grace_ms(),
            );
            run_sweeper(&sup, sweep);
            // The lease loop decides which agencies this node loads.
            c.start(&sup);
            let roster: Arc<dyn Presence> = Arc::new(c.clone());
            (Some(c), roster, dispatcher)
        } else {
            let dispatcher = single_node_dispatcher(
                store.clone(),
                hub.clone(),
                push.clone(),
                clock,
                &settings.dispatch,
                &sup,
            );
            for agency in store.agencies_with_live_leads().await? {
                if let Err(e) = dispatcher.load(agency).await {
                    // The sweep hands its waiting leads over within its interval anyway.
                    tracing::warn!(%agency, error = %e, "loading an agency at start failed");
                }
            }
            let roster: Arc<dyn Presence> = Arc::new(LocalRoster::new(hub.clone(), push.clone()));
            (None, roster, dispatcher)
        };
        let check = crate::ws::SessionCheck::new(
            store.clone(),
            hub.clone(),
            clock,
            settings.ws.ping_interval_seconds,
        );
        sup.spawn("session-check", check, |c, cancel| Box::pin(c.run(cancel)));
        // The server's own pages: https with built-in TLS (the port speaks nothing else).
        let mut origins = settings.server.allowed_origins.clone();
        let scheme = crate::tls::scheme(&settings.server);
        for host in [settings.server.host.as_str(), "localhost", "127.0.0.1"] {
            origins.push(format!("{scheme}://{host}:{port}"));
            if matches!((scheme, port), ("https", 443) | ("http", 80)) {
                // Browsers leave the default port out of `Origin`.
                origins.push(format!("{scheme}://{host}"));
            }
        }
        let ingest = crate::ingest::Ingestor::start(store.clone(), clock, &sup);
        crate::webhooks::start(&settings.webhooks, store.clone(), clock, &sup)?;
        let passwords = crate::passwords::Passwords::new(&settings.auth)?;
        let throttle = crate::throttle::Throttle::new(
            &settings.auth,
            &settings.server.trusted_proxies,
            clock,
        )?;
        throttle.start(store.clone(), &sup);
        let state = AppState {
            store,
            ingest,
            hub,
            roster,
            push,
            dispatcher,
            clock,
            settings: Arc::new(settings),
            origins: Arc::new(origins),
            stopping,
            shutdown: cancel,
            tracker,
            health: sup.health(),
            passwords,
            throttle,
        };
        // Meta lead ads: queued deliveries are fetched from the Graph API and written as leads.
        let meta = crate::http::sources::MetaWorker::new(state.clone())?;
        sup.spawn(
            "meta-leads",
            meta,
            crate::http::sources::MetaWorker::run_boxed,
        );
        crate::metrics::handle();
        Ok(Self {
            listener,
            state,
            port,
            cluster,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared handles, for tests that look behind the API.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Cancelling this token stops the app the same way a signal does.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.stopping.clone()
    }

    /// Serves until the stop token ([`App::shutdown_token`]) is cancelled — by a signal in
    /// `main`, by a test — then stops, the one way for both, within the shutdown grace
    /// period: readiness fails at once; a cluster node hands its agencies over and withdraws
    /// its presence while its actors and bus still run (at most half the grace); then every
    /// task is told to stop, sockets close with 1012, and tracked work drains for what is left
    /// of the grace.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let state = self.state.clone();
        let router = crate::http::router(state.clone());
        tracing::info!(
            "{}",
            ready_line(&state.settings, self.port, state.store.backend())
        );
        let serve = crate::serve::run(self.listener, router, &state);
        tokio::pin!(serve);
        let ended_early = tokio::select! {
            r = &mut serve => Some(r),
            _ = state.stopping.cancelled() => None,
        };
        state.stopping.cancel();
        let grace = Duration::from_secs(state.settings.server.shutdown_grace_seconds);
        let deadline = tokio::time::Instant::now() + grace;
        if let Some(c) = &self.cluster {
            // Bounded, so an unreachable Redis cannot eat the whole grace period.
            if tokio::time::timeout(grace / 2, c.drain()).await.is_err() {
                tracing::warn!("the drain took longer than half the grace period; stopping anyway");
            }
        }
        state.shutdown.cancel();
        let served = match ended_early {
            Some(r) => r,
            None => serve.await,
        };
        state.tracker.close();
        if tokio::time::timeout_at(deadline, state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = state.tracker.len(),
                "grace period over; stopping anyway"
            );
        }
        state.store.close().await;
        tracing::info!("stopped");
        served.context("serving")
    }
}

/// The one line a person reads at start: where to open Roleta, on which database, in which mode.
pub fn ready_line(settings: &Settings, port: u16, backend: crate::store::Backend) -> String {
    let tls = !settings.server.tls_cert.trim().is_empty();
    let scheme = if tls { "https" } else { "http" };
    let host = settings.server.host.trim();
    let (shown, every) = match host {
        "0.0.0.0" | "::" | "[::]" => ("localhost", " (and every other address of this machine)"),
        other => (other, ""),
    };
    let shown = if shown.contains(':') && !shown.starts_with('[') {
        format!("[{shown}]")
    } else {
        shown.to_string()
    };
    let db = match backend {
        crate::store::Backend::Sqlite => "SQLite",
        crate::store::Backend::Postgres => "PostgreSQL",
    };
    let mode = if settings.redis.enabled() {
        "cluster node"
    } else {
        "single node"
    };
    format!("Roleta is ready at {scheme}://{shown}:{port}/{every} - {db}, {mode}")
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
