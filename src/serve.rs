//! The accept loop. HTTP/1.1 served by hyper with a header-read timeout (an idle or half-sent
//! connection is closed, not kept forever), a cap on open connections per client address, each
//! connection a task on the app's `TaskTracker`, graceful shutdown on the app's token, and the
//! optional metrics-only listener. `axum::serve` has no header-read timeout, hence this file.

use crate::settings::ServerSettings;
use crate::state::AppState;
use anyhow::Context;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use dashmap::DashMap;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// What an over-the-cap client reads before its connection is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
connection: close\r\nretry-after: 5\r\n\r\n";

/// Serves `router` on `listener` (and `/metrics` on its own listener when configured) until the
/// app's shutdown token is cancelled; then stops accepting and lets open connections finish
/// their current request for at most the shutdown grace period.
pub async fn run(listener: TcpListener, router: Router, app: &AppState) -> anyhow::Result<()> {
    raise_descriptor_limit();
    let limits = Limits::new(&app.settings.server);
    let listen = app.settings.metrics.listen.trim();
    if !listen.is_empty() {
        let metrics = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the metrics listener {listen}"))?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listener");
        let router = crate::http::metrics_router(app.clone());
        let (limits, tracker, stop) = (limits.clone(), app.tracker.clone(), app.shutdown.clone());
        app.tracker
            .spawn(async move { accept_loop(metrics, router, limits, tracker, stop).await });
    }
    accept_loop(
        listener,
        router,
        limits,
        app.tracker.clone(),
        app.shutdown.clone(),
    )
    .await;
    Ok(())
}

/// The per-connection limits, read once from the settings.
#[derive(Clone)]
struct Limits {
    header_read: Duration,
    per_address: PerAddress,
}

impl Limits {
    fn new(s: &ServerSettings) -> Self {
        Self {
            header_read: Duration::from_secs(s.header_read_timeout_seconds.max(1)),
            per_address: PerAddress::new(s.max_connections_per_address),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tracker: TaskTracker,
    stop: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors, most likely: wait a little instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Some(slot) = limits.per_address.enter(peer.ip()) else {
            refuse(stream, peer);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Handlers read the client's address with `ConnectInfo<SocketAddr>`.
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        // The slot lives in the stream, so an upgraded WebSocket keeps counting until it closes.
        let io = TokioIo::new(Counted {
            io: stream,
            _slot: slot,
        });
        let conn = http
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        let stop = stop.clone();
        tracker.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Answers 503 without reading anything and closes, at once: no task, no wait.
fn refuse(stream: TcpStream, peer: SocketAddr) {
    metrics::counter!("roleta_connections_refused_total").increment(1);
    tracing::debug!(%peer, "too many connections from this address");
    if let Ok(mut std) = stream.into_std() {
        let _ = std.write(REFUSED);
    }
}

/// Raises this process's soft open-file limit to the hard one: every connection is a
/// descriptor, and distributions often start services with a soft limit of 1024 or less.
fn raise_descriptor_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
}

/// Open connections per client address. IPv6 clients are counted per /64, the block one
/// subscriber usually holds; IPv4-mapped addresses count as their IPv4 address.
#[derive(Clone)]
struct PerAddress {
    max: usize,
    open: Arc<DashMap<IpAddr, usize>>,
}

impl PerAddress {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::new(DashMap::new()),
        }
    }

    fn enter(&self, ip: IpAddr) -> Option<Slot> {
        if self.max == 0 {
            return Some(Slot(None));
        }
        let key = client_key(ip);
        let mut n = self.open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot(Some((self.clone(), key))))
    }
}

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// One counted connection; dropping it frees the place.
struct Slot(Option<(PerAddress, IpAddr)>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((cap, key)) = self.0.take() {
            cap.open.remove_if_mut(&key, |_, n| {
                *n = n.saturating_sub(1);
                *n == 0
            });
        }
    }
}

/// A stream that holds its connection's [`Slot`] for as long as it lives.
struct Counted {
    io: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_place_can_be_taken_again() {
        let cap = PerAddress::new(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = cap.enter(ip);
        let b = cap.enter(ip);
        assert!(a.is_some() && b.is_some());
        assert!(cap.enter(ip).is_none());
        assert!(cap.enter([10, 0, 0, 2].into()).is_some());
        drop(a);
        assert!(cap.enter(ip).is_some());
        drop(b);
    }

    #[test]
    fn one_ipv6_block_counts_as_one_client() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(client_key(mapped), IpAddr::from([10, 0, 0, 1]));
    }
}
