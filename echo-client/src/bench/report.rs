//! The bench's results: a human summary table, or one JSON object for scripts
//! (`cargo xtask bench`).

use serde_json::{json, Value};

use super::latency::LatencyFigures;
use super::setup::SetupFigures;
use super::stream::StreamFigures;
use super::{mb_per_s, Config, Quantiles};

/// All figures of one bench run; phases not run stay `None` (JSON `null`).
#[derive(Debug, Clone)]
pub struct Report {
    target: String,
    raw: bool,
    conns: usize,
    size: usize,
    duration: f64,
    /// Streaming phase.
    pub stream: Option<StreamFigures>,
    /// Latency phase.
    pub latency: Option<LatencyFigures>,
    /// Setup phase.
    pub setup: Option<SetupFigures>,
}

impl Report {
    /// An empty report for a run with `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Report {
            target: cfg.target.to_string(),
            raw: cfg.raw,
            conns: cfg.conns,
            size: cfg.size,
            duration: cfg.duration.as_secs_f64(),
            stream: None,
            latency: None,
            setup: None,
        }
    }

    fn mode(&self) -> &'static str {
        if self.raw {
            "raw"
        } else {
            "stamp"
        }
    }

    /// The JSON object; rates in MB/s (10^6 bytes), times in microseconds.
    pub fn to_json(&self) -> Value {
        let stream = self.stream.as_ref().map(|s| {
            let t = s.total();
            let per_conn: Vec<Value> = s
                .conns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({
                        "conn": i,
                        "tx_bytes": c.tx_bytes,
                        "rx_bytes": c.rx_bytes,
                        "verified_bytes": c.verified_bytes,
                        "tx_mb_per_s": mb_per_s(c.tx_bytes, s.seconds),
                        "rx_mb_per_s": mb_per_s(c.rx_bytes, s.seconds),
                        "rx_payload_mb_per_s": mb_per_s(c.rx_payload_bytes, s.seconds),
                    })
                })
                .collect();
            json!({
                "seconds": s.seconds,
                "tx_bytes": t.tx_bytes,
                "rx_bytes": t.rx_bytes,
                "rx_payload_bytes": t.rx_payload_bytes,
                "verified_bytes": t.verified_bytes,
                "tx_mb_per_s": mb_per_s(t.tx_bytes, s.seconds),
                "rx_mb_per_s": mb_per_s(t.rx_bytes, s.seconds),
                "rx_payload_mb_per_s": mb_per_s(t.rx_payload_bytes, s.seconds),
                "per_conn": per_conn,
            })
        });
        let latency = self.latency.as_ref().map(|l| {
            let mut v = quantiles(&l.rtt);
            v["size"] = json!(l.size);
            v["samples"] = json!(l.samples);
            v["idle_conns"] = json!(l.idle_conns);
            v
        });
        let setup = self.setup.as_ref().map(|s| {
            let mut v = quantiles(&s.each);
            v["count"] = json!(s.count);
            v["seconds"] = json!(s.seconds);
            v["per_s"] = json!(s.count as f64 / s.seconds);
            v
        });
        json!({
            "target": self.target,
            "mode": self.mode(),
            "conns": self.conns,
            "size": self.size,
            "duration_s": self.duration,
            "stream": stream,
            "latency": latency,
            "setup": setup,
        })
    }

    /// The summary table.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "echo-client bench against {} ({} echo, {} s per phase)\n",
            self.target,
            self.mode(),
            self.duration
        );
        if let Some(s) = &self.stream {
            let t = s.total();
            let rate = |b| mb_per_s(b, s.seconds);
            out += &format!(
                "stream   {} conns, {}-byte writes: out {:.2} MB/s, back {:.2} MB/s (payload {:.2} MB/s); {} bytes verified\n",
                s.conns.len(),
                self.size,
                rate(t.tx_bytes),
                rate(t.rx_bytes),
                rate(t.rx_payload_bytes),
                t.verified_bytes
            );
            for (i, c) in s.conns.iter().enumerate() {
                out += &format!("  conn {i:<3} out {:.2} MB/s, back {:.2} MB/s\n", rate(c.tx_bytes), rate(c.rx_bytes));
            }
        }
        if let Some(l) = &self.latency {
            let q = &l.rtt;
            out += &format!(
                "latency  {}-byte ping-pong, {} round trips: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs\n",
                l.size, l.samples, q.p50, q.p99, q.p999, q.max
            );
        }
        if let Some(s) = &self.setup {
            let q = &s.each;
            out += &format!(
                "setup    {} connections in {:.2} s: {:.0}/s; each p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs\n",
                s.count,
                s.seconds,
                s.count as f64 / s.seconds,
                q.p50,
                q.p99,
                q.max
            );
        }
        out
    }
}

fn quantiles(q: &Quantiles) -> Value {
    json!({
        "min_us": q.min,
        "p50_us": q.p50,
        "p99_us": q.p99,
        "p999_us": q.p999,
        "max_us": q.max,
        "mean_us": q.mean,
    })
}
