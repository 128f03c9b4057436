//! Deterministic pseudo-random numbers for test data: a seed reproduces a run,
//! and the bytes have no period that could hide a lost or repeated chunk.

/// xorshift32: tiny, fast, good enough for payloads and fuzzed frames.
#[derive(Debug, Clone)]
pub struct Rng(u32);

impl Rng {
    /// A generator for `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u32) -> Self {
        Rng(if seed == 0 { 0x2545_f491 } else { seed })
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next_u32() >> 24) as u8
    }

    /// A number in `range` (inclusive bounds; `lo..=hi` with `lo <= hi`).
    pub fn range(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        let (lo, hi) = (*range.start(), *range.end());
        lo + (self.next_u32() as usize) % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next_u32() % 100 < percent
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// Between 0 and `max` random bytes.
    pub fn bytes_upto(&mut self, max: usize) -> Vec<u8> {
        let len = self.range(0..=max);
        self.bytes(len)
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.byte();
        }
    }
}
