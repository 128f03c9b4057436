//! When is the reply to one interactive line complete?
//!
//! The server answers each chunk it reads (at most 1024 bytes) with a stamp
//! and the chunk, so a line of L bytes comes back as L bytes plus one 27-byte
//! stamp per chunk; how the server split it is not known in advance. The
//! reply is matched against the line, stamp by stamp, until every byte of
//! the line has come back. Replies that do not look stamped fall back to a
//! length rule, so a raw server works even without `--raw`.

use echo_core::protocol::{Event, Malformed, StampDecoder, StampError, CHUNK, STAMP_LEN};

/// How far a stamped reply has come, compared with the line it answers.
#[derive(Debug, PartialEq, Eq)]
enum Stamped {
    /// Every byte of the line has been echoed.
    Complete,
    /// Consistent so far; more bytes are due.
    NeedMore,
    /// Not the stamped echo of this line.
    Diverged,
}

/// True once `reply` holds the whole echo of `line` (raw or stamped).
pub fn is_complete(reply: &[u8], line: &[u8], raw: bool) -> bool {
    if raw || !starts_like_a_stamp(reply) {
        // Not stamped at all: a raw server, answering byte for byte.
        return reply.len() >= line.len();
    }
    match stamped(reply, line) {
        Stamped::Complete => true,
        Stamped::NeedMore => false,
        // Stamped, but not this line: wait for as many bytes as the firmware
        // would send, then show what came.
        Stamped::Diverged => reply.len() >= line.len() + STAMP_LEN * line.len().div_ceil(CHUNK),
    }
}

/// Whether `reply` begins with what could be stamp text (its names and
/// ranges aside), as far as it goes.
fn starts_like_a_stamp(reply: &[u8]) -> bool {
    let mut head = &reply[..reply.len().min(STAMP_LEN)];
    !matches!(StampDecoder::new().decode(&mut head), Some(Err(Malformed::BadStamp { why: StampError::Shape, .. })))
}

fn stamped(reply: &[u8], line: &[u8]) -> Stamped {
    let mut budget = BRANCHES;
    follow(reply, line, StampDecoder::new(), 0, &mut budget)
}

/// How many alternative readings of stamp-like text in the line are tried.
const BRANCHES: u32 = 64;

/// Matches `reply`, decoded by `decoder`, against `line[j..]`.
///
/// A `[` in the line that starts valid stamp text is ambiguous: it may be a
/// new chunk's stamp or payload. Both readings are tried (up to `budget`
/// times in all, so pasted replies cannot make this exponential).
fn follow(mut reply: &[u8], line: &[u8], mut decoder: StampDecoder, mut j: usize, budget: &mut u32) -> Stamped {
    let mut fallback = Stamped::Diverged;
    loop {
        let inside_chunk = decoder.chunk_len().is_some_and(|n| n > 0 && n < CHUNK);
        if inside_chunk && reply.first() == Some(&b'[') && line.get(j) == Some(&b'[') {
            // The stamp reading, if a whole valid stamp is here.
            let (mut as_stamp, mut after) = (decoder, reply);
            if *budget > 0 && matches!(as_stamp.decode(&mut after), Some(Ok(Event::Stamp(_)))) {
                *budget -= 1;
                match follow(after, line, as_stamp, j, budget) {
                    Stamped::Complete => return Stamped::Complete,
                    Stamped::NeedMore => fallback = Stamped::NeedMore,
                    Stamped::Diverged => {}
                }
            }
            // The payload reading.
            decoder.bracket_is_payload();
        }
        match decoder.decode(&mut reply) {
            None => return Stamped::NeedMore,
            Some(Err(_)) => return fallback,
            Some(Ok(Event::Stamp(_))) => {}
            Some(Ok(Event::Payload(run))) => {
                let same = run.iter().zip(&line[j..]).take_while(|(a, b)| a == b).count();
                j += same;
                if j == line.len() {
                    return Stamped::Complete;
                }
                if same < run.len() {
                    return fallback;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"[Tue Nov 24 16:00:28 2026] ";

    fn stamp_chunks(line: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = line;
        for &n in sizes {
            out.extend_from_slice(S);
            out.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        assert!(rest.is_empty());
        out
    }

    #[test]
    fn one_chunk_completes_exactly_at_the_end() {
        let reply = stamp_chunks(b"hello", &[5]);
        for cut in 0..reply.len() {
            assert!(!is_complete(&reply[..cut], b"hello", false), "cut {cut}");
        }
        assert!(is_complete(&reply, b"hello", false));
    }

    #[test]
    fn split_chunks_are_followed() {
        let line: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
        for sizes in [&[1024, 1024, 952][..], &[1000, 460, 1024, 516], &[1024, 436, 540, 1000]] {
            let reply = stamp_chunks(&line, sizes);
            assert!(!is_complete(&reply[..reply.len() - 1], &line, false));
            assert!(is_complete(&reply, &line, false));
        }
    }

    #[test]
    fn brackets_in_the_line_are_not_mistaken_for_stamps() {
        let line = b"[a] [Tue Nov 24 16:00:28 2026] [b";
        for sizes in [&[3, 30][..], &[4, 29], &[5, 28], &[33]] {
            let reply = stamp_chunks(line, sizes);
            for cut in 0..reply.len() {
                assert!(!is_complete(&reply[..cut], line, false), "{sizes:?} cut {cut}");
            }
            assert!(is_complete(&reply, line, false), "{sizes:?}");
        }
    }

    #[test]
    fn a_line_full_of_stamps_stays_cheap() {
        let line = S.repeat(200);
        let reply = stamp_chunks(&line, &[1000, 1000, 1000, 1000, 1000, 400]);
        assert!(is_complete(&reply, &line, false));
    }

    #[test]
    fn an_unstamped_reply_is_taken_as_raw() {
        assert!(!is_complete(b"hel", b"hello", false));
        assert!(is_complete(b"hello", b"hello", false));
    }

    #[test]
    fn a_wrong_stamped_reply_waits_for_the_firmware_length() {
        let reply = stamp_chunks(b"HELLO", &[5]);
        assert!(!is_complete(&reply[..31], b"hello", false));
        assert!(is_complete(&reply, b"hello", false));
    }

    #[test]
    fn raw_mode_counts_bytes() {
        assert!(!is_complete(b"hell", b"hello", true));
        assert!(is_complete(b"hello", b"hello", true));
    }
}
