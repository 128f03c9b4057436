//! `cargo xtask test`: the one command that runs every check, in order of
//! cost, and ends with a summary. The README and `.ci/run` name only this.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::setup::{self, Machine, Needs, Piece, THUMB};
use crate::util::{cargo, is_root, root, sh};

const BOARDS: [&str; 2] = ["mps2-an386", "nucleo-f429zi"];

/// Command-line arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Fail instead of skipping a stage that cannot run here (not root, or a
    /// tool or package missing and not installed). CI sets this.
    #[arg(long)]
    pub require_system: bool,
    /// Install nothing: only check what the stages need (the thumb target,
    /// rustfmt and clippy, the system tests' Debian packages, nightly and
    /// cargo-fuzz). Stages missing something skip, saying what to install.
    /// Without it, what is missing is installed first: rustup for the Rust
    /// pieces, apt-get (as root) for the packages, their services not started.
    #[arg(long)]
    pub no_setup: bool,
    /// Skip the thumbv7em firmware builds and lints (host-only machines).
    #[arg(long)]
    pub no_firmware: bool,
    /// Skip the root-only system tests.
    #[arg(long)]
    pub no_system: bool,
    /// Seconds of fuzzing (0 skips; needs nightly and cargo-fuzz, installed unless --no-setup).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub fuzz_secs: u64,
    /// Run only the stages whose name contains TEXT (e.g. `feature combination`,
    /// `docs`); the others are listed as skipped.
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
}

struct Stage {
    name: String,
    outcome: Outcome,
    secs: f64,
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let needs = Needs::new(!args.no_firmware, !args.no_system, args.fuzz_secs > 0);
    let machine = setup::prepare(&needs, !args.no_setup, args.require_system);
    let gated = |piece: &Piece, f: &mut dyn FnMut() -> Result<Outcome>| gate(piece, args.require_system, f);
    // QEMU runs in the system tests and the benchmark only if the image can be built.
    let with_firmware = !args.no_firmware && machine.thumb.is_ready();
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage = |name: &str, f: &mut dyn FnMut() -> Result<Outcome>| {
        if let Some(only) = args.only.as_deref().filter(|only| !name.contains(only)) {
            let outcome = Outcome::Skipped(format!("not selected by --only {only:?}"));
            stages.push(Stage { name: name.to_owned(), outcome, secs: 0.0 });
            return;
        }
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let outcome = f().unwrap_or_else(|e| Outcome::Failed(format!("{e:#}")));
        if let Outcome::Failed(why) = &outcome {
            eprintln!("==> {name}: FAILED: {why}");
        }
        stages.push(Stage { name: name.to_owned(), outcome, secs: t.elapsed().as_secs_f64() });
    };

    stage("format", &mut || gated(&machine.rustfmt, &mut || pass(sh(cargo().args(["fmt", "--all", "--", "--check"])))));
    stage("clippy (host)", &mut || {
        gated(&machine.clippy, &mut || {
            pass(sh(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])))
        })
    });
    if args.no_firmware {
        stage("firmware", &mut || Ok(Outcome::Skipped("--no-firmware".into())));
    } else {
        stage("clippy (thumb: echo-core in every feature combination)", &mut || {
            gated(machine.thumb.and(&machine.clippy), &mut || pass(core_feature_clippy()))
        });
        stage("clippy (thumb: driver, boards)", &mut || {
            gated(machine.thumb.and(&machine.clippy), &mut || pass(thumb_clippy()))
        });
        stage("firmware images (profile firmware)", &mut || gated(&machine.thumb, &mut || pass(build_boards())));
    }
    stage("docs (echo-core, warnings denied)", &mut || pass(core_docs()));
    stage("unit and in-process tests", &mut || pass(sh(cargo().args(["test", "--workspace"]))));
    stage("system tests (root, network namespaces, TAP, QEMU)", &mut || {
        if let Some(outcome) = system_gate(&args, &machine) {
            return Ok(outcome);
        }
        system_tests(with_firmware)
    });
    stage("benchmark smoke run (every byte verified, speed not judged)", &mut || {
        if let Some(outcome) = system_gate(&args, &machine) {
            return Ok(outcome);
        }
        let mut c = cargo();
        c.args(["run", "--quiet", "-p", "xtask", "--", "bench", "--smoke"]);
        if !with_firmware {
            c.arg("--no-qemu");
        }
        pass(sh(&mut c))
    });

    stage("fuzz: arbitrary frames into the server (regression corpus, then new inputs)", &mut || {
        if args.fuzz_secs == 0 {
            return Ok(Outcome::Skipped("--fuzz-secs 0".into()));
        }
        gated(&machine.fuzz, &mut || fuzz(args.fuzz_secs))
    });

    eprintln!("\nSummary:");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for s in &stages {
        let (mark, note) = match &s.outcome {
            Outcome::Passed => {
                passed += 1;
                ("ok  ", String::new())
            }
            Outcome::Failed(why) => {
                failed += 1;
                ("FAIL", format!(" — {why}"))
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                ("skip", format!(" — {why}"))
            }
        };
        eprintln!("  {mark} {:<70} {:>6.1}s{note}", s.name, s.secs);
    }
    println!("xtask: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        bail!("{failed} stage(s) failed");
    }
    Ok(())
}

