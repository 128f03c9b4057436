//! The TAP the board is attached to: used as it is when it exists; created
//! and addressed when missing and we are root (as host-sim does); otherwise
//! the exact commands that fix it.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::is_root;

/// Makes sure `name` is a TAP; creates it with host side `host_cidr` if missing.
pub fn ensure(name: &str, host_cidr: &str) -> Result<()> {
    let dev = Path::new("/sys/class/net").join(name);
    if dev.exists() {
        if !dev.join("tun_flags").exists() {
            bail!("`{name}` exists but is not a TAP device: pick another with --tap, or remove it");
        }
        warn_if_unusable(name, host_cidr);
        return Ok(());
    }
    if !is_root() {
        bail!(
            "TAP {name} does not exist and creating it needs root. Create it once for yourself:\n{}",
            setup_commands(name, host_cidr)
        );
    }
    ip(&["tuntap", "add", name, "mode", "tap"])?;
    ip(&["addr", "add", host_cidr, "dev", name])?;
    ip(&["link", "set", name, "up"])?;
    eprintln!("xtask: created {name}, host side {host_cidr}");
    Ok(())
}

/// The one-time commands that make the TAP usable without root.
fn setup_commands(name: &str, host_cidr: &str) -> String {
    format!(
        "    sudo ip tuntap add {name} mode tap user $USER\n    sudo ip addr add {host_cidr} dev {name}\n    sudo ip link set {name} up"
    )
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("cannot run `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// A TAP made by hand may be down or unaddressed: warn with the fix, don't
/// fail (it may be bridged on purpose).
fn warn_if_unusable(name: &str, host_cidr: &str) {
    let flags = std::fs::read_to_string(format!("/sys/class/net/{name}/flags")).unwrap_or_default();
    let up = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).map_or(true, |f| f & 1 == 1);
    if !up {
        eprintln!("xtask: warning: {name} is down; bring it up with: sudo ip link set {name} up");
    }
    let addressed = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", name])
        .output()
        .map_or(true, |o| !o.stdout.is_empty());
    if !addressed {
        eprintln!("xtask: warning: {name} has no IPv4 address; add one with: sudo ip addr add {host_cidr} dev {name}");
    }
}
