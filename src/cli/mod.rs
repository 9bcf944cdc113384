//! The administration commands of the `roleta` binary (docs/DEPLOY.md): an operator reads their
//! output, so it is pt-BR; one-time passwords go to standard output once and nowhere else
//! (nothing here logs). Exit codes: 0 done, 1 the work failed (database unreachable…), 2 the
//! input was refused (unknown agency, duplicate e-mail, invalid settings) and nothing was written.

mod agency;
mod user;

pub use agency::{agency, AgencyCommand};
pub use user::{user, UserCommand};

use crate::model::AgencyId;
use crate::settings::Settings;
use crate::settings_check;
use crate::store::{Store, StoreError};
use std::path::Path;

/// Why a command stopped: what to tell the operator, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Exit 2: the input was refused; nothing was written.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }
    /// Exit 1: the work could not be done.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

pub type CliResult = Result<(), Failure>;

/// Refuses settings that parse but cannot work (see [`settings_check::validate`]).
pub fn refuse_invalid(settings: &Settings) -> CliResult {
    let problems = settings_check::validate(settings);
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    Err(Failure::bad_input(format!(
        "configuração inválida:\n{}",
        list.join("\n")
    )))
}

/// `roleta check-config`: the effective settings, secrets hidden; exit 2 on an invalid one.
pub fn check_config(settings: &Settings) -> CliResult {
    print!("{}", settings_check::render(settings));
    refuse_invalid(settings)?;
    println!("# configuração válida");
    Ok(())
}

async fn open(settings: &Settings) -> Result<Store, Failure> {
    Store::open(settings.database.url.expose(), 2)
        .await
        .map_err(|e| Failure::failed(format!("não foi possível abrir o banco de dados: {e:#}")))
}

/// Opens the database for a command that reads or writes data: its schema must be current.
async fn open_current(settings: &Settings) -> Result<Store, Failure> {
    let store = open(settings).await?;
    let pending = store
        .pending_migrations()
        .await
        .map_err(|e| Failure::failed(format!("{e:#}")))?;
    if !pending.is_empty() {
        return Err(Failure::failed(format!(
            "o banco de dados tem {} migração(ões) pendente(s): rode `roleta migrate` antes",
            pending.len()
        )));
    }
    Ok(store)
}

/// `roleta migrate`: applies what is pending and says what it did.
pub async fn migrate(settings: &Settings) -> CliResult {
    let store = open(settings).await?;
    let applied = store
        .migrate()
        .await
        .map_err(|e| Failure::failed(format!("as migrações falharam: {e:#}")))?;
    if applied.is_empty() {
        println!("O banco de dados já estava atualizado.");
    } else {
        for m in &applied {
            println!("aplicada {:04} {}", m.version, m.description);
        }
        println!(
            "Banco de dados atualizado: {} migração(ões).",
            applied.len()
        );
    }
    store.close().await;
    Ok(())
}

/// `roleta backup --to FILE`: an online copy of an SQLite database.
pub async fn backup(settings: &Settings, to: &Path) -> CliResult {
    if !settings.database.url.expose().starts_with("sqlite:") {
        return Err(Failure::bad_input(
            "o backup embutido é só para SQLite; no PostgreSQL use pg_dump \
             (por exemplo: pg_dump -Fc -f roleta.dump \"$URL\"), veja docs/DEPLOY.md",
        ));
    }
    if to.exists() {
        return Err(Failure::bad_input(format!(
            "{} já existe; escolha um arquivo novo",
            to.display()
        )));
    }
    let store = open_current(settings).await?;
    let written = store
        .backup_to(to)
        .await
        .map_err(|e| Failure::failed(format!("o backup falhou: {e:#}")))?;
    store.close().await;
    if written {
        println!("Backup gravado em {}", to.display());
    }
    Ok(())
}

/// The agency an operator names: its number, or its name (case and spaces aside).
async fn find_agency(store: &Store, key: &str) -> Result<(AgencyId, String), Failure> {
    let key = key.trim();
    let found = match key.parse::<i64>() {
        Ok(id) => store.agency_summary(AgencyId(id)).await,
        Err(_) => store.agency_by_name(key).await,
    };
    match found {
        Ok(a) => Ok((a.id, a.name)),
        Err(StoreError::NotFound) => Err(Failure::bad_input(format!(
            "imobiliária \"{key}\" não encontrada (use o número ou o nome; veja `roleta agency list`)"
        ))),
        Err(StoreError::Conflict(m)) => Err(Failure::bad_input(m)),
        Err(e) => Err(Failure::failed(e.to_string())),
    }
}

/// A refusal from the store (bad value, name or e-mail taken) as the operator's message.
fn refused(e: StoreError) -> Failure {
    match e {
        StoreError::Invalid { message, .. } => Failure::bad_input(message),
        StoreError::Conflict(m) => Failure::bad_input(m),
        StoreError::Duplicate(_) => Failure::bad_input("o e-mail já está em uso"),
        other => Failure::failed(other.to_string()),
    }
}
