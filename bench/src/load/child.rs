//! What every client child process does once its sockets are opening: wait until all are ready,
//! say `READY`, collect what arrives until told to stop (a line on stdin) or out of time, then
//! print one `<TAG> <id> <recv_us>` line per arrival and `DONE`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

pub async fn report<T: std::fmt::Display>(
    total: usize,
    ready: &AtomicUsize,
    started: Instant,
    max_seconds: u64,
    mut rx: mpsc::Receiver<(T, u64)>,
    tag: &str,
) -> anyhow::Result<()> {
    while ready.load(Ordering::Relaxed) < total {
        if started.elapsed().as_secs() > 120 {
            anyhow::bail!(
                "only {} of {total} clients were ready",
                ready.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("READY {total} {}", started.elapsed().as_millis());
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let deadline = tokio::time::sleep(Duration::from_secs(max_seconds));
    tokio::pin!(deadline);
    let mut got = Vec::new();
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = stdin.next_line() => break,
            Some(m) = rx.recv() => got.push(m),
        }
    }
    while let Ok(m) = rx.try_recv() {
        got.push(m);
    }
    for (id, at) in got {
        println!("{tag} {id} {at}");
    }
    println!("DONE");
    Ok(())
}
