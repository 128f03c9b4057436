//! The end-to-end checks against a device that is already running — a
//! flashed board, the firmware in QEMU, host-sim — reached from this host
//! through one of its interfaces (`cargo xtask hil`, or the `hil` binary).
//!
//! Nothing is created, changed or removed: the interface toward the device
//! must already exist, be up and carry the route to it (for the NUCLEO:
//! `ip addr add 192.168.69.100/24 dev <iface>`). Traffic goes to the device's
//! address(es) only. The checks are the system tests' ([`crate::checks`]),
//! made from this process's network namespace ([`Here`]); each gives a row
//! of the pass/fail table with what it measured.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use netlab::run_checked;

use crate::checks::{self, Clock, Here, Link};
use crate::process::run_piped;
use crate::stamp::{now_unix, stamp_of, STAMP_LEN};
use crate::{bins, DEVICE_IP};

/// How long the first connection may take before the device counts as not there.
const FIRST_CONNECT: Duration = Duration::from_secs(3);

const ANSWERS: &str = "device answers (TCP echo)";
const TUTORIAL: &str = "tutorial client (tools/tcpclient.py)";
const BULK_NAME: &str = "64 KiB, half-close, byte-exact";
const BENCH: [&str; 2] = ["bench: throughput", "bench: latency p99"];

fn concurrency_name(slots: u16) -> String {
    format!("{slots} concurrent, #{} refused", slots + 1)
}

/// What to check and against what (`cargo xtask hil --help`).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The device's IPv4 address (the echo listens on --port)
    #[arg(long, value_name = "ADDR")]
    pub device: Ipv4Addr,
    /// This host's interface toward the device: used as it is (never created,
    /// changed or removed); it must carry the route to ADDR
    #[arg(long, value_name = "IFACE")]
    pub iface: String,
    /// The echo port
    #[arg(long, value_name = "PORT", default_value_t = crate::PORT)]
    pub port: u16,
    /// Also check TCP and UDP echo over IPv6 at this address (firmware built
    /// with `ipv6`): fdaa::1, or the fe80:: address the board logs at boot
    #[arg(long, value_name = "ADDR6")]
    pub ip6: Option<Ipv6Addr>,
    /// Fail when the stamps count from 1970 (the device has no wall clock)
    /// instead of noting it
    #[arg(long)]
    pub expect_time: bool,
    /// Seconds a stamp may be off this host's clock
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub time_tolerance: u32,
    /// Connections the device serves at once; the next one must be refused
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub slots: u16,
    /// The device has no UDP echo (firmware built without `udp`): skip that check
    #[arg(long)]
    pub no_udp: bool,
    /// The device took ADDR from a DHCP server: check it is not the static
    /// 192.168.69.1 (the fallback when no server answers)
    #[arg(long)]
    pub dhcp: bool,
    /// With --dhcp: the DHCP server's lease file (dnsmasq's), which must
    /// lease ADDR to the device's MAC address
    #[arg(long, value_name = "FILE", requires = "dhcp")]
    pub dhcp_leases: Option<PathBuf>,
    /// The device sets its clock by SNTP: its stamps must be within
    /// --time-tolerance of this host's clock (implies --expect-time)
    #[arg(long)]
    pub sntp: bool,
    /// Skip the bench floors
    #[arg(long)]
    pub no_bench: bool,
    /// Seconds of each bench phase (streaming, then ping-pong latency)
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = parse_secs)]
    pub bench_secs: f64,
    /// Bench floor: MB/s (10^6 B/s) of payload echoed back on one connection
    #[arg(long, value_name = "MB/S", default_value_t = 0.5)]
    pub min_throughput: f64,
    /// Bench ceiling: 99th-percentile round trip of echo-client's 32-byte ping-pong, in ms
    #[arg(long, value_name = "MS", default_value_t = 20.0)]
    pub max_latency_ms: f64,
    /// echo-client binary for the bench [default: $ECHO_CLIENT_BIN, else the newest build]
    #[arg(long, value_name = "PATH")]
    pub echo_client: Option<PathBuf>,
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 600.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds above 0 (at most 600)")),
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed: the run exits 1.
    Fail,
    /// Not run (not asked for, or an earlier check showed it cannot run).
    Skip,
    /// Passed with something the user should know (a clock that is not set).
    Note,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
            Status::Note => "note",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was checked.
    pub check: String,
    /// The verdict.
    pub status: Status,
    /// What was measured, or why it failed or was skipped.
    pub detail: String,
}

