//! Network namespaces: created with their loopback up, removed (with anything
//! still running in them) on drop, on success, error, panic and Ctrl-C alike.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{ip, run_checked};

/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/var/run/netns";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A network namespace owned by this process.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name` with its loopback up. One of that name left behind by
    /// an earlier, killed run is removed first: callers pick names no live
    /// process uses (a lock, or [`Netns::unique`]).
    pub fn create(name: &str) -> io::Result<Self> {
        if Path::new(NETNS_DIR).join(name).exists() {
            eprintln!("netlab: removing namespace {name} left by an earlier run");
            drop(Netns { name: name.to_owned() });
        }
        ip(&["netns", "add", name])?;
        // From here on, Drop removes it whatever happens.
        let ns = Netns { name: name.to_owned() };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Creates `<prefix><pid>-<n>`, unique within this process, so tests
    /// may run in parallel. First removes `<prefix><pid>-*` namespaces whose
    /// creating process is gone (it died without cleaning up).
    pub fn unique(prefix: &str) -> io::Result<Self> {
        remove_stale(prefix);
        Netns::create(&unique_name(prefix, std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec NAME program`: `ip` execs the program in place, so a
    /// spawned child's pid is the program's.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Runs `ip -n NAME args...` and returns its stdout.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        Ok(ip(&in_namespace(Some(&self.name), args))?)
    }

    /// Adds TAP `spec.name` inside the namespace and sets it up
    /// ([`crate::tap::setup`]), as a user would by hand: a target started
    /// afterwards (QEMU, or host-sim, which then uses it as it is) attaches
    /// to it, and servers that must bind to the host side before the target
    /// starts (dnsmasq) can.
    pub fn add_tap(&self, spec: &crate::tap::TapSpec) -> io::Result<()> {
        crate::tap::setup(Some(self), spec, crate::tap::Device::Add)
    }

    /// Sets a sysctl (`net.ipv4.ip_forward`, ...) inside the namespace only.
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        run_checked(self.command("sysctl").args(["-q", "-w", &format!("{key}={value}")]))?;
        Ok(())
    }

    /// Joins this namespace to `other` with a veth pair, `name` here and
    /// `other_name` there, both up and unaddressed, with IP MTU `mtu` if given.
    /// The pair is created inside the namespaces, so nothing ever appears in
    /// the caller's.
    pub fn veth(&self, name: &str, other: &Netns, other_name: &str, mtu: Option<usize>) -> io::Result<()> {
        let args = veth_args(name, other.name(), other_name, mtu);
        self.ip(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        other.ip(&["link", "set", other_name, "up"])?;
        self.ip(&["link", "set", name, "up"])?;
        Ok(())
    }

    /// A counter from `/proc/net/snmp` as the namespace sees it, like
    /// `("Icmp", "OutDestUnreachs")`.
    pub fn snmp_counter(&self, group: &str, name: &str) -> io::Result<u64> {
        let text = run_checked(self.command("cat").arg("/proc/net/snmp"))?;
        snmp_value(&text, group, name).ok_or_else(|| io::Error::other(format!("{group} {name} not in /proc/net/snmp")))
    }

    /// Runs `f` on a thread that has entered the namespace (setns(2) is
    /// per-thread), so std sockets created in `f` live in the namespace.
    /// Sockets keep their namespace, so they may be used from any thread
    /// afterwards. A panic in `f` is propagated.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let handle = File::open(Path::new(NETNS_DIR).join(&self.name))?;
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
        ip(&["netns", "pids", &self.name])
            .map(|out| out.split_whitespace().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Owners normally stop their own processes; this catches the rest.
        // TERM first so host-sim and QEMU can let go of their TAPs, then KILL.
        signal_all(&self.pids(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.pids().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        signal_all(&self.pids(), libc::SIGKILL);
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("netlab: warning: cannot remove network namespace {}: {e}", self.name);
        }
    }
}

/// `args` for `ip`, run inside namespace `ns` if given (`ip -n NS ...`).
pub fn in_namespace<'a>(ns: Option<&'a str>, args: &[&'a str]) -> Vec<&'a str> {
    ns.map_or(Vec::new(), |ns| vec!["-n", ns]).into_iter().chain(args.iter().copied()).collect()
}

fn unique_name(prefix: &str, pid: u32, n: usize) -> String {
    format!("{prefix}{pid}-{n}")
}

/// The creator's pid in a name made by [`unique_name`].
fn creator_pid(prefix: &str, name: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.split('-').next()?.parse().ok()
}

fn veth_args(name: &str, other_ns: &str, other_name: &str, mtu: Option<usize>) -> Vec<String> {
    let mtu: Vec<String> = mtu.map(|m| vec!["mtu".to_owned(), m.to_string()]).unwrap_or_default();
    let mut args: Vec<String> = vec!["link".into(), "add".into(), name.into()];
    args.extend(mtu.iter().cloned());
    args.extend(["type", "veth", "peer", "name", other_name].map(String::from));
    args.extend(mtu);
    args.extend(["netns".to_owned(), other_ns.to_owned()]);
    args
}

/// A value from `/proc/net/snmp`: two lines per group, the names then the values.
fn snmp_value(text: &str, group: &str, name: &str) -> Option<u64> {
    let prefix = format!("{group}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    let (names, values) = (lines.next()?, lines.next()?);
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

fn signal_all(pids: &[i32], signal: libc::c_int) {
    for &pid in pids {
        // SAFETY: plain syscall; a pid that has gone meanwhile just gives ESRCH.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Deletes `<prefix><pid>-*` namespaces whose creating process is gone.
fn remove_stale(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = creator_pid(prefix, &name) {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                // Going through Drop also kills whatever the dead run left inside.
                drop(Netns { name });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_arguments_go_into_the_namespace_when_one_is_named() {
        assert_eq!(in_namespace(Some("ns1"), &["link", "set", "lo", "up"]), ["-n", "ns1", "link", "set", "lo", "up"]);
        assert_eq!(in_namespace(None, &["link", "show"]), ["link", "show"]);
    }

    #[test]
    fn unique_names_carry_the_creators_pid() {
        let name = unique_name("echo-test-", 4242, 7);
        assert_eq!(name, "echo-test-4242-7");
        assert_eq!(creator_pid("echo-test-", &name), Some(4242));
        assert_eq!(creator_pid("echo-test-", "echo-bench-sim"), None);
        assert_eq!(creator_pid("echo-test-", "echo-test-x-1"), None);
    }

    #[test]
    fn veth_pair_is_made_in_place_with_the_mtu_on_both_ends() {
        assert_eq!(
            veth_args("rt0", "ns2", "cl0", Some(576)).join(" "),
            "link add rt0 mtu 576 type veth peer name cl0 mtu 576 netns ns2"
        );
        assert_eq!(veth_args("eb0", "k2", "eb0", None).join(" "), "link add eb0 type veth peer name eb0 netns k2");
    }

    #[test]
    fn snmp_counters_are_found_by_group_and_name() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 1 64\nIcmp: InMsgs OutDestUnreachs\nIcmp: 3 9\n";
        assert_eq!(snmp_value(text, "Icmp", "OutDestUnreachs"), Some(9));
        assert_eq!(snmp_value(text, "Ip", "DefaultTTL"), Some(64));
        assert_eq!(snmp_value(text, "Icmp", "Nope"), None);
        assert_eq!(snmp_value(text, "Tcp", "InSegs"), None);
    }
}
