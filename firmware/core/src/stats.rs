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
    /// SYNs answered with RST because every slot was busy (under a SYN flood
    /// only the first 16 SYNs of each poll are examined).
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
