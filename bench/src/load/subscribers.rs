//! A child process holding plain WebSocket subscribers (for B0 and the nchan peer): each message
//! starts with `seq:<n>:`; prints `READY`, then `MSG <seq> <recv_us>` lines when told to stop.

use futures_util::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub struct Args {
    /// ws:// URL with `{id}` where the subscriber's number goes.
    #[arg(long)]
    url: String,
    #[arg(long)]
    from: usize,
    #[arg(long)]
    to: usize,
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
}

fn seq_of(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes.get(..bytes.len().min(32))?).ok()?;
    text.strip_prefix("seq:")?.split(':').next()?.parse().ok()
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<(u64, u64)>(65_536);
    let ready = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(256));
    let total = a.to - a.from;
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in a.from..a.to {
        let (tx, ready, gate) = (tx.clone(), ready.clone(), gate.clone());
        let url = a.url.replace("{id}", &id.to_string());
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            drop(permit);
            ready.fetch_add(1, Ordering::Relaxed);
            while let Some(msg) = ws.next().await {
                let seq = match msg? {
                    Message::Text(t) => seq_of(t.as_bytes()),
                    Message::Binary(b) => seq_of(&b),
                    _ => None,
                };
                if let Some(seq) = seq {
                    let _ = tx.try_send((seq, crate::now_us()));
                }
            }
            anyhow::Ok(())
        });
    }
    drop(tx);
    let r = crate::child::report(total, &ready, started, a.max_seconds, rx, "MSG").await;
    tasks.abort_all();
    r
}
