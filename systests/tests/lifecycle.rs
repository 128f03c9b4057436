//! host-sim's life cycle: a clear error without the rights to create its TAP,
//! and a clean exit on SIGTERM that takes the TAP with it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use systests::process::run_piped;
use systests::{bins, Mode, Netns, Target, TAP};

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn without_permission_host_sim_explains_how_to_create_the_tap() {
    let ns = Netns::new().expect("namespace");
    // A copy user nobody can surely execute, wherever the build put the original.
    let dir = std::env::temp_dir().join(format!("echo-systests-{}", ns.name()));
    fs::create_dir_all(&dir).expect("temp dir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let bin = dir.join("host-sim");
    fs::copy(bins::host_sim().expect("host-sim"), &bin).expect("copy host-sim");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod host-sim");

    let mut cmd = ns.command("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&bin).args(["--tap", TAP]);
    // A panic would print a backtrace: make sure we would see it.
    cmd.env("RUST_BACKTRACE", "1");
    let out = run_piped(&mut cmd, b"", Duration::from_secs(10));
    let _ = fs::remove_dir_all(&dir);
    let out = out.expect("host-sim as nobody");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    assert!(out.status.code().is_some_and(|c| c != 0), "expected a non-zero exit, got {}: {text}", out.status);
    assert!(text.contains("ip tuntap add"), "message does not say how to create the TAP: {text}");
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!text.contains(bad), "message contains {bad:?}: {text}");
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn sigterm_stops_host_sim_promptly_and_removes_its_tap() {
    let mut server = Target::host_sim(Mode::Stamp).start().expect("host-sim");
    server.ns().ip(&["link", "show", TAP]).expect("host-sim created the TAP");
    let asked = Instant::now();
    let status = server.stop(Duration::from_secs(3)).expect("exit on SIGTERM");
    let took = asked.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status}\n{}", server.log());
    assert!(took < Duration::from_millis(1500), "took {took:?} to exit after SIGTERM");
    assert!(server.ns().ip(&["link", "show", TAP]).is_err(), "{TAP} still exists after host-sim exited");
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn pcap_capture_is_a_valid_file_holding_the_exchange() {
    let dir = std::env::temp_dir().join(format!("echo-systests-pcap-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("capture.pcap");
    let target = Target::HostSim { mode: Mode::Stamp, extra_args: vec!["--pcap".into(), file.display().to_string()] };
    let mut server = target.start().expect("host-sim");
    let mut stream = server.connect().expect("connect");
    systests::client::round_trip(&mut stream, Mode::Stamp, b"captured hello").expect("echo");
    drop(stream);
    let status = server.stop(Duration::from_secs(3)).expect("exit on SIGTERM");
    assert!(status.success(), "{}", server.log());
    let pcap = fs::read(&file).expect("pcap written");
    let _ = fs::remove_dir_all(&dir);
    // Global header: magic, version 2.4, link type 1 (Ethernet) — what Wireshark checks.
    assert!(pcap.len() > 24, "pcap holds no records");
    assert_eq!(u32::from_le_bytes(pcap[0..4].try_into().unwrap()), 0xa1b2_c3d4, "pcap magic");
    assert_eq!((u16::from_le_bytes([pcap[4], pcap[5]]), u16::from_le_bytes([pcap[6], pcap[7]])), (2, 4));
    assert_eq!(u32::from_le_bytes(pcap[20..24].try_into().unwrap()), 1, "link type Ethernet");
    // Walk the records: every length consistent, the payload and its echo inside.
    let (mut at, mut records) = (24, 0);
    while at < pcap.len() {
        let incl = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        assert!(at + 16 + incl <= pcap.len(), "record {records} runs past the end");
        at += 16 + incl;
        records += 1;
    }
    assert!(records >= 6, "only {records} frames captured (handshake, data, echo, close expected)");
    let count = |needle: &[u8]| pcap.windows(needle.len()).filter(|w| *w == needle).count();
    assert!(count(b"captured hello") >= 2, "the message and its echo are not both in the capture");
}
