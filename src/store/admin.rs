//! The schema's version and the online backup: what `roleta migrate` and `roleta backup` do.

use super::{sqlite_file, Backend, Store};
use anyhow::Context;

/// A migration built into the binary: its version and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

impl Store {
    /// Applies the migrations not yet applied (forward only) and answers which they were.
    pub async fn migrate(&self) -> anyhow::Result<Vec<Migration>> {
        let pending = self.pending_migrations().await?;
        self.migrator()
            .run(self.pool())
            .await
            .context("applying migrations")?;
        self.seed_agency_defaults(crate::clock::Clock::new().now_ms())
            .await
            .context("seeding the default lead pipeline")?;
        Ok(pending)
    }

    /// The migrations built into this binary that the database has not applied yet.
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<Migration>> {
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(self.pool())
                .await
            {
                Ok(v) => v,
                // A database nothing was applied to has no table yet.
                Err(sqlx::Error::Database(e)) if is_missing_table(e.message()) => Vec::new(),
                Err(e) => return Err(e).context("reading the applied migrations"),
            };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| Migration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect())
    }

    /// SQLite: writes a consistent copy of the database to `to` with `VACUUM INTO`, safe while
    /// the server runs (it reads one snapshot; writers are not blocked for long). The file must
    /// not exist. PostgreSQL has its own tool (`pg_dump`): this answers `Ok(false)`.
    pub async fn backup_to(&self, to: &std::path::Path) -> anyhow::Result<bool> {
        if self.backend() == Backend::Postgres {
            return Ok(false);
        }
        anyhow::ensure!(!to.exists(), "{} already exists", to.display());
        let target = to.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.pool())
            .await
            .with_context(|| format!("writing {target}"))?;
        Ok(true)
    }

    /// The SQLite file behind this store, if it is one.
    pub fn sqlite_path(url: &str) -> Option<&str> {
        sqlite_file(url)
    }
}

fn is_missing_table(message: &str) -> bool {
    message.contains("no such table") || message.contains("does not exist")
}
