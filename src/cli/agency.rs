//! `roleta agency create|list|suspend|reactivate`: the same agency lifecycle the platform API
//! offers a CRM vendor (docs/PLATFORM.md), from the server's own command line.

use super::user::{hash, print_one_time};
use super::{find_agency, open_current, refused, CliResult};
use crate::settings::Settings;
use crate::store::Store;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum AgencyCommand {
    /// Cria uma imobiliária e o seu primeiro gestor, com uma senha provisória.
    Create {
        /// Nome da imobiliária.
        #[arg(long)]
        name: String,
        /// E-mail do primeiro gestor (ele entra com a senha provisória e escolhe uma nova).
        #[arg(long)]
        manager_email: String,
        /// Nome do gestor (padrão: "Gestor(a)").
        #[arg(long)]
        manager_name: Option<String>,
    },
    /// Lista as imobiliárias.
    List,
    /// Suspende uma imobiliária: usuários saem, integrações recebem 403; nada é apagado.
    Suspend {
        /// Número ou nome exato da imobiliária.
        #[arg(long)]
        agency: String,
    },
    /// Reativa uma imobiliária suspensa.
    Reactivate {
        #[arg(long)]
        agency: String,
    },
}

pub async fn agency(settings: &Settings, command: AgencyCommand) -> CliResult {
    let store = open_current(settings).await?;
    let result = run(&store, command).await;
    store.close().await;
    result
}

async fn run(store: &Store, command: AgencyCommand) -> CliResult {
    let now = crate::clock::Clock::new().now_ms();
    match command {
        AgencyCommand::Create {
            name,
            manager_email,
            manager_name,
        } => {
            let manager_name = manager_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or("Gestor(a)");
            let password = crate::auth::one_time_password();
            let hash = hash(&password).await?;
            let (agency, _) = store
                .create_agency_with_manager(&name, &manager_email, manager_name, &hash, now)
                .await
                .map_err(refused)?;
            let created = store.agency_summary(agency).await.map_err(refused)?;
            println!("Imobiliária criada: {} (número {agency})", created.name);
            println!("Gestor(a): {}", manager_email.trim().to_lowercase());
            print_one_time(&password);
        }
        AgencyCommand::List => {
            let agencies = store.list_agencies().await.map_err(refused)?;
            if agencies.is_empty() {
                println!("Nenhuma imobiliária cadastrada.");
            }
            for a in agencies {
                let status = if a.suspended_at_ms.is_some() {
                    "suspensa"
                } else {
                    "ativa"
                };
                println!(
                    "{:>6}  {:<9} {:>4} usuário(s)  {}",
                    a.id, status, a.users, a.name
                );
            }
        }
        AgencyCommand::Suspend { agency } => {
            let (id, name) = find_agency(store, &agency).await?;
            let done = store.suspend_agency(id, now).await.map_err(refused)?;
            println!(
                "{name} suspensa: {} sessão(ões) encerrada(s), {} oferta(s) em andamento \
                 cancelada(s), {} lead(s) aguardando; integrações recebem 403. Nada foi apagado.",
                done.sessions_ended, done.offers_cancelled, done.leads_waiting
            );
        }
        AgencyCommand::Reactivate { agency } => {
            let (id, name) = find_agency(store, &agency).await?;
            store.reactivate_agency(id, now).await.map_err(refused)?;
            println!("{name} reativada.");
        }
    }
    Ok(())
}
