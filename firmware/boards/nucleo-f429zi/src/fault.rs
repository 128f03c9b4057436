//! What happens when things go wrong: the board resets itself and says why
//! at the next boot, so one left unattended comes back on its own.
//!
//! - A panic logs the call sites of its innermost frames (`addr2line` on
//!   the ELF names the file and line), a hard fault its program counter; either leaves a record in RAM that
//!   start-up code does not clear and resets the chip (not panic-probe's
//!   breakpoint, which without a debugger ends in a HardFault loop).
//! - If the main loop stops (a hang, an endless spin), the independent
//!   watchdog resets the chip; it runs from its own oscillator (LSI), so a
//!   dead clock tree cannot stop it.
//! - At boot, [`report_last_reset`] logs RCC_CSR's reset cause and the record,
//!   then clears both.

use core::mem::MaybeUninit;

use cortex_m::peripheral::SCB;
use cortex_m_rt::{exception, ExceptionFrame};
use stm32f4xx_hal::pac;

use crate::reset_cause::{Crash, ResetCause};

/// The crash record. `.uninit` is neither zeroed nor initialised by
/// cortex-m-rt, so it survives a system reset (SRAM keeps its content); after
/// power-on it holds noise, which [`Crash::decode`] rejects.
#[link_section = ".uninit.CRASH_RECORD"]
static mut RECORD: MaybeUninit<[u32; 4]> = MaybeUninit::uninit();

/// Cycles to wait before resetting, so a probe reading the RTT log (probe-rs
/// polls it every few milliseconds) gets the last lines: 50 ms at 168 MHz,
/// 0.5 s on the 16 MHz start-up clock; either is well inside the watchdog's
/// period.
const LOG_DRAIN_CYCLES: u32 = 8_400_000;

fn write_record(crash: Crash) {
    // SAFETY: plain words written through a raw pointer to a static only this
    // module touches, from code that runs with interrupts disabled (or before
    // they are enabled), so nothing else accesses it meanwhile.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(RECORD).cast::<[u32; 4]>(), crash.encode()) }
}

/// The record left before this boot, if any; clears it.
fn take_record() -> Option<Crash> {
    // SAFETY: as in `write_record`; this runs once at start-up. The words are
    // read volatile: SRAM always holds some bits, and whatever they are,
    // `decode` only accepts a consistent record.
    let words = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(RECORD).cast::<[u32; 4]>()) };
    let crash = Crash::decode(words);
    // SAFETY: as in `write_record`.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(RECORD).cast::<[u32; 4]>(), [0; 4]) };
    crash
}

/// Records `crash`, gives a probe time to read the log, resets the chip.
#[inline(never)]
pub fn reset(crash: Crash) -> ! {
    cortex_m::interrupt::disable();
    write_record(crash);
    cortex_m::asm::delay(LOG_DRAIN_CYCLES);
    SCB::sys_reset()
}

/// Logs why the chip reset, from RCC_CSR and the crash record, and clears
/// both so the next boot reports only what happens from now on.
pub fn report_last_reset(rcc: &pac::RCC) {
    let csr = rcc.csr.read().bits();
    rcc.csr.modify(|_, w| w.rmvf().clear());
    // Interned strings: defmt keeps the text on the host, not in flash.
    let (why, expected) = match (ResetCause::from_csr(csr), take_record()) {
        (ResetCause::Software, Some(Crash::HardFault { pc })) => {
            defmt::warn!("reset by the firmware after a hard fault at pc {=u32:#010x}", pc);
            return;
        }
        (ResetCause::Software, Some(Crash::Panic)) => (defmt::intern!("by the firmware after a panic"), false),
        (ResetCause::Software, Some(Crash::RxRingOutOfStep)) => {
            (defmt::intern!("by the firmware: the receive ring had fallen out of step"), false)
        }
        (ResetCause::Software, None) => (defmt::intern!("software (a debugger, or the firmware)"), true),
        (ResetCause::PowerOn, _) => (defmt::intern!("power-on"), true),
        (ResetCause::Pin, _) => (defmt::intern!("reset pin (the button or a debugger)"), true),
        (ResetCause::Watchdog, _) => (defmt::intern!("watchdog: the main loop had stopped running"), false),
        (ResetCause::BrownOut, _) => (defmt::intern!("brown-out: the supply dipped"), false),
        (ResetCause::WindowWatchdog | ResetCause::LowPower | ResetCause::Unknown, _) => {
            (defmt::intern!("unexpected cause"), false)
        }
    };
    if expected {
        defmt::info!("reset: {=istr}", why);
    } else {
        defmt::warn!("reset: {=istr} (RCC_CSR {=u32:#010x})", why, csr);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    // Not the message nor the location: reading either keeps every panic
    // site's text, path and `core::fmt` arguments in flash (~11 KiB). The
    // call sites of the innermost frames name the place just as well, with
    // the ELF that decoding a defmt log needs anyway:
    // `addr2line -Cfie <elf> <addresses>` (the first frames are core's panic
    // functions; the first frame outside core is the panic site).
    let calls = call_sites::call_sites::<6>();
    defmt::error!("panic; call sites {:#010x} (addr2line -Cfie <elf> names them)", calls);
    reset(Crash::Panic)
}

/// `defmt::panic!`, `defmt::unwrap!` and friends: their message is logged already.
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    reset(Crash::Panic)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    // Recorded before logging: the fault may have been in the logger.
    write_record(Crash::HardFault { pc: frame.pc() });
    defmt::error!("hard fault: pc {=u32:#010x}, lr {=u32:#010x}", frame.pc(), frame.lr());
    reset(Crash::HardFault { pc: frame.pc() })
}

/// The independent watchdog.
pub struct Watchdog {
    iwdg: pac::IWDG,
}

impl Watchdog {
    /// Starts it (it cannot be stopped again until reset). The LSI runs at
    /// 32 kHz nominal but anywhere from 17 to 47 kHz (datasheet): /64 and a
    /// reload of 1000 give 2 s nominal, at least 1.36 s. The main loop feeds
    /// it at least every 0.5 s.
    pub fn start(iwdg: pac::IWDG) -> Self {
        const RELOAD: u16 = 999;
        // RM0090, IWDG: start (turns the LSI on), unlock PR/RLR, set them.
        iwdg.kr.write(|w| w.key().start());
        iwdg.kr.write(|w| w.key().enable());
        iwdg.pr.write(|w| w.pr().divide_by64());
        iwdg.rlr.write(|w| w.rl().bits(RELOAD));
        // The values reach the watchdog's clock domain a few LSI cycles later
        // (SR.PVU/RVU); wait for that, bounded, before the first reload.
        for _ in 0..100_000 {
            if iwdg.sr.read().bits() == 0 {
                break;
            }
        }
        let mut watchdog = Watchdog { iwdg };
        watchdog.feed();
        watchdog
    }

    /// Restarts the countdown.
    pub fn feed(&mut self) {
        self.iwdg.kr.write(|w| w.key().reset());
    }
}
