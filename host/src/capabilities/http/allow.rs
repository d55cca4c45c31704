//! Which origins a tenant grants (`[tenant.capabilities] http`) and the address rule that
//! keeps DNS from pointing a request into the operator's network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an origin in the configuration is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{origin}` is not an origin ({why}); write scheme://host[:port], e.g. https://api.example.com or https://*.example.org:8443"
)]
pub struct BadOrigin {
    /// The text as configured.
    pub origin: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The host part of an allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// Exactly this name (lower case).
    Name(String),
    /// Any name ending in `.suffix` (from `*.suffix`), never `suffix` itself.
    Subdomains(String),
    /// Exactly this address; the only way to allow an internal address.
    Ip(IpAddr),
}

/// One allowed origin: scheme, host (an optional leading `*.`), port (default: the scheme's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    https: bool,
    host: HostPattern,
    port: u16,
}

impl OriginPattern {
    /// Parses `scheme://host[:port]` (a trailing `/` is allowed, nothing else after the port).
    pub fn parse(origin: &str) -> Result<Self, BadOrigin> {
        let bad = |why| BadOrigin {
            origin: origin.to_string(),
            why,
        };
        let (https, rest) = if let Some(rest) = origin.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = origin.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad("the scheme must be http or https"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("no path, query or user info"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("bad port"))?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        let host = if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip)
        } else {
            let name = host.to_ascii_lowercase();
            let (wild, name) = match name.strip_prefix("*.") {
                Some(suffix) => (true, suffix.to_string()),
                None => (false, name),
            };
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            if name.is_empty() || !name.split('.').all(label_ok) {
                return Err(bad(
                    "the host must be a DNS name, `*.` and a name, or an IP",
                ));
            }
            if wild {
                HostPattern::Subdomains(name)
            } else {
                HostPattern::Name(name)
            }
        };
        Ok(Self { https, host, port })
    }

    fn matches(&self, https: bool, host: &Host, port: u16) -> bool {
        if self.https != https || self.port != port {
            return false;
        }
        match (&self.host, host) {
            (HostPattern::Ip(a), Host::Ip(b)) => a == b,
            (HostPattern::Name(a), Host::Name(b)) => a == b,
            (HostPattern::Subdomains(suffix), Host::Name(b)) => b
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            _ => false,
        }
    }
}

/// A request's host, as the URI names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name (lower case), resolved by the host.
    Name(String),
    /// An address literal.
    Ip(IpAddr),
}

/// Where one request goes, once its URI is checked against an [`AllowList`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https`.
    pub https: bool,
    /// The host as named in the URI (the TLS name, the `Host` header).
    pub host: Host,
    /// The port (the scheme's default when the URI has none).
    pub port: u16,
    /// Whether the target may resolve to an internal address (only when the origin allowed
    /// is that address itself).
    pub internal_allowed: bool,
}

impl Target {
    /// Parses an absolute `http(s)://` URI into a target that any internal address is
    /// allowed for: for addresses the operator configured (the Bot API's `api_url`).
    pub fn trusted(uri: &http::Uri) -> Option<Self> {
        let mut target = Self::from_uri(uri)?;
        target.internal_allowed = true;
        Some(target)
    }

    fn from_uri(uri: &http::Uri) -> Option<Self> {
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.trim_end_matches('.').to_ascii_lowercase()),
        };
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Self {
            https,
            host,
            port,
            internal_allowed: false,
        })
    }
}

/// The origins one tenant's guests may reach over `wasi:http`. Empty (the default) denies all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    origins: Vec<OriginPattern>,
}

impl AllowList {
    /// Parses every origin; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<Self, BadOrigin> {
        let origins = origins
            .iter()
            .map(|o| OriginPattern::parse(o.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { origins })
    }

    /// True when nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The target of `uri` when an allowed origin matches it, else none.
    pub fn check(&self, uri: &http::Uri) -> Option<Target> {
        let mut target = Target::from_uri(uri)?;
        let pattern = self
            .origins
            .iter()
            .find(|p| p.matches(target.https, &target.host, target.port))?;
        target.internal_allowed = matches!(pattern.host, HostPattern::Ip(ip) if is_internal(ip));
        Some(target)
    }
}

/// `host[:port]`, with `[v6]` brackets; `None` for a port that is not a number.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((s, None)),
    }
}

/// Loopback, private, link-local, unspecified and other addresses that lead into the
/// operator's own network rather than the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(origins: &[&str], uri: &str) -> Option<bool> {
        let list = AllowList::parse(origins).unwrap();
        list.check(&uri.parse().unwrap())
            .map(|t| t.internal_allowed)
    }

    #[test]
    fn origins_match_scheme_host_and_port_only() {
        let api = ["https://api.example.com"];
        assert_eq!(allows(&api, "https://api.example.com/v1?q=1"), Some(false));
        assert_eq!(allows(&api, "https://API.example.com:443/"), Some(false));
        assert_eq!(allows(&api, "http://api.example.com/"), None);
        assert_eq!(allows(&api, "https://api.example.com:8443/"), None);
        assert_eq!(allows(&api, "https://evil.api.example.com/"), None);
        assert_eq!(allows(&api, "https://api.example.com.evil.net/"), None);
        let wild = ["https://*.example.org:8443"];
        assert_eq!(allows(&wild, "https://a.b.example.org:8443/"), Some(false));
        assert_eq!(allows(&wild, "https://example.org:8443/"), None);
        assert_eq!(allows(&wild, "https://badexample.org:8443/"), None);
        assert_eq!(allows(&wild, "https://a.example.org/"), None);
    }

    #[test]
    fn only_an_ip_literal_origin_allows_an_internal_address() {
        assert_eq!(
            allows(&["http://127.0.0.1:9000"], "http://127.0.0.1:9000/x"),
            Some(true)
        );
        assert_eq!(
            allows(&["http://127.0.0.1:9000"], "http://127.0.0.1:9001/"),
            None
        );
        assert_eq!(
            allows(&["http://localhost:9000"], "http://localhost:9000/"),
            Some(false)
        );
        assert_eq!(allows(&["http://[::1]:80"], "http://[::1]/"), Some(true));
    }

    #[test]
    fn bad_origins_are_refused() {
        for bad in [
            "api.example.com",
            "ftp://x.com",
            "https://x.com/path",
            "https://u@x.com",
            "https://x.com:port",
            "https://*",
            "https://a_b.com",
            "https://",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "149.154.167.220", "2001:4860::8888"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
