//! The TAP as a `smoltcp::phy::Device`: non-blocking reads and writes into
//! buffers reused for every frame (smoltcp's own `TunTapInterface` allocates
//! one per received frame).

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use tun_tap::Iface;

/// Ethernet header bytes in front of the IP MTU.
const ETHERNET_HEADER: usize = 14;

/// Frames the TAP device has seen fail; logged at 1, 2, 4, 8... so a flood of
/// errors is visible without flooding the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct TapErrors {
    /// Reads that failed with something other than "nothing to read".
    pub rx: u64,
    /// Frames that could not be written (queue full or error): TCP retransmits them.
    pub tx: u64,
}

/// A TAP interface driven without blocking.
pub struct TapDevice {
    iface: Iface,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    errors: TapErrors,
    frame_max: usize,
}

impl TapDevice {
    /// Wraps an opened, non-blocking TAP whose IP MTU is `mtu`.
    pub fn new(iface: Iface, mtu: usize) -> Self {
        let frame_max = mtu + ETHERNET_HEADER;
        TapDevice {
            iface,
            rx_buf: vec![0; frame_max],
            tx_buf: vec![0; frame_max],
            errors: TapErrors::default(),
            frame_max,
        }
    }
}

impl AsRawFd for TapDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.iface.as_raw_fd()
    }
}

impl phy::Device for TapDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        match self.iface.recv(&mut self.rx_buf) {
            Ok(n) => Some((
                RxToken { frame: &self.rx_buf[..n] },
                TxToken { iface: &self.iface, buf: &mut self.tx_buf, errors: &mut self.errors },
            )),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => {
                // EIO while the link is down, for example: count, and try later.
                self.errors.rx += 1;
                if self.errors.rx.is_power_of_two() {
                    log::warn!("TAP read failed ({} so far): {e}", self.errors.rx);
                }
                None
            }
        }
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { iface: &self.iface, buf: &mut self.tx_buf, errors: &mut self.errors })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.frame_max;
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
    iface: &'a Iface,
    buf: &'a mut Vec<u8>,
    errors: &'a mut TapErrors,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let result = f(&mut self.buf[..len]);
        if let Err(e) = self.iface.send(&self.buf[..len]) {
            // A full TAP queue drops the frame, as a busy wire would; TCP recovers.
            self.errors.tx += 1;
            if self.errors.tx.is_power_of_two() {
                log::warn!("TAP write failed ({} so far): {e}", self.errors.tx);
            }
        }
        result
    }
}
