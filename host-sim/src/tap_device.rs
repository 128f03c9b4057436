//! The TAP as a `smoltcp::phy::Device`: non-blocking reads and writes into
//! buffers reused for every frame (smoltcp's own `TunTapInterface` allocates
//! one per received frame). On an offloading TAP each frame carries a
//! virtio-net header, which [`Offload`] reads and writes around smoltcp.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::offload::{Offload, Reject, VnetHdr, ETHERNET_HEADER, SEGMENT_MTU, VNET_HDR_LEN};
use crate::tap_setup::Tap;

/// The largest frame a TAP can hand over: a 64 KiB IP packet behind Ethernet
/// (what TSO gives the offloading TAP, whatever the MTU).
const LARGEST_FRAME: usize = u16::MAX as usize + ETHERNET_HEADER;

/// Frames the TAP device has seen fail; logged at 1, 2, 4, 8... so a flood of
/// errors is visible without flooding the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct TapErrors {
    /// Reads that failed with something other than "nothing to read", and
    /// frames whose virtio-net header made no sense.
    pub rx: u64,
    /// Frames that could not be written (queue full or error): TCP retransmits them.
    pub tx: u64,
    /// TCP segments dropped for a bad checksum (offloading TAP only: there
    /// the shim checks them, not smoltcp, which drops them silently too).
    pub bad_checksum: u64,
}

impl TapErrors {
    fn count_rx(&mut self, what: &dyn std::fmt::Display) {
        self.rx += 1;
        if self.rx.is_power_of_two() {
            log::warn!("TAP receive error ({} so far): {what}", self.rx);
        }
    }
}

/// A TAP interface driven without blocking.
pub struct TapDevice {
    tap: Tap,
    /// Present when the TAP carries virtio-net headers.
    offload: Option<Offload>,
    /// Bytes in front of each frame in the buffers: the header, or nothing.
    head: usize,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    errors: TapErrors,
    frame_max: usize,
}

impl TapDevice {
    /// Wraps an opened, non-blocking TAP whose IP MTU toward the host is `mtu`.
    pub fn new(tap: Tap, mtu: usize) -> Self {
        let (offload, head, ip_mtu) = match tap {
            Tap::Plain(_) => (None, 0, mtu),
            Tap::Offload(_) => (Some(Offload::new(mtu)), VNET_HDR_LEN, SEGMENT_MTU.max(mtu)),
        };
        let frame_max = ip_mtu + ETHERNET_HEADER;
        TapDevice {
            tap,
            offload,
            head,
            rx_buf: vec![0; head + frame_max.max(LARGEST_FRAME)],
            tx_buf: vec![0; head + frame_max],
            errors: TapErrors::default(),
            frame_max,
        }
    }

    /// True when frames cross the TAP as 64 KiB segments.
    pub fn offloads(&self) -> bool {
        self.offload.is_some()
    }
}

impl AsRawFd for TapDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.tap.as_raw_fd()
    }
}

impl phy::Device for TapDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        loop {
            let n = match self.tap.recv(&mut self.rx_buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => {
                    // EIO while the link is down, for example: count, and try later.
                    self.errors.count_rx(&e);
                    return None;
                }
            };
            if let Some(offload) = &mut self.offload {
                let Some((hdr, frame)) = self.rx_buf[..n].split_first_chunk_mut::<VNET_HDR_LEN>() else {
                    self.errors.count_rx(&"frame shorter than its virtio-net header");
                    continue;
                };
                match offload.on_receive(VnetHdr::parse(hdr), frame) {
                    Ok(()) => {}
                    Err(Reject::BadChecksum) => {
                        self.errors.bad_checksum += 1;
                        log::debug!("TCP segment with a bad checksum dropped");
                        continue;
                    }
                    Err(e) => {
                        self.errors.count_rx(&e);
                        continue;
                    }
                }
            }
            let tx = TxToken {
                tap: &self.tap,
                offload: &mut self.offload,
                buf: &mut self.tx_buf,
                head: self.head,
                errors: &mut self.errors,
            };
            return Some((RxToken { frame: &self.rx_buf[self.head..n] }, tx));
        }
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tap: &self.tap,
            offload: &mut self.offload,
            buf: &mut self.tx_buf,
            head: self.head,
            errors: &mut self.errors,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.frame_max;
        if self.offload.is_some() {
            caps.checksum = Offload::checksum_caps();
        }
        caps
    }
}

/// A received frame, borrowed from the device's buffer.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Permission to write one frame.
pub struct TxToken<'a> {
    tap: &'a Tap,
    offload: &'a mut Option<Offload>,
    buf: &'a mut Vec<u8>,
    head: usize,
    errors: &'a mut TapErrors,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let end = self.head + len;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let result = f(&mut self.buf[self.head..end]);
        if let (Some(offload), Some((hdr, frame))) =
            (self.offload, self.buf[..end].split_first_chunk_mut::<VNET_HDR_LEN>())
        {
            offload.on_transmit(frame).emit(hdr);
        }
        if let Err(e) = self.tap.send(&self.buf[..end]) {
            // A full TAP queue drops the frame, as a busy wire would; TCP recovers.
            self.errors.tx += 1;
            if self.errors.tx.is_power_of_two() {
                log::warn!("TAP write failed ({} so far): {e}", self.errors.tx);
            }
        }
        result
    }
}
