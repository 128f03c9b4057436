//! The runner for a real device (`cargo xtask hil`; here its `hil` binary,
//! the same checks) against targets started separately, as a user's board
//! would be: host-sim and, when `MPS2_ELF` is set, the MPS2 firmware in QEMU,
//! each in its own test namespace, with the runner started inside that
//! namespace (`ip netns exec`) and pointed at the device through `tap0`.
//! Also: a wrong address or interface fails with a clear message, a device
//! without a clock is noted (and fails with --expect-time), and the DHCP and
//! SNTP checks against dnsmasq and chronyd.

use std::net::Ipv4Addr;
use std::process::Output;
use std::time::Duration;

use netlab::plan::device_ip_text;
use systests::chrony::{self, Chrony};
use systests::dnsmasq::{self, Dnsmasq};
use systests::process::run_piped;
use systests::{Mode, Netns, Running, Target, DEVICE_IP, DEVICE_IP6, HOST_IP, TAP};

/// The runner, built by cargo for this test.
const HIL: &str = env!("CARGO_BIN_EXE_hil");

/// Lenient floors: the bench competes with the other system tests for the
/// CPU here (a board is judged by the defaults).
const CI_FLOORS: [&str; 6] = ["--bench-secs", "1", "--min-throughput", "0.05", "--max-latency-ms", "200"];

