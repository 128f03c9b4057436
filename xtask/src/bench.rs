//! `cargo xtask bench`: host-sim against the Linux kernel's TCP stack, with
//! the same client (`echo-client bench`), sizes and durations, in network
//! namespaces it makes and removes itself. Medians over alternating runs go
//! to the console and to a Markdown file; optionally the QEMU firmware gets
//! one functional run.

mod charts;
mod figures;
mod proc;
mod procfs;
mod report;
mod targets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use echo_core::Mode;

use crate::util::{cargo, is_root, root, sh};
use figures::{Config, Figure, Table};
use proc::{check_interrupt, pause, run_bounded, Lock};
use report::{Context, Results};
use targets::{Bins, Target};

const THUMB: &str = "thumbv7em-none-eabihf";
/// Beyond its phase, a client run may take this long (connects, the 5 s
/// drain after streaming) before it is killed.
const CLIENT_SLACK: Duration = Duration::from_secs(45);
/// One bench at a time: the namespace names are fixed.
const LOCK: &str = "/run/echo-bench.lock";

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Runs per target and configuration; tables show the median [default: 5; 3 with --quick; 1 with --smoke]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: Option<u32>,
    /// Seconds each measurement lasts [default: 5; 1 with --quick or --smoke]
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    duration: Option<f64>,
    /// Connection counts of the matrix, comma-separated [default: 1,5,50; 1,50 with --smoke]
    #[arg(long, value_name = "N,..", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(1..=64))]
    conns: Vec<u16>,
    /// Idle connections held open for the latency-with-open-connections figures,
    /// comma-separated; 0 to skip them [default: 5,200,1000; 5,200 with --smoke]
    #[arg(long, value_name = "N,..", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(0..=10_000))]
    open: Vec<u16>,
    /// Write sizes of the matrix in bytes (streaming writes and pings), comma-separated [default: 1024,16384]
    #[arg(long, alias = "size", value_name = "BYTES,..", value_delimiter = ',',
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    sizes: Vec<u32>,
    /// How both servers echo: raw, or stamp (`[ctime] chunk`)
    #[arg(long, default_value_t = Mode::Raw, value_parser = mode_parser())]
    mode: Mode,
    /// A quick look while tuning: 3 runs of 1 s; writes no file or chart unless --out is given
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// CI check: 1 run of 1 s per target, fails unless every run completes with every
    /// byte verified; speed is not judged; a smaller matrix; writes no file or chart unless --out is given
    #[arg(long)]
    smoke: bool,
    /// Markdown results file; the SVG charts go beside it [default: bench/RESULTS.md in the workspace]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also boot the MPS2-AN386 firmware in QEMU for one functional run
    /// [default: when its release ELF is already built]
    #[arg(long, conflicts_with = "no_qemu")]
    qemu: bool,
    /// Never boot QEMU
    #[arg(long)]
    no_qemu: bool,
    /// Extra host-sim argument, repeatable (e.g. --sim-arg=--buffer=65536)
    #[arg(long = "sim-arg", value_name = "ARG", allow_hyphen_values = true)]
    sim_args: Vec<String>,
}

/// `--mode`: the modes both servers (host-sim and kernel-echo) serve, by
/// their protocol names.
fn mode_parser() -> impl TypedValueParser<Value = Mode> {
    let about = |mode| match mode {
        Mode::Raw => "The bytes alone",
        Mode::Stamp => "`[ctime] ` before each chunk of at most 1024 bytes",
        Mode::Line => "One stamp per line (kernel-echo does not serve it)",
    };
    let values = [Mode::Raw, Mode::Stamp].map(|m| PossibleValue::new(m.name()).help(about(m)));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mode>())
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds above 0 (at most 3600)")),
    }
}

/// What one invocation measures, from its flags.
#[derive(Debug, PartialEq)]
struct Plan {
    runs: u32,
    secs: f64,
    /// Connection counts of the matrix, ascending.
    conns: Vec<u16>,
    /// Write sizes of the matrix, ascending.
    sizes: Vec<u32>,
    /// Idle connections for the open-connection latency figures, ascending.
    open: Vec<u16>,
    /// The Markdown file (charts beside it), if any.
    out: Option<PathBuf>,
}

