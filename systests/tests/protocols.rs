//! Beyond the tutorial's IPv4 TCP: the same echo over IPv6 and UDP echo on
//! the same port (IPv4 and IPv6) — host-sim and, when `MPS2_ELF` is set, the
//! MPS2-AN386 firmware in QEMU (its default features include both) — and
//! host-sim's line mode.

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use systests::checks::{self, Clock};
use systests::client::{read_to_eof, round_trip};
use systests::stamp::{check_recent, records_with};
use systests::target::IO_TIMEOUT;
use systests::{udp, Mode, Target, SERVER, SERVER6};

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn hello_over_ipv6_comes_back_stamped() {
    for target in Target::stamp_targets() {
        let server = target.start().unwrap_or_else(|e| panic!("{}: {e}", target.name()));
        let name = target.name();
        let mut stream = server
            .connect_to(SERVER6)
            .unwrap_or_else(|e| panic!("{name}: connect to {SERVER6}: {e}\n{}", server.log()));
        round_trip(&mut stream, Mode::Stamp, b"hello").unwrap_or_else(|e| panic!("{name}: {e}"));
        round_trip(&mut stream, Mode::Stamp, b"hello again").unwrap_or_else(|e| panic!("{name}: {e}"));
        stream.shutdown(Shutdown::Write).expect("shutdown");
        let rest = read_to_eof(&mut stream, IO_TIMEOUT).expect("FIN after ours");
        assert!(rest.is_empty(), "{name}: unexpected bytes: {rest:?}");
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn udp_datagrams_are_answered_stamped_over_ipv4_and_ipv6() {
    for target in Target::stamp_targets() {
        udp_echo(&target);
    }
}

fn udp_echo(target: &Target) {
    let server = target.start().unwrap_or_else(|e| panic!("{}: {e}", target.name()));
    for addr in [SERVER, SERVER6] {
        // A short datagram, then 1400 bytes answered with the first 1024
        // (the check the `hil` runner shares).
        checks::udp_echo(server.ns(), addr, Clock::host()).unwrap_or_else(|e| panic!("{addr}: {e}\n{}", server.log()));
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn with_no_udp_datagrams_are_refused() {
    let target = Target::HostSim { mode: Mode::Stamp, extra_args: vec!["--no-udp".into()] };
    let server = target.start().expect("host-sim");
    for addr in [SERVER, SERVER6] {
        match udp::exchange(server.ns(), addr, b"ping", Duration::from_secs(1)) {
            // smoltcp answers a closed port with ICMP port unreachable.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{addr}: unexpected error {e}"),
            Ok(reply) => panic!("{addr}: answered with --no-udp: {:?}", String::from_utf8_lossy(&reply)),
        }
    }
    // TCP is unaffected.
    let mut stream = server.connect().expect("connect");
    round_trip(&mut stream, Mode::Stamp, b"tcp still").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn line_mode_stamps_whole_lines_however_they_arrive() {
    let target = Target::host_sim(Mode::Line);
    let server = target.start().expect("host-sim");
    let mut stream = server.connect().expect("connect");
    // "two" is split over two segments; "three" has no newline and must come
    // out at our FIN.
    stream.write_all(b"one\ntw").expect("send");
    stream.flush().expect("flush");
    thread::sleep(Duration::from_millis(200));
    stream.write_all(b"o\nthree").expect("send");
    stream.shutdown(Shutdown::Write).expect("shutdown");
    let received = read_to_eof(&mut stream, IO_TIMEOUT).expect("replies, then FIN");
    let text = String::from_utf8_lossy(&received);

    // Exactly three records: `[t] one\n`, `[t] two\n`, `[t] three`.
    let records = records_with(&received, &check_recent).unwrap_or_else(|e| panic!("{e} in {text:?}"));
    let expected: [&[u8]; 3] = [b"one\n", b"two\n", b"three"];
    assert_eq!(records, expected, "expected one record per line, got {text:?}");
}
