//! A minimal SNTP query (RFC 4330), written independently of the core's
//! client: to check what time a test NTP server really serves.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::Netns;

/// Seconds from 1900-01-01 (NTP's epoch) to 1970-01-01.
const NTP_UNIX_OFFSET: f64 = 2_208_988_800.0;

/// A server's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The server's transmit time, in Unix seconds.
    pub unix: f64,
    /// The server's stratum.
    pub stratum: u8,
}

/// Asks `server` for the time once, from inside `ns`, waiting up to `timeout`.
pub fn query(ns: &Netns, server: SocketAddr, timeout: Duration) -> io::Result<Answer> {
    let bind: SocketAddr =
        if server.is_ipv4() { SocketAddr::from(([0, 0, 0, 0], 0)) } else { SocketAddr::from(([0u16; 8], 0)) };
    let socket = ns.run(|| UdpSocket::bind(bind))??;
    socket.set_read_timeout(Some(timeout))?;
    let nonce: u64 = 0x5eed_0000_0000_0001 ^ u64::from(std::process::id());
    let mut request = [0u8; 48];
    request[0] = (4 << 3) | 3; // version 4, client
    request[40..48].copy_from_slice(&nonce.to_be_bytes());
    socket.send_to(&request, server)?;
    let mut buf = [0u8; 512];
    loop {
        let (len, from) = socket.recv_from(&mut buf)?;
        if from != server || len < 48 {
            continue;
        }
        let word = |at: usize| u64::from_be_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
        if word(24) != nonce {
            continue; // not the answer to this request
        }
        let (leap, mode, stratum) = (buf[0] >> 6, buf[0] & 7, buf[1]);
        if mode != 4 || leap == 3 || stratum == 0 || stratum >= 16 {
            return Err(io::Error::other(format!(
                "{server} is not a synchronised NTP server (leap {leap}, mode {mode}, stratum {stratum})"
            )));
        }
        let transmit = word(40);
        // NTP seconds wrap in 2036: the lower half of the range is era 1.
        let secs = transmit >> 32;
        let secs = if secs < 1 << 31 { secs + (1 << 32) } else { secs };
        let unix = secs as f64 + (transmit & 0xffff_ffff) as f64 / 4_294_967_296.0 - NTP_UNIX_OFFSET;
        return Ok(Answer { unix, stratum });
    }
}