/// What `f` returns, unless `piece` is not there: then the stage does not
/// run and skips (fails when `required`, or when installing it failed).
fn gate(piece: &Piece, required: bool, f: &mut dyn FnMut() -> Result<Outcome>) -> Result<Outcome> {
    blocked(piece, required).map_or_else(f, Ok)
}

/// The outcome of a stage that cannot run for want of `piece`, if it is missing.
fn blocked(piece: &Piece, required: bool) -> Option<Outcome> {
    match piece {
        Piece::Ready => None,
        Piece::Missing(why) if !required => Some(Outcome::Skipped(why.clone())),
        Piece::Missing(why) | Piece::Broken(why) => Some(Outcome::Failed(why.clone())),
    }
}

/// Why the system tests and the benchmark cannot run here, as their outcome:
/// the flag, root, then the Debian packages.
fn system_gate(args: &Args, machine: &Machine) -> Option<Outcome> {
    if args.no_system {
        return Some(Outcome::Skipped("--no-system".into()));
    }
    if is_root() {
        return blocked(&machine.packages, args.require_system);
    }
    let why = match &machine.packages {
        Piece::Ready => {
            "not root (network namespaces and TAP devices need it): run `sudo -E cargo xtask test` for these".to_owned()
        }
        Piece::Missing(packages) | Piece::Broken(packages) => {
            format!("{packages}; then, as root (network namespaces, TAP devices): `sudo -E cargo xtask test`")
        }
    };
    Some(if args.require_system { Outcome::Failed(why) } else { Outcome::Skipped(why) })
}

/// Clippy on the thumb target for the driver, the boards and what only they use.
fn thumb_clippy() -> Result<()> {
    let mut c = cargo();
    c.args(["clippy", "-p", "lan9118", "-p", "call-sites", "--target", THUMB]);
    for b in BOARDS {
        c.args(["-p", b]);
    }
    sh(c.args(["--", "-D", "warnings"]))
}

/// echo-core's features that cannot be on together (its `fmt.rs` refuses).
const EXCLUSIVE_FEATURES: [[&str; 2]; 1] = [["log", "defmt"]];

/// Clippy on the thumb target for every combination of echo-core's features
/// (read from `cargo metadata`), each distinct one once: `sntp` turns `udp`
/// on, so the sets that differ only there are the same build.
fn core_feature_clippy() -> Result<()> {
    let sets = feature_sets(&core_features()?);
    eprintln!("echo-core: {} distinct feature combinations", sets.len());
    for (i, set) in sets.iter().enumerate() {
        let features = set.join(",");
        eprintln!("\n[{}/{}] features: {}", i + 1, sets.len(), if features.is_empty() { "(none)" } else { &features });
        let core = ["clippy", "--quiet", "-p", "echo-core", "--no-default-features", "--features", &features];
        sh(cargo().args(core).args(["--target", THUMB, "--", "-D", "warnings"]))?;
    }
    Ok(())
}

