//! A log budget for events an attacker can cause at will (refused SYNs,
//! ignored RSTs, filtered datagrams…): a few lines a second, then a summary
//! of what was not logged, so a flood cannot fill a disk or a debug probe's
//! buffer. The counters in [`Stats`] stay exact either way.

use smoltcp::time::{Duration, Instant};

use crate::guard::Bucket;
use crate::stats::Stats;

/// Event lines logged per second at most.
const LINES_PER_SEC: u32 = 10;
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
}

impl Events {
    pub(crate) const fn new() -> Self {
        Events { lines: Bucket::new(LINES_PER_SEC), unlogged: 0, last_summary: Instant::ZERO, at_summary: Stats::ZERO }
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
