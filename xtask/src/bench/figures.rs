//! What one `echo-client bench --json` run measured, and the medians over runs.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One client invocation: a single phase of `echo-client bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// Streaming on this many connections at once.
    Stream(u16),
    /// Ping-pong on one connection.
    Latency,
    /// Ping-pong on one connection while this many others are held open, idle.
    LatencyOpen(u16),
    /// Connect, echo, close, repeated.
    Setup,
}

impl Config {
    /// `--phases` and `--conns` for this configuration.
    pub fn client_args(self) -> Vec<String> {
        let (phase, conns) = match self {
            Config::Stream(n) => ("stream", n),
            Config::Latency => ("latency", 1),
            Config::LatencyOpen(_) => ("latency", 1),
            Config::Setup => ("setup", 1),
        };
        let mut args = vec!["--phases".into(), phase.into(), "--conns".into(), conns.to_string()];
        if let Config::LatencyOpen(n) = self {
            args.extend(["--idle-conns".into(), n.to_string()]);
        }
        args
    }

    /// A short name for progress lines.
    pub fn name(self) -> String {
        match self {
            Config::Stream(1) => "stream, 1 conn".to_owned(),
            Config::Stream(n) => format!("stream, {n} conns"),
            Config::Latency => "latency".to_owned(),
            Config::LatencyOpen(n) => format!("latency, {n} open"),
            Config::Setup => "setup".to_owned(),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Row label, unit included.
    pub label: String,
    /// Name and unit for progress lines, e.g. `out MB/s`.
    pub short: &'static str,
    /// Whether a bigger value is better (throughput) or worse (latency).
    pub higher_is_better: bool,
    /// The value.
    pub value: f64,
}

fn figure(label: impl Into<String>, short: &'static str, higher_is_better: bool, value: f64) -> Figure {
    Figure { label: label.into(), short, higher_is_better, value }
}

/// Reads the figures of `config` from the client's JSON report and checks
/// that the phase really moved (and verified) data.
pub fn parse(config: Config, json: &str) -> Result<Vec<Figure>> {
    let v: Value =
        serde_json::from_str(json.trim()).with_context(|| format!("echo-client printed no JSON report: {json:?}"))?;
    let num = |path: &[&str]| -> Result<f64> {
        let mut at = &v;
        for key in path {
            at = &at[*key];
        }
        at.as_f64().with_context(|| format!("echo-client's report lacks {}: {v}", path.join(".")))
    };
    Ok(match config {
        Config::Stream(n) => {
            let (sent, verified) = (num(&["stream", "tx_bytes"])?, num(&["stream", "verified_bytes"])?);
            // echo-client already fails on a wrong byte; this guards against a
            // report that measured nothing or lost the tail.
            if sent <= 0.0 || verified < sent {
                bail!("stream: {sent} bytes sent but {verified} verified");
            }
            let conns = if n == 1 { "1 conn".to_owned() } else { format!("{n} conns") };
            vec![
                figure(format!("stream, {conns}: out (MB/s)"), "out MB/s", true, num(&["stream", "tx_mb_per_s"])?),
                figure(format!("stream, {conns}: back (MB/s)"), "back MB/s", true, num(&["stream", "rx_mb_per_s"])?),
            ]
        }
        Config::Latency => {
            if num(&["latency", "samples"])? < 1.0 {
                bail!("latency: no round trip completed");
            }
            vec![
                figure("latency p50 (µs)", "p50 µs", false, num(&["latency", "p50_us"])?),
                figure("latency p99 (µs)", "p99 µs", false, num(&["latency", "p99_us"])?),
                figure("latency p99.9 (µs)", "p99.9 µs", false, num(&["latency", "p999_us"])?),
                figure("latency max (µs)", "max µs", false, num(&["latency", "max_us"])?),
            ]
        }
        Config::LatencyOpen(n) => {
            if num(&["latency", "samples"])? < 1.0 {
                bail!("latency with {n} open: no round trip completed");
            }
            if num(&["latency", "idle_conns"])? != f64::from(n) {
                bail!("latency with {n} open: the client held {} open", num(&["latency", "idle_conns"])?);
            }
            vec![
                figure(format!("latency, {n} conns open: p50 (µs)"), "p50 µs", false, num(&["latency", "p50_us"])?),
                figure(format!("latency, {n} conns open: p99 (µs)"), "p99 µs", false, num(&["latency", "p99_us"])?),
            ]
        }
        Config::Setup => {
            if num(&["setup", "count"])? < 1.0 {
                bail!("setup: no connection completed");
            }
            vec![figure("setup (connections/s)", "conn/s", true, num(&["setup", "per_s"])?)]
        }
    })
}

/// A figure's values over the runs, per target, in first-seen row order.
#[derive(Debug, Default)]
pub struct Table {
    /// Rows: label, higher-is-better, values per target.
    pub rows: Vec<Row>,
}

/// One row of [`Table`].
#[derive(Debug)]
pub struct Row {
    /// As [`Figure::label`].
    pub label: String,
    /// As [`Figure::higher_is_better`].
    pub higher_is_better: bool,
    /// `values[target]`: one value per run.
    pub values: Vec<Vec<f64>>,
}

impl Table {
    /// Records `figures` measured on target number `target` (of `targets`).
    pub fn add(&mut self, target: usize, targets: usize, figures: &[Figure]) {
        for f in figures {
            let i = match self.rows.iter().position(|r| r.label == f.label) {
                Some(i) => i,
                None => {
                    self.rows.push(Row {
                        label: f.label.clone(),
                        higher_is_better: f.higher_is_better,
                        values: vec![Vec::new(); targets],
                    });
                    self.rows.len() - 1
                }
            };
            self.rows[i].values[target].push(f.value);
        }
    }
}

/// Median, min and max of `values` (`None` when empty).
pub fn summary(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    Some((median, v[0], v[n - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(summary(&[]), None);
        assert_eq!(summary(&[3.0]), Some((3.0, 3.0, 3.0)));
        assert_eq!(summary(&[5.0, 1.0, 3.0]), Some((3.0, 1.0, 5.0)));
        assert_eq!(summary(&[4.0, 1.0, 2.0, 3.0]), Some((2.5, 1.0, 4.0)));
    }

    #[test]
    fn parses_a_stream_report() {
        let json = r#"{"stream":{"tx_bytes":100,"verified_bytes":120,"tx_mb_per_s":1.5,"rx_mb_per_s":1.25},"latency":null,"setup":null}"#;
        let f = parse(Config::Stream(5), json).unwrap();
        assert_eq!(f[0].label, "stream, 5 conns: out (MB/s)");
        assert_eq!(f[0].value, 1.5);
        assert_eq!(f[1].value, 1.25);
    }

    #[test]
    fn parses_a_latency_with_open_connections_report() {
        let json = r#"{"latency":{"samples":10,"idle_conns":200,"p50_us":50.5,"p99_us":90,"p999_us":1,"max_us":1}}"#;
        let f = parse(Config::LatencyOpen(200), json).unwrap();
        assert_eq!(f[0].label, "latency, 200 conns open: p50 (µs)");
        assert_eq!(f[1].value, 90.0);
        assert!(parse(Config::LatencyOpen(1000), json).is_err());
        assert_eq!(Config::LatencyOpen(5).client_args()[4..], ["--idle-conns".to_owned(), "5".to_owned()]);
    }

    #[test]
    fn rejects_unverified_or_missing_figures() {
        let short = r#"{"stream":{"tx_bytes":100,"verified_bytes":99,"tx_mb_per_s":1,"rx_mb_per_s":1}}"#;
        assert!(parse(Config::Stream(1), short).is_err());
        assert!(parse(Config::Latency, r#"{"latency":null}"#).is_err());
        assert!(parse(Config::Setup, "not json").is_err());
    }

    #[test]
    fn table_keeps_rows_in_order_per_target() {
        let mut t = Table::default();
        t.add(0, 2, &[figure("a", "a", true, 1.0), figure("b", "b", false, 2.0)]);
        t.add(1, 2, &[figure("a", "a", true, 3.0)]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].values, vec![vec![1.0], vec![3.0]]);
        assert_eq!(t.rows[1].values, vec![vec![2.0], vec![]]);
    }
}