/// Every check's row, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Heading: what was checked, where.
    pub title: String,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Report {
    fn add(&mut self, check: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.rows.push(Row { check: check.into(), status, detail: detail.into() });
    }

    fn outcome(&mut self, check: &str, result: Result<String, String>) -> bool {
        match result {
            Ok(figure) => self.add(check, Status::Pass, figure),
            Err(why) => self.add(check, Status::Fail, why),
        }
        self.rows.last().is_some_and(|r| r.status != Status::Fail)
    }

    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.failures() == 0
    }

    /// How many checks failed.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.status == Status::Fail).count()
    }

    /// The table: one line per check, then the totals.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|r| r.check.chars().count()).max().unwrap_or(0).max("check".len());
        let mut out = format!("{}\n\n{:<width$}  result  measured / why\n", self.title, "check");
        for r in &self.rows {
            // Multi-line details (a program's output) stay under their row.
            let mut lines = r.detail.lines();
            let _ = writeln!(out, "{:<width$}  {:<6}  {}", r.check, r.status.word(), lines.next().unwrap_or(""));
            for line in lines {
                let _ = writeln!(out, "{:<width$}          {line}", "");
            }
        }
        let count = |s: Status| self.rows.iter().filter(|r| r.status == s).count();
        let _ = writeln!(
            out,
            "\n{} checks: {} passed, {} failed, {} skipped, {} passed with a note",
            self.rows.len(),
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip),
            count(Status::Note)
        );
        out.push_str(if self.passed() { "HIL: PASS\n" } else { "HIL: FAIL\n" });
        out
    }
}

/// Runs every check asked for against the device and returns the rows.
pub fn run(args: &Args) -> Report {
    let server = SocketAddr::V4(SocketAddrV4::new(args.device, args.port));
    let mut report = Report {
        title: format!("End-to-end checks against the device at {server} via {}", args.iface),
        rows: Vec::new(),
    };
    let link: &dyn Link = &Here;

    // 1. The interface and the route: nothing else is worth trying without them.
    let iface_ok = report.outcome(&format!("interface {}", args.iface), interface(&args.iface, args.device.into()));
    // 2. The device answers; its first stamp says whether it has a clock.
    let probe = if iface_ok { Some(probe(server)) } else { None };
    let first_stamp = match probe {
        Some(Ok((stamp, figure))) => {
            report.add(ANSWERS, Status::Pass, figure);
            stamp
        }
        failed => {
            let why = match failed {
                Some(Err(why)) => {
                    report.add(ANSWERS, Status::Fail, why);
                    "not run: the device does not answer"
                }
                _ => {
                    report.add(ANSWERS, Status::Skip, "not tried: the interface check failed");
                    "not run: the interface check failed"
                }
            };
            let rest = [
                "stamp clock".to_owned(),
                TUTORIAL.to_owned(),
                concurrency_name(args.slots),
                BULK_NAME.to_owned(),
                "UDP echo".to_owned(),
                "IPv6 TCP echo".to_owned(),
                "IPv6 UDP echo".to_owned(),
                "DHCP lease".to_owned(),
                "SNTP clock".to_owned(),
                BENCH[0].to_owned(),
                BENCH[1].to_owned(),
            ];
            for check in rest {
                report.add(check, Status::Skip, why);
            }
            return report;
        }
    };
    let expect_time = args.expect_time || args.sntp;
    let tolerance = i64::from(args.time_tolerance);
    let clock = clock_row(&mut report, first_stamp, expect_time, tolerance);

    // 3. The end-to-end suite.
    report.outcome(TUTORIAL, checks::tutorial_client(Command::new("python3"), server, clock));
    report.outcome(&concurrency_name(args.slots), checks::concurrency(link, server, usize::from(args.slots), clock));
    report.outcome(BULK_NAME, checks::bulk_half_close(link, server, checks::BULK, clock));
    if args.no_udp {
        report.add("UDP echo", Status::Skip, "--no-udp");
    } else {
        report.outcome("UDP echo", checks::udp_echo(link, server, clock));
    }
    match args.ip6 {
        None => {
            report.add("IPv6 TCP echo", Status::Skip, "no --ip6 ADDR6 given");
            report.add("IPv6 UDP echo", Status::Skip, "no --ip6 ADDR6 given");
        }
        Some(ip6) => {
            let scope = if is_link_local(ip6) { if_index(&args.iface) } else { 0 };
            let server6 = SocketAddr::V6(SocketAddrV6::new(ip6, args.port, 0, scope));
            let route = interface(&args.iface, ip6.into());
            if let Err(why) = route {
                report.add("IPv6 TCP echo", Status::Fail, why);
                report.add("IPv6 UDP echo", Status::Skip, "not tried: no route (see IPv6 TCP echo)");
            } else {
                report.outcome("IPv6 TCP echo", checks::tcp_echo(link, server6, clock));
                if args.no_udp {
                    report.add("IPv6 UDP echo", Status::Skip, "--no-udp");
                } else {
                    report.outcome("IPv6 UDP echo", checks::udp_echo(link, server6, clock));
                }
            }
        }
    }
    if args.dhcp {
        report.outcome("DHCP lease", dhcp(args));
    } else {
        report.add("DHCP lease", Status::Skip, "not asked (--dhcp)");
    }
    if args.sntp {
        report.outcome("SNTP clock", sntp(server, tolerance));
    } else {
        report.add("SNTP clock", Status::Skip, "not asked (--sntp)");
    }

    // 4. Bench floors, last: they load the device.
    if args.no_bench {
        report.add(BENCH[0], Status::Skip, "--no-bench");
        report.add(BENCH[1], Status::Skip, "--no-bench");
    } else {
        bench(&mut report, args, server);
    }
    report
}

