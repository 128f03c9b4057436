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
