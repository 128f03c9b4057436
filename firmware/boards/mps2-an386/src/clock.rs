//! Time. smoltcp's monotonic clock comes from a free-running hardware counter
//! (CMSDK APB timer 0), not from counting tick interrupts: under QEMU a busy
//! host can hold the vCPU off for milliseconds, ticks then coalesce and a tick
//! count would fall behind real time, and the stamps with it. SysTick is only
//! the alarm that ends WFI when smoltcp next has work. The wall clock is read
//! once from the host: through semihosting (SYS_TIME) with the `semihosting`
//! feature, else from a word QEMU is told to write into RAM.

use core::cell::Cell;

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;
use echo_core::smoltcp::time::Instant;

/// Core and APB clock of the MPS2 FPGA images (QEMU's SYSCLK_FRQ).
pub const CLOCK_HZ: u32 = 25_000_000;

/// CMSDK APB timer 0 of the AN385/AN386 images.
const TIMER0_BASE: usize = 0x4000_0000;
const TIMER_CTRL: usize = 0x00;
const TIMER_VALUE: usize = 0x04;
const TIMER_RELOAD: usize = 0x08;
const TIMER_CTRL_ENABLE: u32 = 1 << 0;

/// Counter value at the last reading, and timer cycles counted up to it.
static COUNTER: Mutex<Cell<(u32, u64)>> = Mutex::new(Cell::new((u32::MAX, 0)));

fn timer_write(offset: usize, value: u32) {
    // SAFETY: TIMER0_BASE + offset is a register of the CMSDK timer the AN386
    // image maps there (device memory, 4-byte aligned); only this module uses it.
    unsafe { core::ptr::write_volatile((TIMER0_BASE + offset) as *mut u32, value) }
}

fn timer_value() -> u32 {
    // SAFETY: as in `timer_write`; reading VALUE has no side effect.
    unsafe { core::ptr::read_volatile((TIMER0_BASE + TIMER_VALUE) as *const u32) }
}

/// Longest sleep: SysTick's 24-bit counter holds at most 671 ms at 25 MHz, and
/// the counter must be read at least once a lap.
pub const MAX_SLEEP_MS: u32 = 500;

/// The alarm that wakes the core (SysTick).
pub struct Alarm {
    syst: SYST,
}

/// Starts timer 0 counting down from 2^32 - 1 at 25 MHz (one lap every 171 s).
pub fn start(mut syst: SYST) -> Alarm {
    timer_write(TIMER_CTRL, 0);
    timer_write(TIMER_RELOAD, u32::MAX); // also loads the counter
    timer_write(TIMER_CTRL, TIMER_CTRL_ENABLE);
    syst.set_clock_source(SystClkSource::Core);
    syst.enable_interrupt();
    Alarm { syst }
}

impl Alarm {
    /// Raises the SysTick exception in `ms` milliseconds (1 to [`MAX_SLEEP_MS`])
    /// and every `ms` after, until set again.
    pub fn set(&mut self, ms: u32) {
        let ms = ms.clamp(1, MAX_SLEEP_MS);
        self.syst.disable_counter();
        self.syst.set_reload(ms * (CLOCK_HZ / 1000) - 1);
        self.syst.clear_current();
        self.syst.enable_counter();
    }
}

/// Timer 0's raw count: it falls by [`CLOCK_HZ`] a second, so the distance
/// between two readings (`earlier.wrapping_sub(later)`) is the time between
/// them in cycles, for spans under a lap (171 s).
pub fn cycles() -> u32 {
    timer_value()
}

/// Milliseconds since `start`. Must be called at least once per lap of the
/// counter (171 s); the main loop calls it at least every [`MAX_SLEEP_MS`].
pub fn millis() -> u64 {
    interrupt::free(|cs| {
        let counter = COUNTER.borrow(cs);
        let (last, cycles) = counter.get();
        let now = timer_value();
        // Down-counter over the full 32 bits: the distance wraps naturally.
        let cycles = cycles + u64::from(last.wrapping_sub(now));
        counter.set((now, cycles));
        cycles / u64::from(CLOCK_HZ / 1000)
    })
}

/// The monotonic clock as smoltcp wants it.
pub fn now() -> Instant {
    Instant::from_millis(millis() as i64)
}

/// Seconds since 1970 on the host (semihosting SYS_TIME), 0 if it does not answer.
#[cfg(feature = "semihosting")]
pub fn unix_time_secs() -> u64 {
    semihosting::sys::arm_compat::sys_time().map_or(0, |secs| secs as u64)
}

/// Where the host leaves its wall clock for builds without semihosting: the
/// 8 bytes memory.x keeps out of RAM, at its end. QEMU writes them at reset
/// (`-device loader,addr=0x203ffff0,data=…,data-len=8`, as `cargo xtask
/// qemu` and the system tests start it): seconds since 1970 in the low word,
/// their complement in the high word, so that the noise a real board's SRAM
/// holds after power-on is not taken for a time.
#[cfg(not(feature = "semihosting"))]
pub const HOST_TIME_ADDR: usize = 0x203F_FFF0;

/// Seconds since 1970 from the host (see [`HOST_TIME_ADDR`]), 0 if it left
/// none (a real board: then the wall clock stays unset, unless SNTP sets it).
/// The words are cleared, so a later reset does not reuse them.
#[cfg(not(feature = "semihosting"))]
pub fn unix_time_secs() -> u64 {
    let at = HOST_TIME_ADDR as *mut [u32; 2];
    // SAFETY: memory.x ends RAM before HOST_TIME_ADDR, so these 8 bytes are
    // SSRAM no Rust object uses; read and cleared once, at start-up.
    let [secs, check] = unsafe { core::ptr::read_volatile(at) };
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(at, [0; 2]) };
    if check == !secs {
        u64::from(secs)
    } else {
        0
    }
}

/// Only here to end WFI: the main loop does the work.
#[exception]
fn SysTick() {}

defmt::timestamp!("{=u64:ms}", millis());
