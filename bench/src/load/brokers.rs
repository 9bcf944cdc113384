//! A child process holding a slice of broker sockets. Prints `READY <n> <connect_ms>` once all
//! are connected and online, then records each offer as `OFFER <lead_id> <recv_us>` when told to
//! stop (a line on stdin) or when its time is up.

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    ws: String,
    #[arg(long)]
    seed: String,
    #[arg(long)]
    from: usize,
    #[arg(long)]
    to: usize,
    /// Hard stop, in seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let seed = crate::seed::load(&a.seed)?;
    let tokens: Vec<String> = seed.tokens[a.from..a.to.min(seed.tokens.len())].to_vec();
    let (tx, rx) = mpsc::channel::<(i64, u64)>(65_536);
    let ready = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(256)); // handshakes in flight
    let started = std::time::Instant::now();
    let total = tokens.len();
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let (tx, ready, gate, url) = (tx.clone(), ready.clone(), gate.clone(), a.ws.clone());
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let mut req = url.into_client_request()?;
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
            ws.send(Message::text(r#"{"type":"set_online","online":true}"#))
                .await?;
            let mut counted = false;
            drop(permit);
            while let Some(msg) = ws.next().await {
                let Message::Text(t) = msg? else { continue };
                let v: serde_json::Value = serde_json::from_str(t.as_str())?;
                match v["type"].as_str() {
                    Some("presence") if !counted => {
                        counted = true;
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("offer") => {
                        let lead = v["lead"]["id"].as_i64().unwrap_or(-1);
                        let _ = tx.try_send((lead, crate::now_us()));
                    }
                    _ => {}
                }
            }
            anyhow::Ok(())
        });
    }
    drop(tx);
    let r = crate::child::report(total, &ready, started, a.max_seconds, rx, "OFFER").await;
    tasks.abort_all();
    r
}
