//! Built-in HTTPS: the certificate chain and private key named by `server.tls_cert` and
//! `server.tls_key` (PEM), read and checked at start (a clear error naming the file), and read
//! again on SIGHUP and whenever either file changes. A reload that fails keeps the certificate
//! being served and logs why; a good one is used from the next handshake on, while open
//! connections keep the one they started with.

use crate::settings::ServerSettings;
use crate::supervise::Supervisor;
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// How often the two files' modification times are compared with the last ones read.
const POLL: Duration = Duration::from_secs(2);

/// Marks a request that arrived on a TLS connection of this server (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct TlsConnection;

/// Why the certificate could not be used, naming the setting and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "server.tls_cert and server.tls_key go together: {given} is set but {missing} is empty"
    )]
    Half {
        given: &'static str,
        missing: &'static str,
    },
    #[error(
        "server.http_redirect_port = {0} needs built-in HTTPS (server.tls_cert and server.tls_key)"
    )]
    RedirectWithoutTls(u16),
    #[error("{setting} {path}: cannot read the file: {source}")]
    Read {
        setting: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{setting} {path}: {problem}")]
    Content {
        setting: &'static str,
        path: String,
        problem: String,
    },
    #[error("the private key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: String, key: String },
    #[error("building the TLS configuration: {0}")]
    Config(String),
}

/// `https` when built-in TLS is configured, `http` otherwise.
pub fn scheme(s: &ServerSettings) -> &'static str {
    if s.tls_cert.trim().is_empty() && s.tls_key.trim().is_empty() {
        "http"
    } else {
        "https"
    }
}

/// The loaded certificate and what hands it to each handshake. A cheap `Clone` handle.
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    cert: PathBuf,
    key: PathBuf,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
}

/// The certificate new handshakes get. The lock is held only to clone an `Arc`.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| Arc::clone(&k))
    }
}

impl Tls {
    /// Reads and checks the files named in the settings; `None` when neither is set (plain
    /// HTTP). One without the other, or a redirect port without either, is an error.
    pub fn from_settings(s: &ServerSettings) -> Result<Option<Self>, TlsError> {
        let (cert, key) = (s.tls_cert.trim(), s.tls_key.trim());
        match (cert.is_empty(), key.is_empty()) {
            (true, true) if s.http_redirect_port != 0 => {
                Err(TlsError::RedirectWithoutTls(s.http_redirect_port))
            }
            (true, true) => Ok(None),
            (false, true) => Err(TlsError::Half {
                given: "server.tls_cert",
                missing: "server.tls_key",
            }),
            (true, false) => Err(TlsError::Half {
                given: "server.tls_key",
                missing: "server.tls_cert",
            }),
            (false, false) => Self::load(Path::new(cert), Path::new(key)).map(Some),
        }
    }

    fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let current = Arc::new(Current(RwLock::new(Arc::new(read_pair(cert, key)?))));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // Only HTTP/1.1 is served (WebSocket upgrades included).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            inner: Arc::new(Inner {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                current,
                acceptor: TlsAcceptor::from(Arc::new(config)),
            }),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.inner.acceptor.clone()
    }

    pub fn cert_path(&self) -> &Path {
        &self.inner.cert
    }

    /// Reads both files again. On success the next handshake gets the new certificate; on
    /// failure the one being served stays and the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = read_pair(&self.inner.cert, &self.inner.key)?;
        if let Ok(mut current) = self.inner.current.0.write() {
            *current = Arc::new(pair);
        }
        Ok(())
    }

    /// [`Tls::reload`], with the outcome logged and counted (`roleta_tls_reloads_total`).
    fn reload_logged(&self, why: &'static str) {
        match self.reload() {
            Ok(()) => {
                metrics::counter!("roleta_tls_reloads_total", "result" => "ok").increment(1);
                tracing::info!(why, cert = %self.inner.cert.display(), "certificate reloaded");
            }
            Err(e) => {
                metrics::counter!("roleta_tls_reloads_total", "result" => "failed").increment(1);
                tracing::error!(why, error = %e, "certificate reload failed; still serving the previous one");
            }
        }
    }

    fn stamps(&self) -> [Option<Stamp>; 2] {
        [stamp(&self.inner.cert), stamp(&self.inner.key)]
    }
}

