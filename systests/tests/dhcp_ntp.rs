//! host-sim's network services against real servers in the test namespace:
//! DHCP from dnsmasq (lease, renewal, static fallback) and its wall clock
//! from chronyd over SNTP (directly, under a faked time, and named by the
//! DHCP lease).
//!
//! Needs the Debian packages dnsmasq, chrony and faketime.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use systests::chrony::{self, Chrony};
use systests::client::{round_trip, stamp_of_reply};
use systests::dnsmasq::{self, Dnsmasq};
use systests::stamp::{now_unix, year_of, TOLERANCE_SECS};
use systests::{udp, Mode, Netns, Running, Target, DEVICE_MAC, HOST_IP, PORT, SERVER};

/// libfaketime's `+3y`: three 365-day years.
const FAKE_OFFSET: &str = "+3y";
const FAKE_OFFSET_SECS: i64 = 3 * 365 * 86_400;

/// Bound on anything DHCP or SNTP must have done after host-sim starts.
const PATIENCE: Duration = Duration::from_secs(10);

/// host-sim in stamp mode on a TAP that may already exist, not waited for.
fn spawn_host_sim(ns: Netns, args: &[&str]) -> Running {
    let target = Target::HostSim { mode: Mode::Stamp, extra_args: args.iter().map(|a| a.to_string()).collect() };
    target.spawn_in(ns).expect("start host-sim")
}

