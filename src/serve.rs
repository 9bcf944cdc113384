//! The accept loop. HTTP/1.1 served by hyper with a header-read timeout (an idle or half-sent
//! connection is closed, not kept forever), a cap on open connections per client address, each
//! connection a task on the app's `TaskTracker`, graceful shutdown on the app's token, and the
//! optional metrics-only listener. With built-in HTTPS (src/tls.rs) the main listener speaks
//! TLS — the handshake bounded by the same timeout and counted against the same cap — and an
//! optional plain-HTTP port answers redirects to it. `axum::serve` has no header-read timeout,
//! hence this file.

use crate::settings::ServerSettings;
use crate::state::AppState;
use crate::supervise::Supervisor;
use crate::tls::{Tls, TlsConnection};
use anyhow::Context;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use dashmap::DashMap;
use hyper::body::Incoming;
use hyper::server::conn::http1;
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
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// What an over-the-cap client reads before its connection is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
connection: close\r\nretry-after: 5\r\n\r\n";

/// Serves `router` on `listener` (and `/metrics` on its own listener when configured) until the
/// app's shutdown token is cancelled; then stops accepting and lets open connections finish
/// their current request for at most the shutdown grace period. A certificate that cannot be
/// used is an error here, before anything is accepted.
pub async fn run(listener: TcpListener, router: Router, app: &AppState) -> anyhow::Result<()> {
    raise_descriptor_limit();
    let server = &app.settings.server;
    let tls = Tls::from_settings(server)?;
    let limits = Limits::new(server);
    let spawn_loop = |l: TcpListener, router: Router, tls: Option<TlsAcceptor>| {
        let (limits, tracker, stop) = (limits.clone(), app.tracker.clone(), app.shutdown.clone());
        app.tracker
            .spawn(async move { accept_loop(l, router, limits, tls, tracker, stop).await });
    };
    let listen = app.settings.metrics.listen.trim();
    if !listen.is_empty() {
        let metrics = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the metrics listener {listen}"))?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listener");
        spawn_loop(metrics, crate::http::metrics_router(app.clone()), None);
    }
    if let Some(tls) = &tls {
        tracing::info!(cert = %tls.cert_path().display(), "built-in HTTPS");
        if server.http_redirect_port != 0 {
            let addr = format!("{}:{}", server.host, server.http_redirect_port);
            let plain = TcpListener::bind(&addr).await.with_context(|| {
                format!("binding the redirect listener {addr} (server.http_redirect_port)")
            })?;
            tracing::info!(addr = %plain.local_addr()?, "plain HTTP answers a redirect to HTTPS");
            let https_port = listener.local_addr()?.port();
            spawn_loop(plain, crate::http::redirect_router(https_port), None);
        }
    }
    let sup = Supervisor::with_health(
        app.tracker.clone(),
        app.shutdown.clone(),
        app.health.clone(),
    );
    crate::tls::watch(tls.clone(), &sup);
    accept_loop(
        listener,
        router,
        limits,
        tls.map(|t| t.acceptor()),
        app.tracker.clone(),
        app.shutdown.clone(),
    )
    .await;
    Ok(())
}

/// The per-connection limits, read once from the settings.
#[derive(Clone)]
struct Limits {
    /// Also the bound on a TLS handshake: a client must speak within it either way.
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
    tls: Option<TlsAcceptor>,
    tracker: TaskTracker,
    stop: CancellationToken,
) {
    let mut http = http1::Builder::new();
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
            // A TLS client could not read a plain-text answer: it is only closed.
            refuse(stream, peer, tls.is_none());
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            // Served all the same, with Nagle's delay on small frames.
            tracing::debug!(%peer, error = %e, "setting TCP_NODELAY failed");
        }
        // The slot lives in the stream, so an upgraded WebSocket keeps counting until it closes.
        let io = Counted {
            io: stream,
            _slot: slot,
        };
        let (router, stop) = (router.clone(), stop.clone());
        match &tls {
            None => {
                tracker.spawn(serve_connection(
                    http.clone(),
                    io,
                    router,
                    peer,
                    false,
                    stop,
                ));
            }
            Some(acceptor) => {
                let (acceptor, bound, http) = (acceptor.clone(), limits.header_read, http.clone());
                tracker.spawn(async move {
                    let handshake = tokio::select! {
                        _ = stop.cancelled() => return,
                        r = tokio::time::timeout(bound, acceptor.accept(io)) => r,
                    };
                    match handshake {
                        Ok(Ok(io)) => serve_connection(http, io, router, peer, true, stop).await,
                        Ok(Err(e)) => {
                            metrics::counter!("roleta_tls_handshake_failures_total").increment(1);
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            metrics::counter!("roleta_tls_handshake_failures_total").increment(1);
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        }
    }
}

/// One HTTP/1.1 connection over `io` (plain or TLS) until it ends, or until shutdown lets its
/// current request finish.
async fn serve_connection<I>(
    http: http1::Builder,
    io: I,
    router: Router,
    peer: SocketAddr,
    tls: bool,
    stop: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Handlers read the client's address with `ConnectInfo<SocketAddr>`, and whether the
    // connection is TLS from `TlsConnection`.
    let service = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if tls {
            req.extensions_mut().insert(TlsConnection);
        }
        req
    });
    let conn = http
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades();
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
}

/// Answers 503 (on plain HTTP) without reading anything and closes, at once: no task, no wait.
fn refuse(stream: TcpStream, peer: SocketAddr, answer: bool) {
    metrics::counter!("roleta_connections_refused_total").increment(1);
    tracing::debug!(%peer, "too many connections from this address");
    if let Ok(mut std) = stream.into_std() {
        if answer {
            // Best effort: the connection is closed either way.
            if let Err(e) = std.write(REFUSED) {
                tracing::debug!(%peer, error = %e, "writing the 503 to a refused connection failed");
            }
        }
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
    fn one_ipv6_block_counts_as_one_client() -> Result<(), std::net::AddrParseError> {
        let a: IpAddr = "2001:db8:1:2::1".parse()?;
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse()?;
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse()?;
        assert_eq!(client_key(mapped), IpAddr::from([10, 0, 0, 1]));
        Ok(())
    }
}
