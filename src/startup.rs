//! Building and running the application: production (`main`) and tests start it the same way.

use crate::cluster::Cluster;
use crate::dispatch::Dispatcher;
use crate::presence::Hub;
use crate::push::Push;
use crate::roster::Roster;
use crate::settings::Settings;
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
        let hub = Hub::new(clock);
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let sup = Supervisor::new(tracker.clone(), cancel.clone());
        let push = Push::start(&settings.push, store.clone(), clock, &sup).await?;
        let queues = crate::dispatch::Queues::new(&settings.dispatch);
        let cluster = if settings.redis.enabled() {
            Some(
                Cluster::connect(
                    &settings.redis,
                    store.clone(),
                    hub.clone(),
                    clock,
                    push.clone(),
                    queues.local(),
                )
                .await?,
            )
        } else {
            None
        };
        let roster = match &cluster {
            Some(c) => Roster::Cluster(c.clone()),
            None => Roster::Local(hub.clone()),
        };
        let dispatcher = Dispatcher::start(
            queues,
            cluster.clone(),
            store.clone(),
            roster.clone(),
            push.clone(),
            clock,
            &sup,
        );
        match &cluster {
            // The lease loop decides which agencies this node loads.
            Some(c) => c.start(&sup),
            None => {
                for agency in store.agencies_with_live_leads().await? {
                    dispatcher.load(agency).await.ok();
                }
            }
        }
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
            shutdown: cancel,
            tracker,
            health: sup.health(),
            passwords,
            throttle,
        };
        crate::metrics::handle();
        Ok(Self {
            listener,
            state,
            port,
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
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then lets tracked work drain for at most
    /// the grace period.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let state = self.state.clone();
        let cancel = state.shutdown.clone();
        let router = crate::http::router(state.clone());
        tracing::info!(
            "{}",
            ready_line(&state.settings, self.port, state.store.backend())
        );
        crate::serve::run(self.listener, router, &state)
            .await
            .context("serving")?;
        cancel.cancel();
        state.tracker.close();
        let grace = Duration::from_secs(state.settings.server.shutdown_grace_seconds);
        if tokio::time::timeout(grace, state.tracker.wait())
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
        Ok(())
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
