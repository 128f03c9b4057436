//! An in-memory Ethernet cable: two `smoltcp::phy::Device` ends sharing two
//! frame queues, with optional seeded loss and corruption on the way in.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// Faults applied to frames arriving at one end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Percent of frames dropped (0..=100).
    pub drop_pct: u8,
    /// Percent of frames with one byte flipped (0..=100).
    pub corrupt_pct: u8,
    /// Seed of the deterministic generator.
    pub seed: u64,
}

/// One end of the link.
pub struct LinkEnd {
    rx: Queue,
    tx: Queue,
    max_frame_len: usize,
    faults: Faults,
    rng: u64,
    /// Frames this end dropped on receive (fault injection).
    pub dropped: u64,
    /// Frames this end corrupted on receive (fault injection).
    pub corrupted: u64,
    /// When set, a copy of every frame this end receives (before faults).
    pub recorded: Option<Vec<Vec<u8>>>,
}

/// A connected pair of ends carrying Ethernet frames of up to `max_frame_len` bytes.
pub fn pair(max_frame_len: usize) -> (LinkEnd, LinkEnd) {
    let a: Queue = Rc::default();
    let b: Queue = Rc::default();
    let end = |rx: &Queue, tx: &Queue| LinkEnd {
        rx: rx.clone(),
        tx: tx.clone(),
        max_frame_len,
        faults: Faults::default(),
        rng: 1,
        dropped: 0,
        corrupted: 0,
        recorded: None,
    };
    (end(&a, &b), end(&b, &a))
}

impl LinkEnd {
    /// Applies `faults` to every frame this end receives from now on.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
        self.rng = faults.seed | 1;
    }

    /// Frames waiting to be received by this end.
    pub fn pending(&self) -> usize {
        self.rx.borrow().len()
    }

    /// Puts an arbitrary frame on the wire towards this end (for fuzzing and
    /// malformed-input tests).
    pub fn inject(&self, frame: Vec<u8>) {
        self.rx.borrow_mut().push_back(frame);
    }

    /// Takes every frame this end has sent and not yet delivered.
    pub fn drain_sent(&self) -> Vec<Vec<u8>> {
        self.tx.borrow_mut().drain(..).collect()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: tiny, deterministic, good enough for fault rolls.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn roll(&mut self, pct: u8) -> bool {
        pct > 0 && self.next_random() % 100 < u64::from(pct)
    }
}

impl phy::Device for LinkEnd {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken;

    fn receive(&mut self, _: Instant) -> Option<(RxToken, TxToken)> {
        loop {
            let mut frame = self.rx.borrow_mut().pop_front()?;
            if let Some(log) = self.recorded.as_mut() {
                log.push(frame.clone());
            }
            if self.roll(self.faults.drop_pct) {
                self.dropped += 1;
                continue;
            }
            if !frame.is_empty() && self.roll(self.faults.corrupt_pct) {
                let at = (self.next_random() % frame.len() as u64) as usize;
                frame[at] ^= 1 << (self.next_random() % 8);
                self.corrupted += 1;
            }
            return Some((RxToken(frame), TxToken(self.tx.clone())));
        }
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken> {
        Some(TxToken(self.tx.clone()))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.max_frame_len;
        caps
    }
}

/// A received frame.
pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Permission to put one frame on the wire.
pub struct TxToken(Queue);

impl phy::TxToken for TxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.borrow_mut().push_back(frame);
        r
    }
}
