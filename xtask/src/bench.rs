//! `cargo xtask bench`: host-sim against the Linux kernel's TCP stack, with
//! the same client (`echo-client bench`), sizes and durations, in network
//! namespaces it makes and removes itself. Medians over alternating runs go
//! to the console and to a Markdown file; optionally the QEMU firmware gets
//! one functional run.

mod figures;
mod netns;
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
    /// Connection counts for the streaming figures, comma-separated
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_values_t = [1u16, 5],
          value_parser = clap::value_parser!(u16).range(1..=64))]
    conns: Vec<u16>,
    /// Idle connections held open for the latency-with-open-connections figures,
    /// comma-separated; 0 to skip them [default: 5,200,1000; 5,200 with --smoke]
    #[arg(long, value_name = "N,..", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(0..=10_000))]
    open: Vec<u16>,
    /// Bytes per write when streaming
    #[arg(long, value_name = "BYTES", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,
    /// How both servers echo: raw, or stamp (`[ctime] chunk`)
    #[arg(long, default_value_t = Mode::Raw, value_parser = mode_parser())]
    mode: Mode,
    /// A quick look while tuning: 3 runs of 1 s; writes no file unless --out is given
    #[arg(long, conflicts_with = "smoke")]
    quick: bool,
    /// CI check: 1 run of 1 s per target, fails unless every run completes with every
    /// byte verified; speed is not judged; writes no file unless --out is given
    #[arg(long)]
    smoke: bool,
    /// Markdown results file [default: bench/RESULTS.md in the workspace]
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

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    if !is_root() {
        bail!(
            "cargo xtask bench needs root: it creates network namespaces, a veth pair and a TAP.\n\
             Run it as root, e.g. `sudo -E env PATH=\"$PATH\" cargo xtask bench`"
        );
    }
    let (default_runs, default_secs) = match (args.smoke, args.quick) {
        (true, _) => (1, 1.0),
        (_, true) => (3, 1.0),
        _ => (5, 5.0),
    };
    let runs = args.runs.unwrap_or(default_runs);
    let secs = args.duration.unwrap_or(default_secs);
    // Tuning runs and CI must not overwrite the recorded results by accident.
    let out = match (&args.out, args.smoke || args.quick) {
        (Some(p), _) => Some(p.clone()),
        (None, false) => Some(root().join("bench/RESULTS.md")),
        (None, true) => None,
    };
    let mut configs: Vec<Config> = args.conns.iter().map(|&n| Config::Stream(n)).collect();
    configs.dedup();
    configs.extend([Config::Latency, Config::Setup]);
    let rss_conns = args.conns.iter().copied().max().unwrap_or(1);
    let mut open: Vec<u16> = match (args.open.is_empty(), args.smoke) {
        (false, _) => args.open.iter().copied().filter(|&n| n > 0).collect(),
        (true, true) => vec![5, 200],
        (true, false) => vec![5, 200, 1000],
    };
    open.sort_unstable();
    open.dedup();
    let open_configs: Vec<Config> = open.iter().map(|&n| Config::LatencyOpen(n)).collect();

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
        "\n==> starting host-sim (namespace echo-bench-sim) and kernel-echo (echo-bench-k1/k2); logs in {}",
        logs.display()
    );
    let mut targets = vec![Target::host_sim(&bins, mode, &args.sim_args, &logs)?, Target::kernel(&bins, mode, &logs)?];
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
                eprint!("[run {}/{runs}, {done}/{total}] {:<8} {:<16} ", run + 1, targets[ti].label, config.name());
                let sample_rss = config == Config::Stream(rss_conns);
                let figs = measure(&mut targets[ti], &bins, config, secs, args.size, sample_rss, &mut peak_rss[ti])?;
                eprintln!("{}", brief(&figs));
                table.add(ti, targets.len(), &figs);
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
    if let Some(&most) = open.last() {
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
                    eprint!("[run {}/{runs}, {done}/{total}] {:<8} {:<18} ", run + 1, targets[ti].label, config.name());
                    let figs = measure(&mut targets[ti], &bins, config, secs, args.size, false, &mut None)?;
                    eprintln!("{}", brief(&figs));
                    table.add(ti, targets.len(), &figs);
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

    let qemu = if with_qemu { Some(qemu_run(&bins, &elf, &logs, secs, args.size)?) } else { None };

    let results = Results {
        targets: labels,
        table,
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
    if let Some(out) = out {
        let ctx = Context {
            command: command_line(),
            date: procfs::utc_now(),
            machine: format!(
                "{}; load average {load_before} before the runs, {} after",
                procfs::Machine::probe(),
                procfs::load_average()
            ),
            commit: procfs::git_commit(&root()),
            plan: format!(
                "{runs} run(s) per target, {secs} s per measurement, {} echo, {}-byte writes, streaming with {} connection(s){}{}",
                mode,
                args.size,
                args.conns.iter().map(u16::to_string).collect::<Vec<_>>().join(" and "),
                if args.sim_args.is_empty() {
                    String::new()
                } else {
                    format!("; host-sim given `{}`", args.sim_args.join(" "))
                },
                match open.last() {
                    None => String::new(),
                    Some(&most) => format!(
                        "; latency with {} idle connections held open, against host-sim restarted with `{}`",
                        open.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
                        open_sim_args(&args.sim_args, most).join(" ")
                    ),
                }
            ),
        };
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&out, results.markdown(&ctx)).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("results written to {}", out.display());
    }
    Ok(())
}

/// One client run of `config` against `target`; with `sample_rss`, the
/// server's peak RSS during it is folded into `peak`.
fn measure(
    target: &mut Target,
    bins: &Bins,
    config: Config,
    secs: f64,
    size: u32,
    sample_rss: bool,
    peak: &mut Option<f64>,
) -> Result<Vec<Figure>> {
    target.ensure_alive()?;
    let mut cmd = target.client(bins);
    cmd.args(["--duration", &secs.to_string(), "--size", &size.to_string()])
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

/// The firmware in QEMU: one run of 1-connection streaming, latency and setup.
fn qemu_run(bins: &Bins, elf: &Path, logs: &Path, secs: f64, size: u32) -> Result<Vec<Figure>> {
    eprintln!("\n==> QEMU: booting {} (namespace echo-bench-qemu), functional run", elf.display());
    let mut target = Target::qemu(elf, logs)?;
    target.wait_ready(bins, Duration::from_secs(60))?;
    let mut all = Vec::new();
    for config in [Config::Stream(1), Config::Latency, Config::Setup] {
        eprint!("[QEMU] {:<16} ", config.name());
        let figs = measure(&mut target, bins, config, secs, size, false, &mut None)?;
        eprintln!("{}", brief(&figs));
        all.extend(figs);
    }
    Ok(all)
}

/// host-sim's arguments for the open-connection figures: slots for `most`
/// idle connections and the measuring one (unless `--max-conn` is given),
/// with a buffer small enough for host-sim's memory cap.
fn open_sim_args(extra: &[String], most: u16) -> Vec<String> {
    let given = |flag: &str| extra.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    let mut args = extra.to_vec();
    if !given("--max-conn") {
        args.extend(["--max-conn".to_owned(), (usize::from(most) + 8).to_string()]);
    }
    if !given("--buffer") {
        args.extend(["--buffer".to_owned(), "16384".to_owned()]);
    }
    args
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
