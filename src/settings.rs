//! Typed, layered configuration: `config/default.toml` (embedded) → optional file →
//! `ROLETA__SECTION__KEY` environment variables → command-line flags.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The defaults ship inside the binary so `roleta` runs from any directory.
const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub dispatch: DispatchSettings,
    pub ws: WsSettings,
    pub demo: DemoSettings,
    pub push: PushSettings,
    pub redis: RedisSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub metrics: MetricsSettings,
    pub platform: PlatformSettings,
    pub sources: SourcesSettings,
    pub webhooks: WebhookSettings,
}

/// Lead sources with their own contract (docs/SOURCES.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SourcesSettings {
    /// Meta's Graph API, versioned; a test points it at its own server.
    pub meta_graph_url: String,
    /// How often the queue of Meta deliveries is looked at.
    pub poll_ms: u64,
    /// A failed fetch is tried again after this long, doubling up to `retry_max_ms`.
    pub retry_first_ms: u64,
    pub retry_max_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub allowed_origins: Vec<String>,
    pub shutdown_grace_seconds: u64,
    pub body_limit_bytes: usize,
    /// Largest CSV file an import accepts (it is read as it arrives, never held whole).
    pub import_body_limit_bytes: usize,
    /// An import's upload or confirmation must end within this (503 beyond).
    pub import_timeout_seconds: u64,
    pub session_hours: i64,
    /// Peers whose `X-Forwarded-For` is believed (the cluster's nginx); exact addresses.
    pub trusted_proxies: Vec<String>,
    /// A request head (and the next one on a kept-alive connection) must arrive within this.
    pub header_read_timeout_seconds: u64,
    /// An HTTP request must be answered within this (503 beyond); `/ws` is not cut by it.
    pub request_timeout_seconds: u64,
    /// A `/ws` request must be answered (101 or an error) within this.
    pub ws_handshake_timeout_seconds: u64,
    /// Open connections one client address may hold; 0 turns the cap off.
    pub max_connections_per_address: usize,
    /// PEM certificate chain and private key for built-in HTTPS; both empty: plain HTTP.
    pub tls_cert: String,
    pub tls_key: String,
    /// With TLS on, a second plain-HTTP port that only redirects to https; 0: none.
    pub http_redirect_port: u16,
    /// Folder served instead of the pages built into the binary (development); empty: built in.
    pub static_dir: String,
}

/// The platform API for a CRM vendor hosting many agencies (`/api/v1/platform/…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PlatformSettings {
    /// SHA-256 (hex) of the platform token; empty turns the platform API off (404).
    pub token_sha256: Secret,
}

impl PlatformSettings {
    /// The token's SHA-256 as bytes: `None` when the platform API is off (empty), an error
    /// naming the setting when it is not 64 hexadecimal characters.
    pub fn token_digest(&self) -> Result<Option<[u8; 32]>, String> {
        let hex = self.token_sha256.expose().trim();
        if hex.is_empty() {
            return Ok(None);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).map_err(|_| {
            "platform.token_sha256 must be the SHA-256 of the token in hex (64 characters: \
             printf %s \"$TOKEN\" | sha256sum)"
                .to_string()
        })?;
        Ok(Some(out))
    }
}

