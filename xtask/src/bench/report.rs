//! The results as a console table and as the Markdown file.

use std::fmt::Write as _;

use super::figures::{summary, Figure, Table};

/// Everything measured, ready to print.
pub struct Results {
    /// Target labels, in `Table` column order.
    pub targets: Vec<&'static str>,
    /// Client figures over the runs.
    pub table: Table,
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
                `RUST_LOG=warn` (at info it logs every chunk).\n\n";
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
    use crate::bench::figures::Table;

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
        table.add(0, 2, &[f(10.0)]);
        table.add(1, 2, &[f(20.0)]);
        let r = Results { targets: vec!["host-sim", "kernel"], table, resources: vec![], qemu: None };
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
}
