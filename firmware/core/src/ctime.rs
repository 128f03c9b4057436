//! C `ctime()` formatting without the trailing newline: `Tue Nov 24 16:00:28 2026`.
//!
//! Always UTC: a board has no time-zone database, and one format everywhere
//! keeps host-sim and the firmware byte-identical.

/// Length of a formatted timestamp (`Www Mmm dd hh:mm:ss yyyy`).
pub const CTIME_LEN: usize = 24;

pub(crate) const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
pub(crate) const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// A broken-down UTC date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Full year, e.g. 2026.
    pub year: u32,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0 = Sunday ..= 6 = Saturday.
    pub weekday: u8,
}

impl DateTime {
    /// Breaks seconds since the Unix epoch down into a UTC date and time.
    ///
    /// Uses Howard Hinnant's `civil_from_days`, exact for every date this
    /// `u64` can reach within `u32` years.
    pub fn from_unix(secs: u64) -> Self {
        Self::from_days(secs / 86_400, (secs % 86_400) as u32)
    }

    /// The same from Unix milliseconds (the fraction of a second dropped).
    pub fn from_unix_ms(ms: u64) -> Self {
        Self::from_days(ms / 86_400_000, (ms % 86_400_000) as u32 / 1000)
    }

    /// `days` since 1970-01-01 plus `secs` (< 86 400) into the day. Only two
    /// 64-bit divisions (the day and the 400-year era): on a 32-bit core each
    /// is a call into a software routine, while the rest works in `u32`.
    fn from_days(days: u64, secs: u32) -> Self {
        // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = (z - era * 146_097) as u32;
        // An era is a whole number of weeks and 0000-03-01 was a Wednesday.
        let weekday = ((doe + 3) % 7) as u8;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (u64::from(yoe) + era * 400 + u64::from(month <= 2)) as u32;
        DateTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
            weekday,
        }
    }
}

/// Formats `secs` since the Unix epoch (UTC) as C `ctime()` does, minus the newline.
///
/// Years past 9999 keep only their last four digits, so the output is always
/// [`CTIME_LEN`] bytes (glibc would widen the field; a fixed-size stamp lets the
/// echo path reserve transmit space exactly).
pub fn ctime(secs: u64) -> [u8; CTIME_LEN] {
    format(DateTime::from_unix(secs))
}

/// [`ctime`] from Unix milliseconds.
pub fn ctime_ms(ms: u64) -> [u8; CTIME_LEN] {
    format(DateTime::from_unix_ms(ms))
}

fn format(t: DateTime) -> [u8; CTIME_LEN] {
    let mut out = [b' '; CTIME_LEN];
    out[0..3].copy_from_slice(WEEKDAYS[usize::from(t.weekday)]);
    out[4..7].copy_from_slice(MONTHS[usize::from(t.month - 1)]);
    // Day of month is space-padded: "Nov  4".
    if t.day >= 10 {
        out[8] = b'0' + t.day / 10;
    }
    out[9] = b'0' + t.day % 10;
    two_digits(&mut out[11..13], t.hour);
    out[13] = b':';
    two_digits(&mut out[14..16], t.minute);
    out[16] = b':';
    two_digits(&mut out[17..19], t.second);
    let y = t.year % 10_000;
    out[20] = b'0' + (y / 1000) as u8;
    out[21] = b'0' + (y / 100 % 10) as u8;
    out[22] = b'0' + (y / 10 % 10) as u8;
    out[23] = b'0' + (y % 10) as u8;
    out
}

