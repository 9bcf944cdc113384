//! The `roleta` binary: subcommands and their flags. `roleta` alone serves; everything else lives
//! in the library (`roleta::cli` for the administration commands).

use clap::{Args, Parser, Subcommand};
use roleta::cli::{self, Failure};
use roleta::settings::{Overrides, Settings};
use roleta::startup::{shutdown_signal, App};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "roleta",
    version,
    about = "Roleta de leads em tempo real para imobiliárias",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// Sem subcomando: `serve`.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Flags every subcommand accepts.
#[derive(Args, Debug, Clone)]
struct Common {
    /// Arquivo de configuração (TOML), aplicado sobre os valores padrão.
    #[arg(long, global = true)]
    config: Option<String>,
    /// sqlite://caminho?mode=rwc ou postgres://usuario@host:porta/banco
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
struct ServeArgs {
    /// Endereço em que o servidor escuta.
    #[arg(long)]
    host: Option<String>,
    /// Porta (0 escolhe uma livre).
    #[arg(long)]
    port: Option<u16>,
    /// redis://host:porta — liga o modo cluster (exige PostgreSQL).
    #[arg(long)]
    redis_url: Option<String>,
    /// Não cria nem anuncia a imobiliária de demonstração.
    #[arg(long)]
    no_demo: bool,
    /// Certificado (PEM, com a cadeia) para HTTPS embutido.
    #[arg(long)]
    tls_cert: Option<String>,
    /// Chave privada (PEM) do certificado.
    #[arg(long)]
    tls_key: Option<String>,
    /// Serve as páginas desta pasta em vez das embutidas (desenvolvimento).
    #[arg(long)]
    static_dir: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Inicia o servidor (padrão).
    Serve(ServeArgs),
    /// Aplica as migrações pendentes do banco de dados (só para frente).
    Migrate,
    /// Imobiliárias: criar, listar, suspender, reativar.
    #[command(subcommand)]
    Agency(cli::AgencyCommand),
    /// Usuários de uma imobiliária: criar, trocar a senha, desativar, reativar.
    #[command(subcommand)]
    User(cli::UserCommand),
    /// Copia o banco SQLite para um arquivo, com o servidor rodando.
    Backup {
        /// Arquivo de destino (não pode existir).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Mostra as configurações efetivas (segredos ocultos) e sai com erro se alguma for inválida.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (serve, command) = match cli.command {
        None => (cli.serve, None),
        Some(Command::Serve(args)) => (args, None),
        Some(other) => (ServeArgs::default(), Some(other)),
    };
    let settings = match Settings::load(&Overrides {
        config_file: cli.common.config,
        host: serve.host,
        port: serve.port,
        database_url: cli.common.database_url,
        redis_url: serve.redis_url,
        no_demo: serve.no_demo,
        tls_cert: serve.tls_cert,
        tls_key: serve.tls_key,
        static_dir: serve.static_dir,
    }) {
        Ok(s) => s,
        Err(e) => return report(Failure::bad_input(format!("configuração inválida: {e}"))),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return report(Failure::failed(format!("não foi possível iniciar: {e}"))),
    };
    let result = runtime.block_on(async move {
        match command {
            None | Some(Command::Serve(_)) => serve_until_stopped(settings).await,
            Some(Command::Migrate) => cli::migrate(&settings).await,
            Some(Command::Agency(c)) => cli::agency(&settings, c).await,
            Some(Command::User(c)) => cli::user(&settings, c).await,
            Some(Command::Backup { to }) => cli::backup(&settings, &to).await,
            Some(Command::CheckConfig) => cli::check_config(&settings),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(f),
    }
}

fn report(f: Failure) -> ExitCode {
    eprintln!("erro: {}", f.message);
    ExitCode::from(f.code)
}

async fn serve_until_stopped(settings: Settings) -> Result<(), Failure> {
    cli::refuse_invalid(&settings)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&settings.log.filter)),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    tracing::debug!(?settings, "settings");
    let app = App::build(settings)
        .await
        .map_err(|e| Failure::failed(format!("{e:#}")))?;
    let stop = app.shutdown_token();
    let run = app.run_until_stopped();
    tokio::pin!(run);
    let result = tokio::select! {
        r = &mut run => r,
        _ = shutdown_signal() => {
            tracing::info!("shutdown signal received");
            // The same stop as a test's: the app hands over, drains and stops itself.
            stop.cancel();
            run.await
        }
    };
    result.map_err(|e| Failure::failed(format!("{e:#}")))
}
