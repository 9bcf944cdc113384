//! Which addresses a request the server makes on a user's behalf (a web push) may reach: only
//! public unicast ones. Owns the special-purpose address ranges (IANA registries), the check of
//! an outbound URL (https, a host on the allowlist, a public IP literal), name resolution that
//! refuses a name with any non-public address, and the reqwest resolver built on it, which pins
//! each connection to addresses checked at that very moment — a DNS answer that changes after
//! registration (rebinding) cannot reach an internal service.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long a name may take to resolve before the request is refused.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why an outbound URL is refused; the text is meant for the API client that supplied it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the endpoint is not a valid URL")]
    NotUrl,
    #[error("the endpoint must be an https URL")]
    NotHttps,
    #[error("the endpoint must not carry a user name or password")]
    Credentials,
    #[error("the endpoint has no host")]
    NoHost,
    #[error("the endpoint's host {0} is not an allowed push service")]
    NotAllowed(String),
    #[error("the endpoint's host {0} cannot be resolved")]
    Unresolvable(String),
    /// The address is kept for the log, not shown: it may be an internal name's address.
    #[error(
        "the endpoint must be on a public address (not loopback, private, link-local or reserved)"
    )]
    NotPublic(IpAddr),
}

/// The outbound rules of one deployment (from `[push]` in the config).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Tests only: http and any address (loopback, private) are accepted.
    pub allow_insecure: bool,
    /// Host suffixes a URL's host must match; empty accepts any public host.
    pub allowed_hosts: Vec<String>,
}

impl Policy {
    /// The checks that need no network: parse, scheme, credentials, allowlist and, for an IP
    /// literal, that it is public. Run before every request, not only at registration.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw).map_err(|_| Refusal::NotUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            _ => return Err(Refusal::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        let host = match host_of(&url) {
            Some(h) => h,
            None => return Err(Refusal::NoHost),
        };
        let name = match &host {
            Host::Domain(d) => d.clone(),
            Host::Ip(ip) => ip.to_string(),
        };
        if !self.allowed_hosts.is_empty() && !self.allowed_hosts.iter().any(|s| suffix(&name, s)) {
            return Err(Refusal::NotAllowed(name));
        }
        if let Host::Ip(ip) = host {
            if !self.allow_insecure && !is_public(ip) {
                return Err(Refusal::NotPublic(ip));
            }
        }
        Ok(url)
    }

    /// [`Policy::check_url`], then the host's addresses: all of them must be public.
    pub async fn check_endpoint(&self, raw: &str) -> Result<Url, Refusal> {
        let url = self.check_url(raw)?;
        if !self.allow_insecure {
            if let Some(Host::Domain(d)) = host_of(&url) {
                public_addrs(&d, url.port_or_known_default().unwrap_or(443)).await?;
            }
        }
        Ok(url)
    }
}

enum Host {
    Domain(String),
    Ip(IpAddr),
}

/// The URL's host, an IP literal already in its canonical form (the URL parser turns
/// `0x7f.1` or `2130706433` into 127.0.0.1); a domain lowercased without a trailing dot.
fn host_of(url: &Url) -> Option<Host> {
    let raw = url.host_str()?;
    let bare = raw.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => Some(Host::Ip(ip)),
        Err(_) => Some(Host::Domain(raw.trim_end_matches('.').to_ascii_lowercase())),
    }
}

/// `host` matches an allowlist entry when it is the entry or one of its subdomains; a leading
/// `*.` or `.` on the entry means the same (`*.notify.windows.com`).
fn suffix(host: &str, entry: &str) -> bool {
    let entry = entry
        .trim()
        .trim_start_matches("*.")
        .trim_start_matches('.');
    let entry = entry.trim_end_matches('.').to_ascii_lowercase();
    if entry.is_empty() {
        return false;
    }
    host == entry
        || host
            .strip_suffix(entry.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Resolves `host`; refused unless it has addresses and every one of them is public (a name
/// mixing public and internal addresses is refused, not filtered).
pub async fn public_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let unresolvable = || Refusal::Unresolvable(host.to_string());
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| unresolvable())?
        .map_err(|_| unresolvable())?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(unresolvable());
    }
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(Refusal::NotPublic(bad.ip()));
    }
    Ok(addrs)
}

/// A reqwest resolver that answers only with public addresses: what the connection uses is
/// exactly what was checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts in the URL's port (or the scheme's default).
            let addrs = public_addrs(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is a public unicast address a server may be sent to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// IPv4 special-purpose blocks (RFC 6890 and successors) that are not publicly routable.
const V4_BLOCKED: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network", the unspecified address
    (0x0A00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 carrier-grade NAT
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link-local, cloud metadata (169.254.169.254)
    (0xAC10_0000, 12), // 172.16.0.0/12 private
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
    (0xC0A8_0000, 16), // 192.168.0.0/16 private
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
    (0xE000_0000, 4),  // 224.0.0.0/4 multicast
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved, 255.255.255.255 broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !V4_BLOCKED
        .iter()
        .any(|&(net, len)| bits & (u32::MAX << (32 - len)) == net)
}

/// Blocks inside global unicast 2000::/3 that are not public destinations.
const V6_BLOCKED: &[(u128, u8)] = &[
    (0x2001_0000_u128 << 96, 23), // 2001::/23 IETF protocol assignments (Teredo, benchmarking…)
    (0x2001_0db8_u128 << 96, 32), // 2001:db8::/32 documentation
    (0x2002_u128 << 112, 16),     // 2002::/16 6to4
    (0x3fff_u128 << 112, 20),     // 3fff::/20 documentation
];

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address inside.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let bits = u128::from(ip);
    if bits >> 32 == 0x0064_ff9b_u128 << 64 {
        return is_public_v4(Ipv4Addr::from(bits as u32));
    }
    let in_block = |net: u128, len: u8| bits & (u128::MAX << (128 - len)) == net;
    // Only 2000::/3 is allocated for global unicast: this leaves out ::, ::1, the
    // IPv4-compatible ::/96, 100::/64, fc00::/7 unique-local, fe80::/10 link-local,
    // fec0::/10 site-local and ff00::/8 multicast.
    in_block(0x2_u128 << 124, 3) && !V6_BLOCKED.iter().any(|&(net, len)| in_block(net, len))
}

#[cfg(test)]
#[path = "net_guard_tests.rs"]
mod tests;