/// The address in host-sim's `DHCP lease <ip>/<len> from ...` line.
fn leased_ip(line: &str) -> Ipv4Addr {
    line.split("DHCP lease ")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|ip| ip.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Waits for a lease, checks dnsmasq agrees, and waits until the echo port
/// accepts at the leased address.
fn wait_for_lease(server: &mut Running, dhcp: &Dnsmasq) -> SocketAddr {
    // Not "asking for a DHCP lease (...)": the lease line names an address.
    let line = server
        .wait_for_log("DHCP lease 192.168.69.", PATIENCE)
        .unwrap_or_else(|e| panic!("{e}\ndnsmasq:\n{}", dhcp.log()));
    let ip = leased_ip(&line);
    assert!((dnsmasq::RANGE_START..=dnsmasq::RANGE_END).contains(&ip), "leased {ip}, outside dnsmasq's range: {line}");
    assert!(line.contains(&format!("from {HOST_IP}")), "{line}");
    let leases = dhcp.leases();
    assert!(
        leases.iter().any(|l| l.ip == ip && l.mac == DEVICE_MAC),
        "dnsmasq has no lease of {ip} to {DEVICE_MAC}: {leases:?}"
    );
    let addr = SocketAddr::from((ip, PORT));
    server.wait_accepting(addr, Duration::from_secs(5)).unwrap_or_else(|e| panic!("echo at the leased address: {e}"));
    addr
}

#[test]
#[ignore = "needs root, network namespaces and dnsmasq: run by `cargo xtask test`"]
fn a_dnsmasq_lease_moves_the_echo_to_the_leased_address() {
    let ns = systests::netns::fresh().expect("namespace");
    // dnsmasq must bind to the TAP before host-sim starts: create it first
    // (host-sim then uses it as it is).
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let dhcp =
        Dnsmasq::start(&ns, dnsmasq::Options { ntp_server: Some(HOST_IP), ..Default::default() }).expect("dnsmasq");
    let mut server = spawn_host_sim(ns, &["--dhcp"]);
    let addr = wait_for_lease(&mut server, &dhcp);

    let mut stream = server.connect_to(addr).expect("connect to the lease");
    round_trip(&mut stream, Mode::Stamp, b"hello").unwrap_or_else(|e| panic!("{e}"));
    let reply = udp::exchange(server.ns(), addr, b"ping", Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("UDP at {addr}: {e}"));
    systests::stamp::check_reply(&reply, b"ping").unwrap_or_else(|e| panic!("{e}"));

    // The static address is not configured while the lease holds.
    assert!(
        server.ns().connect(SERVER, Duration::from_millis(1500)).is_err(),
        "the static {SERVER} answers although a lease is held"
    );
    assert!(!server.log().contains("no DHCP answer"), "fell back although dnsmasq answered:\n{}", server.log());
}

/// dnsmasq's shortest lease is 2 minutes, so clients would renew only after
/// 60 s; the server sets T1 = 4 s, T2 = 8 s instead (options 58, 59), which
/// smoltcp honours.
#[test]
#[ignore = "needs root, network namespaces and dnsmasq: run by `cargo xtask test`"]
fn the_lease_is_renewed_and_the_address_kept() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let mut dhcp =
        Dnsmasq::start(&ns, dnsmasq::Options { renew_secs: Some(4), ..Default::default() }).expect("dnsmasq");
    let mut server = spawn_host_sim(ns, &["--dhcp"]);
    let addr = wait_for_lease(&mut server, &dhcp);
    let ip = match addr {
        SocketAddr::V4(v4) => *v4.ip(),
        SocketAddr::V6(_) => unreachable!("DHCPv4 lease"),
    };
    let first_expiry = dhcp.leases().iter().map(|l| l.expires).max();
    // A connection open across the renewals must survive them (the address
    // is re-applied on each ACK).
    let mut before = server.connect_to(addr).expect("connect before renewals");
    round_trip(&mut before, Mode::Stamp, b"before").unwrap_or_else(|e| panic!("{e}"));

    // The first ACK plus two renewals, each 4 s apart.
    let deadline = Instant::now() + Duration::from_secs(20);
    while dhcp.acks_for(ip) < 3 {
        dhcp.check_running().expect("dnsmasq");
        assert!(
            Instant::now() < deadline,
            "{} ACKs for {ip} after 20 s, expected 3 (renewal every 4 s)\ndnsmasq:\n{}\nhost-sim:\n{}",
            dhcp.acks_for(ip),
            dhcp.log(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let leases = dhcp.leases();
    assert_eq!(leases.iter().map(|l| l.ip).collect::<Vec<_>>(), [ip], "renewal must keep the one address: {leases:?}");
    assert!(leases.iter().map(|l| l.expires).max() > first_expiry, "renewal did not extend the lease: {leases:?}");
    assert!(!server.log().contains("lease lost"), "{}", server.log());
    round_trip(&mut before, Mode::Stamp, b"still here").unwrap_or_else(|e| panic!("across renewals: {e}"));
    let mut after = server.connect_to(addr).expect("connect after renewals");
    round_trip(&mut after, Mode::Stamp, b"new").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn without_a_dhcp_server_the_static_address_answers_after_the_fallback() {
    let ns = systests::netns::fresh().expect("namespace");
    let started = Instant::now();
    let mut server = spawn_host_sim(ns, &["--dhcp", "--dhcp-fallback", "2"]);
    server
        .wait_for_log(
            &format!("no DHCP answer; using the static address {}", netlab::plan::device_cidr()),
            Duration::from_secs(8),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1900), "fell back after {waited:?}, before the 2 s --dhcp-fallback");
    server
        .wait_accepting(SERVER, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("static address after the fallback: {e}"));
    let mut stream = server.connect().expect("connect");
    round_trip(&mut stream, Mode::Stamp, b"hello").unwrap_or_else(|e| panic!("{e}"));
}

/// The sync line names the server and chrony's stratum: the answer came from it.
fn sync_line() -> String {
    format!("clock synced by SNTP from {HOST_IP} (stratum {}", chrony::STRATUM)
}

#[test]
#[ignore = "needs root, network namespaces and chrony: run by `cargo xtask test`"]
fn sntp_from_chrony_sets_the_stamps() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let ntp = Chrony::start(&ns, None).expect("chronyd");
    let served = ntp.first_answer().unix;
    assert!(
        (served - now_unix() as f64).abs() <= TOLERANCE_SECS as f64,
        "chronyd serves {served}, host says {}",
        now_unix()
    );

    let mut server = spawn_host_sim(ns, &["--clock", "sntp", "--ntp-server", &HOST_IP.to_string()]);
    server.wait_accepting(SERVER, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    // Before the first answer stamps count from 1970; it may already be in.
    let mut stream = server.connect().expect("connect");
    let first = stamp_of_reply(&mut stream, b"early").unwrap_or_else(|e| panic!("{e}"));
    let unsynced = year_of(first) == 1970 && first < 3600;
    assert!(
        unsynced || (first - now_unix()).abs() <= TOLERANCE_SECS,
        "first stamp {first} is neither seconds since start (1970) nor now ({})",
        now_unix()
    );

    server.wait_for_log(&sync_line(), PATIENCE).unwrap_or_else(|e| panic!("{e}\nchronyd:\n{}", ntp.log()));
    round_trip(&mut stream, Mode::Stamp, b"synced").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "needs root, network namespaces, chrony and faketime: run by `cargo xtask test`"]
fn stamps_follow_the_ntp_server_not_the_host() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let ntp = Chrony::start(&ns, Some(FAKE_OFFSET)).expect("chronyd under faketime");
    // The premise: chronyd really serves the faked time.
    let skew = ntp.first_answer().unix - now_unix() as f64;
    assert!(
        (skew - FAKE_OFFSET_SECS as f64).abs() <= TOLERANCE_SECS as f64,
        "chronyd under `faketime {FAKE_OFFSET}` serves host time {skew:+.0} s, expected {FAKE_OFFSET_SECS:+} s"
    );

    let mut server = spawn_host_sim(ns, &["--clock", "sntp", "--ntp-server", &HOST_IP.to_string()]);
    server.wait_accepting(SERVER, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    server.wait_for_log(&sync_line(), PATIENCE).unwrap_or_else(|e| panic!("{e}\nchronyd:\n{}", ntp.log()));
    let mut stream = server.connect().expect("connect");
    let stamp = stamp_of_reply(&mut stream, b"when?").unwrap_or_else(|e| panic!("{e}"));
    let now = now_unix();
    let expected = now + FAKE_OFFSET_SECS;
    assert!(
        (stamp - expected).abs() <= TOLERANCE_SECS,
        "stamp {stamp} is {:+} s from the server's time {expected} (host now {now})",
        stamp - expected
    );
    // Three 365-day years land in the previous year only on 1 January
    // after a 29 February: the year check holds every other day.
    if year_of(expected) == year_of(now) + 3 {
        assert_eq!(year_of(stamp), year_of(now) + 3, "stamp year");
    }
}

#[test]
#[ignore = "needs root, network namespaces, dnsmasq and chrony: run by `cargo xtask test`"]
fn the_ntp_server_named_by_the_dhcp_lease_sets_the_clock() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP");
    let ntp = Chrony::start(&ns, None).expect("chronyd");
    let dhcp =
        Dnsmasq::start(&ns, dnsmasq::Options { ntp_server: Some(HOST_IP), ..Default::default() }).expect("dnsmasq");
    // No --ntp-server: the lease's option 42 must name it.
    let mut server = spawn_host_sim(ns, &["--dhcp", "--clock", "sntp"]);
    let addr = wait_for_lease(&mut server, &dhcp);
    server
        .wait_for_log(&format!("using NTP server {HOST_IP} from the DHCP lease"), PATIENCE)
        .unwrap_or_else(|e| panic!("{e}"));
    server.wait_for_log(&sync_line(), PATIENCE).unwrap_or_else(|e| panic!("{e}\nchronyd:\n{}", ntp.log()));
    let mut stream = server.connect_to(addr).expect("connect to the lease");
    round_trip(&mut stream, Mode::Stamp, b"synced").unwrap_or_else(|e| panic!("{e}"));
}
