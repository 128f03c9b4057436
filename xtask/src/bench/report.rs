//! The results as a console table and as the Markdown file.

use std::fmt::Write as _;

use anyhow::Result;

use super::charts::{self, Bars, Panel};
use super::figures::{cell_name, summary, Config, Figure, Table, BACK, P99, PERCENTILES};

/// The charts' file names, beside the Markdown file.
pub const THROUGHPUT_SVG: &str = "throughput.svg";
/// p99 per cell.
pub const P99_SVG: &str = "p99.svg";
/// Latency percentiles per cell.
pub const LATENCY_SVG: &str = "latency.svg";

/// Everything measured, ready to print.
pub struct Results {
    /// Target labels, in `Table` column order.
    pub targets: Vec<&'static str>,
    /// Client figures over the runs.
    pub table: Table,
    /// The matrix: (connections, write size), in the charts' order.
    pub cells: Vec<(u16, u32)>,
    /// Per-process figures from /proc: label, then one value per target.
    pub resources: Vec<(String, Vec<Option<f64>>)>,
    /// The QEMU firmware's single run, when it ran.
    pub qemu: Option<Vec<Figure>>,
}

/// Header facts for the Markdown file.
pub struct Context {
    /// The command line as typed.
    pub command: String,
    /// When.
    pub date: String,
    /// Where.
    pub machine: String,
    /// Which code.
    pub commit: String,
    /// Runs, phase length, mode, write size, in words.
    pub plan: String,
}

/// A value with precision fitting its size.
fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `median (min–max)`, or just the value for a single run.
fn cell(values: &[f64]) -> String {
    match summary(values) {
        None => "—".to_owned(),
        Some((m, _, _)) if values.len() == 1 => num(m),
        Some((m, lo, hi)) => format!("{} ({}–{})", num(m), num(lo), num(hi)),
    }
}

/// host-sim median over kernel median.
fn ratio(values: &[Vec<f64>]) -> String {
    match (values.first().and_then(|v| summary(v)), values.get(1).and_then(|v| summary(v))) {
        (Some((a, _, _)), Some((b, _, _))) if b != 0.0 => format!("{:.2}", a / b),
        _ => "—".to_owned(),
    }
}

/// `1 conn` / `5 conns (4 idle)` for a panel title.
fn conns_open(n: u16) -> String {
    if n == 1 {
        "1 conn".to_owned()
    } else {
        format!("{n} conns ({} idle)", n - 1)
    }
}

fn better(higher: bool) -> &'static str {
    if higher {
        "higher is better"
    } else {
        "lower is better"
    }
}