/// Reads the certificate on SIGHUP and when either file changes, until shutdown. With `None`
/// (plain HTTP) a SIGHUP is only logged: `systemctl reload` must never stop the server.
pub fn watch(tls: Option<Tls>, sup: &Supervisor) {
    let seen = tls.as_ref().map(Tls::stamps).unwrap_or([None, None]);
    sup.spawn("tls-reload", Watch { tls, seen }, watch_files);
}

struct Watch {
    tls: Option<Tls>,
    /// The files' stamps when they were last read.
    seen: [Option<Stamp>; 2],
}

fn watch_files(w: &mut Watch, cancel: tokio_util::sync::CancellationToken) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let mut hangup = hangup_signal();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = recv(&mut hangup) => match &w.tls {
                    Some(tls) => {
                        w.seen = tls.stamps();
                        tls.reload_logged("SIGHUP");
                    }
                    None => tracing::info!("SIGHUP: nothing to reload (no built-in HTTPS)"),
                },
                _ = tick.tick() => if let Some(tls) = &w.tls {
                    // Stamped before reading: a write that lands during the read is seen next.
                    let now = tls.stamps();
                    if now != w.seen {
                        w.seen = now;
                        tls.reload_logged("file changed");
                    }
                },
            }
        }
    })
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup())
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; only file changes reload the certificate"))
        .ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// Resolves on the next SIGHUP; never without a signal to listen to.
async fn recv(h: &mut Hangup) {
    #[cfg(unix)]
    if let Some(s) = h {
        if s.recv().await.is_some() {
            return;
        }
    }
    #[cfg(not(unix))]
    let _ = h;
    std::future::pending::<()>().await
}

/// What tells a changed file: modification time, length and (on Unix) the inode, which a
/// replaced file or a moved symlink (certbot's `live/` folder) changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        inode,
    })
}

fn read_pair(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_name = cert_path.display().to_string();
    let key_name = key_path.display().to_string();
    let content = |setting, path: &str, problem: String| TlsError::Content {
        setting,
        path: path.to_string(),
        problem,
    };
    let cert_pem = read("server.tls_cert", cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| content("server.tls_cert", &cert_name, format!("not valid PEM: {e}")))?;
    if chain.is_empty() {
        let hint = if PrivateKeyDer::from_pem_slice(&cert_pem).is_ok() {
            " (it holds a private key: are tls_cert and tls_key swapped?)"
        } else {
            ""
        };
        return Err(content(
            "server.tls_cert",
            &cert_name,
            format!("no certificate in the file (a PEM \"BEGIN CERTIFICATE\" block){hint}"),
        ));
    }
    let key_pem = read("server.tls_key", key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        content(
            "server.tls_key",
            &key_name,
            format!(
                "no usable private key in the file ({e}); PKCS#8, RSA or EC PEM, not encrypted"
            ),
        )
    })?;
    let provider = ring::default_provider();
    let signing = provider.key_provider.load_private_key(key).map_err(|e| {
        content(
            "server.tls_key",
            &key_name,
            format!("the key cannot sign: {e}"),
        )
    })?;
    let pair = CertifiedKey::new(chain, signing);
    use tokio_rustls::rustls::{Error, InconsistentKeys};
    match pair.keys_match() {
        Ok(()) | Err(Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(pair),
        Err(Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(TlsError::Mismatch {
            cert: cert_name,
            key: key_name,
        }),
        Err(e) => Err(content(
            "server.tls_cert",
            &cert_name,
            format!("the first certificate cannot be read: {e}"),
        )),
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        setting,
        path: path.display().to_string(),
        source,
    })
}
