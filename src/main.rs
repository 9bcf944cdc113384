//! The `roleta` binary: flags, logging, and the app. Everything else lives in the library.

use clap::Parser;
use roleta::settings::{Overrides, Settings};
use roleta::startup::{shutdown_signal, App};

#[derive(Parser, Debug)]
#[command(
    name = "roleta",
    version,
    about = "Real-time lead roulette for real-estate agencies"
)]
struct Cli {
    /// Extra configuration file (TOML), layered over config/default.toml.
    #[arg(long)]
    config: Option<String>,
    /// Address to listen on.
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// sqlite://path?mode=rwc or postgres://user@host:port/db
    #[arg(long)]
    database_url: Option<String>,
    /// redis://host:port — switches the node to cluster mode (PostgreSQL required).
    #[arg(long)]
    redis_url: Option<String>,
    /// Do not create or announce the demo agency.
    #[arg(long)]
    no_demo: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&Overrides {
        config_file: cli.config,
        host: cli.host,
        port: cli.port,
        database_url: cli.database_url,
        redis_url: cli.redis_url,
        no_demo: cli.no_demo,
        ..Default::default()
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.filter)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    tracing::info!(?settings, "starting");
    let app = App::build(settings).await?;
    let stop = app.shutdown_token();
    let state = app.state();
    let run = app.run_until_stopped();
    tokio::pin!(run);
    tokio::select! {
        r = &mut run => r,
        _ = shutdown_signal() => {
            tracing::info!("shutdown signal received");
            // Cluster: hand the agencies over and withdraw presence before sockets close —
            // bounded, so an unreachable Redis cannot eat the whole grace period.
            let grace = std::time::Duration::from_secs(state.settings.server.shutdown_grace_seconds);
            if tokio::time::timeout(grace / 2, state.dispatcher.drain()).await.is_err() {
                tracing::warn!("the drain took longer than half the grace period; stopping anyway");
            }
            stop.cancel();
            run.await
        }
    }
}
