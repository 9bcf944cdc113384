//! What the HTTPS tests share: a certificate authority of the test's own (rcgen) and the
//! certificates it signs, written to PEM files; HTTPS clients that trust only that authority
//! (reqwest over native-tls, and a rustls stream for the WebSocket); a free port.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use roleta::Settings;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A certificate authority the clients of one test trust.
pub struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

/// A server certificate for 127.0.0.1 and localhost, with its key.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Ca {
    pub fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Roleta test CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("ca");
        Self { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    pub fn leaf(&self, name: &str) -> Leaf {
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// The two PEM files a server is pointed at, in a folder of their own.
pub struct CertFiles {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    pub fn new(leaf: &Leaf) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Self {
            cert: dir.path().join("fullchain.pem"),
            key: dir.path().join("privkey.pem"),
            _dir: dir,
        };
        files.write(leaf);
        files
    }

    /// Replaces both files' contents in place (as `certbot renew` or an operator's copy does).
    pub fn write(&self, leaf: &Leaf) {
        std::fs::write(&self.key, &leaf.key_pem).expect("write key");
        std::fs::write(&self.cert, &leaf.cert_pem).expect("write cert");
    }

    pub fn set(&self, s: &mut Settings) {
        s.server.tls_cert = self.cert.display().to_string();
        s.server.tls_key = self.key.display().to_string();
    }
}

/// A server with built-in HTTPS on `files`; its `base` still says `http://` (see [`https`]).
pub async fn spawn_tls_app(
    backend: Backend,
    files: &CertFiles,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_with(backend, |s| {
        files.set(s);
        adjust(s);
    })
    .await
}

/// The app's URL with the https scheme.
pub fn https(app: &TestApp) -> String {
    app.base.replacen("http://", "https://", 1)
}

pub fn port(app: &TestApp) -> u16 {
    app.base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// An HTTPS client that trusts `ca` only, reports the server's certificate, follows no
/// redirect and keeps no idle connection (so each request makes a new handshake).
pub fn client(ca: &Ca) -> reqwest::Client {
    client_from(ca, None)
}

/// Like [`client`], its connections made from `local` (another loopback address).
pub fn client_from(ca: &Ca, local: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("ca"))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .local_address(local)
        .build()
        .expect("client")
}

/// The certificate the server presented for this response.
pub fn served(r: &reqwest::Response) -> Vec<u8> {
    r.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("a TLS response")
        .to_vec()
}

/// A TLS stream to `addr` that trusts `ca` only (for a WebSocket over it).
pub async fn tls_stream(ca: &Ca, addr: &str) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der()).expect("root");
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The `Set-Cookie` header of a response (one is expected).
pub fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a Set-Cookie header")
        .to_string()
}

pub fn hsts(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get(reqwest::header::STRICT_TRANSPORT_SECURITY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The e-mail of a user the harness created (to sign in with it).
pub async fn email(app: &TestApp, id: i64) -> String {
    app.state
        .store
        .user(app.agency, id)
        .await
        .expect("user")
        .email
}
