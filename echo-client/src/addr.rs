//! `HOST[:PORT]` targets: IPv4, IPv6 (bracketed, or bare without a port) and host names.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The firmware's address on the TAP network (the lab plan).
pub const DEFAULT_HOST: Ipv4Addr = netlab::plan::DEVICE_IP;
/// The tutorial's port.
pub const DEFAULT_PORT: u16 = netlab::plan::PORT;

/// Where to connect: a host (address or name) and a port, not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// An IPv4 address, an IPv6 address (without brackets) or a host name.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl Default for Target {
    fn default() -> Self {
        Target { host: DEFAULT_HOST.to_string(), port: DEFAULT_PORT }
    }
}

impl Target {
    /// Parses `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare `IPV6`.
    ///
    /// The error is a short reason, for `invalid address 'x': <reason>`.
    pub fn parse(s: &str) -> Result<Target, String> {
        if s.is_empty() {
            return Err("empty address".into());
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (v6, after) = rest.split_once(']').ok_or("missing ']' after the IPv6 address")?;
            v6.parse::<Ipv6Addr>().map_err(|_| format!("'{v6}' is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or("expected ':PORT' after ']'")?),
            };
            (v6, port)
        } else if s.matches(':').count() >= 2 {
            // Several colons: a bare IPv6 address, which cannot carry a port.
            s.parse::<Ipv6Addr>()
                .map_err(|_| format!("'{s}' is not an IPv6 address (write [ADDR]:PORT to give a port)"))?;
            (s, None)
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if !host.contains(':') {
            check_host_name(host)?;
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => parse_port(p)?,
        };
        Ok(Target { host: host.to_string(), port })
    }
}

fn check_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("missing host".into());
    }
    let ok = host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("'{host}' is not a host name or address"))
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("port '{p}' is not a number from 1 to 65535")),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, port: u16) -> Target {
        Target { host: host.into(), port }
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(Target::parse("192.168.69.1"), Ok(t("192.168.69.1", 12345)));
        assert_eq!(Target::parse("10.0.0.1:7"), Ok(t("10.0.0.1", 7)));
        assert_eq!(Target::parse("[fdaa::1]:12345"), Ok(t("fdaa::1", 12345)));
        assert_eq!(Target::parse("[fdaa::1]"), Ok(t("fdaa::1", 12345)));
        assert_eq!(Target::parse("fdaa::1"), Ok(t("fdaa::1", 12345)));
        assert_eq!(Target::parse("localhost"), Ok(t("localhost", 12345)));
        assert_eq!(Target::parse("my-board.local:80"), Ok(t("my-board.local", 80)));
    }

    #[test]
    fn rejects_bad_ports_and_hosts() {
        for bad in [
            "",
            "host:",
            "host:0",
            "host:65536",
            "host:http",
            ":80",
            "[fdaa::1",
            "[fdaa::1]80",
            "[nothost]:80",
            "fdaa::1:zz",
            "bad host",
            "a/b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_ipv6_with_brackets() {
        assert_eq!(t("fdaa::1", 12345).to_string(), "[fdaa::1]:12345");
        assert_eq!(Target::default().to_string(), "192.168.69.1:12345");
    }
}
