//! UDP echo checks from inside a namespace: one datagram, one answer.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::Netns;

/// Sends `payload` to `server` from a fresh socket in `ns` and returns the
/// first datagram that comes back from `server` within `timeout`. The
/// socket is connected, so an ICMP "port unreachable" shows up as
/// `ConnectionRefused`.
pub fn exchange(ns: &Netns, server: SocketAddr, payload: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let bind: SocketAddr =
        if server.is_ipv4() { SocketAddr::from(([0, 0, 0, 0], 0)) } else { SocketAddr::from(([0u16; 8], 0)) };
    let socket = ns.run(|| UdpSocket::bind(bind))??;
    socket.connect(server)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(payload)?;
    // Larger than any answer the server may send, so truncation would show.
    let mut buf = vec![0u8; 65_536];
    let len = socket.recv(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}