impl Plan {
    fn new(args: &Args, default_out: PathBuf) -> Self {
        let (runs, secs) = match (args.smoke, args.quick) {
            (true, _) => (1, 1.0),
            (_, true) => (3, 1.0),
            _ => (5, 5.0),
        };
        // Tuning runs and CI must not overwrite the recorded results by accident.
        let out = match (&args.out, args.smoke || args.quick) {
            (Some(p), _) => Some(p.clone()),
            (None, false) => Some(default_out),
            (None, true) => None,
        };
        // CI keeps the extremes of the matrix: 50 connections need host-sim's
        // extra slots, 16 KiB writes its large segments.
        let conns = or_default(&args.conns, if args.smoke { &[1, 50] } else { &[1, 5, 50] });
        let sizes = or_default(&args.sizes, &[1024, 16384]);
        let open = match (args.open.is_empty(), args.smoke) {
            (false, _) => args.open.iter().copied().filter(|&n| n > 0).collect(),
            (true, true) => vec![5, 200],
            (true, false) => vec![5, 200, 1000],
        };
        Plan {
            runs: args.runs.unwrap_or(runs),
            secs: args.duration.unwrap_or(secs),
            conns,
            sizes,
            open: sorted(open),
            out,
        }
    }

    /// The matrix, write size by write size: (connections, bytes).
    fn cells(&self) -> Vec<(u16, u32)> {
        self.sizes.iter().flat_map(|&size| self.conns.iter().map(move |&conns| (conns, size))).collect()
    }

    /// The client runs of one round against one target: throughput and
    /// latency of each cell, then the connection-setup rate.
    fn configs(&self) -> Vec<Config> {
        let mut configs: Vec<Config> = self
            .cells()
            .into_iter()
            .flat_map(|(conns, size)| [Config::Stream { conns, size }, Config::Latency { conns, size }])
            .collect();
        configs.push(Config::Setup);
        configs
    }

    /// The most connections a cell holds open at once.
    fn most_conns(&self) -> u16 {
        self.conns.last().copied().unwrap_or(1)
    }
}

