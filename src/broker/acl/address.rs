//! White-list address patterns of `plain_acl.yml` (Java's `RemoteAddressStrategyFactory`):
//! blank (matches nothing), `*` (anything), one address, `a,b,c`, `192.168.1.{1,2}` and ranges
//! such as `192.168.0.*` or `192.168.1.1-100`.

use std::collections::HashSet;
use std::net::IpAddr;

/// One parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// Blank or absent: matches no address.
    Nothing,
    /// `*`, `*.*.*.*` or `*:*:*:*:*:*:*:*`: matches every address.
    Anything,
    /// One address, a list, or a `{a,b}` set, normalized.
    Set(HashSet<IpAddr>),
    /// An IPv4 range: the first `index` octets equal `head`, octet `index` lies in
    /// `start..=end`, and later octets are free.
    Range {
        /// The fixed leading octets.
        head: Vec<u8>,
        /// Lowest allowed value of the ranged octet.
        start: u8,
        /// Highest allowed value of the ranged octet.
        end: u8,
    },
}

/// Why a pattern does not parse; the text is Java's `AclException` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

fn bad(addr: &str) -> PatternError {
    PatternError(format!("Netaddress examine Exception netaddress is {addr}"))
}

fn one(addr: &str) -> Result<IpAddr, PatternError> {
    addr.trim().parse::<IpAddr>().map_err(|_| bad(addr))
}

impl AddressPattern {
    /// Parses a pattern as `RemoteAddressStrategyFactory.getRemoteAddressStrategy` does.
    pub fn parse(text: Option<&str>) -> Result<Self, PatternError> {
        let Some(raw) = text else {
            return Ok(Self::Nothing);
        };
        let t = raw.trim();
        if t.is_empty() {
            return Ok(Self::Nothing);
        }
        if matches!(t, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(Self::Anything);
        }
        if t.ends_with('}') {
            let open = t.rfind('{').ok_or_else(|| bad(t))?;
            let prefix = t.get(..open).unwrap_or_default();
            let inner = t.get(open + 1..t.len() - 1).unwrap_or_default();
            let mut set = HashSet::new();
            for part in inner.split(',').filter(|p| !p.trim().is_empty()) {
                set.insert(one(&format!("{prefix}{}", part.trim()))?);
            }
            return Ok(Self::Set(set));
        }
        if t.contains(',') {
            let set = t
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(one)
                .collect::<Result<HashSet<_>, _>>()?;
            return Ok(Self::Set(set));
        }
        if t.contains('*') || t.contains('-') {
            return Self::range(t);
        }
        Ok(Self::Set(HashSet::from([one(t)?])))
    }

    /// `RangeRemoteAddressStrategy` for IPv4 (IPv6 ranges are refused).
    fn range(t: &str) -> Result<Self, PatternError> {
        let scope = || {
            PatternError(format!(
                "Netaddress examine scope Exception netaddress is {t}"
            ))
        };
        if t.contains(':') {
            return Err(PatternError(format!(
                "IPv6 address ranges are not supported: {t}"
            )));
        }
        let parts: Vec<&str> = t.split('.').map(str::trim).collect();
        if parts.len() != 4 {
            return Err(scope());
        }
        let mut head = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let (start, end) = if *p == "*" {
                (0u8, 255u8)
            } else if let Some((a, b)) = p.split_once('-') {
                let (Ok(a), Ok(b)) = (a.trim().parse::<u8>(), b.trim().parse::<u8>()) else {
                    return Err(PatternError(format!(
                        "RangeRemoteAddressStrategy netaddress examine scope Exception value {p} "
                    )));
                };
                if a > b {
                    return Err(PatternError(format!(
                        "RangeRemoteAddressStrategy netaddress examine scope Exception start is {a} , end is {b}"
                    )));
                }
                (a, b)
            } else {
                head.push(p.parse::<u8>().map_err(|_| scope())?);
                continue;
            };
            // Java: the range sits in octet 2, 3 or 4 and every later octet is `*`.
            if i == 0 || parts.iter().skip(i + 1).any(|q| *q != "*") {
                return Err(scope());
            }
            return Ok(Self::Range { head, start, end });
        }
        Err(scope())
    }

    /// True when `ip` is allowed by this pattern.
    #[must_use]
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = normalize(ip);
        match self {
            Self::Nothing => false,
            Self::Anything => true,
            Self::Set(set) => set.iter().any(|a| normalize(*a) == ip),
            Self::Range { head, start, end } => {
                let IpAddr::V4(v4) = ip else {
                    return false;
                };
                let octets = v4.octets();
                let n = head.len();
                octets.get(..n) == Some(head.as_slice())
                    && octets.get(n).is_some_and(|o| (*start..=*end).contains(o))
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(p: &str, ip: &str) -> bool {
        AddressPattern::parse(Some(p))
            .unwrap()
            .matches(ip.parse().unwrap())
    }

    #[test]
    fn java_forms() {
        assert!(m("*", "10.1.2.3"));
        assert!(m("192.168.0.*", "192.168.0.77"));
        assert!(!m("192.168.0.*", "192.168.1.77"));
        assert!(m("192.168.1.1-100", "192.168.1.100"));
        assert!(!m("192.168.1.1-100", "192.168.1.101"));
        assert!(m("192.168.*.*", "192.168.9.9"));
        assert!(m("10.10.103.{1,2}", "10.10.103.2"));
        assert!(!m("10.10.103.{1,2}", "10.10.103.3"));
        assert!(m("127.0.0.1,10.0.0.1", "10.0.0.1"));
        assert!(m("127.0.0.1", "127.0.0.1"));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(!m("127.0.0.1", "127.0.0.2"));
        assert!(
            !AddressPattern::parse(Some(" "))
                .unwrap()
                .matches(IpAddr::from([127, 0, 0, 1]))
        );
        assert!(
            !AddressPattern::parse(None)
                .unwrap()
                .matches(IpAddr::from([127, 0, 0, 1]))
        );
    }

    #[test]
    fn bad_forms_are_refused() {
        assert!(AddressPattern::parse(Some("1.2.3")).is_err());
        assert!(AddressPattern::parse(Some("1.2.3.9-1")).is_err());
        assert!(AddressPattern::parse(Some("1.*.3.4")).is_err());
        assert!(AddressPattern::parse(Some("hello")).is_err());
    }
}
