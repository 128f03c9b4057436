//! Time. TIM2, one of the chip's two 32-bit timers, counts microseconds,
//! free-running: the monotonic clock smoltcp, the echo core and the defmt
//! timestamps use, widened to 64 bits (it laps every 71.6 minutes). Its
//! compare channel 1 is the alarm that ends `wfi` when smoltcp next has work,
//! so the core sleeps as long as smoltcp allows instead of waking for a
//! millisecond tick. (The MPS2 board does the same with its CMSDK timer.)

use core::cell::Cell;

use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::NVIC;
use echo_core::smoltcp::time::Instant;
use stm32f4xx_hal::pac::{self, interrupt, TIM2};
use stm32f4xx_hal::rcc::{Enable, Reset};

/// Longest sleep: the watchdog must be fed well within its 1.36 s minimum
/// period (see `fault::Watchdog`), and the counter read at least once a lap.
pub const MAX_SLEEP_US: u32 = 500_000;
/// Shortest alarm worth setting: the compare must not be passed before the
/// alarm is armed (a few dozen cycles at 168 MHz).
const MIN_ALARM_US: u32 = 2;

/// TIM2_SR.CC1IF, TIM2_DIER.CC1IE.
const CC1: u32 = 1 << 1;

/// Counter value at the last reading, and microseconds counted up to it.
static COUNTER: Mutex<Cell<(u32, u64)>> = Mutex::new(Cell::new((0, 0)));

fn tim2() -> &'static pac::tim2::RegisterBlock {
    // SAFETY: TIM2 is owned by the `Alarm` that `start` returns; this module
    // only reads CNT (no side effect) and, through `Alarm` or the interrupt
    // handler, writes CCR1/DIER/SR, with interrupts masked or in the handler
    // itself, so the accesses never interleave.
    unsafe { &*TIM2::ptr() }
}

/// The alarm that wakes the core (TIM2 compare channel 1).
pub struct Alarm {
    _tim2: TIM2,
    /// Counter value when the alarm was last set, and its delay.
    armed: (u32, u32),
}

/// Starts TIM2 counting up at 1 MHz from `timer_hz`, the APB1 timer clock.
pub fn start(tim2: TIM2, timer_hz: u32) -> Alarm {
    // SAFETY: enabling and resetting TIM2's clock only touches its own bits
    // in RCC_APB1ENR/RSTR, with a read-modify-write no interrupt handler races.
    unsafe {
        TIM2::enable_unchecked();
        TIM2::reset_unchecked();
    }
    tim2.psc.write(|w| w.psc().bits((timer_hz / 1_000_000 - 1) as u16));
    tim2.arr.write(|w| w.arr().bits(u32::MAX));
    // Loads the prescaler now rather than at the first overflow.
    tim2.egr.write(|w| w.ug().set_bit());
    tim2.sr.write(|w| unsafe { w.bits(0) });
    tim2.cr1.write(|w| w.cen().set_bit());
    // SAFETY: the handler only clears the compare flag; the critical sections
    // here are built on PRIMASK, not on NVIC masks.
    unsafe { NVIC::unmask(pac::Interrupt::TIM2) };
    Alarm { _tim2: tim2, armed: (0, 0) }
}

impl Alarm {
    /// Raises the TIM2 interrupt `us` microseconds from now (clamped to
    /// [`MIN_ALARM_US`]..=[`MAX_SLEEP_US`]). Call with interrupts masked, just
    /// before `wfi`, and check [`Alarm::due`] in between.
    pub fn set(&mut self, us: u32) {
        let us = us.clamp(MIN_ALARM_US, MAX_SLEEP_US);
        let t = tim2();
        let now = t.cnt.read().bits();
        t.ccr1().write(|w| w.ccr().bits(now.wrapping_add(us)));
        // rc_w0: writing 0 clears CC1IF, ones leave the other flags alone.
        t.sr.write(|w| unsafe { w.bits(!CC1) });
        t.dier.write(|w| unsafe { w.bits(CC1) });
        self.armed = (now, us);
    }

    /// True once the time set has passed: then do not sleep (the compare
    /// match may have come before the flag was cleared).
    pub fn due(&self) -> bool {
        let (armed_at, us) = self.armed;
        tim2().cnt.read().bits().wrapping_sub(armed_at) >= us
    }
}

/// Only here to end `wfi`: the main loop does the work.
#[interrupt]
fn TIM2() {
    let t = tim2();
    t.dier.write(|w| unsafe { w.bits(0) });
    t.sr.write(|w| unsafe { w.bits(!CC1) });
}

/// Microseconds since [`start`]. Must be called at least once per lap of the
/// counter (71 min); the main loop calls it at least every [`MAX_SLEEP_US`].
pub fn micros() -> u64 {
    cortex_m::interrupt::free(|cs| {
        let counter = COUNTER.borrow(cs);
        let (last, total) = counter.get();
        let now = tim2().cnt.read().bits();
        // Up-counter over the full 32 bits: the distance wraps naturally.
        let total = total + u64::from(now.wrapping_sub(last));
        counter.set((now, total));
        total
    })
}

/// The monotonic clock as smoltcp wants it.
pub fn now() -> Instant {
    Instant::from_micros(micros() as i64)
}

defmt::timestamp!("{=u64:us}", micros());
