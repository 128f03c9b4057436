//! Counters the caller can read at any time.

/// What the server has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Connections accepted (handshake completed).
    pub accepted: u64,
    /// SYNs answered with RST because every slot was busy.
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