/// The interface exists and is up, and the kernel routes `to` through it.
/// Returns the host's addresses on it.
fn interface(iface: &str, to: IpAddr) -> Result<String, String> {
    let dev = Path::new("/sys/class/net").join(iface);
    if !dev.exists() {
        let names: Vec<String> = std::fs::read_dir("/sys/class/net")
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        return Err(format!("no interface {iface:?} on this host (there are: {})", names.join(", ")));
    }
    let flags = std::fs::read_to_string(dev.join("flags")).unwrap_or_default();
    let up = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).is_ok_and(|f| f & 1 == 1);
    if !up {
        return Err(format!("{iface} is down: `ip link set {iface} up`"));
    }
    let mut get = Command::new("ip");
    get.args(["route", "get", &to.to_string()]);
    if is_link_local_ip(to) {
        get.args(["oif", iface]);
    }
    let hint = format!(
        "give {iface} an address in the device's subnet, e.g. `ip addr add {} dev {iface}`",
        netlab::plan::host_cidr()
    );
    let route = run_checked(&mut get).map_err(|e| format!("no route to {to} ({e}): {hint}"))?;
    let dev_of = route.split_whitespace().skip_while(|w| *w != "dev").nth(1).unwrap_or("?").to_owned();
    if dev_of != iface {
        return Err(format!(
            "the route to {to} goes through {dev_of}, not {iface} ({}): {hint}",
            route.lines().next().unwrap_or("").trim()
        ));
    }
    let family = if to.is_ipv4() { "-4" } else { "-6" };
    let addrs = run_checked(Command::new("ip").args([family, "-o", "addr", "show", "dev", iface]))
        .map(|out| {
            out.lines()
                .filter_map(|l| l.split_whitespace().skip_while(|w| !w.starts_with("inet")).nth(1).map(str::to_owned))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Ok(format!("up, route to {to} via {iface}; host address {}", if addrs.is_empty() { "?" } else { &addrs }))
}

/// Connects (no refusal retries: the device must be listening) and sends one
/// probe; returns its stamp's time and the figure.
fn probe(server: SocketAddr) -> Result<(i64, String), String> {
    let started = Instant::now();
    let mut stream = Here.tcp(server, FIRST_CONNECT).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "refused: is it the echo firmware on this port, with a slot free (no other clients)?"
            }
            _ => "is the device running, at this address, and cabled to this interface?",
        };
        format!("nothing answers at {server} within {FIRST_CONNECT:?} ({e}): {hint}")
    })?;
    let connected = started.elapsed();
    stream.set_read_timeout(Some(crate::target::IO_TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(crate::target::IO_TIMEOUT)).map_err(|e| e.to_string())?;
    let sent = Instant::now();
    std::io::Write::write_all(&mut stream, b"hil probe").map_err(|e| format!("send: {e}"))?;
    let mut reply = vec![0; STAMP_LEN + b"hil probe".len()];
    crate::client::read_exact_reporting(&mut stream, &mut reply).map_err(|e| format!("reply: {e}"))?;
    let rtt = sent.elapsed();
    let stamp = stamp_of(&reply, b"hil probe").map_err(|e| format!("reply is not the stamped echo: {e}"))?;
    // Clean close, so the slot is free for the checks.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = crate::client::read_to_eof(&mut stream, crate::target::IO_TIMEOUT);
    Ok((
        stamp,
        format!(
            "connect {:.2} ms, echo {:.2} ms: {}",
            connected.as_secs_f64() * 1e3,
            rtt.as_secs_f64() * 1e3,
            String::from_utf8_lossy(&reply)
        ),
    ))
}

