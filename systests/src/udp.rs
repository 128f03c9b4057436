//! UDP echo checks from inside a namespace: one datagram, one answer.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::checks::udp_exchange;
use crate::Netns;

/// Sends `payload` to `server` from a fresh socket in `ns` and returns the
/// first datagram that comes back from `server` within `timeout`. The
/// socket is connected, so an ICMP "port unreachable" shows up as
/// `ConnectionRefused`.
pub fn exchange(ns: &Netns, server: SocketAddr, payload: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    udp_exchange(ns, server, payload, timeout)
}
