//! Driver glue: smoltcp 0.14's `phy::Device` over the DMA descriptor rings
//! of stm32-eth.
//!
//! stm32-eth ships its own adapter (feature `smoltcp-phy`), but for smoltcp
//! 0.12; this one is the same idea for the smoltcp the echo core uses. Frames
//! are read and written in place in the DMA buffers: no copies.
//!
//! stm32-eth 0.8.2's `recv_next` hands an errored descriptor back to the DMA
//! but returns before advancing its ring index, so from then on it waits on a
//! slot the DMA fills last: one slot behind, for good (fixed upstream in
//! stm32-rs/stm32-eth#108, not released). `board.rs` configures the MAC so
//! that no errored or split frame reaches a descriptor (README.md, "Receive
//! ring"); should one come anyway, this adapter says so
//! ([`EthDevice::rx_ring_out_of_step`]) and the main loop resets the board.

use echo_core::smoltcp::phy::{Checksum, ChecksumCapabilities, Device, DeviceCapabilities, Medium, RxToken, TxToken};
use echo_core::smoltcp::time::Instant;
use stm32_eth::dma::{EthernetDMA, RxError, RxRing, TxRing};

/// Largest frame smoltcp may send: 1500 bytes of IP plus the 14-byte Ethernet
/// header (the MAC appends the FCS). The DMA buffers hold 1522.
pub const MAX_FRAME_LEN: usize = 1514;

/// Counters of frames the driver dropped.
#[derive(Debug, Clone, Copy, Default, defmt::Format)]
pub struct DriverStats {
    /// Errored or split frames that reached a descriptor (with the MAC set
    /// to drop them, never expected; each puts stm32-eth's ring out of step).
    pub rx_errors: u32,
    /// Frames smoltcp built that found no free TX descriptor (never expected).
    pub tx_dropped: u32,
}

/// The on-chip Ethernet MAC as a smoltcp device.
pub struct EthDevice<'rx, 'tx> {
    dma: EthernetDMA<'rx, 'tx>,
    max_burst: usize,
    stats: DriverStats,
    /// Where a frame goes if no TX descriptor is free after all, so that
    /// path drops a frame instead of panicking.
    discard: [u8; MAX_FRAME_LEN],
}

impl<'rx, 'tx> EthDevice<'rx, 'tx> {
    /// Wraps the started DMA engine. `max_burst` is how many full-size
    /// frames one TCP connection may have in flight toward us (its window,
    /// in segments): the RX ring's share of each connection.
    pub fn new(dma: EthernetDMA<'rx, 'tx>, max_burst: usize) -> Self {
        EthDevice { dma, max_burst, stats: DriverStats::default(), discard: [0; MAX_FRAME_LEN] }
    }

    /// True when a received frame waits in the ring (so do not sleep).
    pub fn rx_pending(&mut self) -> bool {
        self.dma.rx_available()
    }

    /// Frames dropped so far.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// True once an errored descriptor has put stm32-eth's receive ring one
    /// slot behind the DMA: frames then come only when the ring is full, and
    /// only a reset puts it back in step.
    pub fn rx_ring_out_of_step(&self) -> bool {
        self.stats.rx_errors != 0
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
        caps.max_transmission_unit = MAX_FRAME_LEN;
        // smoltcp caps each TCP connection's advertised window at this many
        // segments, so all connections together cannot have more full-size
        // frames in flight toward us than the RX ring holds (memory.rs).
        caps.max_burst_size = Some(self.max_burst);
        // Every TX descriptor asks the MAC to insert the IPv4 header and
        // TCP/UDP/ICMP/ICMPv6 checksums (CIC = 0b11), so smoltcp computes none
        // and leaves each field zero, as the MAC needs: a checksum smoltcp had
        // already written would be summed in and the result wrong (neighbour
        // discovery then fails). smoltcp still verifies received ones.
        caps.checksum = ChecksumCapabilities::default();
        caps.checksum.ipv4 = Checksum::Rx;
        caps.checksum.tcp = Checksum::Rx;
        caps.checksum.udp = Checksum::Rx;
        caps.checksum.icmpv4 = Checksum::Rx;
        #[cfg(feature = "ipv6")]
        {
            caps.checksum.icmpv6 = Checksum::Rx;
        }
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
        match self.ring.recv_next(None) {
            // Dropping the packet hands the descriptor back to the DMA.
            Ok(frame) => f(&frame),
            // Not after `receive` saw a frame; smoltcp drops an empty one.
            Err(RxError::WouldBlock) => f(&[]),
            // stm32-eth handed the descriptor back without moving on: the
            // ring now waits on a slot the DMA fills last. Retrying would
            // read that slot; the main loop resets instead.
            Err(RxError::Truncated | RxError::DmaError) => {
                *self.rx_errors += 1;
                f(&[])
            }
        }
    }
}

/// A free TX descriptor, filled and handed to the DMA when consumed.
pub struct EthTxToken<'a, 'tx> {
    ring: &'a mut TxRing<'tx>,
    discard: &'a mut [u8; MAX_FRAME_LEN],
    tx_dropped: &'a mut u32,
}

impl TxToken for EthTxToken<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than MAX_FRAME_LEN (our capabilities say so); clamp anyway,
        // as send_next() asserts the length fits its buffer.
        let len = len.min(MAX_FRAME_LEN);
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
