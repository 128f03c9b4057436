//! TAP offloads: by default host-sim and the kernel move TCP across the TAP
//! in segments of up to 64 KiB (the link's MTU stays 1500), over IPv4 and
//! IPv6; `--no-offload` goes back to one 1500-byte frame per syscall. Either
//! way every byte comes back, in order.

use std::net::SocketAddr;
use std::time::Duration;

use systests::client::send_all_then_read_to_eof;
use systests::{Mode, Running, Target, SERVER, SERVER6, TAP};

const SIZE: usize = 4 << 20;

/// Pseudo-random bytes, so a lost, repeated or reordered segment shows.
fn pattern() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..SIZE)
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

    let data = pattern();
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
