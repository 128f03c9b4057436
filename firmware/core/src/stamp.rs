//! The `[<ctime>] ` prefix and the wall clock it reads.

use smoltcp::time::Instant;

use crate::ctime::ctime_ms;
use crate::protocol::{stamp_of_ctime, STAMP_LEN};

/// Wall-clock time derived from the monotonic clock: a board reads the real
/// time once (RTC, semihosting, SNTP) and the core counts on from there, so the
/// core itself never asks anyone what time it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WallClock {
    /// Unix time in milliseconds minus the monotonic clock, at the last sync.
    offset_ms: i64,
    synced: bool,
}

impl WallClock {
    /// A clock that has never been set: it reads seconds since boot as 1970,
    /// just as C `ctime()` does on a board with no RTC.
    pub const UNSET: WallClock = WallClock { offset_ms: 0, synced: false };

    /// Records that at monotonic `now` the Unix time was `unix_ms` milliseconds.
    pub fn set(&mut self, now: Instant, unix_ms: u64) {
        self.offset_ms = unix_ms as i64 - now.total_millis();
        self.synced = true;
    }

    /// Whether [`set`](Self::set) was ever called.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Unix seconds at monotonic `now` (0 for anything before the epoch).
    pub fn unix_secs(&self, now: Instant) -> u64 {
        self.unix_ms(now) / 1000
    }

    fn unix_ms(&self, now: Instant) -> u64 {
        let ms = now.total_millis().saturating_add(self.offset_ms);
        u64::try_from(ms).unwrap_or(0)
    }

    /// The stamp for a chunk received at `now`.
    pub fn stamp(&self, now: Instant) -> [u8; STAMP_LEN] {
        stamp_of_ctime(&ctime_ms(self.unix_ms(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_follows_the_monotonic_clock_after_a_sync() {
        let mut clock = WallClock::UNSET;
        assert_eq!(&clock.stamp(Instant::from_secs(5)), b"[Thu Jan  1 00:00:05 1970] ");
        clock.set(Instant::from_millis(10_500), 1_795_536_028_000);
        assert!(clock.is_synced());
        assert_eq!(&clock.stamp(Instant::from_millis(10_500)), b"[Tue Nov 24 16:00:28 2026] ");
        // 1.6 s later the seconds field has moved on by one (28.0 + 1.6 = 29.6).
        assert_eq!(&clock.stamp(Instant::from_millis(12_100)), b"[Tue Nov 24 16:00:29 2026] ");
    }
}
