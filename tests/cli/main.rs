#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The `roleta` binary's subcommands, run for real: the binary copied alone into an empty folder
//! (no static/, no config/, no source tree beside it), each command on SQLite and on PostgreSQL,
//! its success and its refusals (clear message, non-zero exit, nothing half-written).

#[path = "../common/pg.rs"]
mod pg;

mod admin;
mod config;
mod story;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The binary, copied once into a folder of its own.
pub fn binary() -> &'static Path {
    static COPY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &COPY
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let to = dir.path().join("roleta");
            std::fs::copy(env!("CARGO_BIN_EXE_roleta"), &to).unwrap();
            (dir, to)
        })
        .1
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database and an empty working folder for one test.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub db: String,
    pub backend: Backend,
}

impl Site {
    pub async fn new(backend: Backend) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => format!("sqlite://{}/roleta.db?mode=rwc", dir.path().display()),
            Backend::Postgres => pg::create_database("roleta_t_cli_").await,
        };
        Site { dir, db, backend }
    }

    /// A command with this site's database, run from its empty folder.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.current_dir(self.dir.path())
            .args(args)
            .arg("--database-url")
            .arg(&self.db)
            .env_remove("RUST_LOG")
            .env("ROLETA__PUSH__ENABLED", "false");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs and asserts success.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{args:?} failed:\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// Runs and asserts the input was refused (exit 2) with `needle` in the message.
    pub fn refused(&self, args: &[&str], needle: &str) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 2,
            "{args:?} should be refused:\n{}\n{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {:?} lacks {needle:?}",
            r.stderr
        );
        r
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// The one-time password a create or reset printed.
    pub fn one_time_password(&self) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Senha provisória: "))
            .unwrap_or_else(|| panic!("no one-time password in {:?}", self.stdout))
            .trim()
            .to_string()
    }
}

/// Runs `$body` once per backend with `site: &Site`.
#[macro_export]
macro_rules! both {
    ($name:ident, |$site:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                let $site = &$crate::Site::new($crate::Backend::Sqlite).await;
                $body.await;
            }
            #[tokio::test]
            async fn postgres() {
                let $site = &$crate::Site::new($crate::Backend::Postgres).await;
                $body.await;
            }
        }
    };
}
