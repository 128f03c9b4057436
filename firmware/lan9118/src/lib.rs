//! Driver for the SMSC (Microchip) LAN9118 10/100 Ethernet controller, as a
//! [`smoltcp::phy::Device`]. `no_std`, no allocation.
//!
//! The chip sits on the Arm MPS2 boards (as the software-compatible LAN9220)
//! and in QEMU's `mps2-*` machines. The driver only needs the register window;
//! the board says where it is:
//!
//! ```no_run
//! # fn main() -> Result<(), lan9118::Error> {
//! // SAFETY: the MPS2 maps the LAN9118 at 0x4020_0000 and nothing else uses it.
//! let regs = unsafe { lan9118::Mmio::new(0x4020_0000) };
//! let eth = lan9118::Lan9118::new(regs, &lan9118::Config { mac: [0x02, 0, 0, 0, 0, 0x01] })?;
//! // `eth` is a smoltcp Device: hand it to an Interface.
//! # let _ = eth;
//! # Ok(())
//! # }
//! ```
//!
//! Registers are reached through the [`Regs`] trait: [`Mmio`] for the real
//! thing (the crate's only `unsafe` code), a model of the chip in the tests.
//! Received frames with errors are discarded and counted; FIFOs that get out
//! of step are emptied and the path restarted, so the driver recovers instead
//! of wedging. See [`Stats`].
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod access;
mod chip;
mod device;
mod driver;
mod error;
pub mod regs;
mod stats;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use access::{Mmio, Regs};
pub use device::{RxToken, TxToken, RX_FIFO_FRAMES};
pub use driver::{Config, Lan9118, Link, MAX_FRAME_LEN};
pub use error::Error;
pub use stats::Stats;

/// Chip IDs (the high half of `ID_REV`) the driver accepts: the LAN9118, and
/// the register-compatible LAN9220 that the real MPS2 boards carry.
pub const SUPPORTED_CHIP_IDS: [u16; 2] = [0x0118, 0x9220];