/// The "stamp clock" row, and how the other checks judge stamps.
fn clock_row(report: &mut Report, stamp: i64, expect_time: bool, tolerance: i64) -> Clock {
    let off = stamp - now_unix();
    let host = Clock::Host { tolerance };
    if host.check(stamp).is_ok() {
        report.add("stamp clock", Status::Pass, format!("{off:+} s from this host's clock (tolerance {tolerance} s)"));
        return host;
    }
    if checks::is_since_boot(stamp) {
        let why = format!(
            "the device's clock is not set: stamps count {stamp} s since boot from 1970 (no SNTP, or not synced yet)"
        );
        if expect_time {
            report.add("stamp clock", Status::Fail, format!("{why}; --expect-time/--sntp needs wall-clock time"));
        } else {
            report.add(
                "stamp clock",
                Status::Note,
                format!("{why}; other checks accept 1970 (--expect-time fails it)"),
            );
        }
        return Clock::SinceBoot;
    }
    report.add(
        "stamp clock",
        Status::Fail,
        format!("stamp is {off:+} s off this host's clock (tolerance {tolerance} s), and not a 1970 since-boot count"),
    );
    // The other checks still judge payloads; their stamps against the host.
    host
}

/// --dhcp: the device is not at the static fallback; with --dhcp-leases the
/// server's lease file leases ADDR to the device's MAC (as the neighbour
/// table has it).
fn dhcp(args: &Args) -> Result<String, String> {
    if args.device == DEVICE_IP {
        return Err(format!(
            "{} is the static fallback address: the device did not take an address from DHCP",
            args.device
        ));
    }
    let neigh = run_checked(Command::new("ip").args(["neigh", "show", &args.device.to_string(), "dev", &args.iface]))
        .map_err(|e| format!("cannot read the neighbour table: {e}"))?;
    let mac = neigh
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .ok_or_else(|| format!("no MAC address for {} in the neighbour table: {neigh:?}", args.device))?
        .to_ascii_lowercase();
    let Some(file) = &args.dhcp_leases else {
        return Ok(format!("{} (not the static {DEVICE_IP}), MAC {mac}; no --dhcp-leases to check", args.device));
    };
    let leases = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    // dnsmasq: `<expiry> <mac> <ip> <hostname> <client-id>` per line.
    let ip = args.device.to_string();
    let leased = leases.lines().find(|l| l.split_whitespace().any(|w| w == ip));
    match leased {
        Some(line) if line.to_ascii_lowercase().split_whitespace().any(|w| w == mac) => {
            Ok(format!("{ip} leased to {mac} ({})", file.display()))
        }
        Some(line) => Err(format!("{} leases {ip} to another MAC, not {mac}: {line:?}", file.display())),
        None => Err(format!("{} has no lease of {ip}:\n{leases}", file.display())),
    }
}

/// --sntp: a fresh stamp within the tolerance of the host's clock.
fn sntp(server: SocketAddr, tolerance: i64) -> Result<String, String> {
    let mut stream = checks::connect(&Here, server, checks::SLOT_WAIT).map_err(|e| format!("connect: {e}"))?;
    let stamp = checks::round_trip(&mut stream, b"what time is it?", Clock::Host { tolerance })?;
    Ok(format!("stamp {:+} s from this host's clock (tolerance {tolerance} s)", stamp - now_unix()))
}

