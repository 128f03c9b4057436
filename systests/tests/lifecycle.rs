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
    let ns = systests::netns::fresh().expect("namespace");
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

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn a_tap_made_once_for_a_user_is_used_as_it_is_without_root() {
    let ns = systests::netns::fresh().expect("namespace");
    // What the README tells a user to run once (with sudo).
    ns.ip(&["tuntap", "add", "dev", TAP, "mode", "tap", "user", "65534"]).expect("tuntap add");
    ns.ip(&["addr", "add", netlab::plan::host_cidr(), "dev", TAP]).expect("addr add");
    ns.ip(&["link", "set", TAP, "up"]).expect("link up");
    let dir = std::env::temp_dir().join(format!("echo-systests-user-{}", ns.name()));
    fs::create_dir_all(&dir).expect("temp dir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod dir");
    let bin = dir.join("host-sim");
    fs::copy(bins::host_sim().expect("host-sim"), &bin).expect("copy host-sim");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod host-sim");
    let log = dir.join("host-sim.log");
    let out = fs::File::create(&log).expect("log file");
    // Some machines lock /dev/net/tun to root (mode 0600); give this run a
    // standard 0666 node, bind-mounted in a private mount namespace only, so
    // the host's stays as it is.
    let tun = dir.join("tun");
    let script = format!(
        "mknod {tun} c 10 200 && chmod 0666 {tun} && mount --bind {tun} /dev/net/tun && \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups {bin} --tap {TAP}",
        tun = tun.display(),
        bin = bin.display()
    );
    let mut child = ns
        .command("unshare")
        .args(["-m", "sh", "-c", &script])
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("host-sim as nobody");

    // Served without root: the echo works once host-sim is up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let served = loop {
        let attempt = ns.run(|| -> Result<(), String> {
            let mut stream = std::net::TcpStream::connect_timeout(&systests::SERVER, Duration::from_millis(500))
                .map_err(|e| e.to_string())?;
            systests::client::round_trip(&mut stream, Mode::Stamp, b"no root needed")
        });
        let attempt = attempt.map_err(|e| e.to_string()).and_then(|r| r);
        match attempt {
            Ok(()) => break Ok(()),
            Err(e) if Instant::now() >= deadline => break Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    // SIGTERM through kill(1), then reap.
    let _ = std::process::Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().expect("reap host-sim");
    let text = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_dir_all(&dir);
    assert!(served.is_ok(), "no echo from host-sim running as nobody: {served:?}\n{text}");
    assert!(status.success(), "host-sim as nobody exited with {status}\n{text}");
    assert!(!text.contains("created tap0"), "host-sim recreated the user's TAP:\n{text}");
    assert!(ns.ip(&["link", "show", TAP]).is_ok(), "the user's persistent TAP is gone");
}

/// host-sim run with `flags` inside `ns`: its exit status and its stderr.
fn host_sim_output(ns: &Netns, flags: &[&str]) -> (Option<i32>, String) {
    let mut cmd = ns.command(bins::host_sim().expect("host-sim"));
    // A panic would print a backtrace: make sure we would see it.
    cmd.args(flags).env("RUST_BACKTRACE", "1");
    let out = run_piped(&mut cmd, b"", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn flag_values_that_used_to_panic_abort_or_spin_exit_2_with_one_line_and_touch_nothing() {
    // The reproductions, run as a user would (the table test in
    // host-sim covers every flag in-process). Any that slipped through would
    // create the TAP in this namespace and serve: the 10 s limit catches it.
    let ns = systests::netns::fresh().expect("namespace");
    for (flags, flag) in [
        (&["--ip", "224.0.0.1/24"][..], "--ip"),
        (&["--ip", "255.255.255.255/24"], "--ip"),
        (&["--ip6", "ff02::1/64"], "--ip6"),
        (&["--max-conn", "4096", "--buffer", "16777216"], "--max-conn"),
        (&["--idle-timeout", "9223372036855"], "--idle-timeout"),
        (&["--idle-timeout", "18446744073710"], "--idle-timeout"),
        (&["--gateway", "10.0.0.1"], "--gateway"),
        (&["--clock", "sntp", "--ntp-server", netlab::plan::host_ip_text(), "--port", "49123"], "--port"),
    ] {
        let (code, stderr) = host_sim_output(&ns, flags);
        assert_eq!(code, Some(2), "{flags:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines[0].starts_with("error: ") && lines[0].contains(flag), "{flags:?}: {stderr}");
        assert!(lines[1..].iter().all(|l| l.starts_with("For more information")), "{flags:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flags:?}: {stderr}");
    }
    assert!(ns.ip(&["link", "show", TAP]).is_err(), "a refused run created {TAP}");
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn an_existing_tap_whose_host_side_holds_the_device_address_is_refused() {
    let ns = systests::netns::fresh().expect("namespace");
    ns.add_tap(&systests::netns::lab_tap()).expect("TAP made by hand");
    ns.ip(&["addr", "add", netlab::plan::device_cidr(), "dev", TAP]).expect("second address");
    let (code, stderr) = host_sim_output(&ns, &["--tap", TAP]);
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(&format!("already holds {}", systests::DEVICE_IP)), "{stderr}");
}
