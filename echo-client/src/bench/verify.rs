//! Checks an echo stream, as it arrives, against the payload that was sent.
//!
//! Raw mode: the echo is the payload, byte for byte. Stamp mode: the echo is
//! chunks of 1 to 1024 payload bytes, each after a valid stamp. The payload
//! is stamp-safe (no `[`), so a `[` after payload always starts a stamp.

use std::fmt;

use super::payload::Payload;
use echo_core::protocol::{Event, Malformed, StampDecoder, CHUNK};

/// What was wrong with the echo, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A payload byte differs from what was sent.
    Mismatch {
        /// Offset in the payload stream.
        offset: u64,
        /// The byte sent.
        expected: u8,
        /// The byte echoed.
        got: u8,
    },
    /// A stamp did not parse.
    BadStamp {
        /// Offset of the stamp in the echo stream.
        offset: u64,
        /// What was received in its place.
        text: String,
        /// Why it is not a stamp.
        why: &'static str,
    },
    /// More than 1024 payload bytes followed one stamp.
    ChunkTooLong {
        /// Offset in the echo stream where a stamp was due.
        offset: u64,
    },
    /// The echo ended partway through a stamp.
    Truncated {
        /// Echo bytes received.
        offset: u64,
    },
    /// The echo ended with a stamp and no payload after it.
    EmptyChunk {
        /// Echo bytes received.
        offset: u64,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Mismatch { offset, expected, got } => {
                write!(f, "byte mismatch at payload offset {offset}: sent 0x{expected:02x}, echoed 0x{got:02x}")
            }
            VerifyError::BadStamp { offset, text, why } => {
                write!(f, "bad stamp at echo offset {offset} ({why}): \"{text}\"")
            }
            VerifyError::ChunkTooLong { offset } => {
                write!(f, "more than {CHUNK} payload bytes without a stamp at echo offset {offset}")
            }
            VerifyError::Truncated { offset } => {
                write!(f, "echo ended inside a stamp at echo offset {offset}")
            }
            VerifyError::EmptyChunk { offset } => {
                write!(f, "echo ended with a stamp and no payload at echo offset {offset}")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// Incremental checker of one connection's echo.
pub struct Verifier {
    expected: Payload,
    raw: bool,
    decoder: StampDecoder,
    payload: u64,
    echo: u64,
}

impl Verifier {
    /// Checks the echo of `expected` (which must be stamp-safe unless `raw`).
    pub fn new(expected: Payload, raw: bool) -> Self {
        Verifier { expected, raw, decoder: StampDecoder::new(), payload: 0, echo: 0 }
    }

    /// Payload bytes echoed and verified so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payload
    }

    /// Checks the next bytes of the echo.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), VerifyError> {
        if self.raw {
            compare(&mut self.expected, self.payload, data)?;
            self.payload += data.len() as u64;
            self.echo += data.len() as u64;
            return Ok(());
        }
        loop {
            let before = data.len();
            let event = self.decoder.decode(&mut data);
            self.echo += (before - data.len()) as u64;
            match event {
                None => return Ok(()),
                Some(Ok(Event::Stamp(_))) => {}
                Some(Ok(Event::Payload(run))) => {
                    compare(&mut self.expected, self.payload, run)?;
                    self.payload += run.len() as u64;
                }
                Some(Err(e)) => return Err(self.error(e)),
            }
        }
    }

    /// Checks that the echo did not stop inside a stamp or right after one.
    pub fn finish(&self) -> Result<(), VerifyError> {
        if self.raw {
            return Ok(());
        }
        self.decoder.finish().map_err(|e| self.error(e))
    }

    /// Places the decoder's verdict in the echo stream.
    fn error(&self, e: Malformed) -> VerifyError {
        match e {
            Malformed::BadStamp { len, why, .. } => VerifyError::BadStamp {
                // The bad byte was taken: the stamp began `len` bytes back.
                offset: self.echo - len as u64,
                text: e.stamp_text().escape_ascii().to_string(),
                why: why.as_str(),
            },
            // The byte that does not fit was not taken.
            Malformed::ChunkTooLong => VerifyError::ChunkTooLong { offset: self.echo },
            Malformed::Truncated { .. } => VerifyError::Truncated { offset: self.echo },
            Malformed::EmptyChunk => VerifyError::EmptyChunk { offset: self.echo },
        }
    }
}

/// Compares `data` with the next bytes of `expected`; `base` is the payload offset of `data[0]`.
fn compare(expected: &mut Payload, base: u64, data: &[u8]) -> Result<(), VerifyError> {
    let mut off = 0;
    while off < data.len() {
        let want = expected.take(data.len() - off);
        let got = &data[off..off + want.len()];
        if want != got {
            let k = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0);
            return Err(VerifyError::Mismatch { offset: base + (off + k) as u64, expected: want[k], got: got[k] });
        }
        off += want.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"[Tue Nov 24 16:00:28 2026] ";

    fn payload(n: usize, stamp_safe: bool) -> Vec<u8> {
        let mut v = vec![0; n];
        Payload::new(3, stamp_safe).fill(&mut v);
        v
    }

    fn stamped(p: &[u8], chunk: usize) -> Vec<u8> {
        p.chunks(chunk).flat_map(|c| [S, c].concat()).collect()
    }

    /// Feeds `echo` in pieces of `step` bytes.
    fn check(echo: &[u8], raw: bool, step: usize) -> Result<u64, VerifyError> {
        let mut v = Verifier::new(Payload::new(3, !raw), raw);
        for piece in echo.chunks(step) {
            v.feed(piece)?;
        }
        v.finish()?;
        Ok(v.payload_bytes())
    }

    #[test]
    fn raw_echo_verifies_and_mismatch_is_located() {
        let mut p = payload(10_000, false);
        assert_eq!(check(&p, true, 777), Ok(10_000));
        p[5000] ^= 1;
        assert!(matches!(check(&p, true, 777), Err(VerifyError::Mismatch { offset: 5000, .. })));
    }

    #[test]
    fn stamped_echo_verifies_whatever_the_chunking() {
        let p = payload(10_000, true);
        for chunk in [1, 7, 1000, 1024] {
            for step in [1, 13, 4096] {
                assert_eq!(check(&stamped(&p, chunk), false, step), Ok(10_000));
            }
        }
    }

    #[test]
    fn stamped_echo_errors_are_caught() {
        let p = payload(3000, true);
        let good = stamped(&p, 1000);

        let mut bad = good.clone();
        bad[27 + 1000 + 27 + 10] ^= 1;
        assert!(matches!(check(&bad, false, 100), Err(VerifyError::Mismatch { offset: 1010, .. })));

        let mut bad = good.clone();
        bad[27 + 1000 + 2] = b'X';
        assert!(matches!(check(&bad, false, 100), Err(VerifyError::BadStamp { offset: 1027, .. })));

        // A stamp missing after 1024 bytes.
        let bad = [S, &p[..1025]].concat();
        assert!(matches!(check(&bad, false, 100), Err(VerifyError::ChunkTooLong { offset: 1051 })));

        // A stamp with no payload.
        let bad = [S, S, &p[..5]].concat();
        assert!(matches!(check(&bad, false, 100), Err(VerifyError::Mismatch { offset: 0, .. })));

        assert!(matches!(check(&good[..good.len() - 1000 - 5], false, 100), Err(VerifyError::Truncated { .. })));
    }
}