/// `echo-client bench` for one streaming connection, then latency, both in
/// stamp mode with every byte verified; the floors judge its figures.
fn bench(report: &mut Report, args: &Args, server: SocketAddr) {
    let names = BENCH;
    let figures = bench_figures(args, server);
    let (throughput, p99_us) = match figures {
        Ok(f) => f,
        Err(why) => {
            report.add(names[0], Status::Fail, why);
            report.add(names[1], Status::Skip, "not judged: the bench did not complete");
            return;
        }
    };
    let floor = args.min_throughput;
    report.outcome(
        names[0],
        if throughput >= floor {
            Ok(format!("{throughput:.2} MB/s echoed back, 1 conn (floor {floor} MB/s; --min-throughput)"))
        } else {
            Err(format!("{throughput:.2} MB/s echoed back, 1 conn: below the floor of {floor} MB/s (--min-throughput)"))
        },
    );
    let p99_ms = p99_us / 1e3;
    let ceiling = args.max_latency_ms;
    report.outcome(
        names[1],
        if p99_ms <= ceiling {
            Ok(format!("{p99_ms:.3} ms round trip (ceiling {ceiling} ms; --max-latency-ms)"))
        } else {
            Err(format!("{p99_ms:.3} ms round trip: above the ceiling of {ceiling} ms (--max-latency-ms)"))
        },
    );
}

/// Payload MB/s echoed back and the p99 round trip in µs.
fn bench_figures(args: &Args, server: SocketAddr) -> Result<(f64, f64), String> {
    let client = match &args.echo_client {
        Some(path) => path.clone(),
        None => bins::echo_client().map_err(|e| e.to_string())?,
    };
    let secs = args.bench_secs.to_string();
    let mut cmd = Command::new(&client);
    cmd.args(["bench", &server.to_string(), "--mode", "stamp", "--phases", "stream,latency", "--conns", "1"]).args([
        "--duration",
        &secs,
        "--connect-timeout",
        "5",
        "--json",
    ]);
    let limit = Duration::from_secs_f64(2.0 * args.bench_secs + 45.0);
    let out = run_piped(&mut cmd, b"", limit).map_err(|e| format!("echo-client bench: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "echo-client bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("echo-client bench printed no JSON ({e}): {stdout:?}"))?;
    let num = |a: &str, b: &str| v[a][b].as_f64().ok_or_else(|| format!("echo-client's report lacks {a}.{b}: {v}"));
    let (sent, verified) = (num("stream", "tx_bytes")?, num("stream", "verified_bytes")?);
    if sent <= 0.0 || verified < sent {
        return Err(format!("stream: {sent} bytes sent but {verified} verified"));
    }
    if num("latency", "samples")? < 1.0 {
        return Err("latency: no round trip completed".into());
    }
    Ok((num("stream", "rx_payload_mb_per_s")?, num("latency", "p99_us")?))
}

fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

fn is_link_local_ip(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if is_link_local(v6))
}

/// The interface's index, for a link-local address's scope.
fn if_index(iface: &str) -> u32 {
    std::ffi::CString::new(iface).map_or(0, |name| {
        // SAFETY: `name` is a valid NUL-terminated string for the call.
        unsafe { libc::if_nametoindex(name.as_ptr()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_check_and_says_fail() {
        let mut r = Report { title: "t".into(), rows: Vec::new() };
        r.add("one", Status::Pass, "1 ms");
        r.add("second check", Status::Fail, "why\nmore");
        r.add("three", Status::Note, "1970");
        let table = r.table();
        assert!(table.contains("one           pass    1 ms\n"), "{table}");
        assert!(table.contains("second check  FAIL    why\n                      more\n"), "{table}");
        assert!(table.ends_with("3 checks: 1 passed, 1 failed, 0 skipped, 1 passed with a note\nHIL: FAIL\n"));
        assert_eq!(r.failures(), 1);
        r.rows.remove(1);
        assert!(r.passed() && r.table().ends_with("HIL: PASS\n"));
    }

    #[test]
    fn the_clock_is_judged_as_asked() {
        let now = now_unix();
        let mut r = Report::default();
        assert_eq!(clock_row(&mut r, now, true, 2), Clock::Host { tolerance: 2 });
        assert_eq!(clock_row(&mut r, 42, false, 2), Clock::SinceBoot);
        assert_eq!(clock_row(&mut r, 42, true, 2), Clock::SinceBoot);
        clock_row(&mut r, now - 3600, false, 2);
        let s: Vec<Status> = r.rows.iter().map(|r| r.status).collect();
        assert_eq!(s, [Status::Pass, Status::Note, Status::Fail, Status::Fail]);
        assert!(Clock::SinceBoot.check(42).is_ok() && Clock::SinceBoot.check(now).is_ok());
        assert!(Clock::SinceBoot.check(now - 3600).is_err());
        assert!(Clock::Host { tolerance: 2 }.check(42).unwrap_err().contains("not set (1970)"));
    }

    #[test]
    fn link_local_addresses_are_told() {
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(!is_link_local("fdaa::1".parse().unwrap()));
    }
}
