//! The servers under test, each in namespaces of its own, and the client
//! command that reaches them from the right namespace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use echo_core::Mode;
use netlab::plan::{self, DEVICE_MAC, TAP};
use netlab::tap::TapSpec;
use netlab::Netns;

use super::proc::{check_interrupt, pause, run_bounded, Server};
use crate::qemu::BOARD;

/// The kernel-echo pair's addresses: a veth link of their own, away from the lab plan.
const KERNEL_SERVER: &str = "10.99.0.1";
const KERNEL_CLIENT: &str = "10.99.0.2";
const KERNEL_PREFIX: &str = "/24";

/// The release binaries the bench runs.
pub struct Bins {
    /// `host-sim`.
    pub host_sim: PathBuf,
    /// `echo-client`.
    pub echo_client: PathBuf,
    /// `kernel-echo`.
    pub kernel_echo: PathBuf,
}

/// A running server and where the client runs to reach it.
pub struct Target {
    /// Name in tables and progress lines.
    pub label: &'static str,
    /// Server address, as seen from the client's namespace.
    addr: String,
    /// `--mode` for the client.
    mode: Mode,
    // Field order is drop order: the server stops before its namespaces go.
    server: Server,
    /// The client runs in `namespaces[client]`.
    client: usize,
    namespaces: Vec<Netns>,
}

impl Target {
    /// host-sim in namespace `echo-bench-sim`, where it creates `tap0` (the
    /// lab's host side); the client runs beside it.
    pub fn host_sim(bins: &Bins, mode: Mode, extra: &[String], logs: &Path) -> Result<Self> {
        let ns = bench_namespace("echo-bench-sim")?;
        let mut cmd = ns.command(&bins.host_sim);
        cmd.args(["--mode", mode.name(), "--tap", TAP, "--host-ip", plan::host_cidr()]).args(extra);
        // At info, host-sim logs up to 10 echoed messages a second: a cost the kernel's echo does not pay.
        cmd.env("RUST_LOG", "warn");
        let server = Server::spawn("host-sim", &mut cmd, &logs.join("host-sim.log"))?;
        Ok(Target { label: "host-sim", addr: plan::SERVER.to_string(), mode, server, client: 0, namespaces: vec![ns] })
    }

    /// kernel-echo in `echo-bench-k1` on 10.99.0.1, the client in
    /// `echo-bench-k2` on 10.99.0.2, joined by a veth pair.
    pub fn kernel(bins: &Bins, mode: Mode, logs: &Path) -> Result<Self> {
        let k1 = bench_namespace("echo-bench-k1")?;
        let k2 = bench_namespace("echo-bench-k2")?;
        k1.veth("eb0", &k2, "eb0", None)?;
        k1.ip(&["addr", "add", &format!("{KERNEL_SERVER}{KERNEL_PREFIX}"), "dev", "eb0"])?;
        k2.ip(&["addr", "add", &format!("{KERNEL_CLIENT}{KERNEL_PREFIX}"), "dev", "eb0"])?;
        let addr = format!("{KERNEL_SERVER}:{}", plan::PORT);
        let mut cmd = k1.command(&bins.kernel_echo);
        cmd.args(["--listen", &addr, "--mode", mode.name()]);
        let server = Server::spawn("kernel-echo", &mut cmd, &logs.join("kernel-echo.log"))?;
        Ok(Target { label: "kernel", addr, mode, server, client: 1, namespaces: vec![k1, k2] })
    }

    /// The firmware `elf` in QEMU, its LAN9118 on `tap0` in `echo-bench-qemu`.
    /// The firmware stamps its echoes.
    pub fn qemu(elf: &Path, logs: &Path) -> Result<Self> {
        let ns = bench_namespace("echo-bench-qemu")?;
        ns.add_tap(&TapSpec::lab(TAP))?;
        let qemu = std::env::var_os("QEMU_SYSTEM_ARM").unwrap_or_else(|| "qemu-system-arm".into());
        let mut cmd = ns.command(qemu);
        cmd.args(["-M", BOARD, "-nographic"])
            .args(crate::qemu::firmware_options())
            .arg("-kernel")
            .arg(elf)
            .arg("-nic")
            .arg(format!("tap,ifname={TAP},script=no,downscript=no,model=lan9118,mac={DEVICE_MAC}"));
        // Its stdout is the binary defmt log: only QEMU's own messages are kept.
        let server = Server::spawn("QEMU", &mut cmd, &logs.join("qemu.log"))?;
        Ok(Target {
            label: "QEMU",
            addr: plan::SERVER.to_string(),
            mode: Mode::Stamp,
            server,
            client: 0,
            namespaces: vec![ns],
        })
    }

    /// `echo-client bench` against this target, from the client's namespace,
    /// reporting JSON.
    pub fn client(&self, bins: &Bins) -> Command {
        let mut c = self.namespaces[self.client].command(&bins.echo_client);
        c.args(["bench", &self.addr, "--mode", self.mode.name(), "--json", "--reply-timeout", "5"]);
        // Phases end on time, not on these caps.
        c.args(["--max-pings", "1000000000"]);
        c
    }

    /// Waits until one connect–echo–close cycle succeeds, or `timeout` passes.
    pub fn wait_ready(&mut self, bins: &Bins, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.server.ensure_alive()?;
            let mut probe = self.client(bins);
            probe.args(["--phases", "setup", "--duration", "0.01", "--max-setups", "1", "--connect-timeout", "1"]);
            let err = match run_bounded(&mut probe, Duration::from_secs(15), || {}) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            check_interrupt()?;
            if Instant::now() >= deadline {
                return Err(anyhow!(
                    "{} at {} did not answer within {} s: {err:#}\n{}",
                    self.label,
                    self.addr,
                    timeout.as_secs(),
                    self.server.log_tail()
                ));
            }
            pause(Duration::from_millis(200))?;
        }
    }

    /// The server process (for /proc figures).
    pub fn server_pid(&self) -> u32 {
        self.server.pid()
    }

    /// Fails, with the server's log, if the server has exited.
    pub fn ensure_alive(&mut self) -> Result<()> {
        self.server.ensure_alive()
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        self.server.log_tail()
    }
}

/// A namespace `name` for the bench (the bench lock makes the fixed name
/// ours). The client closes first, so thousands of setup-phase connections
/// pile up in TIME-WAIT and exhaust its ephemeral ports; let it reuse them
/// (needs TCP timestamps: the kernel and host-sim both send them). Same
/// setting for every target, so the comparison holds.
fn bench_namespace(name: &str) -> Result<Netns> {
    let ns = Netns::create(name)?;
    ns.sysctl("net.ipv4.tcp_tw_reuse", "1")?;
    Ok(ns)
}
