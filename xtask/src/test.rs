//! `cargo xtask test`: the one command that runs every check, in order of
//! cost, and ends with a summary. The README and `.ci/run` name only this.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::util::{cargo, is_root, root, sh};

const THUMB: &str = "thumbv7em-none-eabihf";
const BOARDS: [&str; 2] = ["mps2-an386", "nucleo-f429zi"];

/// Command-line arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Fail instead of skipping the system tests when not root (CI sets this).
    #[arg(long)]
    pub require_system: bool,
    /// Skip the thumbv7em firmware builds and lints (host-only machines).
    #[arg(long)]
    pub no_firmware: bool,
    /// Skip the root-only system tests.
    #[arg(long)]
    pub no_system: bool,
    /// Seconds of fuzzing (0 skips; needs `cargo +nightly` and cargo-fuzz).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub fuzz_secs: u64,
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
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage = |name: &str, f: &mut dyn FnMut() -> Result<Outcome>| {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let outcome = f().unwrap_or_else(|e| Outcome::Failed(format!("{e:#}")));
        if let Outcome::Failed(why) = &outcome {
            eprintln!("==> {name}: FAILED: {why}");
        }
        stages.push(Stage { name: name.to_owned(), outcome, secs: t.elapsed().as_secs_f64() });
    };

    stage("format", &mut || pass(sh(cargo().args(["fmt", "--all", "--", "--check"]))));
    stage("clippy (host)", &mut || {
        pass(sh(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])))
    });
    if args.no_firmware {
        stage("firmware", &mut || Ok(Outcome::Skipped("--no-firmware".into())));
    } else {
        stage("clippy (thumb: core without logging, with defmt, with every feature; driver; boards)", &mut || {
            for features in ["", "defmt", "defmt,ipv6,udp,dhcp,sntp"] {
                let core = ["clippy", "-p", "echo-core", "--no-default-features", "--features", features];
                sh(cargo().args(core).args(["--target", THUMB, "--", "-D", "warnings"]))?;
            }
            let mut c = cargo();
            c.args(["clippy", "-p", "lan9118", "--target", THUMB]);
            for b in BOARDS {
                c.args(["-p", b]);
            }
            pass(sh(c.args(["--", "-D", "warnings"])))
        });
        stage("firmware images (profile firmware)", &mut || pass(build_boards()));
    }
    stage("unit and in-process tests", &mut || pass(sh(cargo().args(["test", "--workspace"]))));
    stage("system tests (root, network namespaces, TAP, QEMU)", &mut || {
        if args.no_system {
            return Ok(Outcome::Skipped("--no-system".into()));
        }
        if !is_root() {
            if args.require_system {
                bail!("system tests need root (network namespaces and TAP devices)");
            }
            return Ok(Outcome::Skipped("not root: run `sudo -E cargo xtask test` for these".into()));
        }
        pass(system_tests(!args.no_firmware))
    });
    stage("benchmark smoke run (every byte verified, speed not judged)", &mut || {
        if args.no_system || !is_root() {
            return Ok(Outcome::Skipped("needs root, like the system tests".into()));
        }
        let mut c = cargo();
        c.args(["run", "--quiet", "-p", "xtask", "--", "bench", "--smoke"]);
        if args.no_firmware {
            c.arg("--no-qemu");
        }
        pass(sh(&mut c))
    });

    stage("fuzz: arbitrary frames into the server (regression corpus, then new inputs)", &mut || {
        if args.fuzz_secs == 0 {
            return Ok(Outcome::Skipped("--fuzz-secs 0".into()));
        }
        fuzz(args.fuzz_secs, args.require_system)
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

/// Runs the `frames` fuzz target: every committed corpus input first, then
/// `secs` of new ones (written to a scratch directory, not the repository).
fn fuzz(secs: u64, required: bool) -> Result<Outcome> {
    let have = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !have {
        let why = "needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`)";
        return if required { Err(anyhow::anyhow!(why)) } else { Ok(Outcome::Skipped(why.into())) };
    }
    let scratch = std::env::temp_dir().join(format!("echo-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
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
/// handed to the root-only tests by absolute path.
fn system_tests(with_firmware: bool) -> Result<()> {
    sh(cargo().args(["build", "-p", "host-sim", "-p", "echo-client"]))?;
    let target = std::env::var("CARGO_TARGET_DIR").map(Into::into).unwrap_or_else(|_| root().join("target"));
    let mut c: Command = cargo();
    c.args(["test", "-p", "systests", "--", "--ignored", "--test-threads=2"])
        .env("HOST_SIM_BIN", target.join("debug/host-sim"))
        .env("ECHO_CLIENT_BIN", target.join("debug/echo-client"));
    if with_firmware {
        c.env("MPS2_ELF", target.join(THUMB).join("firmware/mps2-an386"));
    }
    sh(&mut c)
}
