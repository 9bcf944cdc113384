//! Who may try credentials how often. Keyed rate limits (`governor`, GCRA) per client address
//! and per account for sign-in, a lockout after repeated wrong passwords (kept in the database,
//! so every node of a cluster sees it), and a flood guard for unknown bearer tokens and API
//! keys per client address. Also where a request's client address, and whether it came over
//! HTTPS, are decided (both trust the same `server.trusted_proxies`).

use crate::error::ApiError;
use crate::settings::AuthSettings;
use crate::store::{Store, StoreResult};
use crate::tls::TlsConnection;
use crate::Clock;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use dashmap::DashMap;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How often idle limiter state, stale lockout rows and old entries are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// A credential seen valid this recently skips the flood guard of its address.
const KNOWN_FOR_MS: i64 = 3_600_000;
/// At most this many credentials remembered as valid (beyond, new ones are simply not kept).
const KNOWN_MAX: usize = 100_000;
/// Requests refused by a throttle, by reason.
const REFUSED: &str = "roleta_auth_refused_total";

/// A cheap `Clone` handle; one per app.
#[derive(Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

struct Inner {
    settings: AuthSettings,
    trusted: Vec<IpAddr>,
    clock: Clock,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    token_failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused for unknown credentials, until when (epoch ms).
    blocked: DashMap<IpAddr, i64>,
    /// Hashes of tokens and keys that were valid lately, and when.
    known: DashMap<String, i64>,
}

