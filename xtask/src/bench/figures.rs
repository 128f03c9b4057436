//! What one `echo-client bench --json` run measured, and the medians over runs.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One client invocation: a single phase of `echo-client bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// Streaming on `conns` connections at once, in `size`-byte writes.
    Stream {
        /// Connections streaming.
        conns: u16,
        /// Bytes per write.
        size: u32,
    },
    /// Ping-pong of `size`-byte messages on one connection while `conns - 1`
    /// others are held open, idle: the latency of a matrix cell.
    Latency {
        /// Connections open, the measuring one included.
        conns: u16,
        /// Bytes per ping.
        size: u32,
    },
    /// Ping-pong (the client's default 32-byte pings) on one connection while
    /// this many others are held open, idle.
    LatencyOpen(u16),
    /// Connect, echo, close, repeated.
    Setup,
}

/// `1 KiB`, `16 KiB`, or `100 B` when not a whole number of KiB.
pub fn size_name(bytes: u32) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

fn conns_name(n: u16) -> String {
    if n == 1 {
        "1 conn".to_owned()
    } else {
        format!("{n} conns")
    }
}

/// A matrix cell's name, e.g. `5 conns, 16 KiB`.
pub fn cell_name(conns: u16, size: u32) -> String {
    format!("{}, {}", conns_name(conns), size_name(size))
}

impl Config {
    /// The client's arguments for this configuration.
    pub fn client_args(self) -> Vec<String> {
        let (phase, conns) = match self {
            Config::Stream { conns, .. } => ("stream", conns),
            Config::Latency { .. } | Config::LatencyOpen(_) => ("latency", 1),
            Config::Setup => ("setup", 1),
        };
        let mut args = vec!["--phases".into(), phase.into(), "--conns".into(), conns.to_string()];
        match self {
            Config::Stream { size, .. } => args.extend(["--size".into(), size.to_string()]),
            Config::Latency { conns, size } => args.extend([
                "--ping-size".into(),
                size.to_string(),
                "--idle-conns".into(),
                conns.saturating_sub(1).to_string(),
            ]),
            Config::LatencyOpen(n) => args.extend(["--idle-conns".into(), n.to_string()]),
            Config::Setup => {}
        }
        args
    }

    /// A short name for progress lines.
    pub fn name(self) -> String {
        match self {
            Config::Stream { conns, size } => format!("stream, {}", cell_name(conns, size)),
            Config::Latency { conns, size } => format!("latency, {}", cell_name(conns, size)),
            Config::LatencyOpen(n) => format!("latency, {n} open"),
            Config::Setup => "setup".to_owned(),
        }
    }
}

/// [`Figure::short`] of a stream's echoed throughput.
pub const BACK: &str = "back MB/s";
/// [`Figure::short`] of a stream's sent throughput.
pub const OUT: &str = "out MB/s";
/// [`Figure::short`] of the 99th percentile of a latency run.
pub const P99: &str = "p99 µs";
/// A latency run's figures, lowest to highest: short name, JSON key, row name.
pub const PERCENTILES: [(&str, &str, &str); 5] = [
    ("min µs", "min_us", "min"),
    ("p50 µs", "p50_us", "p50"),
    (P99, "p99_us", "p99"),
    ("p99.9 µs", "p999_us", "p99.9"),
    ("max µs", "max_us", "max"),
];

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
        Config::Stream { conns, size } => {
            let (sent, verified) = (num(&["stream", "tx_bytes"])?, num(&["stream", "verified_bytes"])?);
            // echo-client already fails on a wrong byte; this guards against a
            // report that measured nothing or lost the tail.
            if sent <= 0.0 || verified < sent {
                bail!("stream: {sent} bytes sent but {verified} verified");
            }
            let cell = cell_name(conns, size);
            vec![
                figure(format!("stream, {cell}: out (MB/s)"), OUT, true, num(&["stream", "tx_mb_per_s"])?),
                figure(format!("stream, {cell}: back (MB/s)"), BACK, true, num(&["stream", "rx_mb_per_s"])?),
            ]
        }
        Config::Latency { conns, size } => {
            if num(&["latency", "samples"])? < 1.0 {
                bail!("latency: no round trip completed");
            }
            if num(&["latency", "idle_conns"])? != f64::from(conns.saturating_sub(1)) {
                bail!("latency, {conns} conns: the client held {} others open", num(&["latency", "idle_conns"])?);
            }
            let at = format!("latency, {}", cell_name(conns, size));
            PERCENTILES
                .iter()
                .map(|&(short, key, name)| {
                    Ok(figure(format!("{at}: {name} (µs)"), short, false, num(&["latency", key])?))
                })
                .collect::<Result<_>>()?
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
    /// The client run it comes from.
    pub config: Config,
    /// As [`Figure::short`]: which of that run's figures.
    pub short: &'static str,
    /// As [`Figure::label`].
    pub label: String,
    /// As [`Figure::higher_is_better`].
    pub higher_is_better: bool,
    /// `values[target]`: one value per run.
    pub values: Vec<Vec<f64>>,
}

