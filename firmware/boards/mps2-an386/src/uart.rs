//! The log over the board's UART0, a CMSDK APB UART at 0x4000_4000 (QEMU's
//! `serial0`: stdout with `-nographic`, hw/arm/mps2.c): the defmt global
//! logger of builds without the `semihosting` feature. Bytes go out one at a
//! time, waiting while the transmit buffer is full, so a line costs about
//! 1 ms at 115 200 baud on the real board and nothing in QEMU.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

const UART0_BASE: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const CTRL_TX_EN: u32 = 1 << 0;
/// 115 200 baud from the 25 MHz APB clock (the UART needs at least 16).
const BAUD_DIVIDER: u32 = crate::clock::CLOCK_HZ / 115_200;

fn write_reg(offset: usize, value: u32) {
    // SAFETY: UART0's registers on the AN385/AN386 images (device memory,
    // 4-byte aligned); only this module touches UART0, from inside the
    // logger's critical section.
    unsafe { core::ptr::write_volatile((UART0_BASE + offset) as *mut u32, value) }
}

fn read_reg(offset: usize) -> u32 {
    // SAFETY: as in `write_reg`; reading STATE has no side effect.
    unsafe { core::ptr::read_volatile((UART0_BASE + offset) as *const u32) }
}

fn send(bytes: &[u8]) {
    for &b in bytes {
        while read_reg(STATE) & STATE_TX_FULL != 0 {}
        write_reg(DATA, u32::from(b));
    }
}

#[defmt::global_logger]
struct UartLogger;

/// The logger's state, used only between `acquire` and `release`, inside a
/// critical section.
struct State {
    taken: AtomicBool,
    started: UnsafeCell<bool>,
    restore: UnsafeCell<critical_section::RestoreState>,
    encoder: UnsafeCell<defmt::Encoder>,
}

// SAFETY: the cells are only touched with `taken` set, inside the critical
// section `acquire` enters (single core: nothing else runs meanwhile).
unsafe impl Sync for State {}

static LOGGER: State = State {
    taken: AtomicBool::new(false),
    started: UnsafeCell::new(false),
    restore: UnsafeCell::new(critical_section::RestoreState::invalid()),
    encoder: UnsafeCell::new(defmt::Encoder::new()),
};

// SAFETY: frames are written whole inside one critical section, so they never
// interleave; `acquire` refuses to nest.
unsafe impl defmt::Logger for UartLogger {
    fn acquire() {
        // SAFETY: paired with the `release` in `Logger::release`.
        let restore = unsafe { critical_section::acquire() };
        if LOGGER.taken.swap(true, Ordering::Relaxed) {
            panic!("defmt logger taken reentrantly");
        }
        // SAFETY: exclusive: `taken` was clear and we are in the critical section.
        unsafe {
            LOGGER.restore.get().write(restore);
            if !*LOGGER.started.get() {
                write_reg(BAUDDIV, BAUD_DIVIDER);
                write_reg(CTRL, CTRL_TX_EN);
                *LOGGER.started.get() = true;
            }
            (*LOGGER.encoder.get()).start_frame(send);
        }
    }

    unsafe fn flush() {
        // Every byte is in the UART when `send` returns.
    }

    unsafe fn release() {
        // SAFETY: defmt calls this only after `acquire`, so we hold the state.
        unsafe {
            (*LOGGER.encoder.get()).end_frame(send);
            let restore = LOGGER.restore.get().read();
            LOGGER.taken.store(false, Ordering::Relaxed);
            critical_section::release(restore);
        }
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: as in `release`.
        unsafe { (*LOGGER.encoder.get()).write(bytes, send) }
    }
}
