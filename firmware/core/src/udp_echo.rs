//! UDP echo on the same port: every datagram answered with one datagram,
//! prefixed as the mode says (the tutorial names SOCK_DGRAM beside
//! SOCK_STREAM).
//!
//! Oversized datagrams follow `recvfrom(1024)`: only the first [`CHUNK`]
//! bytes are read and echoed, the rest is discarded and counted. Datagrams
//! larger than one Ethernet frame need IP reassembly, which the firmware does
//! not do: the stack drops them before they reach this socket.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};

use crate::events::Events;
use crate::fmt::Printable;
use crate::protocol::{Mode, CHUNK};
use crate::stamp::WallClock;
use crate::stats::Stats;

/// The echo socket and the last sign of its send queue moving.
pub(crate) struct UdpEcho {
    pub handle: SocketHandle,
    /// Frames the guard had let out by then, and when that was seen.
    moved: (u64, Instant),
}

impl UdpEcho {
    pub fn new(handle: SocketHandle) -> Self {
        // The queue starts empty: the first look resets this.
        UdpEcho { handle, moved: (0, Instant::ZERO) }
    }

    /// The last line of defence: the guard only lets through datagrams whose
    /// sender smoltcp can reach, but should a reply still sit unsent at the
    /// head of the queue (smoltcp's neighbour cache forgot the host), it
    /// would block every later reply. Nothing sent for [`STUCK`] while
    /// replies wait: drop the queue. `sent` counts the UDP frames sent so far.
    pub fn unwedge(&mut self, sock: &mut udp::Socket, port: u16, sent: u64, now: Instant, stats: &mut Stats) {
        if sock.send_queue() == 0 || sent != self.moved.0 {
            self.moved = (sent, now);
            return;
        }
        if now - self.moved.1 < STUCK {
            return;
        }
        let (queued, waiting) = (sock.send_queue(), sock.recv_queue());
        // smoltcp tells bytes, not datagrams: count the one that blocked.
        stats.udp_unresolved += 1;
        sock.close();
        if sock.bind(port).is_err() {
            error!("udp echo cannot bind port {} again", port);
        }
        self.moved = (sent, now);
        warn!("udp: replies stuck for 3 s dropped ({} B queued, {} B unread with them)", queued, waiting);
    }
}

/// How long replies may wait with nothing sent before [`UdpEcho::unwedge`] drops them.
const STUCK: Duration = Duration::from_secs(3);

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
        if mode != Mode::Raw && events.allow_message(now, len) {
            info!("udp {}: {}", meta.endpoint, Printable(&buf[..len.min(48)]));
        }
    }
}