impl Results {
    /// Rows of the main table: label, one cell per target, ratio.
    fn main_rows(&self) -> Vec<Vec<String>> {
        self.table
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![format!("{} — {}", r.label, better(r.higher_is_better))];
                row.extend(r.values.iter().map(|v| cell(v)));
                row.push(ratio(&r.values));
                row
            })
            .collect()
    }

    /// The matrix table: per cell, echoed throughput and p99 per target,
    /// each with its ratio.
    fn matrix_rows(&self) -> Vec<Vec<String>> {
        self.cells
            .iter()
            .map(|&(conns, size)| {
                let mut row = vec![cell_name(conns, size)];
                for (config, short) in [(Config::Stream { conns, size }, BACK), (Config::Latency { conns, size }, P99)]
                {
                    match self.table.values(config, short) {
                        Some(values) => {
                            row.extend(values.iter().map(|v| cell(v)));
                            row.push(ratio(values));
                        }
                        None => row.extend(std::iter::repeat_n("—".to_owned(), self.targets.len() + 1)),
                    }
                }
                row
            })
            .collect()
    }

    fn matrix_headers(&self) -> Vec<String> {
        let mut h = vec!["cell".to_owned()];
        for what in ["MB/s echoed", "p99 µs"] {
            h.extend(self.targets.iter().map(|t| format!("{t} {what}")));
            h.push("host-sim/kernel".to_owned());
        }
        h
    }

    /// The charts as (file name, SVG): throughput and p99 per cell, and
    /// the latency percentiles of every cell.
    pub fn charts(&self) -> Result<Vec<(&'static str, String)>> {
        let names: Vec<String> = self.cells.iter().map(|&(c, s)| cell_name(c, s)).collect();
        let per_target = |config: fn(u16, u32) -> Config, short: &str| -> Vec<Bars> {
            self.targets
                .iter()
                .enumerate()
                .map(|(t, name)| Bars {
                    name,
                    runs: self
                        .cells
                        .iter()
                        .map(|&(c, s)| {
                            self.table.values(config(c, s), short).and_then(|v| v.get(t)).cloned().unwrap_or_default()
                        })
                        .collect(),
                })
                .collect()
        };
        let stream = |conns, size| Config::Stream { conns, size };
        let latency = |conns, size| Config::Latency { conns, size };
        let throughput = charts::bars(
            "Echo throughput, host-sim vs Linux kernel (median, whiskers min–max)",
            "MB/s echoed back (10^6 bytes/s)",
            &names,
            &per_target(stream, BACK),
        )?;
        let p99 = charts::bars(
            "Round trip p99, host-sim vs Linux kernel (median, whiskers min–max)",
            "round trip p99 (µs)",
            &names,
            &per_target(latency, P99),
        )?;
        let ticks: Vec<&str> = PERCENTILES.iter().map(|p| p.2).collect();
        let panels: Vec<Panel> = self
            .cells
            .iter()
            .map(|&(conns, size)| Panel {
                title: format!("{} pings, {}", super::figures::size_name(size), conns_open(conns)),
                lines: self
                    .targets
                    .iter()
                    .enumerate()
                    .map(|(t, name)| {
                        let at = |short| {
                            self.table
                                .values(Config::Latency { conns, size }, short)
                                .and_then(|v| v.get(t))
                                .and_then(|v| summary(v))
                                .map(|s| s.0)
                        };
                        (*name, PERCENTILES.iter().map(|p| at(p.0)).collect())
                    })
                    .collect(),
            })
            .collect();
        let cols = self.cells.iter().filter(|c| c.1 == self.cells.first().map_or(0, |f| f.1)).count();
        let latency = charts::percentiles(
            "Ping-pong round trip by percentile (median of the runs); lower is better",
            &ticks,
            &panels,
            cols,
        )?;
        Ok(vec![(THROUGHPUT_SVG, throughput), (P99_SVG, p99), (LATENCY_SVG, latency)])
    }

    fn resource_rows(&self) -> Vec<Vec<String>> {
        self.resources
            .iter()
            .map(|(label, vals)| {
                let mut row = vec![label.clone()];
                row.extend(vals.iter().map(|v| v.map_or_else(|| "—".to_owned(), num)));
                row
            })
            .collect()
    }

    fn headers(&self, last: Option<&str>) -> Vec<String> {
        let mut h = vec!["figure".to_owned()];
        h.extend(self.targets.iter().map(|t| (*t).to_owned()));
        h.extend(last.map(str::to_owned));
        h
    }

    /// The console version.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.cells.is_empty() {
            out += &aligned(&self.matrix_headers(), &self.matrix_rows());
            out += "\n";
        }
        out += &aligned(&self.headers(Some("host-sim/kernel")), &self.main_rows());
        out += "\n";
        out += &aligned(&self.headers(None), &self.resource_rows());
        if let Some(q) = &self.qemu {
            out += "\nQEMU firmware (stamp mode, functional, not a speed claim):\n";
            for f in q {
                let _ = writeln!(out, "  {:<40} {}", f.label, num(f.value));
            }
        }
        out
    }

    /// The Markdown file.
    pub fn markdown(&self, ctx: &Context) -> String {
        let mut out = String::from("# Benchmark results\n\n");
        let _ = writeln!(out, "- Command: `{}`", ctx.command);
        let _ = writeln!(out, "- Date: {}", ctx.date);
        let _ = writeln!(out, "- Machine: {}", ctx.machine);
        let _ = writeln!(out, "- Commit: {}", ctx.commit);
        let _ = writeln!(out, "- Plan: {}", ctx.plan);
        out += "\nhost-sim serves on a TAP in network namespace `echo-bench-sim`, the client \
                runs in the same namespace; kernel-echo (thread per connection, Linux TCP) \
                listens in `echo-bench-k1` and the client runs in `echo-bench-k2`, across a \
                veth pair. The same `echo-client bench` measures both, verifying every byte. \
                Runs alternate between the targets; cells are the median over the runs with \
                (min–max). Figures are in 10^6 bytes/s and microseconds. Both links have a \
                1500-byte MTU and segmentation offloads: the veth its defaults (TSO/GSO), the \
                TAP the virtio-net header offloads host-sim turns on (checksum, TSO). host-sim runs with \
                `RUST_LOG=warn` (at info it also logs up to 10 echoed messages a second).\n\n";
        if !self.cells.is_empty() {
            out += "## The matrix\n\n\
                    Each cell: streaming on that many connections in writes of that size \
                    (MB/s echoed back, every byte verified), and ping-pong of messages of that \
                    size on one connection while the cell's other connections are held open, \
                    idle (round trip p99). Median over the runs (min–max).\n\n";
            out += &markdown_table(&self.matrix_headers(), &self.matrix_rows());
            let _ = write!(
                out,
                "\n![Echo throughput per cell, host-sim vs kernel]({THROUGHPUT_SVG})\n\n\
                 ![Ping-pong p99 per cell, host-sim vs kernel]({P99_SVG})\n\n\
                 ![Ping-pong round trip by percentile, per cell]({LATENCY_SVG})\n\n\
                 ## Every figure\n\n"
            );
        }
        out += &markdown_table(&self.headers(Some("host-sim/kernel")), &self.main_rows());
        out += "\nProcess figures from /proc (kernel-echo's own process only: the kernel's \
                socket memory is not in it):\n\n";
        out += &markdown_table(&self.headers(None), &self.resource_rows());
        if let Some(q) = &self.qemu {
            out += "\n## QEMU firmware (mps2-an386) — functional, not a speed claim\n\n\
                    One run, stamp mode, LAN9118 emulated by QEMU on a TAP; the figures show \
                    the firmware works end to end under load, not how fast a board is.\n\n";
            let rows: Vec<Vec<String>> = q.iter().map(|f| vec![f.label.clone(), num(f.value)]).collect();
            out += &markdown_table(&["figure".to_owned(), "QEMU".to_owned()], &rows);
        }
        out
    }
}