fn quota(burst: u32, period_ms: u64) -> Quota {
    let one = Quota::with_period(Duration::from_millis(period_ms.max(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    one.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// One bucket per IPv4 address and per IPv6 /64 (a host's whole prefix is one client).
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mask = !0u128 << 64;
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

type Refusal = NotUntil<<DefaultClock as governor::clock::Clock>::Instant>;

/// Whole seconds until `limiter` would let this key through again (at least 1).
fn wait_secs<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    refusal: &Refusal,
) -> u64 {
    let d = refusal.wait_time_from(limiter.clock().now());
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

fn too_many(reason: &'static str, message: String, secs: u64) -> ApiError {
    metrics::counter!(REFUSED, "reason" => reason).increment(1);
    ApiError::RetryLater {
        busy: false,
        message,
        retry_after_secs: secs.max(1),
    }
}

/// The pt-BR answer to a locked account, in whole minutes.
fn locked(secs: u64) -> ApiError {
    let minutes = secs.div_ceil(60).max(1);
    let unit = if minutes == 1 { "minuto" } else { "minutos" };
    too_many(
        "lockout",
        format!("Muitas tentativas de acesso. Tente novamente em {minutes} {unit}."),
        secs,
    )
}

impl Throttle {
    pub fn new(s: &AuthSettings, trusted_proxies: &[String], clock: Clock) -> anyhow::Result<Self> {
        let trusted = trusted_proxies
            .iter()
            .map(|p| {
                p.trim()
                    .parse::<IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| anyhow::anyhow!("server.trusted_proxies: {p:?} is not an address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                per_address: DefaultKeyedRateLimiter::keyed(quota(
                    s.login_per_address_burst,
                    s.login_per_address_period_ms,
                )),
                per_account: DefaultKeyedRateLimiter::keyed(quota(
                    s.login_per_account_burst,
                    s.login_per_account_period_ms,
                )),
                token_failures: DefaultKeyedRateLimiter::keyed(quota(
                    s.token_failures_burst,
                    s.token_failures_period_ms,
                )),
                settings: s.clone(),
                trusted,
                clock,
                blocked: DashMap::new(),
                known: DashMap::new(),
            }),
        })
    }

    /// The client's address: the peer, or — when the peer is a trusted proxy — the nearest
    /// untrusted address in `X-Forwarded-For` (read from the right, as proxies append).
    pub fn client_addr(&self, parts: &Parts) -> IpAddr {
        let peer = peer(&parts.extensions);
        let trusted = &self.inner.trusted;
        if !trusted.contains(&peer) {
            return peer;
        }
        let hops: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !trusted.contains(&client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }

    /// Whether the request came over HTTPS: a TLS connection of this server, or a peer in
    /// `server.trusted_proxies` that says so with `X-Forwarded-Proto: https` (every value of
    /// the header, so a client's own `https` appended to by a proxy does not count). Decides
    /// the session cookie's `Secure` flag and HSTS.
    pub fn over_https(&self, extensions: &Extensions, headers: &HeaderMap) -> bool {
        if extensions.get::<TlsConnection>().is_some() {
            return true;
        }
        if !self.inner.trusted.contains(&peer(extensions)) {
            return false;
        }
        let mut protos = headers
            .get_all("x-forwarded-proto")
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .map(str::trim)
            .peekable();
        protos.peek().is_some() && protos.all(|p| p.eq_ignore_ascii_case("https"))
    }

    /// Before a password is checked: the client address's and the account's attempt rates,
    /// then the account's lockout.
    pub async fn before_password(
        &self,
        store: &Store,
        addr: IpAddr,
        email: &str,
    ) -> Result<(), ApiError> {
        let retry = |secs: u64, reason| {
            too_many(
                reason,
                format!("Muitas tentativas de acesso. Tente novamente em {secs} segundos."),
                secs,
            )
        };
        let i = &self.inner;
        i.per_address
            .check_key(&key(addr))
            .map_err(|n| retry(wait_secs(&i.per_address, &n), "login_address"))?;
        i.per_account
            .check_key(&email.to_string())
            .map_err(|n| retry(wait_secs(&i.per_account, &n), "login_account"))?;
        let now = self.inner.clock.now_ms();
        if let Some(until) = store.login_locked_until(email, now).await? {
            return Err(locked(((until - now).max(0) as u64).div_ceil(1000)));
        }
        Ok(())
    }

    /// A wrong password (or an unknown e-mail): counted towards the lockout. The answer is
    /// 401, or 429 when this failure locked the account.
    pub async fn password_failed(&self, store: &Store, email: &str) -> ApiError {
        let s = &self.inner.settings;
        let now = self.inner.clock.now_ms();
        match store
            .record_login_failure(
                email,
                now,
                s.lockout_window_seconds.max(1) * 1000,
                s.lockout_failures.max(1),
                s.lockout_seconds.max(1) * 1000,
            )
            .await
        {
            Ok(Some(until)) => {
                tracing::warn!(email, "sign-in locked after repeated wrong passwords");
                locked(((until - now).max(0) as u64).div_ceil(1000))
            }
            Ok(None) => ApiError::Unauthorized,
            Err(e) => e.into(),
        }
    }

    /// A right password: the account's failures are forgotten.
    pub async fn password_ok(&self, store: &Store, email: &str) -> StoreResult<()> {
        store.clear_login_failures(email).await
    }

    /// Before a bearer token or API key is looked up: an address that sent too many unknown
    /// ones waits, unless this credential was valid lately (others' failures never slow it).
    pub fn before_credential(&self, addr: IpAddr, hash: &str) -> Result<(), ApiError> {
        if self.inner.known.contains_key(hash) {
            return Ok(());
        }
        let now = self.inner.clock.now_ms();
        match self.inner.blocked.get(&key(addr)).map(|u| *u) {
            Some(until) if until > now => {
                let secs = ((until - now) as u64).div_ceil(1000);
                Err(too_many("credential", unknown_message(secs), secs))
            }
            _ => Ok(()),
        }
    }

    /// A credential's whole check under the throttle: wait if the address sent too many
    /// unknown ones, look the digest up (`None`: unknown), then count it as unknown (401, 429)
    /// or remember it as valid. API keys and the sources' keys both go this way.
    pub async fn check_credential<T>(
        &self,
        addr: IpAddr,
        hash: &str,
        lookup: impl std::future::Future<Output = Result<Option<T>, ApiError>>,
    ) -> Result<T, ApiError> {
        self.before_credential(addr, hash)?;
        match lookup.await? {
            Some(found) => {
                self.credential_valid(hash);
                Ok(found)
            }
            None => Err(self.credential_unknown(addr)),
        }
    }

    pub fn credential_valid(&self, hash: &str) {
        let known = &self.inner.known;
        if known.len() < KNOWN_MAX || known.contains_key(hash) {
            known.insert(hash.to_string(), self.inner.clock.now_ms());
        }
    }

    /// An unknown, expired or revoked credential: 401, or 429 once the address's budget is
    /// spent (and the address is refused without a look-up until it refills).
    pub fn credential_unknown(&self, addr: IpAddr) -> ApiError {
        let addr = key(addr);
        match self.inner.token_failures.check_key(&addr) {
            Ok(()) => ApiError::Unauthorized,
            Err(n) => {
                let secs = wait_secs(&self.inner.token_failures, &n);
                let until = self.inner.clock.now_ms() + (secs as i64) * 1000;
                self.inner.blocked.insert(addr, until);
                too_many("credential", unknown_message(secs), secs)
            }
        }
    }

    /// Keeps the keyed state bounded: a tracked task drops idle limiter keys, expired blocks
    /// and remembered credentials, and lockout rows whose window and lock are over.
    pub fn start(&self, store: Store, sup: &crate::supervise::Supervisor) {
        sup.spawn(
            "throttle-prune",
            (self.clone(), store),
            |(this, store), cancel| {
                Box::pin(async move {
                    let mut tick = tokio::time::interval(PRUNE_EVERY);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tick.tick() => this.prune(store).await,
                        }
                    }
                })
            },
        );
    }

    async fn prune(&self, store: &Store) {
        let i = &self.inner;
        for limiter in [&i.per_address, &i.token_failures] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        i.per_account.retain_recent();
        i.per_account.shrink_to_fit();
        let now = i.clock.now_ms();
        i.blocked.retain(|_, until| *until > now);
        i.known.retain(|_, seen| *seen > now - KNOWN_FOR_MS);
        let window = i.settings.lockout_window_seconds.max(1) * 1000;
        if let Err(e) = store.prune_login_failures(now - window, now).await {
            tracing::warn!(error = %e, "pruning sign-in failures");
        }
    }
}

/// The TCP peer of the request (unspecified if the accept loop did not say, as in unit tests).
fn peer(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| {
            c.0.ip().to_canonical()
        })
}

fn unknown_message(secs: u64) -> String {
    format!("too many unknown tokens or API keys from this address; retry in {secs} s")
}

/// The calling client's address (see [`Throttle::client_addr`]).
pub struct ClientAddr(pub IpAddr);

/// For any app state that hands out its [`Throttle`] (the app's `AppState` does).
impl<S: Send + Sync> FromRequestParts<S> for ClientAddr
where
    Throttle: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(Throttle::from_ref(state).client_addr(parts)))
    }
}
