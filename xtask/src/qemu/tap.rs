//! The TAP the board is attached to: used as it is when it exists; created
//! and set up when missing and we are root (the lab's plan, as host-sim does:
//! host side v4 and v6, same MTU); otherwise the exact commands that fix it.

use anyhow::{bail, Result};
use netlab::tap::{manual_setup_hint, Device, TapSpec};

use crate::util::is_root;

/// Makes sure `name` is a TAP; creates it as [`TapSpec::lab`] plans it if missing.
pub fn ensure(name: &str) -> Result<()> {
    let spec = TapSpec::lab(name);
    if let Some(state) = netlab::tap::state(name) {
        if !state.is_tap {
            bail!("`{name}` exists but is not a TAP device: pick another with --tap, or remove it");
        }
        warn_if_unusable(&spec, &state);
        return Ok(());
    }
    if !is_root() {
        bail!(
            "TAP {name} does not exist and creating it needs root. Create it once for yourself:\n{}",
            manual_setup_hint(name, spec.host_ip)
        );
    }
    netlab::tap::setup(None, &spec, Device::Add)?;
    let v6 = spec.host_ip6.map(|a| format!(" and {a}")).unwrap_or_default();
    eprintln!("xtask: created {name}, host side {}{v6}, MTU {}", spec.host_ip, spec.mtu);
    Ok(())
}

/// A TAP made by hand may be down or unaddressed: warn with the fix, don't
/// fail (it may be bridged on purpose).
fn warn_if_unusable(spec: &TapSpec, state: &netlab::tap::TapState) {
    let name = spec.name;
    if let Some(mtu) = state.mtu.filter(|&m| m != spec.mtu) {
        eprintln!(
            "xtask: warning: {name} has MTU {mtu}, the firmware's is {}; match them with: sudo ip link set {name} mtu {}",
            spec.mtu, spec.mtu
        );
    }
    if !state.up {
        eprintln!("xtask: warning: {name} is down; bring it up with: sudo ip link set {name} up");
    }
    if !state.has_ipv4 {
        eprintln!(
            "xtask: warning: {name} has no IPv4 address; add one with: sudo ip addr add {} dev {name}",
            spec.host_ip
        );
    }
}
