//! `echo-client bench`: streaming throughput with every byte verified,
//! ping-pong latency, and connection-setup rate, against a running server.

pub mod latency;
pub mod payload;
pub mod progress;
pub mod report;
pub mod setup;
pub mod stream;
pub mod verify;

use std::io::{self, Write};
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::ValueEnum;
use hdrhistogram::Histogram;

use crate::addr::Target;
use report::Report;

/// A part of the bench, run in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Phase {
    /// Full-duplex streaming on every connection, every byte verified.
    Stream,
    /// Ping-pong round trips of small messages on one connection.
    Latency,
    /// Connect, one echo, close; as many times as fit.
    Setup,
}

/// Everything a phase needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server under test.
    pub target: Target,
    /// The server echoes without stamps.
    pub raw: bool,
    /// Streaming connections.
    pub conns: usize,
    /// Bytes per write when streaming.
    pub size: usize,
    /// Length of each phase.
    pub duration: Duration,
    /// Bytes per ping.
    pub ping_size: usize,
    /// At most this many pings.
    pub max_pings: u64,
    /// Idle connections held open during the latency phase (0: none).
    pub idle_conns: usize,
    /// At most this many connections in the setup phase.
    pub max_setups: u64,
    /// Bound on each connect.
    pub connect_timeout: Duration,
    /// Bound on each awaited echo.
    pub reply_timeout: Duration,
    /// Draw progress bars on stderr.
    pub show_progress: bool,
}

/// Runs the chosen phases in order and prints the summary (or JSON) to stdout.
///
/// The first failing phase ends the bench with its error.
pub fn run(cfg: &Config, phases: &[Phase], json: bool) -> Result<()> {
    let mut phases = phases.to_vec();
    phases.sort();
    phases.dedup();
    let mut report = Report::new(cfg);
    for phase in phases {
        match phase {
            Phase::Stream => report.stream = Some(stream::run(cfg).map_err(|e| anyhow!("stream: {e:#}"))?),
            Phase::Latency => report.latency = Some(latency::run(cfg).map_err(|e| anyhow!("latency: {e:#}"))?),
            Phase::Setup => report.setup = Some(setup::run(cfg).map_err(|e| anyhow!("setup: {e:#}"))?),
        }
    }
    let text = if json { format!("{}\n", report.to_json()) } else { report.to_table() };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(anyhow!("cannot write the report: {e}")),
        _ => Ok(()),
    }
}

/// Megabytes (10^6 bytes) per second.
pub fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs / 1e6
    } else {
        0.0
    }
}

/// A histogram of nanoseconds, 1 ns to 60 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Summary of a time distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// Fastest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Average.
    pub mean: f64,
}

impl Quantiles {
    /// From a histogram of nanoseconds.
    pub fn from_ns(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1000.0;
        Quantiles {
            min: us(h.min()),
            p50: us(h.value_at_quantile(0.5)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}