fn or_default<T: Copy + Ord>(given: &[T], default: &[T]) -> Vec<T> {
    sorted(if given.is_empty() { default.to_vec() } else { given.to_vec() })
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Connection slots host-sim gets for the matrix unless `--max-conn` is
/// given: its default (5) would refuse the 50-connection cells.
const SIM_MAX_CONN: u16 = 64;

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    if !is_root() {
        bail!(
            "cargo xtask bench needs root: it creates network namespaces, a veth pair and a TAP.\n\
             Run it as root, e.g. `sudo -E env PATH=\"$PATH\" cargo xtask bench`"
        );
    }
    let plan = Plan::new(&args, root().join("bench/RESULTS.md"));
    let (runs, secs) = (plan.runs, plan.secs);
    let configs = plan.configs();
    let rss_conns = plan.most_conns();
    let open_configs: Vec<Config> = plan.open.iter().map(|&n| Config::LatencyOpen(n)).collect();
    let sim_args = matrix_sim_args(&args.sim_args, rss_conns);

    proc::catch_interrupts()?;
    let _lock = Lock::take(Path::new(LOCK))?;

    let target_dir = target_dir();
    sh(cargo().args(["build", "--release", "-p", "host-sim", "-p", "echo-client", "-p", "kernel-echo"]))?;
    let release = target_dir.join("release");
    let bins = Bins {
        host_sim: release.join("host-sim"),
        echo_client: release.join("echo-client"),
        kernel_echo: release.join("kernel-echo"),
    };
    let elf = target_dir.join(THUMB).join("firmware").join(crate::qemu::BOARD);
    let with_qemu = !args.no_qemu && (args.qemu || elf.is_file());
    if with_qemu {
        sh(cargo().args(["build", "-p", crate::qemu::BOARD, "--target", THUMB, "--profile", "firmware"]))?;
    }
    let logs = target_dir.join("bench-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    check_interrupt()?;

    let mode = args.mode;
    eprintln!(
        "\n==> starting host-sim `{}` (namespace echo-bench-sim) and kernel-echo (echo-bench-k1/k2); logs in {}",
        sim_args.join(" "),
        logs.display()
    );
    let mut targets = vec![Target::host_sim(&bins, mode, &sim_args, &logs)?, Target::kernel(&bins, mode, &logs)?];
    for t in &mut targets {
        t.wait_ready(&bins, Duration::from_secs(15))?;
    }
    let load_before = procfs::load_average();
    let idle_rss: Vec<Option<f64>> = targets.iter().map(|t| rss(t.server_pid())).collect();

    let mut table = Table::default();
    let mut peak_rss: Vec<Option<f64>> = vec![None; targets.len()];
    let total = runs as usize * targets.len() * configs.len();
    let mut done = 0;
    for run in 0..runs {
        // Alternate which target goes first, so a drift in the machine's load
        // does not always favour the same one.
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for &ti in &order {
            for &config in &configs {
                done += 1;
                eprint!("[run {}/{runs}, {done}/{total}] {:<8} {:<28} ", run + 1, targets[ti].label, config.name());
                let sample_rss = matches!(config, Config::Stream { conns, .. } if conns == rss_conns);
                let figs = measure(&mut targets[ti], &bins, config, secs, sample_rss, &mut peak_rss[ti])?;
                eprintln!("{}", brief(&figs));
                table.add(config, ti, targets.len(), &figs);
                if matches!(config, Config::Latency { conns, .. } if conns > 1) {
                    // Let the idle connections' closes finish before the next run.
                    pause(Duration::from_millis(500))?;
                }
            }
        }
    }

    let idle_cpu = idle_cpu(&targets)?;
    for t in &mut targets {
        t.ensure_alive()?;
    }

    // Latency with connections held open: host-sim again, with slots for
    // them all (its slots are fixed at start), so the figures above keep
    // the server as configured.
    if let Some(&most) = plan.open.last() {
        let sim_args = open_sim_args(&args.sim_args, most);
        eprintln!("\n==> latency with up to {most} connections open; host-sim restarted with `{}`", sim_args.join(" "));
        drop(targets.remove(0));
        targets.insert(0, Target::host_sim(&bins, mode, &sim_args, &logs)?);
        targets[0].wait_ready(&bins, Duration::from_secs(15))?;
        let total = runs as usize * targets.len() * open_configs.len();
        let mut done = 0;
        for run in 0..runs {
            let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
            for &ti in &order {
                for &config in &open_configs {
                    done += 1;
                    eprint!("[run {}/{runs}, {done}/{total}] {:<8} {:<28} ", run + 1, targets[ti].label, config.name());
                    let figs = measure(&mut targets[ti], &bins, config, secs, false, &mut None)?;
                    eprintln!("{}", brief(&figs));
                    table.add(config, ti, targets.len(), &figs);
                    // Let the idle connections' closes finish before the next count.
                    pause(Duration::from_millis(500))?;
                }
            }
        }
        for t in &mut targets {
            t.ensure_alive()?;
        }
    }
    let labels: Vec<&'static str> = targets.iter().map(|t| t.label).collect();
    // Stops the servers and removes their namespaces before QEMU takes the CPU.
    drop(targets);

    let first_cell = plan.cells().first().copied().unwrap_or((1, 1024));
    let qemu = if with_qemu { Some(qemu_run(&bins, &elf, &logs, secs, first_cell.1)?) } else { None };

    let results = Results {
        targets: labels,
        table,
        cells: plan.cells(),
        resources: vec![
            ("RSS idle, server process (KiB)".to_owned(), idle_rss),
            (format!("RSS peak, {rss_conns} conns streaming (KiB)"), peak_rss),
            ("CPU while idle (% of one CPU, 2 s)".to_owned(), idle_cpu),
        ],
        qemu,
    };
    println!("\n{}", results.text());
    if args.smoke {
        println!("smoke: every run completed and every echoed byte was verified (speed not judged)");
    }
    if let Some(out) = &plan.out {
        let ctx = Context {
            command: command_line(),
            date: procfs::utc_now(),
            machine: format!(
                "{}; load average {load_before} before the runs, {} after",
                procfs::Machine::probe(),
                procfs::load_average()
            ),
            commit: procfs::git_commit(&root()),
            plan: plan_text(&plan, mode.name(), &sim_args, &args.sim_args),
        };
        let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, svg) in results.charts()? {
            let path = dir.join(name);
            std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("chart written to {}", path.display());
        }
        std::fs::write(out, results.markdown(&ctx)).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("results written to {}", out.display());
    }
    Ok(())
}

/// The plan in words, for the results file.
fn plan_text(plan: &Plan, mode: &str, sim_args: &[String], extra: &[String]) -> String {
    let list = |v: Vec<String>| v.join(", ");
    let mut text = format!(
        "{} run(s) per target, {} s per measurement, {mode} echo; the matrix: {{{}}} connections × {{{}}}-byte writes \
         (streaming throughput, and ping-pong latency of that size on one connection with the others held open, idle); \
         host-sim given `{}`",
        plan.runs,
        plan.secs,
        list(plan.conns.iter().map(u16::to_string).collect()),
        list(plan.sizes.iter().map(u32::to_string).collect()),
        sim_args.join(" "),
    );
    if let Some(&most) = plan.open.last() {
        text += &format!(
            "; latency (32-byte pings) with {} idle connections held open, against host-sim restarted with `{}`",
            list(plan.open.iter().map(u16::to_string).collect()),
            open_sim_args(extra, most).join(" ")
        );
    }
    text
}

