//! TAP offloads: by default host-sim and the kernel move TCP across the TAP
//! in segments of up to 64 KiB (the link's MTU stays 1500), over IPv4 and
//! IPv6; `--no-offload` goes back to one 1500-byte frame per syscall. Either
//! way every byte comes back, in order, also to a client behind a router and
//! a link smaller than the TAP's, whose MSS the segments must honour.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use systests::client::send_all_then_read_to_eof;
use systests::target::IO_TIMEOUT;
use systests::{Mode, Running, Target, SERVER, SERVER6, TAP};

const SIZE: usize = 4 << 20;

/// Pseudo-random bytes, so a lost, repeated or reordered segment shows.
fn pattern(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A counter of the TAP's host side, read inside the test's namespace.
fn tap_counter(server: &Running, name: &str) -> u64 {
    let out = server
        .ns()
        .command("cat")
        .arg(format!("/sys/class/net/{TAP}/statistics/{name}"))
        .output()
        .expect("read a TAP counter");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("{name}: {out:?}"))
}

/// Echoes SIZE bytes through `addr`, checks them, and returns the mean bytes
/// per frame that crossed the TAP meanwhile (both ways).
fn echo_and_measure_frames(extra_args: &[&str], addr: SocketAddr) -> u64 {
    let target = Target::HostSim { mode: Mode::Raw, extra_args: extra_args.iter().map(|s| s.to_string()).collect() };
    let server = target.start().unwrap_or_else(|e| panic!("host-sim {extra_args:?}: {e}"));
    let counters = || ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes"].map(|c| tap_counter(&server, c));
    let before = counters();

    let data = pattern(SIZE);
    let mut stream = server.connect_to(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    let received = send_all_then_read_to_eof(&mut stream, &data, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{extra_args:?} {addr}: {e}"));
    assert_eq!(received.len(), data.len(), "{extra_args:?} {addr}: echo length");
    if let Some(i) = received.iter().zip(&data).position(|(a, b)| a != b) {
        panic!("{extra_args:?} {addr}: echo differs from byte {i} on");
    }

    let after = counters();
    let [rx_frames, tx_frames, rx_bytes, tx_bytes] = [0, 1, 2, 3].map(|i| after[i] - before[i]);
    let (frames, bytes) = (rx_frames + tx_frames, rx_bytes + tx_bytes);
    assert!(bytes >= 2 * SIZE as u64, "the TAP carried {bytes} bytes for {SIZE} each way");
    eprintln!("{extra_args:?} {addr}: {frames} frames, {bytes} bytes");
    bytes / frames
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn by_default_tcp_crosses_the_tap_in_large_segments_over_ipv4_and_ipv6() {
    for addr in [SERVER, SERVER6] {
        let mean = echo_and_measure_frames(&[], addr);
        // 1500-byte frames and their ACKs average under 1500; offloaded
        // segments carry tens of kilobytes.
        assert!(mean > 8000, "{addr}: {mean} bytes per frame: offloads are not in use");
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn without_offloads_frames_stay_within_the_mtu_and_every_byte_still_comes_back() {
    let mean = echo_and_measure_frames(&["--no-offload"], SERVER);
    assert!(mean <= 1514, "{mean} bytes per frame with --no-offload");
}

/// Sends `data` in writes of the sizes, each answered before the
/// next, and checks every echo: a write of two client segments tends to come
/// back as one segment larger than the client's MSS but smaller than the
/// TAP's, exactly what the shim once left uncut.
fn round_trips(stream: &mut TcpStream, data: &[u8]) -> Result<usize, String> {
    const SIZES: [usize; 6] = [1000, 1048, 1400, 700, 1460, 1200];
    let (mut at, mut trips) = (0, 0);
    while at < data.len() {
        let piece = &data[at..data.len().min(at + SIZES[trips % SIZES.len()])];
        stream.write_all(piece).map_err(|e| format!("write at byte {at}: {e}"))?;
        let mut echo = vec![0; piece.len()];
        stream.read_exact(&mut echo).map_err(|e| format!("echo of bytes {at}..{}: {e}", at + piece.len()))?;
        if echo != piece {
            return Err(format!("echo of bytes {at}..{} differs", at + piece.len()));
        }
        at += piece.len();
        trips += 1;
    }
    Ok(trips)
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn a_client_behind_a_router_and_a_576_byte_link_gets_64_kib_back_with_offloads_on() {
    // host-sim's namespace routes to the client's, over a veth link of 576
    // bytes (IPv4's minimum datagram size), where the client announces MSS 536.
    let mut server = Target::HostSim { mode: Mode::Raw, extra_args: Vec::new() }.start().expect("host-sim");
    server.wait_for_log("TAP offloads on", Duration::from_secs(5)).expect("offloads in use");
    let router = server.ns();
    let client = systests::netns::fresh().expect("client namespace");
    router.veth("rt0", &client, "cl0", Some(576)).expect("veth");
    router.ip(&["addr", "add", "10.0.76.1/24", "dev", "rt0"]).unwrap();
    client.ip(&["addr", "add", "10.0.76.2/24", "dev", "cl0"]).unwrap();
    client.ip(&["route", "add", "default", "via", "10.0.76.1"]).unwrap();
    router.sysctl("net.ipv4.ip_forward", "1").unwrap();
    // A segment too big for the link is refused with ICMP "fragmentation
    // needed" (type 3), which smoltcp ignores: the echo would stall.
    let refused = || router.snmp_counter("Icmp", "OutDestUnreachs").expect("router's ICMP counter");
    let refused_before = refused();
    let connect = || {
        let stream = client.connect(SERVER, IO_TIMEOUT).expect("connect through the router");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream
    };
    let data = pattern(64 * 1024);

    // Interactive: small writes, each echoed before the next.
    let mut stream = connect();
    stream.set_nodelay(true).unwrap();
    let trips = round_trips(&mut stream, &data).unwrap_or_else(|e| panic!("round trips: {e}"));
    drop(stream);
    // Bulk: 64 KiB at once, cut from super-segments of up to 64 KiB.
    let mut stream = connect();
    let received =
        send_all_then_read_to_eof(&mut stream, &data, Duration::from_secs(30)).unwrap_or_else(|e| panic!("bulk: {e}"));
    assert_eq!(received.len(), data.len(), "bulk echo length");
    if let Some(i) = received.iter().zip(&data).position(|(a, b)| a != b) {
        panic!("bulk echo differs from byte {i} on");
    }
    assert_eq!(refused() - refused_before, 0, "the router refused packets too big for the 576-byte link");
    eprintln!("64 KiB in {trips} round trips and 64 KiB at once, through a 576-byte link");
}
