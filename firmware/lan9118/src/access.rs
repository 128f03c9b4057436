//! Register access: the one place that touches the hardware.
//!
//! The driver talks to the chip only through [`Regs`], so it runs unchanged
//! over memory-mapped registers ([`Mmio`]) or, in tests, over a model of the
//! chip. This module holds the crate's only `unsafe` code.

/// 32-bit access to the chip's 256-byte register window.
///
/// `offset` is a byte offset from the window's base (see [`crate::regs`]).
/// Reads take `&mut self` because reading a FIFO port pops it.
pub trait Regs {
    /// Reads the 32-bit register at `offset`.
    fn read(&mut self, offset: usize) -> u32;
    /// Writes the 32-bit register at `offset`.
    fn write(&mut self, offset: usize, value: u32);
}

/// The chip's registers, memory-mapped at a fixed address.
#[derive(Debug)]
pub struct Mmio {
    base: usize,
}

impl Mmio {
    /// Size of the register window, in bytes.
    pub const WINDOW: usize = 0x100;

    /// Registers mapped at `base` (on the MPS2 boards, `0x4020_0000`).
    ///
    /// # Safety
    ///
    /// `base` must be the 4-byte aligned address of a LAN9118-compatible
    /// register window of [`Mmio::WINDOW`] bytes, mapped as device memory,
    /// and nothing else may access that window while the returned value
    /// (or the driver owning it) lives: FIFO reads and writes have side
    /// effects that other users would corrupt.
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { base }
    }

    /// Address of the register at `offset`, kept inside the window and aligned
    /// whatever `offset` is, so no access can stray outside the chip.
    fn addr(&self, offset: usize) -> usize {
        self.base + (offset & (Self::WINDOW - 4))
    }
}

impl Regs for Mmio {
    fn read(&mut self, offset: usize) -> u32 {
        // SAFETY: `Mmio::new`'s contract makes `self.base .. + WINDOW` an aligned,
        // exclusively owned device register window; `addr` keeps the address inside
        // it and 4-byte aligned. Volatile: every read is an access the chip sees.
        unsafe { core::ptr::read_volatile(self.addr(offset) as *const u32) }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`: an aligned address inside the exclusively owned
        // register window. Volatile: the write must reach the chip, in order.
        unsafe { core::ptr::write_volatile(self.addr(offset) as *mut u32, value) }
    }
}
