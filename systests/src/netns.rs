//! A throw-away network namespace: created with its loopback up, removed (with
//! anything still running in it) on drop, even when a test panics.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::output_checked;
use crate::{HOST_CIDR, TAP};

/// Prefix of every namespace the tests create: `echo-test-<pid>-<n>`.
const PREFIX: &str = "echo-test-";
/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/var/run/netns";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A uniquely named network namespace owned by this test.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `echo-test-<pid>-<n>` and brings its `lo` up.
    ///
    /// Also removes namespaces left behind by earlier test processes that
    /// died without cleaning up (their pid no longer exists).
    pub fn new() -> io::Result<Self> {
        // SAFETY: geteuid cannot fail and has no side effects.
        if unsafe { libc::geteuid() } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "system tests need root for network namespaces: run `cargo xtask test` as root",
            ));
        }
        remove_stale();
        let name = format!("{PREFIX}{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        output_checked(Command::new("ip").args(["netns", "add", &name]))?;
        // From here on, Drop removes it whatever happens.
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec NAME program`: a command that runs inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Runs `ip -n NAME args...`, failing with its stderr if it fails.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        output_checked(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// Creates [`TAP`] with the host side [`HOST_CIDR`], up, as a user
    /// would by hand. A target started afterwards (QEMU, or host-sim, which
    /// then uses it as it is) attaches to it; servers that must bind to the
    /// TAP before the target starts (dnsmasq) need this.
    pub fn add_tap(&self) -> io::Result<()> {
        self.ip(&["tuntap", "add", "dev", TAP, "mode", "tap"])?;
        self.ip(&["addr", "add", HOST_CIDR, "dev", TAP])?;
        // As host-sim does for a TAP it creates; nodad: usable at once.
        self.ip(&["-6", "addr", "add", "fdaa::100/64", "dev", TAP, "nodad"])?;
        self.ip(&["link", "set", TAP, "up"])?;
        Ok(())
    }

    /// Joins this namespace to `other` with a veth pair, `name` here and
    /// `other_name` there, both ends with IP MTU `mtu` and up (unaddressed).
    pub fn veth(&self, name: &str, other: &Netns, other_name: &str, mtu: u16) -> io::Result<()> {
        let mtu = mtu.to_string();
        self.ip(&["link", "add", name, "mtu", &mtu, "type", "veth", "peer", "name", other_name])?;
        self.ip(&["link", "set", other_name, "netns", other.name()])?;
        other.ip(&["link", "set", other_name, "mtu", &mtu, "up"])?;
        self.ip(&["link", "set", name, "up"])?;
        Ok(())
    }

    /// Sets a sysctl (`net.ipv4.ip_forward`, ...) inside the namespace only.
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        output_checked(self.command("sysctl").args(["-q", "-w", &format!("{key}={value}")])).map(drop)
    }

    /// A counter from `/proc/net/snmp` as the namespace sees it, like
    /// `("Icmp", "OutDestUnreachs")`.
    pub fn snmp_counter(&self, group: &str, name: &str) -> io::Result<u64> {
        let text = output_checked(self.command("cat").arg("/proc/net/snmp"))?;
        let missing = || io::Error::other(format!("{group} {name} not in /proc/net/snmp"));
        // Two lines per group: the names, then the values.
        let prefix = format!("{group}:");
        let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
        let (names, values) = (lines.next().ok_or_else(missing)?, lines.next().ok_or_else(missing)?);
        let at = names.split_whitespace().position(|n| n == name).ok_or_else(missing)?;
        values.split_whitespace().nth(at).and_then(|v| v.parse().ok()).ok_or_else(missing)
    }

    /// Runs `f` on a thread that has entered the namespace (setns(2) is
    /// per-thread), so std sockets created in `f` live in the namespace.
    /// Sockets keep their namespace, so they may be used from any thread
    /// afterwards. A panic in `f` is propagated.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let handle = File::open(format!("{NETNS_DIR}/{}", self.name))?;
        thread::scope(|s| {
            let worker = s.spawn(move || {
                // SAFETY: `handle` is an open namespace file for the whole call;
                // setns only changes this (scoped, short-lived) thread.
                if unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(f())
            });
            worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Connects to `addr` from inside the namespace.
    pub fn connect(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        self.run(|| TcpStream::connect_timeout(&addr, timeout))?
    }

    /// Pids of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        output_checked(Command::new("ip").args(["netns", "pids", &self.name]))
            .map(|out| out.split_whitespace().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Targets normally stop their own processes; this catches the rest
        // (a helper a test spawned and lost). TERM first so host-sim and QEMU
        // can release their TAPs, then KILL.
        kill_all(&self.pids(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.pids().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        kill_all(&self.pids(), libc::SIGKILL);
        if let Err(e) = output_checked(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("warning: cannot remove network namespace {}: {e}", self.name);
        }
    }
}

fn kill_all(pids: &[i32], signal: libc::c_int) {
    for &pid in pids {
        // SAFETY: plain syscall; a pid that has gone meanwhile just gives ESRCH.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Deletes `echo-test-<pid>-*` namespaces whose creating process is gone.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            // Going through Drop also kills whatever the dead run left inside.
            drop(Netns { name });
        }
    }
}
