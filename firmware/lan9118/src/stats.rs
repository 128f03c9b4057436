//! Counters of what the driver did and what went wrong.

/// Frame and error counters since the driver started. They wrap, never panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Frames handed to the stack.
    pub rx_frames: u32,
    /// Frames written to the TX FIFO.
    pub tx_frames: u32,
    /// Received frames discarded because their status reported an error
    /// (CRC, runt, too long, collision, ...) or a length we cannot hold.
    pub rx_errors: u32,
    /// Frames the chip dropped because its RX FIFO was full (`RX_DROP`).
    pub rx_dropped: u32,
    /// Times the receiver was stopped and its FIFOs emptied to get back in
    /// step after an RX error.
    pub rx_recoveries: u32,
    /// Transmitted frames whose status reported an error.
    pub tx_errors: u32,
    /// Frames not sent because the TX FIFO stayed full.
    pub tx_dropped: u32,
    /// Times the transmitter was stopped and its FIFOs emptied after a TX error.
    pub tx_recoveries: u32,
    /// MAC or PHY register accesses that timed out after start-up.
    pub timeouts: u32,
}