/// Where Prometheus scrapes: a listener of its own, and/or `/metrics` with a bearer token.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricsSettings {
    /// `host:port` of a listener serving only `/metrics`, without a token. Empty: none.
    pub listen: String,
    /// Bearer token `/metrics` on the main listener asks for. Empty: 404 there.
    pub token: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DispatchSettings {
    pub actors: usize,
    pub queue_capacity: usize,
    /// One node's safety sweep period (a cluster node sweeps every `redis.sweep_ms`).
    pub sweep_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WsSettings {
    pub read_buffer_bytes: usize,
    pub write_buffer_bytes: usize,
    pub max_message_bytes: usize,
    pub outbound_queue: usize,
    pub ping_interval_seconds: u64,
    pub idle_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DemoSettings {
    pub seed: bool,
    pub password: Secret,
    pub api_key: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PushSettings {
    pub enabled: bool,
    pub subject: String,
    pub vapid_private_key: Secret,
    pub queue: usize,
    /// Push service hosts an endpoint must be on (suffix match); empty: any public host.
    pub allowed_hosts: Vec<String>,
    /// Tests only: accept http endpoints on any address, loopback included. Logged when on.
    pub allow_insecure_endpoints: bool,
}

/// Outbound webhooks to the agency's CRM (docs/WEBHOOKS.md): the delivery worker's pace, its
/// backoff, when a failing subscription is paused, and which URLs may be called.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhookSettings {
    /// Run the delivery worker on this node (events are written to the outbox either way).
    pub enabled: bool,
    /// How often the worker looks for events to expand and deliveries that are due.
    pub poll_interval_ms: u64,
    /// Deliveries taken per round at most, and how many of them are sent at once.
    pub batch: usize,
    pub concurrency: usize,
    /// The first retry waits about this long; each later one twice the one before, up to
    /// `max_delay_ms` (each with jitter: between half and all of it).
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// A delivery failing this many times in a row pauses its subscription (managers told).
    pub attempts_before_pause: i64,
    /// The receiver must answer within this.
    pub request_timeout_ms: u64,
    /// Delivered deliveries and their events are deleted after this many days.
    pub retention_days: i64,
    /// Hosts a subscription URL must be on (suffix match); empty: any public host.
    pub allowed_hosts: Vec<String>,
    /// Tests and on-premise CRMs: accept http URLs on any address, loopback and private
    /// networks included. Logged when on.
    pub allow_insecure_endpoints: bool,
}

/// Cluster mode (docs/CLUSTER.md): set `url` and the node shares presence, the bus and
/// dispatch leases with the other nodes through Redis. Empty: one node, in process.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RedisSettings {
    pub url: Secret,
    /// This node's name in Redis; empty picks `node-<pid>-<random>`.
    pub node_id: String,
    /// Namespace for every key and channel (several clusters may share one Redis).
    pub prefix: String,
    pub heartbeat_ms: u64,
    pub lease_ms: u64,
    pub sweep_ms: u64,
    /// Messages waiting to be published to other nodes (beyond this they are dropped).
    pub publish_queue: usize,
}

impl RedisSettings {
    pub fn enabled(&self) -> bool {
        !self.url.expose().trim().is_empty()
    }
}

/// Sign-in and credential limits (docs/SECURITY.md): the bound on Argon2 work, throttles per
/// client address and per account, the lockout after wrong passwords, personal token lifetimes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthSettings {
    /// Password checks running at once; 0: one per core.
    pub argon2_permits: usize,
    /// How long a request waits for a free password check before 503 with `Retry-After`.
    pub argon2_wait_ms: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Sign-in attempts per client address: this many at once, then one per period.
    pub login_per_address_burst: u32,
    pub login_per_address_period_ms: u64,
    /// Sign-in attempts per e-mail address, whatever the client.
    pub login_per_account_burst: u32,
    pub login_per_account_period_ms: u64,
    /// Wrong passwords for one account within the window that lock it for `lockout_seconds`.
    pub lockout_failures: i64,
    pub lockout_window_seconds: i64,
    pub lockout_seconds: i64,
    /// Unknown bearer tokens and API keys per client address: this many, then one per period.
    pub token_failures_burst: u32,
    pub token_failures_period_ms: u64,
    /// Personal tokens: lifetime when the request names none, and the longest allowed.
    pub token_default_days: i64,
    pub token_max_days: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogSettings {
    pub filter: String,
}

/// A string that never prints: database URLs carry passwords, demo keys are keys.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Printed settings (`roleta check-config`) show whether a secret is set, never its value.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub no_demo: bool,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub static_dir: Option<String>,
}

impl Settings {
    /// Reads every layer. Environment variables look like `ROLETA__DATABASE__URL`.
    pub fn load(overrides: &Overrides) -> Result<Self, config::ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = &overrides.config_file {
            builder = builder.add_source(config::File::with_name(path).required(true));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("ROLETA")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("server.allowed_origins")
                .with_list_parse_key("server.trusted_proxies")
                .with_list_parse_key("push.allowed_hosts")
                .with_list_parse_key("webhooks.allowed_hosts")
                .try_parsing(true),
        );
        if let Some(host) = &overrides.host {
            builder = builder.set_override("server.host", host.as_str())?;
        }
        if let Some(port) = overrides.port {
            builder = builder.set_override("server.port", i64::from(port))?;
        }
        if let Some(url) = &overrides.database_url {
            builder = builder.set_override("database.url", url.as_str())?;
        }
        if let Some(url) = &overrides.redis_url {
            builder = builder.set_override("redis.url", url.as_str())?;
        }
        for (key, value) in [
            ("server.tls_cert", &overrides.tls_cert),
            ("server.tls_key", &overrides.tls_key),
            ("server.static_dir", &overrides.static_dir),
        ] {
            if let Some(v) = value {
                builder = builder.set_override(key, v.as_str())?;
            }
        }
        if overrides.no_demo {
            builder = builder.set_override("demo.seed", false)?;
        }
        builder.build()?.try_deserialize()
    }

    /// Defaults only: what tests start from before pointing at their own database.
    pub fn defaults() -> Result<Self, config::ConfigError> {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()?
            .try_deserialize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_never_prints() -> Result<(), config::ConfigError> {
        let s = Settings::defaults()?;
        let printed = format!("{s:?}");
        assert!(!printed.contains("sqlite://"), "{printed}");
        assert!(printed.contains("[redacted]"));
        Ok(())
    }

    #[test]
    fn flags_win_over_defaults() -> Result<(), config::ConfigError> {
        let s = Settings::load(&Overrides {
            port: Some(9999),
            database_url: Some("sqlite://x.db".into()),
            ..Default::default()
        })?;
        assert_eq!(s.server.port, 9999);
        assert_eq!(s.database.url.expose(), "sqlite://x.db");
        Ok(())
    }
}
