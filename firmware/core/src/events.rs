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

/// The budget and what it held back.
pub(crate) struct Events {
    lines: Bucket,
    /// Events not logged since the last summary.
    unlogged: u64,
    last_summary: Instant,
    /// Counters at the last summary, to report what changed since.
    at_summary: Stats,
    messages: Bucket,
    /// Messages echoed without their line since the last message summary.
    messages_unlogged: u64,
    /// Their bytes.
    message_bytes_unlogged: u64,
    last_message_summary: Instant,
}

impl Events {
    pub(crate) const fn new() -> Self {
        Events {
            lines: Bucket::new(LINES_PER_SEC),
            unlogged: 0,
            last_summary: Instant::ZERO,
            at_summary: Stats::ZERO,
            messages: Bucket::new(MESSAGE_LINES_PER_SEC),
            messages_unlogged: 0,
            message_bytes_unlogged: 0,
            last_message_summary: Instant::ZERO,
        }
    }

    /// Whether the `len`-byte message echoed now may have its own log line.
    pub(crate) fn allow_message(&mut self, now: Instant, len: usize) -> bool {
        let ok = self.messages.take(now);
        if !ok {
            self.messages_unlogged += 1;
            self.message_bytes_unlogged += len as u64;
        }
        ok
    }

    /// Whether the event happening now may have its own log line.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let ok = self.lines.take(now);
        if !ok {
            self.unlogged += 1;
        }
        ok
    }

    /// Logs one line with what happened since the last summary, if any event
    /// went unlogged and the last summary is old enough.
    pub(crate) fn summarise(&mut self, now: Instant, stats: &Stats) {
        if self.messages_unlogged > 0 && now >= self.last_message_summary + SUMMARY_EVERY {
            info!(
                "{} messages ({} B) echoed without a log line in the last {} s",
                self.messages_unlogged,
                self.message_bytes_unlogged,
                (now - self.last_message_summary.min(now)).secs()
            );
            self.messages_unlogged = 0;
            self.message_bytes_unlogged = 0;
            self.last_message_summary = now;
        }
        if self.unlogged == 0 || now < self.last_summary + SUMMARY_EVERY {
            return;
        }
        let (s, a) = (stats, &self.at_summary);
        warn!(
            "{} events not logged in the last {} s; since then: {} refused, {} handshakes dropped, {} evicted, {} RSTs ignored, {} challenge ACKs, {} UDP filtered, {} UDP rate-limited, {} UDP unresolved, {} neighbour spoofs, {} ICMP suppressed",
            self.unlogged,
            (now - self.last_summary.min(now)).secs(),
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
        self.unlogged = 0;
        self.last_summary = now;
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
        assert_eq!(events.messages_unlogged, 990);
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
        assert_eq!((events.messages_unlogged, events.message_bytes_unlogged), (0, 0));
        assert_eq!(events.last_message_summary, t);
        // The next one waits SUMMARY_EVERY.
        events.allow_message(t + Duration::from_millis(10), 7);
        events.summarise(t + Duration::from_millis(10), &Stats::ZERO);
        assert_eq!(events.messages_unlogged, 1);
        events.summarise(t + SUMMARY_EVERY, &Stats::ZERO);
        assert_eq!(events.messages_unlogged, 0);
    }
}