/// echo-core's features (`default` aside), each with the other features it
/// turns on.
fn core_features() -> Result<BTreeMap<String, Vec<String>>> {
    let out = cargo().args(["metadata", "--format-version", "1", "--no-deps"]).output().context("cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let core = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "echo-core"))
        .context("echo-core is not in the workspace")?;
    let table = core["features"].as_object().context("echo-core has no feature table")?;
    let names: Vec<&String> = table.keys().filter(|k| *k != "default").collect();
    Ok(names
        .iter()
        .map(|name| {
            let implied = table[name.as_str()]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .filter(|v| names.iter().any(|n| n.as_str() == *v))
                .map(str::to_owned)
                .collect();
            ((*name).clone(), implied)
        })
        .collect())
}

/// Every subset of `features`, closed under what each turns on, without the
/// exclusive pairs, each once, sorted.
fn feature_sets(features: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let names: Vec<&String> = features.keys().collect();
    let mut sets = BTreeSet::new();
    for mask in 0u32..1 << names.len() {
        let mut set: BTreeSet<&str> =
            names.iter().enumerate().filter(|(i, _)| mask & 1 << i != 0).map(|(_, n)| n.as_str()).collect();
        // Close over implications (a feature may turn on one that turns on another).
        loop {
            let implied: Vec<&str> =
                set.iter().flat_map(|f| features[*f].iter().map(String::as_str)).filter(|f| !set.contains(f)).collect();
            if implied.is_empty() {
                break;
            }
            set.extend(implied);
        }
        if EXCLUSIVE_FEATURES.iter().any(|pair| pair.iter().all(|f| set.contains(f))) {
            continue;
        }
        sets.insert(set.into_iter().map(str::to_owned).collect::<Vec<_>>());
    }
    sets.into_iter().collect()
}

/// echo-core's API documentation builds without a warning (broken links,
/// missing docs); its examples run with the unit tests.
fn core_docs() -> Result<()> {
    sh(cargo().args(["doc", "--quiet", "-p", "echo-core", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))
}

/// Runs the `frames` fuzz target: every committed corpus input first, then
/// `secs` of new ones (written to a scratch directory, not the repository).
fn fuzz(secs: u64) -> Result<Outcome> {
    let scratch = std::env::temp_dir().join(format!("echo-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    // rustup's `cargo`, not ours: `+nightly` picks the toolchain.
    let result = sh(Command::new("cargo")
        .current_dir(root().join("fuzz"))
        .args(["+nightly", "fuzz", "run", "frames"])
        .arg(&scratch)
        .args([
            "corpus/frames",
            "--",
            &format!("-max_total_time={secs}"),
            // The simulated world leaks its buffers on purpose ('static, as a board's statics).
            "-detect_leaks=0",
            "-print_final_stats=1",
        ]));
    let _ = std::fs::remove_dir_all(&scratch);
    pass(result)
}

fn pass(r: Result<()>) -> Result<Outcome> {
    r.map(|()| Outcome::Passed)
}

/// One `cargo build` per board: built together, cargo would unify their
/// dependencies' features (the NUCLEO's PAC turns on cortex-m-rt's `device`,
/// which the MPS2 image cannot link with).
fn build_boards() -> Result<()> {
    for board in BOARDS {
        sh(cargo().args(["build", "--profile", "firmware", "--target", THUMB, "-p", board]))?;
    }
    Ok(())
}

/// Host binaries and, when asked, the QEMU firmware are built first, then
/// handed to the root-only tests by absolute path. Every test binary runs
/// (`--no-fail-fast`); a failure names each failed test.
fn system_tests(with_firmware: bool) -> Result<Outcome> {
    sh(cargo().args(["build", "-p", "host-sim", "-p", "echo-client"]))?;
    let target = std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or_else(|_| root().join("target"));
    let mut c: Command = cargo();
    c.args(["test", "-p", "systests", "--no-fail-fast", "--", "--ignored", "--test-threads=2"])
        .env("HOST_SIM_BIN", target.join("debug/host-sim"))
        .env("ECHO_CLIENT_BIN", target.join("debug/echo-client"));
    if with_firmware {
        c.env("MPS2_ELF", target.join(THUMB).join("firmware/mps2-an386"));
    }
    let shown = format!("{c:?}");
    let (ok, output) = tee(c, &mut std::io::stderr())?;
    if ok {
        return Ok(Outcome::Passed);
    }
    let failures = failed_tests(&output);
    Ok(Outcome::Failed(if failures.is_empty() {
        format!("{shown} failed (see its output above)")
    } else {
        let lines: String = failures.iter().map(|f| format!("\n        {f}")).collect();
        format!("{} failed:{lines}", plural(failures.len(), "test"))
    }))
}

/// Runs `cmd` (echoed first) with its stdout and stderr merged in one pipe,
/// so cargo's "Running" lines stay in order with the tests' output; streams it
/// to `screen` as it comes and returns it, with whether `cmd` succeeded.
fn tee(mut cmd: Command, screen: &mut dyn Write) -> Result<(bool, String)> {
    eprintln!("\n$ {cmd:?}");
    let (mut reader, writer) = std::io::pipe().context("cannot create a pipe")?;
    cmd.stdout(writer.try_clone()?).stderr(writer);
    let mut child = cmd.spawn().with_context(|| format!("cannot start {cmd:?}"))?;
    // `cmd` holds the pipe's write ends: while they are open here, the reads never end.
    drop(cmd);
    let mut output = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = reader.read(&mut chunk).context("cannot read the tests' output")?;
        if n == 0 {
            break;
        }
        screen.write_all(&chunk[..n])?;
        output.extend_from_slice(&chunk[..n]);
    }
    let status = child.wait()?;
    Ok((status.success(), String::from_utf8_lossy(&output).into_owned()))
}

/// One line per failed test in `cargo test` output, as `binary: test`; a
/// test binary that failed with no test marked FAILED (a crash, a timeout
/// kill) gets a line of its own.
fn failed_tests(output: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut binary = String::from("?");
    let mut failed_here = 0;
    for line in output.lines() {
        let line = line.trim_end();
        if let Some(running) = line.trim_start().strip_prefix("Running ") {
            binary = binary_name(running);
            failed_here = 0;
        } else if let Some(test) = line.strip_prefix("test ").and_then(|t| t.strip_suffix(" ... FAILED")) {
            failures.push(format!("{binary}: {test}"));
            failed_here += 1;
        } else if let Some(rerun) = line.strip_prefix("error: test failed, to rerun pass ") {
            if failed_here == 0 {
                failures.push(format!("{binary}: failed with no test marked FAILED (crashed?); rerun with {rerun}"));
            }
        }
    }
    failures
}

/// `tests/bulk.rs (target/debug/deps/bulk-0123abcd)` → `bulk`: the binary,
/// without cargo's hash.
fn binary_name(running: &str) -> String {
    let path = running.rsplit_once('(').map_or(running, |(_, p)| p.trim_end_matches(')'));
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('-').map_or(file, |(name, _hash)| name).to_owned()
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real `cargo test --no-fail-fast` run: two failures in
    /// one binary, one that aborted, one that passed.
    const OUTPUT: &str = "\
     Running unittests src/lib.rs (/t/target/debug/deps/systests-2ffcd961b67f0851)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.00s

     Running tests/a.rs (/t/target/debug/deps/a-6dfc92f1b011e7be)

running 3 tests
test m::z ... FAILED
test x ... FAILED
test y ... ok

failures:

---- m::z stdout ----
thread 'm::z' panicked at tests/a.rs:3:36:
test ... FAILED is not a test line inside a panic message
failures:
    m::z
    x

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.09s

error: test failed, to rerun pass `--test a`
     Running tests/lifecycle.rs (/t/target/debug/deps/lifecycle-da066ca755e090cf)

running 1 test
error: test failed, to rerun pass `--test lifecycle`

Caused by:
  process didn't exit successfully: `/t/target/debug/deps/lifecycle-da066ca755e090cf` (signal: 6, SIGABRT)
     Running tests/c.rs (/t/target/debug/deps/c-7238a6f509ed4611)

running 1 test
test fine ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: 2 targets failed:
    `--test a`
    `--test lifecycle`
";

    #[test]
    fn names_every_failed_test_and_crashed_binary() {
        assert_eq!(
            failed_tests(OUTPUT),
            [
                "a: m::z",
                "a: x",
                "lifecycle: failed with no test marked FAILED (crashed?); rerun with `--test lifecycle`",
            ]
        );
        assert!(failed_tests("test result: ok. 3 passed; 0 failed").is_empty());
    }

    #[test]
    fn tee_keeps_both_streams_in_order_and_the_status() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; sleep 0.1; echo err >&2; sleep 0.1; echo more; exit 3"]);
        let mut screen = Vec::new();
        assert_eq!(tee(c, &mut screen).unwrap(), (false, "out\nerr\nmore\n".to_owned()));
        assert_eq!(screen, b"out\nerr\nmore\n");
        assert_eq!(tee(Command::new("true"), &mut std::io::sink()).unwrap(), (true, String::new()));
    }

    #[test]
    fn feature_sets_are_closed_deduplicated_and_skip_exclusive_pairs() {
        let features: BTreeMap<String, Vec<String>> =
            [("defmt", vec![]), ("log", vec![]), ("sntp", vec!["udp"]), ("udp", vec![])]
                .into_iter()
                .map(|(f, on)| (f.to_owned(), on.into_iter().map(str::to_owned).collect()))
                .collect();
        let sets = feature_sets(&features);
        // {none, log, defmt} × {none, udp, udp+sntp}: sntp alone is udp+sntp.
        assert_eq!(sets.len(), 9, "{sets:?}");
        assert!(sets.iter().all(|s| !(s.contains(&"log".into()) && s.contains(&"defmt".into()))));
        assert!(sets.iter().filter(|s| s.contains(&"sntp".into())).all(|s| s.contains(&"udp".into())));
        assert!(sets.contains(&vec![]));
    }

    #[test]
    fn binary_names_lose_the_hash() {
        assert_eq!(binary_name("tests/bulk.rs (target/debug/deps/bulk-0123abcd)"), "bulk");
        assert_eq!(binary_name("tests/dhcp_ntp.rs (/abs/deps/dhcp_ntp-99)"), "dhcp_ntp");
        assert_eq!(binary_name("unittests src/lib.rs (target/debug/deps/systests-1a2b)"), "systests");
    }
}
