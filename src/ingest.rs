//! Group commit for lead ingest. Each lead must be durable before its 2xx (I1); written one
//! transaction each, every lead pays a disk flush of its own, and on SQLite those flushes queue
//! behind the single writer. Handlers hand their lead to a writer task instead; a writer takes
//! whatever has queued up (up to `MAX_BATCH`) and writes it in one transaction with a savepoint
//! per lead, then answers each handler. Under light load a batch is one lead and nothing waits;
//! under heavy load many leads share one flush. Queues are bounded: a full queue makes the
//! handler wait, never drops a lead.

use crate::store::{Backend, IngestOutcome, NewLead, Store, StoreError, StoreResult};
use crate::supervise::contain;
use crate::supervise::Supervisor;
use crate::Clock;
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Leads written per transaction at most.
const MAX_BATCH: usize = 256;

/// Leads waiting per writer before handlers wait.
const QUEUE: usize = 4096;

struct Job {
    lead: NewLead,
    reply: oneshot::Sender<StoreResult<IngestOutcome>>,
}

/// Cheap handle on the writers.
#[derive(Clone)]
pub struct Ingestor {
    senders: Arc<[mpsc::Sender<Job>]>,
    next: Arc<AtomicUsize>,
}

impl Ingestor {
    /// One writer on SQLite (it has one write lock anyway), four on PostgreSQL (several
    /// transactions flush together there), each supervised. They stop when the node's
    /// shutdown fires, after the batch they are writing.
    pub fn start(store: Store, clock: Clock, sup: &Supervisor) -> Self {
        let writers = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        };
        let senders: Vec<_> = (0..writers)
            .map(|i| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let w = Writer {
                    store: store.clone(),
                    clock,
                    rx,
                };
                sup.spawn(format!("ingest-writer-{i}"), w, Writer::run_boxed);
                tx
            })
            .collect();
        Self {
            senders: senders.into(),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Writes the lead (or finds the one it repeats); answers once it is committed.
    pub async fn ingest(&self, lead: NewLead) -> StoreResult<IngestOutcome> {
        let stopped = || StoreError::Unavailable("the server is shutting down".into());
        let sender = self
            .next
            .fetch_add(1, Ordering::Relaxed)
            .checked_rem(self.senders.len())
            .and_then(|i| self.senders.get(i))
            .ok_or_else(stopped)?;
        let (reply, rx) = oneshot::channel();
        sender
            .send(Job { lead, reply })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// A writer's state outlives a panic: its queue, with the leads waiting in it.
struct Writer {
    store: Store,
    clock: Clock,
    rx: mpsc::Receiver<Job>,
}

impl Writer {
    fn run_boxed(&mut self, cancel: CancellationToken) -> BoxFuture<'_, ()> {
        Box::pin(self.run(cancel))
    }

    async fn run(&mut self, cancel: CancellationToken) {
        let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                n = self.rx.recv_many(&mut jobs, MAX_BATCH) => if n == 0 { break },
            }
            let (leads, replies): (Vec<NewLead>, Vec<_>) =
                jobs.drain(..).map(|j| (j.lead, j.reply)).unzip();
            let now = self.clock.now_ms();
            let results = match contain("ingest-writer", self.store.ingest_batch(&leads, now)).await
            {
                Ok(r) => r,
                // Something in the batch panicked: write each lead alone, so only the lead
                // that causes it fails and the others are written.
                Err(_) => (0..leads.len())
                    .map(|_| Err(StoreError::Duplicate(String::new())))
                    .collect(),
            };
            crate::metrics::ingest_batch(leads.len());
            for ((lead, reply), r) in leads.iter().zip(replies).zip(results) {
                let r = match r {
                    // Lost a race on a unique key to another writer (or its batch failed as a
                    // whole): alone, with its retry, it now finds the winner's rows.
                    Err(StoreError::Duplicate(_)) => {
                        contain("ingest-writer", self.store.ingest_lead(lead, now))
                            .await
                            .unwrap_or_else(|_| {
                                Err(StoreError::Unavailable(
                                    "this lead could not be written; nothing was kept".into(),
                                ))
                            })
                    }
                    other => other,
                };
                // The request was cancelled (the client hung up): its lead is committed or
                // not as `r` says, and the source's retry finds it by its key.
                if reply.send(r).is_err() {
                    tracing::debug!("an ingest caller stopped waiting for its answer");
                }
            }
        }
        tracing::debug!("ingest writer stopped");
    }
}
