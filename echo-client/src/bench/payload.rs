//! The bytes a bench connection sends: a pseudo-random stream, reproducible from a seed,
//! so the reader can regenerate what the writer sent without sharing buffers.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Generated a block at a time; the stream does not depend on how it is consumed.
const BLOCK: usize = 4096;

/// An endless deterministic byte stream.
pub struct Payload {
    rng: SmallRng,
    block: Box<[u8; BLOCK]>,
    pos: usize,
    stamp_safe: bool,
}

impl Payload {
    /// The stream for `seed`. With `stamp_safe`, the stream never contains `[`,
    /// so a stamp in the echo can always be told from payload.
    pub fn new(seed: u64, stamp_safe: bool) -> Self {
        Payload { rng: SmallRng::seed_from_u64(seed), block: Box::new([0; BLOCK]), pos: BLOCK, stamp_safe }
    }

    /// The next bytes of the stream, at most `max` (fewer at a block boundary).
    pub fn take(&mut self, max: usize) -> &[u8] {
        if self.pos == BLOCK {
            self.rng.fill_bytes(&mut self.block[..]);
            if self.stamp_safe {
                for b in self.block.iter_mut().filter(|b| **b == b'[') {
                    *b = b'{';
                }
            }
            self.pos = 0;
        }
        let n = max.min(BLOCK - self.pos);
        let out = &self.block[self.pos..self.pos + n];
        self.pos += n;
        out
    }

    /// Fills `out` with the next `out.len()` bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let src = self.take(out.len() - done);
            out[done..done + src.len()].copy_from_slice(src);
            done += src.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_does_not_depend_on_read_sizes() {
        let mut a = Payload::new(7, false);
        let mut whole = vec![0; 10_000];
        a.fill(&mut whole);
        let mut b = Payload::new(7, false);
        let mut pieces = Vec::new();
        for n in [1, 1000, 3095, 4096, 5000].iter().cycle() {
            if pieces.len() >= whole.len() {
                break;
            }
            let mut p = vec![0; *n];
            b.fill(&mut p);
            pieces.extend_from_slice(&p);
        }
        assert_eq!(whole, pieces[..whole.len()]);
    }

    #[test]
    fn seeds_differ_and_stamp_safe_has_no_bracket() {
        let (mut a, mut b) = (Payload::new(1, true), Payload::new(2, true));
        let (mut x, mut y) = (vec![0; 8192], vec![0; 8192]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_ne!(x, y);
        assert!(!x.contains(&b'['));
    }
}