fn aligned(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - c.chars().count();
            if i == 0 {
                let _ = write!(s, "{c}{}", " ".repeat(pad));
            } else {
                let _ = write!(s, "  {}{c}", " ".repeat(pad));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers);
    for row in rows {
        out += &line(row);
    }
    out
}

fn markdown_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", headers.join(" | "));
    out += &format!(
        "|{}\n",
        headers.iter().enumerate().map(|(i, _)| if i == 0 { "---|" } else { "---:|" }).collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::figures::{self, Table};

    #[test]
    fn cells_show_median_and_range() {
        assert_eq!(cell(&[1.0, 3.0, 2.0]), "2.00 (1.00–3.00)");
        assert_eq!(cell(&[150.0]), "150");
        assert_eq!(cell(&[]), "—");
        assert_eq!(ratio(&[vec![50.0], vec![100.0]]), "0.50");
        assert_eq!(ratio(&[vec![50.0], vec![]]), "—");
    }

    #[test]
    fn markdown_has_a_row_per_figure() {
        let mut table = Table::default();
        let f = |v| Figure { label: "setup (connections/s)".into(), short: "conn/s", higher_is_better: true, value: v };
        table.add(Config::Setup, 0, 2, &[f(10.0)]);
        table.add(Config::Setup, 1, 2, &[f(20.0)]);
        let r = Results { targets: vec!["host-sim", "kernel"], table, cells: vec![], resources: vec![], qemu: None };
        let ctx = Context {
            command: "cargo xtask bench".into(),
            date: "d".into(),
            machine: "m".into(),
            commit: "c".into(),
            plan: "p".into(),
        };
        let md = r.markdown(&ctx);
        assert!(md.contains("| setup (connections/s) — higher is better | 10.0 | 20.0 | 0.50 |"), "{md}");
        assert!(md.contains("- Command: `cargo xtask bench`"));
    }

    /// host-sim and the kernel over a 2 × 2 matrix, two runs each, the
    /// kernel's 50-connection cells left unmeasured.
    fn matrix() -> Results {
        let cells = vec![(1, 1024), (50, 1024), (1, 16384), (50, 16384)];
        let mut table = Table::default();
        for run in 0..2 {
            for (t, scale) in [(0, 2.0), (1, 1.0)] {
                for &(conns, size) in &cells {
                    if t == 1 && conns == 50 {
                        continue;
                    }
                    let mb = scale * f64::from(size) / 100.0 + f64::from(run);
                    let stream = Config::Stream { conns, size };
                    let json = format!(
                        r#"{{"stream":{{"tx_bytes":10,"verified_bytes":10,"tx_mb_per_s":{mb},"rx_mb_per_s":{mb}}}}}"#
                    );
                    table.add(stream, t, 2, &figures::parse(stream, &json).unwrap());
                    let latency = Config::Latency { conns, size };
                    let us = 10.0 * scale;
                    let json = format!(
                        r#"{{"latency":{{"samples":9,"idle_conns":{},"min_us":{},"p50_us":{us},"p99_us":{},"p999_us":{},"max_us":{}}}}}"#,
                        conns - 1,
                        us / 2.0,
                        us * 2.0,
                        us * 4.0,
                        us * 50.0
                    );
                    table.add(latency, t, 2, &figures::parse(latency, &json).unwrap());
                }
            }
        }
        Results { targets: vec!["host-sim", "kernel"], table, cells, resources: vec![], qemu: None }
    }

    #[test]
    fn markdown_has_the_matrix_and_links_the_charts() {
        let ctx = Context {
            command: "c".into(),
            date: "d".into(),
            machine: "m".into(),
            commit: "c".into(),
            plan: "p".into(),
        };
        let md = matrix().markdown(&ctx);
        assert!(
            md.contains("| cell | host-sim MB/s echoed | kernel MB/s echoed | host-sim/kernel | host-sim p99 µs |"),
            "{md}"
        );
        assert!(md.contains("| 1 conn, 1 KiB | 21.0 (20.5–21.5) | 10.7 (10.2–11.2) | 1.95 | 40.0 (40.0–40.0) | 20.0 (20.0–20.0) | 2.00 |"), "{md}");
        assert!(md.contains("| 50 conns, 16 KiB | 328 (328–329) | — | — |"), "{md}");
        for svg in [THROUGHPUT_SVG, P99_SVG, LATENCY_SVG] {
            assert!(md.contains(&format!("]({svg})")), "{svg} not linked");
        }
        assert!(matrix().text().contains("50 conns, 1 KiB"));
    }

    #[test]
    fn charts_have_a_bar_per_measured_cell() {
        let charts = matrix().charts().unwrap();
        let names: Vec<&str> = charts.iter().map(|c| c.0).collect();
        assert_eq!(names, [THROUGHPUT_SVG, P99_SVG, LATENCY_SVG]);
        for (_, svg) in &charts[..2] {
            // Four cells for host-sim, two for the kernel; one legend box each.
            assert_eq!((charts::painted(svg, "rect", 0), charts::painted(svg, "rect", 1)), (4 + 1, 2 + 1));
            assert!(charts::texts(svg).iter().any(|t| t == "50 conns, 16 KiB"));
        }
        let latency = &charts[2].1;
        let texts = charts::texts(latency);
        assert!(texts.iter().any(|t| t == "16 KiB pings, 50 conns (49 idle)") && texts.iter().any(|t| t == "p99.9"));
        // Lines: host-sim in four panels, the kernel in two, plus a legend sample each.
        assert_eq!((charts::painted(latency, "polyline", 0), charts::painted(latency, "polyline", 1)), (4 + 1, 2 + 1));
    }
}
