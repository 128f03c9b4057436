//! Log budgets for what a peer can cause at will: events (refused SYNs,
//! ignored RSTs, filtered datagrams…) and the echoed messages themselves.
//! Each gets a few lines a second, then a summary of what was not logged, so
//! a flood cannot fill a disk or a debug probe's buffer, nor hold the echo up
//! behind a slow console (a 115 200-baud UART takes ~4 ms per message line).
//! The counters in [`Stats`] stay exact either way. The budgets are
//! separate: streaming data never hides an attack's first lines.

use smoltcp::time::{Duration, Instant};

use crate::guard::Bucket;
use crate::stats::Stats;

/// Event lines logged per second at most.
const LINES_PER_SEC: u32 = 10;
/// Message lines (one per echoed chunk or datagram) logged per second at
/// most: all of an interactive session's, a sample of a stream's.
const MESSAGE_LINES_PER_SEC: u32 = 10;
/// How often a summary of unlogged events may be written.
const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// One budget: lines a second, and what it held back since its last summary.
struct Budget {
    lines: Bucket,
    /// Not logged since the last summary.
    unlogged: u64,
    last_summary: Instant,
}

impl Budget {
    const fn new(rate: u32) -> Self {
        Budget { lines: Bucket::new(rate), unlogged: 0, last_summary: Instant::ZERO }
    }

    /// Whether what happens now may have its own line; counts it if not.
    fn allow(&mut self, now: Instant) -> bool {
        let ok = self.lines.take(now);
        if !ok {
            self.unlogged += 1;
        }
        ok
    }

    /// If something went unlogged and the last summary is old enough: how
    /// much, and over how many seconds; the count starts over.
    fn summary(&mut self, now: Instant) -> Option<(u64, u64)> {
        if self.unlogged == 0 || now < self.last_summary + SUMMARY_EVERY {
            return None;
        }
        let due = (self.unlogged, (now - self.last_summary.min(now)).secs());
        self.unlogged = 0;
        self.last_summary = now;
        Some(due)
    }
}

/// The budgets and what they held back.
pub(crate) struct Events {
    events: Budget,
    /// Counters at the last event summary, to report what changed since.
    at_summary: Stats,
    messages: Budget,
    /// Bytes of the messages echoed without their line since the last message summary.
    message_bytes_unlogged: u64,
}

impl Events {
    pub(crate) const fn new() -> Self {
        Events {
            events: Budget::new(LINES_PER_SEC),
            at_summary: Stats::ZERO,
            messages: Budget::new(MESSAGE_LINES_PER_SEC),
            message_bytes_unlogged: 0,
        }
    }

    /// Whether the `len`-byte message echoed now may have its own log line.
    pub(crate) fn allow_message(&mut self, now: Instant, len: usize) -> bool {
        let ok = self.messages.allow(now);
        if !ok {
            self.message_bytes_unlogged += len as u64;
        }
        ok
    }

    /// Whether the event happening now may have its own log line.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        self.events.allow(now)
    }

    /// Logs one line for each budget with what happened since its last
    /// summary, if anything went unlogged and that summary is old enough.
    pub(crate) fn summarise(&mut self, now: Instant, stats: &Stats) {
        if let Some((unlogged, secs)) = self.messages.summary(now) {
            info!(
                "{} messages ({} B) echoed without a log line in the last {} s",
                unlogged, self.message_bytes_unlogged, secs
            );
            self.message_bytes_unlogged = 0;
        }
        let Some((unlogged, secs)) = self.events.summary(now) else { return };
        let (s, a) = (stats, &self.at_summary);
        warn!(
            "{} events not logged in the last {} s; since then: {} refused, {} handshakes dropped, {} evicted, {} RSTs ignored, {} challenge ACKs, {} UDP filtered, {} UDP rate-limited, {} UDP unresolved, {} neighbour spoofs, {} ICMP suppressed",
            unlogged,
            secs,
            s.refused - a.refused,
            s.handshakes_dropped - a.handshakes_dropped,
            s.evicted - a.evicted,
            s.rst_ignored - a.rst_ignored,
            s.challenge_acks - a.challenge_acks,
            s.udp_filtered - a.udp_filtered,
            s.udp_rate_limited - a.udp_rate_limited,
            s.udp_unresolved - a.udp_unresolved,
            s.neighbour_spoofs - a.neighbour_spoofs,
            s.icmp_suppressed - a.icmp_suppressed
        );
        self.at_summary = *stats;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_gets_ten_message_lines_a_second_and_the_rest_is_counted() {
        let mut events = Events::new();
        let t = Instant::from_secs(100);
        let logged = (0..1000).filter(|_| events.allow_message(t, 1024)).count();
        assert_eq!(logged, MESSAGE_LINES_PER_SEC as usize);
        assert_eq!(events.messages.unlogged, 990);
        assert_eq!(events.message_bytes_unlogged, 990 * 1024);
        // A second later the budget is back.
        assert!(events.allow_message(t + Duration::from_secs(1), 5));
    }

    #[test]
    fn message_lines_do_not_use_up_the_event_budget() {
        let mut events = Events::new();
        let t = Instant::from_secs(100);
        while events.allow_message(t, 1) {}
        assert!(events.allow(t), "an attack's first line must still be logged during a stream");
    }

    #[test]
    fn the_message_summary_covers_what_went_unlogged_and_starts_over() {
        let mut events = Events::new();
        let t = Instant::from_secs(100);
        while events.allow_message(t, 7) {}
        events.allow_message(t, 7);
        events.summarise(t, &Stats::ZERO);
        assert_eq!((events.messages.unlogged, events.message_bytes_unlogged), (0, 0));
        assert_eq!(events.messages.last_summary, t);
        // The next one waits SUMMARY_EVERY.
        events.allow_message(t + Duration::from_millis(10), 7);
        events.summarise(t + Duration::from_millis(10), &Stats::ZERO);
        assert_eq!(events.messages.unlogged, 1);
        events.summarise(t + SUMMARY_EVERY, &Stats::ZERO);
        assert_eq!(events.messages.unlogged, 0);
    }
}
