//! The streamed CSV reader: the request body's chunks over a bounded channel into `csv`'s
//! reader on a blocking thread, the checked rows back in batches over another. The separator
//! (`;`, `,` or tab) is read off the header line; a UTF-8 BOM is dropped; a cell that is not
//! UTF-8 is read as Latin-1 (what a spreadsheet saves as "CSV" on a Windows in Portuguese).

use super::rows::{check_row, Line};
use super::{Columns, Kind, BATCH};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;

/// Why a file as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// No header line.
    Empty,
    /// The header lacks a column the kind needs (its pt-BR name).
    MissingColumn(String),
    /// Larger than the import's body limit.
    TooLarge,
    /// The upload broke off, or the CSV could not be read.
    Broken(String),
}

/// What the reading thread sends, in order: the header, batches of rows, then the end.
#[derive(Debug)]
pub enum Upload {
    Header {
        separator: u8,
        columns: Columns,
    },
    Rows(Vec<Line>),
    /// Every row was sent; the file's SHA-256.
    End {
        sha256: String,
    },
    Failed(FileError),
}

/// Reads `body` as a CSV file of `kind`: the future that pumps the body into the reader, the
/// reader's events, and the blocking reader's handle. The caller polls the pump and handles the
/// events together (`tokio::join!`); dropping the events stops the reader and, through it, the
/// pump.
pub fn read_csv<S, E>(
    body: S,
    kind: Kind,
    limit: usize,
) -> (
    impl std::future::Future<Output = ()>,
    mpsc::Receiver<Upload>,
    tokio::task::JoinHandle<()>,
)
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let (chunk_tx, chunk_rx) = mpsc::channel::<Result<Bytes, String>>(4);
    let (event_tx, event_rx) = mpsc::channel::<Upload>(2);
    let reader = tokio::task::spawn_blocking(move || read_blocking(chunk_rx, event_tx, kind));
    let pump = async move {
        let mut body = body;
        let mut seen = 0usize;
        while let Some(chunk) = body.next().await {
            let item = match chunk {
                Ok(b) => {
                    seen += b.len();
                    if seen > limit {
                        let _ = chunk_tx.send(Err(TOO_LARGE.into())).await;
                        break;
                    }
                    Ok(b)
                }
                Err(e) => Err(e.to_string()),
            };
            let failed = item.is_err();
            if chunk_tx.send(item).await.is_err() || failed {
                break;
            }
        }
    };
    (pump, event_rx, reader)
}

const TOO_LARGE: &str = "\0too large";

/// `Read` over the channel of chunks, hashing what passes.
struct Chunks {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
    hash: Sha256,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => {
                    self.hash.update(&b);
                    self.current = b;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let head = self.current.split_to(n);
        buf.get_mut(..n)
            .ok_or_else(|| std::io::Error::other("buffer"))?
            .copy_from_slice(&head);
        Ok(n)
    }
}

fn broken(e: impl std::fmt::Display) -> FileError {
    let m = e.to_string();
    if m.contains(TOO_LARGE) {
        FileError::TooLarge
    } else {
        FileError::Broken(m)
    }
}

/// The longest header line read.
const MAX_HEADER: u64 = 64 * 1024;

fn read_blocking(rx: mpsc::Receiver<Result<Bytes, String>>, tx: mpsc::Sender<Upload>, kind: Kind) {
    let fail = |tx: &mpsc::Sender<Upload>, e| {
        let _ = tx.blocking_send(Upload::Failed(e));
    };
    let mut input = BufReader::with_capacity(
        64 * 1024,
        Chunks {
            rx,
            current: Bytes::new(),
            hash: Sha256::new(),
        },
    );
    let mut first = Vec::new();
    if let Err(e) = (&mut input).take(MAX_HEADER).read_until(b'\n', &mut first) {
        return fail(&tx, broken(e));
    }
    let first = first
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .map(<[u8]>::to_vec)
        .unwrap_or(first);
    if first.iter().all(u8::is_ascii_whitespace) {
        return fail(&tx, FileError::Empty);
    }
    let separator = separator_of(&first);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(separator)
        .flexible(true)
        .has_headers(true)
        .from_reader(std::io::Cursor::new(first).chain(input));
    let header: Vec<String> = match csv.byte_headers() {
        Ok(h) => h.iter().map(text).collect(),
        Err(e) => return fail(&tx, broken(e)),
    };
    let columns = match Columns::map(kind, &header) {
        Ok(c) => c,
        Err(name) => return fail(&tx, FileError::MissingColumn(name)),
    };
    if tx
        .blocking_send(Upload::Header {
            separator,
            columns: columns.clone(),
        })
        .is_err()
    {
        return;
    }
    let mut batch = Vec::with_capacity(BATCH);
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return fail(&tx, broken(e)),
        }
        let cells: Vec<String> = record.iter().map(text).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line()) as i64;
        batch.push(check_row(kind, &columns, line, &cells));
        if batch.len() == BATCH
            && tx
                .blocking_send(Upload::Rows(std::mem::take(&mut batch)))
                .is_err()
        {
            return;
        }
    }
    if !batch.is_empty() && tx.blocking_send(Upload::Rows(batch)).is_err() {
        return;
    }
    // The csv reader owns the chain; take the hash back out of it.
    let chunks = csv.into_inner().into_inner().1.into_inner();
    let sha256 = hex::encode(chunks.hash.finalize());
    let _ = tx.blocking_send(Upload::End { sha256 });
}

/// The separator of a header line: whichever of `;`, `,` and tab it holds most of, outside
/// quotes (`,` when it holds none: a single column).
fn separator_of(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => counts[0] += 1,
            b',' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let [semi, comma, tab] = counts;
    if tab > semi && tab > comma {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

/// A cell as text: UTF-8, else Latin-1, without NUL characters (PostgreSQL cannot store them);
/// a leading `'` that guards a formula sign (what the export writes before `=`, `+`, `-`, `@`)
/// is dropped.
fn text(bytes: &[u8]) -> String {
    let s: String = match std::str::from_utf8(bytes) {
        Ok(s) => s.chars().filter(|&c| c != '\0').collect(),
        Err(_) => bytes
            .iter()
            .filter(|&&b| b != 0)
            .map(|&b| char::from(b))
            .collect(),
    };
    let t = s.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_separator_is_read_off_the_header() {
        assert_eq!(separator_of(b"nome;telefone;email\n"), b';');
        assert_eq!(separator_of(b"nome,telefone\n"), b',');
        assert_eq!(separator_of(b"\"a;b\",c\n"), b',');
        assert_eq!(separator_of(b"nome\ttelefone\n"), b'\t');
    }

    #[test]
    fn cells_are_utf8_or_latin1_and_lose_the_formula_guard() {
        assert_eq!(text("João".as_bytes()), "João");
        assert_eq!(text(b"Jo\xe3o"), "João");
        assert_eq!(text(b"'+55 11 98765-4321"), "+55 11 98765-4321");
        assert_eq!(text(b"'quote"), "'quote");
        assert_eq!(text(b"An\0a"), "Ana");
        assert_eq!(text(b"Jo\xe3\0o"), "João");
    }
}