impl Table {
    /// Records `figures`, from a run of `config` on target number `target`
    /// (of `targets`).
    pub fn add(&mut self, config: Config, target: usize, targets: usize, figures: &[Figure]) {
        for f in figures {
            let i = match self.rows.iter().position(|r| r.label == f.label) {
                Some(i) => i,
                None => {
                    self.rows.push(Row {
                        config,
                        short: f.short,
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

    /// The values per target of figure `short` from runs of `config`.
    pub fn values(&self, config: Config, short: &str) -> Option<&[Vec<f64>]> {
        self.rows.iter().find(|r| r.config == config && r.short == short).map(|r| r.values.as_slice())
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
        let f = parse(Config::Stream { conns: 5, size: 16384 }, json).unwrap();
        assert_eq!(f[0].label, "stream, 5 conns, 16 KiB: out (MB/s)");
        assert_eq!(f[0].value, 1.5);
        assert_eq!((f[1].short, f[1].value), (BACK, 1.25));
        assert_eq!(
            Config::Stream { conns: 50, size: 1024 }.client_args(),
            ["--phases", "stream", "--conns", "50", "--size", "1024"]
        );
    }

    #[test]
    fn parses_a_matrix_latency_report() {
        let json =
            r#"{"latency":{"samples":10,"idle_conns":4,"min_us":9,"p50_us":10,"p99_us":20,"p999_us":30,"max_us":40}}"#;
        let cell = Config::Latency { conns: 5, size: 1024 };
        let f = parse(cell, json).unwrap();
        let got: Vec<(&str, f64)> = f.iter().map(|f| (f.short, f.value)).collect();
        assert_eq!(got, [("min µs", 9.0), ("p50 µs", 10.0), (P99, 20.0), ("p99.9 µs", 30.0), ("max µs", 40.0)]);
        assert_eq!(f[2].label, "latency, 5 conns, 1 KiB: p99 (µs)");
        // Four others held open, not five: the measuring connection counts.
        assert_eq!(cell.client_args()[4..], ["--ping-size", "1024", "--idle-conns", "4"]);
        assert!(parse(Config::Latency { conns: 1, size: 1024 }, json).is_err());
        assert_eq!(cell_name(1, 100), "1 conn, 100 B");
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
        assert!(parse(Config::Stream { conns: 1, size: 1024 }, short).is_err());
        assert!(parse(Config::Latency { conns: 1, size: 1024 }, r#"{"latency":null}"#).is_err());
        assert!(parse(Config::Setup, "not json").is_err());
    }

    #[test]
    fn table_keeps_rows_in_order_per_target() {
        let mut t = Table::default();
        t.add(Config::Setup, 0, 2, &[figure("a", "a", true, 1.0), figure("b", "b", false, 2.0)]);
        t.add(Config::Setup, 1, 2, &[figure("a", "a", true, 3.0)]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].values, vec![vec![1.0], vec![3.0]]);
        assert_eq!(t.rows[1].values, vec![vec![2.0], vec![]]);
        assert_eq!(t.values(Config::Setup, "b"), Some(&[vec![2.0], vec![]][..]));
        assert_eq!(t.values(Config::LatencyOpen(5), "b"), None);
    }
}
