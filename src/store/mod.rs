//! The store: every read and write of durable state, over SQLite (embedded default) or
//! PostgreSQL, through one `sqlx::Any` pool. Queries are written once with `$n` placeholders,
//! which both backends accept; times are epoch milliseconds and flags 0/1 integers so that no
//! type differs between them. Every query names its agency: I8 is kept here, not in handlers.

mod admin;
mod agencies;
mod attendances;
mod audit;
mod availability;
mod broker_states;
mod campaign_add;
mod campaign_calls;
mod campaigns;
mod client_record;
mod clients;
mod departments;
mod exports;
mod import_confirm;
mod import_staging;
mod imports;
mod ingest;
mod lead_number;
mod lead_views;
mod leads;
mod login_failures;
mod notify;
mod offers;
mod outbox;
mod outcomes;
mod pipeline;
mod platform;
mod properties;
mod push;
mod recontact;
mod shards;
mod sources;
mod sql;
mod suspension;
mod teams;
mod timeline;
mod tokens;
mod user_lifecycle;
mod users;
mod wallboard;
mod webhook_deliveries;
mod webhooks;

pub use agencies::*;
pub use attendances::*;
pub use audit::*;
pub use availability::*;
pub use broker_states::BrokerState;
pub use campaign_add::*;
pub use campaign_calls::*;
pub use campaigns::*;
pub use client_record::{
    ClientLead, ClientListRow, ClientRecord, InterestProfile, ProfileEdit, Reader,
};
pub use clients::{ClientFilter, ClientRow};
pub use departments::*;
pub use exports::*;
pub use imports::*;
pub use lead_number::*;
pub use lead_views::*;
pub use leads::*;
pub use notify::{Notification, NotificationRule, Subject, EVENTS, RECIPIENTS};
pub use offers::*;
pub use sources::*;
// The statements that end an offer, shared with the suspension and the shards' takeover.
use offers::closing;
pub use outbox::{Event, EVENT_TYPES};
pub use outcomes::OutcomeRecorded;
pub use pipeline::*;
pub use platform::*;
pub use properties::*;
pub use push::*;
pub use suspension::*;
pub use teams::*;
pub use timeline::TimelineEntry;
pub use tokens::TokenInfo;
pub use user_lifecycle::*;
pub use users::*;
pub use wallboard::*;
pub use webhook_deliveries::*;
pub use webhooks::*;

use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::AnyPool;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// Input the store itself checks (paths that bypass the HTTP edge, like the command line,
    /// get the same answer): the field at fault and what is wrong with it, for a person.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A unique constraint refused the write (a concurrent writer got there first).
    #[error("{0}")]
    Duplicate(String),
    /// The agency's roulette was taken over by another node (a newer epoch): this write came
    /// from a stale owner and was refused.
    #[error("agency {agency}: epoch {epoch} is no longer the dispatching one")]
    Fenced {
        agency: crate::model::AgencyId,
        epoch: i64,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            // Connection exceptions (08…) and an administrator or crash shutdown (57P…): the
            // database is going away, not refusing this statement.
            sqlx::Error::Database(ref d)
                if d.code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(d.message().to_string())
            }
            sqlx::Error::Database(ref d) if d.is_unique_violation() => {
                StoreError::Duplicate(d.message().to_string())
            }
            other => StoreError::Other(anyhow::Error::new(other)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A cheap handle on the pool; clone it freely.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// How long an SQLite writer waits for another's transaction to end before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects, creating the SQLite file's folder if needed, and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let store = Self::open(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema (the command line checks it is current first).
    pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        use anyhow::Context;
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("database.url must start with sqlite: or postgres:");
        };
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_file(url).and_then(|f| std::path::Path::new(f).parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A writer waits this long for the write lock instead of failing with
                        // "database is locked" (set here rather than trusting a driver default).
                        let ms = SQLITE_BUSY_TIMEOUT.as_millis();
                        sqlx::query(&format!("PRAGMA busy_timeout = {ms}"))
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .context("connecting to the database")?;
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the single writer; synchronous stays FULL (sqlx's
            // default) so a lead answered 2xx survives a power cut (I1).
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await
                .context("enabling WAL")?;
        }
        Ok(Self { pool, backend })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write; every write transaction in the store starts here.
    /// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken (waiting up to the busy
    /// timeout) before the first statement, so a transaction that reads before it writes never
    /// fails upgrading its read to a write ("database is locked") when another writer committed
    /// in between. On PostgreSQL it is a plain `BEGIN`; rows are locked as they are written.
    pub async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// `Err(NotFound)` when an update touched no row.
pub(crate) fn one_row(r: AnyQueryResult) -> StoreResult<()> {
    if r.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Starts a transaction that reads before it writes with a write on one row of `table`, which
/// serialises it with others on that row: on PostgreSQL it locks the row (SQLite's
/// [`Store::begin_write`] already holds the database's write lock).
pub(crate) async fn write_first(
    conn: &mut sqlx::AnyConnection,
    table: &'static str,
    id: impl Into<i64>,
) -> StoreResult<()> {
    sqlx::query(&format!("UPDATE {table} SET id = id WHERE id = $1"))
        .bind(id.into())
        .execute(conn)
        .await?;
    Ok(())
}

/// 0/1 integer columns as `bool`.
pub(crate) fn flag(v: i64) -> bool {
    v != 0
}