/// Runs the runner inside `ns` with `args`.
fn hil(ns: &Netns, args: &[&str]) -> Output {
    let mut cmd = ns.command(HIL);
    cmd.args(args);
    run_piped(&mut cmd, b"", Duration::from_secs(120)).unwrap_or_else(|e| panic!("hil {args:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The result column of `check`'s row in the table.
fn status<'a>(table: &'a str, check: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(check).filter(|rest| rest.starts_with("  ")))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no row {check:?} in\n{table}"))
}

fn assert_rows(table: &str, expected: &[(&str, &str)]) {
    for (check, want) in expected {
        assert_eq!(status(table, check), *want, "row {check:?} in\n{table}");
    }
}

fn assert_passed(name: &str, out: &Output) -> String {
    let table = stdout(out);
    assert!(
        out.status.success() && table.ends_with("HIL: PASS\n"),
        "{name}: hil failed ({}):\n{table}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    table
}

fn assert_failed(what: &str, out: &Output) -> String {
    let table = stdout(out);
    assert_eq!(out.status.code(), Some(1), "{what}: expected exit status 1:\n{table}");
    assert!(table.ends_with("HIL: FAIL\n"), "{what}:\n{table}");
    table
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn every_check_passes_against_host_sim_and_qemu() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server: Running = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        let device6 = DEVICE_IP6.to_string();
        let mut args = vec!["--device", device_ip_text(), "--iface", TAP, "--ip6", &device6, "--expect-time"];
        args.extend(CI_FLOORS);
        let out = hil(server.ns(), &args);
        let table = assert_passed(name, &out);
        eprintln!("hil against {name}:\n{table}");
        assert_rows(
            &table,
            &[
                ("interface tap0", "pass"),
                ("device answers (TCP echo)", "pass"),
                ("stamp clock", "pass"),
                ("tutorial client (tools/tcpclient.py)", "pass"),
                ("5 concurrent, #6 refused", "pass"),
                ("64 KiB, half-close, byte-exact", "pass"),
                ("UDP echo", "pass"),
                ("IPv6 TCP echo", "pass"),
                ("IPv6 UDP echo", "pass"),
                ("DHCP lease", "skip"),
                ("SNTP clock", "skip"),
                ("bench: throughput", "pass"),
                ("bench: latency p99", "pass"),
            ],
        );
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn a_wrong_address_or_interface_fails_clearly_and_an_unset_clock_is_noted() {
    // A device without a wall clock: SNTP from a server that does not exist
    // (nothing listens on the host side), so it stamps from 1970.
    let target = Target::HostSim {
        mode: Mode::Stamp,
        extra_args: vec!["--clock".into(), "sntp".into(), "--ntp-server".into(), HOST_IP.to_string()],
    };
    let server = target.start().expect("host-sim");
    let ns = server.ns();

    // Nobody at .7: nothing answers, every later check is skipped.
    let out = hil(ns, &["--device", "192.168.69.7", "--iface", TAP, "--no-bench"]);
    let table = assert_failed("wrong address", &out);
    assert!(table.contains("nothing answers at 192.168.69.7:12345"), "{table}");
    assert_rows(&table, &[("interface tap0", "pass"), ("device answers (TCP echo)", "FAIL"), ("UDP echo", "skip")]);

    let out = hil(ns, &["--device", device_ip_text(), "--iface", "nosuch0", "--no-bench"]);
    let table = assert_failed("wrong interface", &out);
    assert!(table.contains("no interface \"nosuch0\" on this host"), "{table}");

    // An address off every route.
    let out = hil(ns, &["--device", "10.1.2.3", "--iface", TAP, "--no-bench"]);
    let table = assert_failed("unrouted address", &out);
    assert!(table.contains("no route to 10.1.2.3"), "{table}");

    // --dhcp against a device at the static fallback address.
    let out = hil(ns, &["--device", device_ip_text(), "--iface", TAP, "--dhcp", "--no-bench"]);
    let table = assert_failed("static address with --dhcp", &out);
    assert_rows(&table, &[("DHCP lease", "FAIL"), ("UDP echo", "pass")]);
    assert!(table.contains(&format!("{DEVICE_IP} is the static fallback address")), "{table}");

    // The unset clock: a note, not a failure (and IPv6 to the link-local
    // address host-sim derives from its MAC, scoped to the interface)...
    let mut args = vec!["--device", device_ip_text(), "--iface", TAP, "--ip6", "fe80::ff:fe00:1"];
    args.extend(CI_FLOORS);
    let out = hil(ns, &args);
    let table = assert_passed("1970 clock", &out);
    assert_rows(
        &table,
        &[
            ("stamp clock", "note"),
            ("64 KiB, half-close, byte-exact", "pass"),
            ("IPv6 TCP echo", "pass"),
            ("IPv6 UDP echo", "pass"),
            ("bench: throughput", "pass"),
        ],
    );
    assert!(table.contains("the device's clock is not set"), "{table}");
    // ...unless wall-clock time is expected.
    let out = hil(ns, &["--device", device_ip_text(), "--iface", TAP, "--expect-time", "--no-bench"]);
    let table = assert_failed("1970 clock with --expect-time", &out);
    assert_rows(&table, &[("stamp clock", "FAIL"), ("tutorial client (tools/tcpclient.py)", "pass")]);
}

#[test]
#[ignore = "needs root, network namespaces, dnsmasq and chrony: run by `cargo xtask test`"]
fn the_dhcp_and_sntp_checks_pass_against_a_leased_synced_host_sim() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let ntp = Chrony::start(&ns, None).expect("chronyd");
    let dhcp =
        Dnsmasq::start(&ns, dnsmasq::Options { ntp_server: Some(HOST_IP), ..Default::default() }).expect("dnsmasq");
    let target =
        Target::HostSim { mode: Mode::Stamp, extra_args: ["--dhcp", "--clock", "sntp"].map(String::from).to_vec() };
    let mut server = target.spawn_in(ns).expect("host-sim");
    let line = server.wait_for_log("DHCP lease 192.168.69.", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e}"));
    let ip: Ipv4Addr = line
        .split("DHCP lease ")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|ip| ip.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!((dnsmasq::RANGE_START..=dnsmasq::RANGE_END).contains(&ip), "{line}");
    server
        .wait_for_log(
            &format!("clock synced by SNTP from {HOST_IP} (stratum {}", chrony::STRATUM),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}\nchronyd:\n{}", ntp.log()));

    let leases = dhcp.lease_file();
    let ip = ip.to_string();
    let leases = leases.to_string_lossy();
    let args = ["--device", &ip, "--iface", TAP, "--dhcp", "--dhcp-leases", &leases, "--sntp", "--no-bench"];
    let out = hil(server.ns(), &args);
    let table = assert_passed("DHCP and SNTP", &out);
    assert_rows(&table, &[("DHCP lease", "pass"), ("SNTP clock", "pass"), ("stamp clock", "pass")]);
    assert!(table.contains(&format!("{ip} leased to 02:00:00:00:00:01")), "{table}");
}
