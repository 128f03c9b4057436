//! smoltcp 0.14's `phy::Device` over the DMA descriptor rings of stm32-eth.
//!
//! stm32-eth ships its own adapter (feature `smoltcp-phy`), but for smoltcp
//! 0.12; this one is the same idea for the smoltcp the echo core uses. Frames
//! are read and written in place in the DMA buffers: no copies.

use echo_core::smoltcp::phy::{Checksum, ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use echo_core::smoltcp::time::Instant;
use stm32_eth::dma::{EthernetDMA, RxError, RxRing, TxRing};

/// Largest frame smoltcp may send: 1500 bytes of IP plus the 14-byte Ethernet
/// header (the MAC appends the FCS). The DMA buffers hold 1522.
pub const MAX_FRAME: usize = 1514;

/// Counters of frames the driver dropped.
#[derive(Debug, Clone, Copy, Default, defmt::Format)]
pub struct DriverStats {
    /// Received frames dropped for a MAC/DMA error (CRC, overrun, truncated).
    pub rx_errors: u32,
    /// Frames smoltcp built that found no free TX descriptor (never expected).
    pub tx_dropped: u32,
}

/// The on-chip Ethernet MAC as a smoltcp device.
pub struct EthDevice<'rx, 'tx> {
    dma: EthernetDMA<'rx, 'tx>,
    rx_ring_len: usize,
    stats: DriverStats,
    /// Where a frame goes if no TX descriptor is free after all, so that
    /// path drops a frame instead of panicking.
    discard: [u8; MAX_FRAME],
}

impl<'rx, 'tx> EthDevice<'rx, 'tx> {
    /// Wraps the started DMA engine; `rx_ring_len` is its number of receive
    /// descriptors (how many frames it can take in one burst).
    pub fn new(dma: EthernetDMA<'rx, 'tx>, rx_ring_len: usize) -> Self {
        EthDevice { dma, rx_ring_len, stats: DriverStats::default(), discard: [0; MAX_FRAME] }
    }

    /// True when a received frame waits in the ring (so do not sleep).
    pub fn rx_pending(&mut self) -> bool {
        self.dma.rx_available()
    }

    /// Frames dropped so far.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }
}

impl<'rx, 'tx> Device for EthDevice<'rx, 'tx> {
    type RxToken<'a>
        = EthRxToken<'a, 'rx>
    where
        Self: 'a;
    type TxToken<'a>
        = EthTxToken<'a, 'tx>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.dma.split();
        // Both or neither: a frame taken now may need a reply now.
        if !(rx.next_entry_available() && tx.next_entry_available()) {
            return None;
        }
        let stats = &mut self.stats;
        let discard = &mut self.discard;
        Some((
            EthRxToken { ring: rx, rx_errors: &mut stats.rx_errors },
            EthTxToken { ring: tx, discard, tx_dropped: &mut stats.tx_dropped },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        let (_, tx) = self.dma.split();
        if !tx.next_entry_available() {
            return None;
        }
        Some(EthTxToken { ring: tx, discard: &mut self.discard, tx_dropped: &mut self.stats.tx_dropped })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        // The TCP window is capped to what the RX ring holds in one burst.
        caps.max_burst_size = Some(self.rx_ring_len);
        // Every TX descriptor asks the MAC to insert the IPv4 header and
        // TCP/UDP/ICMP checksums (CIC = 0b11), so smoltcp computes none. It
        // still verifies received ones: the MAC only flags bad ones.
        caps.checksum = ChecksumCapabilities::default();
        caps.checksum.ipv4 = Checksum::Rx;
        caps.checksum.tcp = Checksum::Rx;
        caps.checksum.udp = Checksum::Rx;
        caps.checksum.icmpv4 = Checksum::Rx;
        caps
    }
}

/// A received frame, read from its DMA buffer when consumed.
pub struct EthRxToken<'a, 'rx> {
    ring: &'a mut RxRing<'rx>,
    rx_errors: &'a mut u32,
}

impl RxToken for EthRxToken<'_, '_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        loop {
            match self.ring.recv_next(None) {
                // Dropping the packet hands the descriptor back to the DMA.
                Ok(frame) => return f(&frame),
                // Only after errored frames: smoltcp drops an empty frame.
                Err(RxError::WouldBlock) => return f(&[]),
                // The ring already took the bad descriptor back; try the next.
                Err(RxError::Truncated | RxError::DmaError) => *self.rx_errors += 1,
            }
        }
    }
}

/// A free TX descriptor, filled and handed to the DMA when consumed.
pub struct EthTxToken<'a, 'tx> {
    ring: &'a mut TxRing<'tx>,
    discard: &'a mut [u8; MAX_FRAME],
    tx_dropped: &'a mut u32,
}

impl TxToken for EthTxToken<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than MAX_FRAME (our MTU); clamp anyway,
        // as send_next() asserts the length fits its buffer.
        let len = len.min(MAX_FRAME);
        match self.ring.send_next(len, None) {
            Ok(mut frame) => {
                let result = f(&mut frame);
                frame.send();
                result
            }
            // Unreachable while this token holds the ring: the descriptor was
            // free when the token was made, and the DMA only ever frees them.
            Err(_) => {
                *self.tx_dropped += 1;
                f(&mut self.discard[..len])
            }
        }
    }
}
