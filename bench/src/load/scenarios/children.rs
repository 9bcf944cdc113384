//! The client child processes a scenario starts (copies of this program holding broker or
//! subscriber sockets), and what they saw once told to stop.

use std::collections::HashMap;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

pub(super) struct Brokers {
    children: Vec<(Child, ChildStdin, tokio::io::Lines<BufReader<ChildStdout>>)>,
    pub(super) connect_ms: u128,
    pub(super) total: usize,
}

/// Starts `procs` child processes holding `count` brokers between them; waits until all are online.
pub(super) async fn spawn_brokers(
    ws: &str,
    seed_path: &str,
    count: usize,
    procs: usize,
) -> anyhow::Result<Brokers> {
    spawn_children(count, procs, |from, to| {
        vec![
            "brokers".into(),
            "--ws".into(),
            ws.into(),
            "--seed".into(),
            seed_path.into(),
            "--from".into(),
            from.to_string(),
            "--to".into(),
            to.to_string(),
        ]
    })
    .await
}

/// Starts `procs` copies of this program, each given its slice `[from, to)` of `count`.
pub(super) async fn spawn_children(
    count: usize,
    procs: usize,
    args: impl Fn(usize, usize) -> Vec<String>,
) -> anyhow::Result<Brokers> {
    let exe = std::env::current_exe()?;
    let per = count.div_ceil(procs.max(1));
    let started = Instant::now();
    let mut children = Vec::new();
    for p in 0..procs.max(1) {
        let (from, to) = (p * per, ((p + 1) * per).min(count));
        if from >= to {
            break;
        }
        let mut child = Command::new(&exe)
            .args(args(from, to))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        )
        .lines();
        children.push((child, stdin, stdout));
    }
    for (_, _, out) in children.iter_mut() {
        loop {
            match out.next_line().await? {
                Some(l) if l.starts_with("READY") => break,
                Some(_) => continue,
                None => anyhow::bail!("a client process ended before it was ready"),
            }
        }
    }
    let connect_ms = started.elapsed().as_millis();
    eprintln!(
        "{count} clients connected over {} processes in {connect_ms} ms",
        children.len()
    );
    Ok(Brokers {
        children,
        connect_ms,
        total: count,
    })
}

impl Brokers {
    /// Stops the children and returns every offer they saw: lead id → receive time (µs).
    pub(super) async fn finish(self) -> anyhow::Result<HashMap<i64, Vec<u64>>> {
        let mut offers: HashMap<i64, Vec<u64>> = HashMap::new();
        for (mut child, mut stdin, mut out) in self.children {
            stdin.write_all(b"stop\n").await?;
            while let Some(l) = out.next_line().await? {
                let mut parts = l.split_whitespace();
                match parts.next() {
                    Some("OFFER") | Some("MSG") => {
                        let lead: i64 = parts.next().unwrap_or("-1").parse()?;
                        let at: u64 = parts.next().unwrap_or("0").parse()?;
                        offers.entry(lead).or_default().push(at);
                    }
                    Some("DONE") => break,
                    _ => {}
                }
            }
            let _ = child.wait().await;
        }
        Ok(offers)
    }
}
