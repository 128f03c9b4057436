//! `cargo xtask qemu`: builds the MPS2-AN386 firmware, makes sure its TAP is
//! there, boots it in `qemu-system-arm` and prints its defmt log, decoded.
//! Ctrl-C (or `--timeout`) stops QEMU.

mod decode;
mod tap;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use netlab::plan::{DEVICE_MAC, SERVER, TAP};

use crate::util::{cargo, root, sh};

/// The firmware's package and binary name.
pub const BOARD: &str = "mps2-an386";
const THUMB: &str = "thumbv7em-none-eabihf";
/// Where the firmware (built without its `semihosting` feature) finds the
/// host's wall clock (firmware/boards/mps2-an386/src/clock.rs, memory.x).
const HOST_TIME_ADDR: u32 = 0x203F_FFF0;

/// QEMU options every run of the firmware gets: semihosting for a build
/// with that feature; `-no-reboot`, so a firmware that resets itself after a
/// panic ends QEMU instead of starting over; and a generic loader that writes
/// the host's wall clock into RAM at reset (seconds since 1970 in the low
/// word, their complement in the high word).
pub fn firmware_options() -> Vec<String> {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32;
    let data = u64::from(secs) | u64::from(!secs) << 32;
    ["-semihosting-config", "enable=on,target=native", "-no-reboot", "-device"]
        .into_iter()
        .map(String::from)
        .chain([format!("loader,addr={HOST_TIME_ADDR:#x},data={data:#x},data-len=8")])
        .collect()
}

/// Command-line arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// TAP interface the board's Ethernet is attached to; created (as root)
    /// with the lab's host-side addresses (IPv4 and IPv6) and MTU when missing.
    #[arg(long, default_value = TAP, value_name = "NAME")]
    pub tap: String,
    /// Build with the dev profile instead of `firmware` (size-optimised release).
    #[arg(long)]
    pub debug: bool,
    /// Boot this ELF instead of building the firmware.
    #[arg(long, value_name = "PATH")]
    pub elf: Option<PathBuf>,
    /// Stop QEMU after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let elf = match &args.elf {
        Some(elf) => elf.clone(),
        None => build(args.debug)?,
    };
    let image = std::fs::read(&elf).with_context(|| format!("cannot read the firmware ELF {}", elf.display()))?;
    // Before booting: a firmware without defmt data would print only noise.
    let log = decode::Log::from_elf(&image).with_context(|| format!("{}", elf.display()))?;
    tap::ensure(&args.tap)?;
    boot(&elf, &args.tap, args.timeout.map(Duration::from_secs), &log)
}

/// Builds the firmware, returns the ELF's path.
fn build(debug: bool) -> Result<PathBuf> {
    let mut c = cargo();
    c.args(["build", "-p", BOARD, "--target", THUMB]);
    if !debug {
        c.args(["--profile", "firmware"]);
    }
    sh(&mut c)?;
    // Same rule as cargo's: CARGO_TARGET_DIR, relative to the workspace, or target/.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |d| root().join(d));
    let elf = target.join(THUMB).join(if debug { "debug" } else { "firmware" }).join(BOARD);
    if !elf.is_file() {
        bail!("the build succeeded but {} is not there", elf.display());
    }
    Ok(elf)
}

/// The QEMU command line; `QEMU_SYSTEM_ARM` may name another binary.
fn qemu_command(elf: &Path, tap: &str) -> Command {
    let qemu = std::env::var_os("QEMU_SYSTEM_ARM").unwrap_or_else(|| "qemu-system-arm".into());
    let mut c = Command::new(qemu);
    c.args(["-M", BOARD, "-nographic"])
        .args(firmware_options())
        .arg("-kernel")
        .arg(elf)
        .arg("-nic")
        .arg(format!("tap,ifname={tap},script=no,downscript=no,model=lan9118,mac={DEVICE_MAC}"));
    c
}

fn boot(elf: &Path, tap: &str, timeout: Option<Duration>, log: &decode::Log) -> Result<()> {
    let mut cmd = qemu_command(elf, tap);
    // stdin is not QEMU's: a terminal's Ctrl-C then reaches QEMU as SIGINT and
    // stops it, instead of going to the emulated UART. stdout carries the defmt
    // frames (UART0, or semihosting); stderr is QEMU's own messages.
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    eprintln!("\n$ {cmd:?}");
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "qemu-system-arm not found: install it (Debian/Ubuntu: `sudo apt-get install qemu-system-arm`) \
             or point QEMU_SYSTEM_ARM at it"
        ),
        _ => anyhow::anyhow!("cannot start qemu-system-arm: {e}"),
    })?;
    let stdout = child.stdout.take().context("QEMU's stdout was not captured")?;
    eprintln!("QEMU running: {BOARD} on {tap}, device {SERVER}. Ctrl-C stops it.");
    thread::scope(|s| {
        let printer = s.spawn(|| log.print(stdout, std::io::stdout()));
        let waited = wait(&mut child, timeout);
        // QEMU is gone, so its stdout reaches EOF and the printer ends.
        let printed = printer.join().unwrap_or_else(|_| Err(anyhow::anyhow!("log printer panicked")));
        let (status, timed_out) = waited?;
        printed?;
        if timed_out {
            eprintln!("xtask: stopped QEMU after {}s (--timeout)", timeout.unwrap_or_default().as_secs());
            return Ok(());
        }
        if !status.success() {
            bail!("QEMU exited with {status} (the firmware's semihosting exit code, or a QEMU error above)");
        }
        Ok(())
    })
}

/// Waits for QEMU to exit, killing it once `timeout` has passed.
fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<(ExitStatus, bool)> {
    let Some(timeout) = timeout else {
        return Ok((child.wait().context("waiting for QEMU")?, false));
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU")? {
            return Ok((status, false));
        }
        if Instant::now() >= deadline {
            // Already exited between the two calls is fine too.
            let _ = child.kill();
            return Ok((child.wait().context("waiting for QEMU")?, true));
        }
        thread::sleep(Duration::from_millis(50));
    }
}
