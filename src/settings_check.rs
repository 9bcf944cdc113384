//! What `roleta check-config` and the start of `roleta serve` check in the effective settings,
//! beyond what parsing already refuses (a port that is not a number, an unknown section type):
//! values that parse but cannot work together. Messages are for the operator, in pt-BR, each
//! naming the key to fix.

use crate::settings::Settings;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn problem(key: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        key,
        message: message.into(),
    }
}

/// Every problem found, in the order of the configuration file; empty when the settings work.
pub fn validate(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let db = s.database.url.expose();
    let postgres = db.starts_with("postgres:") || db.starts_with("postgresql:");
    let server = &s.server;
    if server.host.trim().is_empty() {
        out.push(problem(
            "server.host",
            "informe o endereço em que o servidor escuta",
        ));
    }
    for origin in &server.allowed_origins {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            out.push(problem(
                "server.allowed_origins",
                format!("\"{origin}\" deve começar com http:// ou https://"),
            ));
        }
    }
    for proxy in &server.trusted_proxies {
        if proxy.parse::<IpAddr>().is_err() {
            out.push(problem(
                "server.trusted_proxies",
                format!("\"{proxy}\" não é um endereço IP"),
            ));
        }
    }
    if server.session_hours < 1 {
        out.push(problem("server.session_hours", "deve ser pelo menos 1"));
    }
    let (cert, key) = (server.tls_cert.trim(), server.tls_key.trim());
    match (cert.is_empty(), key.is_empty()) {
        (true, false) => out.push(problem("server.tls_cert", "tls_key foi dado sem tls_cert")),
        (false, true) => out.push(problem("server.tls_key", "tls_cert foi dado sem tls_key")),
        _ => {}
    }
    for (k, path) in [("server.tls_cert", cert), ("server.tls_key", key)] {
        if !path.is_empty() && std::fs::metadata(path).is_err() {
            out.push(problem(
                k,
                format!("o arquivo {path} não existe ou não pode ser lido"),
            ));
        }
    }
    if server.http_redirect_port != 0 && cert.is_empty() {
        out.push(problem(
            "server.http_redirect_port",
            "o redirecionamento para https só funciona com tls_cert e tls_key",
        ));
    }
    if server.http_redirect_port != 0 && server.http_redirect_port == server.port {
        out.push(problem(
            "server.http_redirect_port",
            "deve ser diferente de server.port",
        ));
    }
    let dir = server.static_dir.trim();
    if !dir.is_empty() && !std::path::Path::new(dir).is_dir() {
        out.push(problem(
            "server.static_dir",
            format!("a pasta {dir} não existe"),
        ));
    }
    if !(db.starts_with("sqlite:") || postgres) {
        out.push(problem(
            "database.url",
            "deve começar com sqlite: ou postgres:",
        ));
    }
    if s.database.max_connections == 0 {
        out.push(problem("database.max_connections", "deve ser pelo menos 1"));
    }
    if s.dispatch.actors == 0 {
        out.push(problem("dispatch.actors", "deve ser pelo menos 1"));
    }
    if s.dispatch.queue_capacity == 0 {
        out.push(problem("dispatch.queue_capacity", "deve ser pelo menos 1"));
    }
    if s.ws.outbound_queue == 0 {
        out.push(problem("ws.outbound_queue", "deve ser pelo menos 1"));
    }
    if s.redis.enabled() && !postgres {
        out.push(problem(
            "redis.url",
            "o modo cluster precisa de PostgreSQL em database.url",
        ));
    }
    let listen = s.metrics.listen.trim();
    if !listen.is_empty() && listen.parse::<SocketAddr>().is_err() {
        out.push(problem(
            "metrics.listen",
            format!("\"{listen}\" deve ser endereço:porta, como 127.0.0.1:9100"),
        ));
    }
    let token = s.platform.token_sha256.expose().trim();
    if !token.is_empty() && (token.len() != 64 || hex::decode(token).is_err()) {
        out.push(problem(
            "platform.token_sha256",
            "deve ser o SHA-256 do token em hexadecimal (64 caracteres)",
        ));
    }
    let w = &s.webhooks;
    for (key, zero) in [
        ("webhooks.poll_interval_ms", w.poll_interval_ms == 0),
        ("webhooks.batch", w.batch == 0),
        ("webhooks.concurrency", w.concurrency == 0),
        ("webhooks.base_delay_ms", w.base_delay_ms == 0),
        ("webhooks.request_timeout_ms", w.request_timeout_ms == 0),
        (
            "webhooks.attempts_before_pause",
            w.attempts_before_pause < 1,
        ),
        ("webhooks.retention_days", w.retention_days < 1),
    ] {
        if zero {
            out.push(problem(key, "deve ser pelo menos 1"));
        }
    }
    if w.max_delay_ms < w.base_delay_ms {
        out.push(problem(
            "webhooks.max_delay_ms",
            "deve ser pelo menos webhooks.base_delay_ms",
        ));
    }
    if tracing_subscriber::EnvFilter::try_new(&s.log.filter).is_err() {
        out.push(problem(
            "log.filter",
            format!("\"{}\" não é um filtro válido", s.log.filter),
        ));
    }
    out
}

/// The effective settings as TOML, secrets shown only as set or not; the database URL keeps its
/// scheme, host and name but not its password.
pub fn render(s: &Settings) -> String {
    let mut value = match toml::Value::try_from(s) {
        Ok(v) => v,
        Err(e) => return format!("# as configurações não puderam ser exibidas: {e}\n"),
    };
    if let Some(db) = value.get_mut("database").and_then(|d| d.as_table_mut()) {
        db.insert(
            "url".into(),
            toml::Value::String(without_password(s.database.url.expose())),
        );
    }
    if let Some(redis) = value.get_mut("redis").and_then(|d| d.as_table_mut()) {
        redis.insert(
            "url".into(),
            toml::Value::String(without_password(s.redis.url.expose())),
        );
    }
    toml::to_string(&value).unwrap_or_else(|e| format!("# {e}\n"))
}

/// `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() -> Result<(), config::ConfigError> {
        let s = Settings::defaults()?;
        assert_eq!(validate(&s), vec![]);
        Ok(())
    }

    #[test]
    fn each_problem_names_its_key() -> Result<(), config::ConfigError> {
        let mut s = Settings::defaults()?;
        s.server.tls_cert = "/nao/existe.pem".into();
        s.redis.url = crate::settings::Secret::new("redis://127.0.0.1:6379");
        s.platform.token_sha256 = crate::settings::Secret::new("abc");
        let keys: Vec<_> = validate(&s).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "server.tls_key",
                "server.tls_cert",
                "redis.url",
                "platform.token_sha256"
            ]
        );
        Ok(())
    }

    #[test]
    fn passwords_never_print() -> Result<(), config::ConfigError> {
        assert_eq!(
            without_password("postgres://roleta:s3gr3d0@db:5432/roleta"),
            "postgres://roleta:[redacted]@db:5432/roleta"
        );
        assert_eq!(
            without_password("sqlite://data/r.db?mode=rwc"),
            "sqlite://data/r.db?mode=rwc"
        );
        let mut s = Settings::defaults()?;
        s.database.url = crate::settings::Secret::new("postgres://u:s3gr3d0@h/db");
        let printed = render(&s);
        assert!(!printed.contains("s3gr3d0"), "{printed}");
        assert!(!printed.contains("demo1234"), "{printed}");
        assert!(printed.contains("[database]"), "{printed}");
        Ok(())
    }
}
