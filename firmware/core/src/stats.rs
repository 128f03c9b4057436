//! Counters the caller can read at any time.

use smoltcp::time::Duration;
use smoltcp::wire::IpEndpoint;

use crate::config::EchoConfig;
use crate::slot::Ending;

/// What the server has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Connections accepted (handshake completed).
    pub accepted: u64,
    /// SYNs answered with RST: every slot busy and none could give way, or
    /// the host already holds its share (`max_per_host`).
    pub refused: u64,
    /// Connections that ended with a clean close handshake.
    pub closed: u64,
    /// Connections reset by the peer or dropped by TCP timeouts.
    pub resets: u64,
    /// Connections reset by us after the idle timeout.
    pub timeouts: u64,
    /// Payload bytes taken from clients.
    pub bytes_in: u64,
    /// Bytes queued back to clients, stamps included.
    pub bytes_out: u64,
    /// UDP datagrams echoed.
    pub udp_datagrams: u64,
    /// UDP datagrams longer than the 1024-byte read, echoed cut short.
    pub udp_truncated: u64,
    /// UDP datagrams that could not be answered.
    pub udp_dropped: u64,
    /// Challenge ACKs sent (RFC 5961) for a SYN or an in-window RST on a live connection.
    pub challenge_acks: u64,
    /// RSTs dropped because their sequence number was not exactly the next expected one.
    pub rst_ignored: u64,
    /// SYN-ACKs sent again because a half-open handshake's SYN was retransmitted.
    pub synack_resent: u64,
    /// Half-open handshakes that timed out or gave way to a new SYN.
    pub handshakes_dropped: u64,
    /// Connections reset to make room for a new client (one finishing its
    /// close, or a silent one when every slot was busy).
    pub evicted: u64,
    /// Datagrams not answered by policy: not to one of our unicast addresses,
    /// from a source that is not a plausible client or from an echo-style
    /// service port, or empty.
    pub udp_filtered: u64,
    /// Datagrams not answered because of the rate limit.
    pub udp_rate_limited: u64,
    /// Replies dropped because the sender's neighbour entry did not resolve within 3 s.
    pub udp_unresolved: u64,
    /// ARP or NDP frames dropped because they would re-point a peer with a
    /// live connection to another MAC.
    pub neighbour_spoofs: u64,
    /// ICMP not sent: pings to broadcast or multicast, errors about packets
    /// sent to a group, errors over the rate limit.
    pub icmp_suppressed: u64,
}

impl Stats {
    /// All zero.
    pub const ZERO: Stats = Stats {
        accepted: 0,
        refused: 0,
        closed: 0,
        resets: 0,
        timeouts: 0,
        bytes_in: 0,
        bytes_out: 0,
        udp_datagrams: 0,
        udp_truncated: 0,
        udp_dropped: 0,
        challenge_acks: 0,
        rst_ignored: 0,
        synack_resent: 0,
        handshakes_dropped: 0,
        evicted: 0,
        udp_filtered: 0,
        udp_rate_limited: 0,
        udp_unresolved: 0,
        neighbour_spoofs: 0,
        icmp_suppressed: 0,
    };
}

impl Stats {
    /// Counts and logs the end of a connection with `remote`, `since` after
    /// its last activity (or its SYN, for [`Ending::FromHandshake`]).
    pub(crate) fn count_ending(
        &mut self,
        ending: Ending,
        remote: IpEndpoint,
        idle_timed_out: bool,
        since: Duration,
        config: &EchoConfig,
    ) {
        match ending {
            Ending::Nothing => {}
            _ if idle_timed_out => {
                self.timeouts += 1;
                info!("{}: idle timeout, connection reset", remote);
            }
            Ending::Closed => {
                self.closed += 1;
                info!("{}: closed", remote);
            }
            Ending::Reset => {
                self.resets += 1;
                info!("{}: reset", remote);
            }
            // Before the peer timeout, only an established-then-reset
            // connection ends this way (see `Ending::FromHandshake`).
            Ending::FromHandshake if config.peer_timeout.is_none_or(|limit| since < limit) => {
                self.accepted += 1;
                self.resets += 1;
                info!("connect from {}", remote);
                info!("{}: reset", remote);
            }
            Ending::FromHandshake => debug!("{}: handshake timed out", remote),
        }
    }
}
