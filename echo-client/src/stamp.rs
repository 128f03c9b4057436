//! The firmware's stamp: `[Www Mmm dd hh:mm:ss yyyy] ` (C `ctime()` in brackets, then a space).
//!
//! Every echoed chunk (at most [`CHUNK`] payload bytes) is preceded by one.

/// Bytes in a stamp, brackets and trailing space included.
pub const STAMP_LEN: usize = 27;
/// The most payload bytes one stamp covers: the tutorial's `BUFSIZ`.
pub const CHUNK: usize = 1024;

/// Shape of a stamp: `a` letter, `d` digit, `_` digit or space, anything else literal.
const SHAPE: &[u8; STAMP_LEN] = b"[aaa aaa _d dd:dd:dd dddd] ";
const WEEKDAYS: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// True if `bytes` (at most [`STAMP_LEN`]) could be the start of a stamp.
pub fn is_stamp_prefix(bytes: &[u8]) -> bool {
    bytes.len() <= STAMP_LEN
        && bytes.iter().zip(SHAPE).all(|(&b, &s)| match s {
            b'a' => b.is_ascii_alphabetic(),
            b'd' => b.is_ascii_digit(),
            b'_' => b == b' ' || b.is_ascii_digit(),
            _ => b == s,
        })
}

/// Checks that `bytes` is exactly one valid stamp; the error says what is wrong.
pub fn check_stamp(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.len() != STAMP_LEN {
        return Err("wrong length");
    }
    if !is_stamp_prefix(bytes) {
        return Err("not shaped like [Www Mmm dd hh:mm:ss yyyy]");
    }
    if !WEEKDAYS.contains(&&bytes[1..4]) {
        return Err("unknown weekday");
    }
    if !MONTHS.contains(&&bytes[5..8]) {
        return Err("unknown month");
    }
    let num = |at: usize| (bytes[at] - b'0') * 10 + (bytes[at + 1] - b'0');
    // ctime pads the day with a space, never a zero.
    let day = match bytes[9] {
        b' ' => bytes[10] - b'0',
        b'0' => return Err("day padded with 0"),
        _ => num(9),
    };
    if !(1..=31).contains(&day) {
        return Err("day out of range");
    }
    if num(12) > 23 || num(15) > 59 || num(18) > 60 {
        return Err("time out of range");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ctime_stamps() {
        check_stamp(b"[Tue Nov 24 16:00:28 2026] ").unwrap();
        check_stamp(b"[Wed Nov  4 09:05:01 2026] ").unwrap();
        check_stamp(b"[Thu Jan  1 00:00:00 1970] ").unwrap();
    }

    #[test]
    fn rejects_malformed_stamps() {
        for bad in [
            &b"[Tue Nov 24 16:00:28 2026]"[..], // no space
            b"[Tue Nov 24 16:00:28 2026]  x",   // too long
            b"(Tue Nov 24 16:00:28 2026) ",
            b"[Tux Nov 24 16:00:28 2026] ",
            b"[Tue Nox 24 16:00:28 2026] ",
            b"[Tue Nov 04 16:00:28 2026] ",
            b"[Tue Nov 32 16:00:28 2026] ",
            b"[Tue Nov  0 16:00:28 2026] ",
            b"[Tue Nov 24 24:00:28 2026] ",
            b"[Tue Nov 24 16:60:28 2026] ",
            b"[Tue Nov 24 16:00:61 2026] ",
            b"[Tue Nov 24 16-00:28 2026] ",
            b"[Tue Nov 24 16:00:28 20x6] ",
        ] {
            assert!(check_stamp(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn prefixes_follow_the_shape() {
        assert!(is_stamp_prefix(b""));
        assert!(is_stamp_prefix(b"[Tue Nov  4 0"));
        assert!(!is_stamp_prefix(b"hello"));
        assert!(!is_stamp_prefix(b"[Tue Nov 4x"));
    }
}
