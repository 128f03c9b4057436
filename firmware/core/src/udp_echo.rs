//! UDP echo on the same port: every datagram answered with one datagram,
//! prefixed as the mode says (the tutorial names SOCK_DGRAM beside
//! SOCK_STREAM).
//!
//! Oversized datagrams follow `recvfrom(1024)`: only the first [`CHUNK`]
//! bytes are read and echoed, the rest is discarded and counted. Datagrams
//! larger than one Ethernet frame need IP reassembly, which the firmware does
//! not do: the stack drops them before they reach this socket.

use smoltcp::socket::udp;
use smoltcp::time::Instant;

use crate::events::Events;
use crate::fmt::Printable;
use crate::protocol::{Mode, CHUNK};
use crate::stamp::WallClock;
use crate::stats::Stats;

/// Buffers for the UDP echo socket, borrowed from the caller.
pub struct UdpStorage<'a> {
    /// Metadata of datagrams waiting to be echoed (one entry per datagram).
    pub rx_meta: &'a mut [udp::PacketMetadata],
    /// Payloads of datagrams waiting to be echoed.
    pub rx: &'a mut [u8],
    /// Metadata of replies waiting to be sent.
    pub tx_meta: &'a mut [udp::PacketMetadata],
    /// Payloads of replies waiting to be sent.
    pub tx: &'a mut [u8],
}

impl UdpStorage<'_> {
    /// Whether one full-size stamped reply fits.
    pub(crate) fn is_usable(&self) -> bool {
        !self.rx_meta.is_empty()
            && !self.tx_meta.is_empty()
            && !self.rx.is_empty()
            && self.tx.len() >= CHUNK + crate::STAMP_LEN
    }
}

/// Answers every datagram waiting, until the transmit side is full.
pub(crate) fn service(
    sock: &mut udp::Socket,
    mode: Mode,
    clock: &WallClock,
    now: Instant,
    stats: &mut Stats,
    events: &mut Events,
) {
    let overhead = mode.overhead();
    let mut buf = [0u8; CHUNK];
    while let Ok((data, meta)) = sock.peek() {
        let len = data.len().min(CHUNK);
        let truncated = data.len() > CHUNK;
        let meta = *meta;
        buf[..len].copy_from_slice(&data[..len]);
        match sock.send(overhead + len, meta.endpoint) {
            Ok(out) => {
                out[..overhead].copy_from_slice(&clock.stamp(now)[..overhead]);
                out[overhead..].copy_from_slice(&buf[..len]);
            }
            // Full: leave the datagram queued and try again next poll.
            Err(udp::SendError::BufferFull) => break,
            Err(udp::SendError::Unaddressable) => {
                if events.allow(now) {
                    warn!("udp {}: cannot answer this address, dropped", meta.endpoint);
                }
                stats.udp_dropped += 1;
            }
        }
        let _ = sock.recv();
        stats.udp_datagrams += 1;
        stats.bytes_in += len as u64;
        stats.bytes_out += (overhead + len) as u64;
        if truncated {
            stats.udp_truncated += 1;
        }
        // Anyone can send datagrams as fast as the link allows: log within the budget.
        if mode != Mode::Raw && events.allow(now) {
            info!("udp {}: {}", meta.endpoint, Printable(&buf[..len.min(48)]));
        }
    }
}
