//! `roleta user create|reset-password|deactivate|reactivate`: a user named by e-mail within an
//! agency. New users and reset passwords get a one-time password, printed once, that must be
//! changed at the first sign-in.

use super::{find_agency, open_current, CliResult, Failure};
use crate::model::Role;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Cria um usuário com uma senha provisória.
    Create {
        /// Número ou nome exato da imobiliária.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// broker (corretor), manager (gestor), receptionist (recepção), ops (operação) ou admin.
        #[arg(long, default_value = "broker", value_parser = parse_role)]
        role: Role,
    },
    /// Gera uma senha provisória nova e encerra as sessões do usuário.
    ResetPassword {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
    },
    /// Desativa o usuário: não entra mais, sai da roleta; o histórico fica.
    Deactivate {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
    },
    /// Reativa um usuário desativado.
    Reactivate {
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    let s = s.trim().to_lowercase();
    let role = match s.as_str() {
        "corretor" | "corretora" => Some(Role::Broker),
        "gestor" | "gestora" => Some(Role::Manager),
        "recepcao" | "recepção" => Some(Role::Receptionist),
        "operacao" | "operação" => Some(Role::Ops),
        other => Role::parse(other),
    };
    role.ok_or_else(|| {
        format!("papel \"{s}\" desconhecido; use broker, manager, receptionist, ops ou admin")
    })
}

pub async fn user(settings: &Settings, command: UserCommand) -> CliResult {
    let store = open_current(settings).await?;
    let result = run(&store, command).await;
    store.close().await;
    result
}

async fn run(store: &Store, command: UserCommand) -> CliResult {
    let now = crate::clock::Clock::new().now_ms();
    match command {
        UserCommand::Create {
            agency,
            email,
            name,
            role,
        } => {
            let (agency, agency_name) = find_agency(store, &agency).await?;
            let email = valid_email(&email)?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 120 {
                return Err(Failure::bad_input("informe um nome de até 120 caracteres"));
            }
            let password = crate::auth::one_time_password();
            let hash = hash(&password).await?;
            let id = store
                .create_user(agency, &email, name, role, &hash, true, now)
                .await
                .map_err(|e| refused_email(e, &email))?;
            println!("Usuário criado em {agency_name}: {name} <{email}> (número {id})");
            print_one_time(&password);
        }
        UserCommand::ResetPassword { agency, email } => {
            let (id, user) = find_user(store, &agency, &email).await?;
            let password = crate::auth::one_time_password();
            let hash = hash(&password).await?;
            store
                .reset_password(user.agency_id, id, &hash, true, now)
                .await
                .map_err(|e| Failure::failed(e.to_string()))?;
            println!(
                "Senha de {} trocada; as sessões abertas foram encerradas.",
                user.email
            );
            print_one_time(&password);
        }
        UserCommand::Deactivate { agency, email } => {
            let (id, user) = find_user(store, &agency, &email).await?;
            store
                .deactivate_user(user.agency_id, id, now)
                .await
                .map_err(|e| Failure::failed(e.to_string()))?;
            println!(
                "{} desativado: não entra mais e sai da roleta; o histórico foi mantido.",
                user.email
            );
        }
        UserCommand::Reactivate { agency, email } => {
            let (id, user) = find_user(store, &agency, &email).await?;
            store
                .reactivate_user(user.agency_id, id)
                .await
                .map_err(|e| Failure::failed(e.to_string()))?;
            println!("{} reativado.", user.email);
        }
    }
    Ok(())
}

async fn find_user(
    store: &Store,
    agency: &str,
    email: &str,
) -> Result<(i64, crate::store::User), Failure> {
    let (agency, agency_name) = find_agency(store, agency).await?;
    let email = email.trim().to_lowercase();
    match store.user_by_email(agency, &email).await {
        Ok(u) => Ok((u.id, u)),
        Err(StoreError::NotFound) => Err(Failure::bad_input(format!(
            "nenhum usuário com o e-mail {email} em {agency_name}"
        ))),
        Err(e) => Err(Failure::failed(e.to_string())),
    }
}

/// Lower-cased and trimmed, as sign-in compares it.
fn valid_email(email: &str) -> Result<String, Failure> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(email)
    } else {
        Err(Failure::bad_input(format!(
            "\"{email}\" não é um e-mail válido"
        )))
    }
}

pub(super) fn refused_email(e: StoreError, email: &str) -> Failure {
    match e {
        StoreError::Duplicate(_) | StoreError::Conflict(_) => {
            Failure::bad_input(format!("o e-mail {email} já é usado por outro usuário"))
        }
        other => Failure::failed(other.to_string()),
    }
}

pub(super) async fn hash(password: &str) -> Result<String, Failure> {
    crate::auth::hash_password(password.to_string())
        .await
        .map_err(|e| Failure::failed(format!("{e:#}")))
}

pub(super) fn print_one_time(password: &str) {
    println!("Senha provisória: {password}");
    println!("(aparece só agora; a troca é obrigatória no primeiro acesso)");
}
