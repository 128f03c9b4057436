//! Milliseconds since boot, counted by the SysTick exception: the monotonic
//! clock smoltcp, the echo core and the defmt timestamps run on.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::exception;
use echo_core::smoltcp::time::Instant;

/// Milliseconds since [`start`]; wraps after 49.7 days ([`Monotonic`] extends it).
static MILLIS: AtomicU32 = AtomicU32::new(0);

defmt::timestamp!("{=u32:ms}", MILLIS.load(Ordering::Relaxed));

/// Starts SysTick at 1 kHz from the core clock `hclk_hz`.
///
/// The tick also wakes the main loop from `wfi` at least once a millisecond,
/// which is what keeps [`Monotonic`] from missing a wrap.
pub fn start(mut syst: SYST, hclk_hz: u32) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(hclk_hz / 1_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}

/// The 32-bit tick count widened to 64 bits (Cortex-M4 has no 64-bit atomics).
/// Must be read at least once per 49 days; the main loop reads it every tick.
pub struct Monotonic {
    last: u32,
    wraps: u64,
}

impl Monotonic {
    /// A reader of the clock started by [`start`].
    pub const fn new() -> Self {
        Monotonic { last: 0, wraps: 0 }
    }

    /// Time since boot.
    pub fn now(&mut self) -> Instant {
        let ms = MILLIS.load(Ordering::Relaxed);
        if ms < self.last {
            self.wraps += 1;
        }
        self.last = ms;
        let total = (self.wraps << 32) | u64::from(ms);
        // Fits: 2^63 ms is far beyond any uptime.
        Instant::from_millis(total as i64)
    }
}
