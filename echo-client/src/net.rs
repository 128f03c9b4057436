//! Connecting with a timeout, and turning socket errors into one short, lower-case reason.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::addr::Target;

/// Resolves `target` and connects to the first address that answers, each try
/// bounded by `timeout`.
///
/// The error reads `cannot connect to HOST:PORT: <reason>`.
pub fn connect(target: &Target, timeout: Duration) -> Result<TcpStream> {
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| anyhow!("cannot resolve '{}': {}", target.host, reason(&e)))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let why = match last {
        Some(e) if is_timeout(&e) => format!("timed out after {} (is the device up and reachable?)", secs(timeout)),
        Some(e) => reason(&e),
        None => "the name has no address".to_string(),
    };
    Err(anyhow!("cannot connect to {target}: {why}"))
}

/// True for the errors a socket timeout produces (`EAGAIN` on Linux, `TimedOut` elsewhere).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// A short reason for a socket error, with a hint where one helps.
///
/// Drops the `(os error N)` suffix std adds: the reason is for people.
pub fn reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused (is host-sim or the board running?)".into(),
        ConnectionReset => "connection reset by server".into(),
        ConnectionAborted => "connection aborted".into(),
        BrokenPipe => "server closed the connection".into(),
        HostUnreachable => "host unreachable (is the TAP interface up?)".into(),
        NetworkUnreachable => "network unreachable (no route; is the TAP interface configured?)".into(),
        TimedOut | WouldBlock => "timed out".into(),
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => &text[..i],
                None => &text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => "unknown error".into(),
            }
        }
    }
}

/// `2 s`, `0.5 s`: a duration as given on the command line.
pub fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Parses a positive number of seconds (fractions allowed, at most a day).
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("'{s}' is not a number of seconds above 0 (at most 86400)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short_and_hinted() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(reason(&refused), "connection refused (is host-sim or the board running?)");
        let os = io::Error::from_raw_os_error(13); // EACCES
        assert_eq!(reason(&os), "permission denied");
    }

    #[test]
    fn seconds_must_be_positive() {
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_secs("0").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("nan").is_err());
        assert!(parse_secs("x").is_err());
    }
}
