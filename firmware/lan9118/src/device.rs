//! `smoltcp::phy::Device` over the chip's FIFOs.
//!
//! A received frame is copied out of the RX FIFO into the driver's buffer when
//! `receive` is called; a frame to send is built in the TX buffer and copied
//! into the TX FIFO when its token is consumed.

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::access::Regs;
use crate::chip::{words, Chip, RxStatus};
use crate::driver::{Lan9118, MAX_FRAME_LEN, RX_BUF_LEN};

/// Full-size frames the RX data FIFO holds (10 560 bytes with the 5 KiB TX
/// FIFO the driver sets, 1 518 bytes a frame with its CRC), one frame's room
/// left for ARP, ping or a SYN: smoltcp keeps each TCP window within this, and
/// the echo core shares it among connections
/// (`EchoConfig::rx_window_budget`), so bursts are not dropped.
pub const RX_FIFO_FRAMES: usize = 6;

/// Bad frames skipped per `receive` call before yielding, so a flood of
/// errors cannot hold the caller for long.
const MAX_DISCARDS: usize = 16;

impl<R: Regs> phy::Device for Lan9118<R> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, R>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        for _ in 0..MAX_DISCARDS {
            match self.chip.next_rx(RX_BUF_LEN)? {
                RxStatus::Discard(n) => self.chip.discard(n),
                RxStatus::Frame(len) => {
                    self.chip.read_frame(&mut self.rx_buf[..words(len) * 4], len);
                    self.chip.stats.rx_frames = self.chip.stats.rx_frames.wrapping_add(1);
                    // Drop the CRC: smoltcp wants the frame without it.
                    let rx = RxToken { frame: &self.rx_buf[..len - 4] };
                    let tx = TxToken { chip: &mut self.chip, buf: &mut self.tx_buf };
                    return Some((rx, tx));
                }
            }
        }
        None
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        // Back-pressure: smoltcp keeps the packet and retries on a later poll.
        if !self.chip.tx_space(MAX_FRAME_LEN) {
            return None;
        }
        Some(TxToken { chip: &mut self.chip, buf: &mut self.tx_buf })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME_LEN;
        caps.max_burst_size = Some(RX_FIFO_FRAMES);
        caps
    }
}

/// A received frame, already out of the chip.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<T, F>(self, f: F) -> T
    where
        F: FnOnce(&[u8]) -> T,
    {
        f(self.frame)
    }
}

/// Room for one frame; the frame goes to the chip when the token is consumed.
pub struct TxToken<'a, R: Regs> {
    chip: &'a mut Chip<R>,
    buf: &'a mut [u8; MAX_FRAME_LEN],
}

impl<R: Regs> phy::TxToken for TxToken<'_, R> {
    fn consume<T, F>(self, len: usize, f: F) -> T
    where
        F: FnOnce(&mut [u8]) -> T,
    {
        if len > MAX_FRAME_LEN {
            // smoltcp never asks for more than the frame length it was given. If it did,
            // the frame could not go out whole: it gets the whole buffer to
            // write into, and is dropped and counted.
            let result = f(&mut self.buf[..]);
            self.chip.stats.tx_dropped = self.chip.stats.tx_dropped.wrapping_add(1);
            return result;
        }
        let frame = &mut self.buf[..len];
        let result = f(frame);
        self.chip.write_frame(frame);
        result
    }
}
