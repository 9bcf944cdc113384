//! CSV import (docs/IMPORT.md): the uploaded file is read as it arrives, never held whole. The
//! request body's chunks go over a small bounded channel to a blocking thread that runs the
//! `csv` reader over them and checks each row's own fields (the phone to E.164, numbers, e-mail);
//! batches of checked rows come back over a second bounded channel for the store to resolve
//! against the agency (brokers, departments, properties, duplicates) and stage. A slow database
//! slows the reader, which slows the upload: memory stays flat whatever the file's size.

mod columns;
mod reader;
mod rows;

pub use columns::{fold as fold_name, Column, Columns};
pub use reader::{read_csv, FileError, Upload};
pub use rows::{ClientLine, Line, Parsed, Problem, PropertyLine};

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Clients,
    Properties,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Clients => "clients",
            Kind::Properties => "properties",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "clients" => Some(Kind::Clients),
            "properties" => Some(Kind::Properties),
            _ => None,
        }
    }
}

/// Rows per batch: per staging transaction and per confirmation transaction.
pub const BATCH: usize = 500;