/// One client run of `config` against `target`; with `sample_rss`, the
/// server's peak RSS during it is folded into `peak`.
fn measure(
    target: &mut Target,
    bins: &Bins,
    config: Config,
    secs: f64,
    sample_rss: bool,
    peak: &mut Option<f64>,
) -> Result<Vec<Figure>> {
    target.ensure_alive()?;
    let mut cmd = target.client(bins);
    cmd.args(["--duration", &secs.to_string()])
        .args(["--connect-timeout", "5", "--max-setups", "1000000000"])
        .args(config.client_args());
    let pid = target.server_pid();
    let timeout = Duration::from_secs_f64(secs) + CLIENT_SLACK;
    let json = run_bounded(&mut cmd, timeout, || {
        if sample_rss {
            if let Some(kib) = rss(pid) {
                *peak = Some(peak.map_or(kib, |p: f64| p.max(kib)));
            }
        }
    })
    .and_then(|json| figures::parse(config, &json));
    match json {
        Ok(figs) => Ok(figs),
        Err(e) => {
            check_interrupt()?;
            // Say whether the server died, and show its log either way.
            let alive = target.ensure_alive().err().map_or_else(|| target.log_tail(), |d| format!("{d:#}"));
            bail!("{} {}: {e:#}\n{alive}", target.label, config.name())
        }
    }
}

/// CPU each server uses over 2 s with no client, in % of one CPU.
fn idle_cpu(targets: &[Target]) -> Result<Vec<Option<f64>>> {
    const WINDOW: Duration = Duration::from_secs(2);
    eprintln!("\n==> idle CPU over {} s", WINDOW.as_secs());
    // Let the last connections close first.
    pause(Duration::from_secs(1))?;
    let before: Vec<Option<u64>> = targets.iter().map(|t| procfs::cpu_ticks(t.server_pid())).collect();
    pause(WINDOW)?;
    let tps = procfs::ticks_per_sec() as f64;
    Ok(targets
        .iter()
        .zip(before)
        .map(|(t, b)| {
            let used = procfs::cpu_ticks(t.server_pid())?.saturating_sub(b?);
            Some(used as f64 / tps / WINDOW.as_secs_f64() * 100.0)
        })
        .collect())
}

/// The firmware in QEMU: one run of 1-connection streaming and latency with
/// `size`-byte writes, and setup.
fn qemu_run(bins: &Bins, elf: &Path, logs: &Path, secs: f64, size: u32) -> Result<Vec<Figure>> {
    eprintln!("\n==> QEMU: booting {} (namespace echo-bench-qemu), functional run", elf.display());
    let mut target = Target::qemu(elf, logs)?;
    target.wait_ready(bins, Duration::from_secs(60))?;
    let mut all = Vec::new();
    for config in [Config::Stream { conns: 1, size }, Config::Latency { conns: 1, size }, Config::Setup] {
        eprint!("[QEMU] {:<28} ", config.name());
        let figs = measure(&mut target, bins, config, secs, false, &mut None)?;
        eprintln!("{}", brief(&figs));
        all.extend(figs);
    }
    Ok(all)
}

/// host-sim's arguments for the open-connection figures: slots for `most`
/// idle connections and the measuring one (unless `--max-conn` is given),
/// with a buffer small enough for host-sim's memory cap.
fn open_sim_args(extra: &[String], most: u16) -> Vec<String> {
    let mut args = extra.to_vec();
    if !given(extra, "--max-conn") {
        args.extend(["--max-conn".to_owned(), (usize::from(most) + 8).to_string()]);
    }
    if !given(extra, "--buffer") {
        args.extend(["--buffer".to_owned(), "16384".to_owned()]);
    }
    args
}

/// host-sim's arguments for the matrix: enough slots for its largest cell.
fn matrix_sim_args(extra: &[String], most: u16) -> Vec<String> {
    let mut args = extra.to_vec();
    if !given(extra, "--max-conn") {
        args.extend(["--max-conn".to_owned(), most.max(SIM_MAX_CONN).to_string()]);
    }
    args
}

/// Whether `flag` is among `args`, alone or as `flag=value`.
fn given(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag || a.strip_prefix(flag).is_some_and(|rest| rest.starts_with('=')))
}

fn rss(pid: u32) -> Option<f64> {
    procfs::vm_rss_kib(pid).map(|k| k as f64)
}

