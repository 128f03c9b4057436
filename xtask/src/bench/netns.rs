//! Network namespaces the bench makes for itself, and the links inside them.
//! A [`Netns`] is removed, with anything still running in it, when dropped:
//! on success, on error and on Ctrl-C alike.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/var/run/netns";

/// A network namespace owned by this process.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name` with its loopback up. One left behind by an earlier,
    /// killed run is removed first (the caller holds the bench lock, so it
    /// cannot belong to a live run).
    pub fn create(name: &str) -> Result<Self> {
        if Path::new(NETNS_DIR).join(name).exists() {
            eprintln!("bench: removing namespace {name} left by an earlier run");
            drop(Netns { name: name.to_owned() });
        }
        ip(&["netns", "add", name])?;
        // From here on, Drop removes it whatever happens.
        let ns = Netns { name: name.to_owned() };
        ns.ip(&["link", "set", "lo", "up"])?;
        // The bench client closes first, so thousands of setup-phase
        // connections pile up in TIME-WAIT and exhaust its ephemeral ports;
        // let it reuse them (needs TCP timestamps: the kernel and host-sim both
        // send them). Same setting for every target, so the comparison holds.
        let status = ns.exec("sysctl").args(["-qw", "net.ipv4.tcp_tw_reuse=1"]).status()?;
        if !status.success() {
            anyhow::bail!("cannot set net.ipv4.tcp_tw_reuse in namespace {name}");
        }
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec NAME program`: `ip` execs the program in place, so the
    /// child's pid is the program's.
    pub fn exec(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// `ip -n NAME args...`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all).map(drop)
    }

    fn pids(&self) -> Vec<String> {
        ip(&["netns", "pids", &self.name])
            .map(|out| out.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // TERM first so host-sim and QEMU can let go of their TAPs, then KILL.
        signal(&self.pids(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.pids().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        signal(&self.pids(), "KILL");
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("bench: warning: cannot remove network namespace {}: {e:#}", self.name);
        }
    }
}

/// Sends `sig` to `pids` (already gone is fine).
pub fn signal(pids: &[String], sig: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill").args(["-s", sig]).args(pids).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// Joins `a` and `b` with a veth pair (interface `eb0` on both sides) and
/// addresses the ends. It is created inside `a`, so nothing ever appears in
/// the caller's namespace.
pub fn veth(a: &Netns, a_cidr: &str, b: &Netns, b_cidr: &str) -> Result<()> {
    a.ip(&["link", "add", "eb0", "type", "veth", "peer", "name", "eb0", "netns", b.name()])?;
    for (ns, cidr) in [(a, a_cidr), (b, b_cidr)] {
        ns.ip(&["addr", "add", cidr, "dev", "eb0"])?;
        ns.ip(&["link", "set", "eb0", "up"])?;
    }
    Ok(())
}

/// Creates TAP `name` inside `ns` with host side `cidr`, up (for QEMU, which
/// only attaches to an existing TAP).
pub fn tap(ns: &Netns, name: &str, cidr: &str) -> Result<()> {
    ns.ip(&["tuntap", "add", "dev", name, "mode", "tap"])?;
    ns.ip(&["addr", "add", cidr, "dev", name])?;
    ns.ip(&["link", "set", name, "up"])
}

/// Runs `ip args...`; fails with its stderr.
fn ip(args: &[&str]) -> Result<String> {
    let out =
        Command::new("ip").args(args).stdin(Stdio::null()).output().context("cannot run `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