fn two_digits(dst: &mut [u8], v: u8) {
    dst[0] = b'0' + v / 10;
    dst[1] = b'0' + v % 10;
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::string::String;

    fn s(secs: u64) -> String {
        String::from_utf8(ctime(secs).to_vec()).unwrap()
    }

    #[test]
    fn epoch_and_known_points() {
        // Values cross-checked with glibc: `TZ=UTC date -d @N '+%a %b %e %T %Y'`.
        assert_eq!(s(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(s(1_795_536_028), "Tue Nov 24 16:00:28 2026");
        assert_eq!(s(1_793_783_101), "Wed Nov  4 09:05:01 2026");
        assert_eq!(s(951_782_400), "Tue Feb 29 00:00:00 2000"); // leap day, 400-year rule
        assert_eq!(s(1_709_164_799), "Wed Feb 28 23:59:59 2024");
        assert_eq!(s(1_709_164_800), "Thu Feb 29 00:00:00 2024"); // leap day
        assert_eq!(s(1_709_251_200), "Fri Mar  1 00:00:00 2024");
        assert_eq!(s(4_107_456_000), "Sun Feb 28 00:00:00 2100");
        assert_eq!(s(4_107_542_400), "Mon Mar  1 00:00:00 2100"); // 2100 is not leap
        assert_eq!(s(2_147_483_647), "Tue Jan 19 03:14:07 2038"); // i32 limit
        assert_eq!(s(2_147_483_648), "Tue Jan 19 03:14:08 2038"); // one past it
        assert_eq!(s(4_102_444_799), "Thu Dec 31 23:59:59 2099");
        assert_eq!(s(253_402_300_799), "Fri Dec 31 23:59:59 9999");
    }

    #[test]
    fn every_weekday_and_month() {
        // 2026-01-04 was a Sunday; walk a week, then the first of every month.
        let sunday = 1_767_484_800;
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        for (i, d) in days.iter().enumerate() {
            assert_eq!(&s(sunday + i as u64 * 86_400)[..3], *d);
        }
        let firsts = [
            (1_767_225_600, "Thu Jan  1"),
            (1_769_904_000, "Sun Feb  1"),
            (1_772_323_200, "Sun Mar  1"),
            (1_775_001_600, "Wed Apr  1"),
            (1_777_593_600, "Fri May  1"),
            (1_780_272_000, "Mon Jun  1"),
            (1_782_864_000, "Wed Jul  1"),
            (1_785_542_400, "Sat Aug  1"),
            (1_788_220_800, "Tue Sep  1"),
            (1_790_812_800, "Thu Oct  1"),
            (1_793_491_200, "Sun Nov  1"),
            (1_796_083_200, "Tue Dec  1"),
        ];
        for (secs, want) in firsts {
            assert_eq!(&s(secs)[..10], want, "at {secs}");
        }
    }

    #[test]
    fn day_padding_and_field_widths() {
        // 9th vs 10th: the space pad disappears at two digits.
        assert_eq!(s(1_794_214_799), "Mon Nov  9 08:59:59 2026");
        assert_eq!(s(1_794_301_199), "Tue Nov 10 08:59:59 2026");
        for secs in (0..4_000_000_000u64).step_by(7_777_777) {
            let owned = s(secs);
            let t = owned.as_bytes();
            assert_eq!(t.len(), CTIME_LEN);
            assert_eq!((t[3], t[7], t[10], t[13], t[16], t[19]), (b' ', b' ', b' ', b':', b':', b' '));
        }
    }

    #[test]
    fn milliseconds_agree_with_seconds() {
        for secs in
            [0, 59, 86_399, 86_400, 951_782_400, 1_795_536_028, 4_107_542_400, 253_402_300_799, u64::MAX / 1000 - 1]
        {
            for extra in [0, 1, 999] {
                assert_eq!(ctime_ms(secs * 1000 + extra), ctime(secs), "at {secs} s + {extra} ms");
            }
        }
    }

    #[test]
    fn the_largest_inputs_do_not_overflow() {
        // Year numbers wrap in u32, but nothing panics (an SNTP answer or a
        // host clock can say anything).
        let _ = ctime(u64::MAX);
        let _ = ctime_ms(u64::MAX);
    }

    #[test]
    fn round_trips_through_days() {
        // Consecutive days never skip or repeat a date.
        let mut prev = DateTime::from_unix(0);
        for d in 1..200_000u64 {
            let t = DateTime::from_unix(d * 86_400);
            let next_expected = if t.month == prev.month {
                (prev.year, prev.month, prev.day + 1)
            } else if t.year == prev.year {
                (prev.year, prev.month + 1, 1)
            } else {
                (prev.year + 1, 1, 1)
            };
            assert_eq!((t.year, t.month, t.day), next_expected);
            assert_eq!(t.weekday, (prev.weekday + 1) % 7);
            prev = t;
        }
    }
}