/// `name value, ...` for a progress line.
fn brief(figs: &[Figure]) -> String {
    figs.iter()
        .map(|f| match f.short.rsplit_once(' ') {
            Some((name, unit)) => format!("{name} {:.1} {unit}", f.value),
            None => format!("{:.1} {}", f.value, f.short),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Same rule as cargo's: CARGO_TARGET_DIR (relative to the workspace), or target/.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |d| root().join(d))
}

/// `cargo xtask bench ...` as typed, quoted for a shell where needed.
fn command_line() -> String {
    let mut parts = vec!["cargo".to_owned(), "xtask".to_owned()];
    for a in std::env::args().skip(1) {
        let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_=.,/:+@".contains(c));
        parts.push(if plain { a } else { format!("'{}'", a.replace('\'', r"'\''")) });
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn plan(flags: &[&str]) -> Plan {
        let cli = Cli::try_parse_from(std::iter::once("bench").chain(flags.iter().copied())).unwrap();
        Plan::new(&cli.args, PathBuf::from("bench/RESULTS.md"))
    }

    fn cells(flags: &[&str]) -> Vec<(u16, u32)> {
        plan(flags).cells()
    }

    #[test]
    fn default_plan_is_the_full_matrix_five_runs_recorded() {
        let p = plan(&[]);
        assert_eq!((p.runs, p.secs, p.out.as_deref()), (5, 5.0, Some(Path::new("bench/RESULTS.md"))));
        assert_eq!(
            p.cells(),
            [(1, 1024), (5, 1024), (50, 1024), (1, 16384), (5, 16384), (50, 16384)],
            "write size by write size"
        );
        assert_eq!(p.open, [5, 200, 1000]);
        let configs = p.configs();
        assert_eq!(configs.len(), 6 * 2 + 1);
        assert_eq!(configs[..2], [Config::Stream { conns: 1, size: 1024 }, Config::Latency { conns: 1, size: 1024 }]);
        assert_eq!(configs.last(), Some(&Config::Setup));
        assert_eq!(p.most_conns(), 50);
    }

    #[test]
    fn smoke_keeps_the_matrix_corners_and_writes_nothing() {
        let p = plan(&["--smoke"]);
        assert_eq!((p.runs, p.secs, &p.out), (1, 1.0, &None));
        assert_eq!(p.cells(), [(1, 1024), (50, 1024), (1, 16384), (50, 16384)]);
        assert_eq!(p.open, [5, 200]);
        // Flags still narrow it.
        assert_eq!(cells(&["--smoke", "--conns", "5", "--sizes", "1024"]), [(5, 1024)]);
    }

    #[test]
    fn quick_runs_the_full_matrix_three_times() {
        let p = plan(&["--quick"]);
        assert_eq!((p.runs, p.secs, &p.out, p.cells().len()), (3, 1.0, &None, 6));
        assert_eq!(plan(&["--quick", "--out", "x.md"]).out, Some(PathBuf::from("x.md")));
    }

    #[test]
    fn flags_narrow_the_matrix() {
        assert_eq!(cells(&["--conns", "50,1,50", "--sizes", "16384"]), [(1, 16384), (50, 16384)]);
        // --size is kept as another name for --sizes.
        assert_eq!(cells(&["--conns=5", "--size", "4096"]), [(5, 4096)]);
        let p = plan(&["--runs", "3", "--duration", "2", "--open", "0"]);
        assert_eq!((p.runs, p.secs, p.open.len(), p.cells().len()), (3, 2.0, 0, 6));
        for bad in [&["--conns", "65"][..], &["--conns", "0"], &["--sizes", "65537"], &["--smoke", "--quick"]] {
            assert!(Cli::try_parse_from(std::iter::once("bench").chain(bad.iter().copied())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plan_is_described_in_words() {
        let text = plan_text(&plan(&[]), "raw", &["--max-conn".into(), "64".into()], &[]);
        assert!(text.starts_with("5 run(s) per target, 5 s per measurement, raw echo"), "{text}");
        assert!(text.contains("{1, 5, 50} connections × {1024, 16384}-byte writes"), "{text}");
        assert!(
            text.contains("host-sim given `--max-conn 64`; latency (32-byte pings) with 5, 200, 1000 idle"),
            "{text}"
        );
    }

    #[test]
    fn host_sim_gets_slots_for_the_largest_cell() {
        assert_eq!(matrix_sim_args(&[], 50), ["--max-conn", "64"]);
        let given = ["--max-conn=100".to_owned()];
        assert_eq!(matrix_sim_args(&given, 50), given);
        let other = ["--max-connections".to_owned()];
        assert_eq!(matrix_sim_args(&other, 5), ["--max-connections", "--max-conn", "64"]);
        assert_eq!(open_sim_args(&[], 1000), ["--max-conn", "1008", "--buffer", "16384"]);
    }
}
