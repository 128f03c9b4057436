//! Checking the server's replies: `[<ctime>] <chunk>`, with `ctime` in C's
//! format (`Www Mmm dd hh:mm:ss yyyy`, day padded with a space) in UTC.
//!
//! The framing (where stamps and chunks begin) is echo-core's
//! [`StampDecoder`], the one every client and test shares; the time in each
//! stamp is read by [`parse_ctime`], which is deliberately independent of
//! echo-core (see there).

use std::time::{SystemTime, UNIX_EPOCH};

use echo_core::protocol::{Event, StampDecoder};
pub use echo_core::{CHUNK, STAMP_LEN};
/// How far a stamp may be from the host's clock, in seconds.
pub const TOLERANCE_SECS: i64 = 2;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Parses a 24-byte ctime string into seconds since the Unix epoch, checking
/// every field, the padding and that the weekday matches the date.
///
/// The workspace's one deliberately independent check of the ctime text: it
/// shares no code or tables with echo-core's formatter (`echo_core::ctime`)
/// or its stamp checks, and works the other way round (text to time, not
/// time to text; the calendar is Hinnant's `days_from_civil`, not the
/// formatter's `civil_from_days`). A wrong name, padding, field or weekday
/// in the firmware's output therefore cannot be repeated here and pass
/// unnoticed. Keep it that way: do not replace it with echo-core's code.
pub fn parse_ctime(s: &[u8]) -> Result<i64, String> {
    let text = std::str::from_utf8(s).map_err(|_| format!("ctime is not UTF-8: {s:?}"))?;
    let bad = |why: &str| format!("bad ctime {text:?}: {why}");
    let b = text.as_bytes();
    if b.len() != 24 || [3, 7, 10, 19].iter().any(|&i| b[i] != b' ') || b[13] != b':' || b[16] != b':' {
        return Err(bad("layout is not `Www Mmm dd hh:mm:ss yyyy`"));
    }
    let weekday = WEEKDAYS.iter().position(|w| *w == &text[0..3]).ok_or_else(|| bad("weekday"))?;
    let month = MONTHS.iter().position(|m| *m == &text[4..7]).ok_or_else(|| bad("month"))? as i64 + 1;
    // ctime pads the day with a space, never a zero.
    let day_field = &text[8..10];
    if day_field.starts_with('0') || day_field.ends_with(' ') {
        return Err(bad("day must be space-padded"));
    }
    let day = number(day_field.trim_start()).ok_or_else(|| bad("day"))?;
    let (hour, minute, second) = (
        number(&text[11..13]).ok_or_else(|| bad("hour"))?,
        number(&text[14..16]).ok_or_else(|| bad("minute"))?,
        number(&text[17..19]).ok_or_else(|| bad("second"))?,
    );
    let year = number(&text[20..24]).ok_or_else(|| bad("year"))?;
    if !(1..=days_in_month(year, month)).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return Err(bad("field out of range"));
    }
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday.
    if (days + 4).rem_euclid(7) as usize != weekday {
        return Err(bad("weekday does not match the date"));
    }
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Parses `[<ctime>] ` at the start of `reply`: the time and what follows.
pub fn parse_stamp(reply: &[u8]) -> Result<(i64, &[u8]), String> {
    let mut rest = reply;
    match StampDecoder::new().decode(&mut rest) {
        Some(Ok(Event::Stamp(stamp))) => Ok((parse_ctime(stamp.ctime().as_bytes())?, rest)),
        Some(Err(e)) => Err(format!("no `[<ctime>] ` stamp at the start of {:?}: {e}", String::from_utf8_lossy(reply))),
        _ => Err(format!("no `[<ctime>] ` stamp at the start of {:?}", String::from_utf8_lossy(reply))),
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Checks that a stamp's time is within [`TOLERANCE_SECS`] of the host's UTC now.
pub fn check_recent(stamp: i64) -> Result<(), String> {
    let now = now_unix();
    if (stamp - now).abs() > TOLERANCE_SECS {
        return Err(format!("stamp is {}s off the host clock (stamp {stamp}, now {now})", stamp - now));
    }
    Ok(())
}

/// Checks that `reply` is exactly `[<ctime of now>] ` followed by `payload`.
pub fn check_reply(reply: &[u8], payload: &[u8]) -> Result<(), String> {
    check_recent(stamp_of(reply, payload)?)
}

/// The stamp's time of a `reply` that must be a stamp followed by exactly
/// `payload` (the time itself is not checked).
pub fn stamp_of(reply: &[u8], payload: &[u8]) -> Result<i64, String> {
    let (time, rest) = parse_stamp(reply)?;
    if rest != payload {
        return Err(format!(
            "reply payload {:?}, expected {:?}",
            String::from_utf8_lossy(rest),
            String::from_utf8_lossy(payload)
        ));
    }
    Ok(time)
}

/// Splits a stream of stamped replies into payloads and checks each stamp and
/// chunk size. The sent data must not contain `[`, which is what lets a stamp
/// be told from payload.
pub fn unstamp(stream: &[u8]) -> Result<Vec<u8>, String> {
    unstamp_with(stream, &check_recent)
}

/// [`unstamp`] with each stamp's time judged by `check` instead of
/// [`check_recent`] (a device without a wall clock stamps from 1970).
pub fn unstamp_with(stream: &[u8], check: &dyn Fn(i64) -> Result<(), String>) -> Result<Vec<u8>, String> {
    Ok(records_with(stream, check)?.concat())
}

/// The chunks of a stream of stamped replies, one per stamp, each stamp's
/// time judged by `check`; as [`unstamp`], the data must not contain `[`.
pub fn records_with(stream: &[u8], check: &dyn Fn(i64) -> Result<(), String>) -> Result<Vec<Vec<u8>>, String> {
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut decoder = StampDecoder::new();
    let mut rest = stream;
    while let Some(event) = decoder.decode(&mut rest) {
        let at = format!("record {} at byte {}", records.len(), stream.len() - rest.len());
        match event {
            Ok(Event::Stamp(stamp)) => {
                let time = parse_ctime(stamp.ctime().as_bytes()).map_err(|e| format!("{at}: {e}"))?;
                check(time)?;
                records.push(Vec::new());
            }
            Ok(Event::Payload(p)) => records.last_mut().map(|r| r.extend_from_slice(p)).unwrap_or_default(),
            Err(e) => return Err(format!("{at}: {e}")),
        }
    }
    decoder.finish().map_err(|e| format!("end of the stream ({} bytes): {e}", stream.len()))?;
    Ok(records)
}

/// The UTC calendar year of a Unix time.
pub fn year_of(unix: i64) -> i64 {
    let days = unix.div_euclid(86_400);
    // Start from an estimate and correct it: at most a step either way.
    let mut year = 1970 + days.div_euclid(365);
    while days_from_civil(year, 1, 1) > days {
        year -= 1;
    }
    while days_from_civil(year + 1, 1, 1) <= days {
        year += 1;
    }
    year
}

fn number(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_dates() {
        // date -u -d 'Tue Nov 24 16:00:28 2026' +%s
        assert_eq!(parse_ctime(b"Tue Nov 24 16:00:28 2026"), Ok(1_795_536_028));
        assert_eq!(parse_ctime(b"Thu Jan  1 00:00:00 1970"), Ok(0));
        assert_eq!(parse_ctime(b"Tue Feb 29 12:00:00 2028"), Ok(1_835_438_400));
    }

    #[test]
    fn years_of_known_times() {
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_795_536_028), 2026);
        assert_eq!(year_of(1_830_297_599), 2027); // 2027-12-31 23:59:59
        assert_eq!(year_of(1_830_297_600), 2028);
        assert_eq!(year_of(-1), 1969);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"Wed Nov 24 16:00:28 2026"[..], // wrong weekday
            b"Wed Nov 04 09:05:01 2026",      // zero-padded day
            b"Tue Nov 24 16:00:28 2026\n",    // trailing newline
            b"Tue Nov 24 24:00:00 2026",
            b"Sun Feb 29 00:00:00 2026", // not a leap year
            b"Tue nov 24 16:00:28 2026",
        ] {
            assert!(parse_ctime(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_ctime(b"Wed Nov  4 09:05:01 2026").is_ok());
    }

    #[test]
    fn unstamps_a_stream() {
        let stamp = |secs: i64| {
            let out = std::process::Command::new("date")
                .args(["-u", "-d", &format!("@{secs}"), "+%a %b %e %H:%M:%S %Y"])
                .output()
                .expect("date");
            format!("[{}] ", String::from_utf8_lossy(&out.stdout).trim_end())
        };
        let now = now_unix();
        let stream = format!("{}abc{}de", stamp(now), stamp(now));
        assert_eq!(unstamp(stream.as_bytes()), Ok(b"abcde".to_vec()));
        assert!(unstamp(format!("{}abc{}", stamp(now), stamp(now)).as_bytes()).is_err(), "empty record");
        assert!(unstamp(format!("{}abc", stamp(now - 10)).as_bytes()).is_err(), "stale stamp");
        assert!(check_reply(format!("{}hello", stamp(now)).as_bytes(), b"hello").is_ok());
        assert!(check_reply(format!("{}hello!", stamp(now)).as_bytes(), b"hello").is_err());
    }
}
