//! The TAP between the host and the device: the one function that gives it
//! its owner, host-side addresses, MTU and link state ([`setup`]), what an
//! existing one looks like ([`state`]), and the commands a user without root
//! runs once ([`manual_setup_hint`]).

use std::io;
use std::path::Path;
use std::process::Command;

use crate::cmd::ip;
use crate::netns::{in_namespace, Netns};

/// What the TAP's host side gets.
#[derive(Debug, Clone, Copy)]
pub struct TapSpec<'a> {
    /// Interface name.
    pub name: &'a str,
    /// User allowed to open a TAP that [`setup`] adds (`ip tuntap add ... user`);
    /// `None`: root only.
    pub owner: Option<&'a str>,
    /// Host-side IPv4 address with prefix, like [`crate::plan::host_cidr`].
    pub host_ip: &'a str,
    /// Host-side IPv6 address with prefix, if IPv6 is on.
    pub host_ip6: Option<&'a str>,
    /// IP MTU of the host side; the device's must match.
    pub mtu: usize,
}

impl<'a> TapSpec<'a> {
    /// The lab's plan on TAP `name`: [`crate::plan`]'s host addresses, v4 and
    /// v6, and its MTU; owned by root.
    pub fn lab(name: &'a str) -> Self {
        TapSpec {
            name,
            owner: None,
            host_ip: crate::plan::host_cidr(),
            host_ip6: Some(crate::plan::host_cidr6()),
            mtu: crate::plan::MTU,
        }
    }
}

/// Whether [`setup`] makes the TAP or finds it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// Add a persistent TAP (`ip tuntap add`), for programs that only attach
    /// to an existing one (QEMU) or for a user without root.
    Add,
    /// The caller has just created it by opening it (TUNSETIFF, as host-sim
    /// does, so the TAP goes when the program exits): configure only.
    Opened,
}

/// Sets up TAP `spec.name`, in namespace `ns` if given, else in the caller's:
/// adds it if `device` says so, then the MTU, the host addresses (IPv6 without
/// duplicate-address detection, so it is usable at once) and link up.
pub fn setup(ns: Option<&Netns>, spec: &TapSpec, device: Device) -> io::Result<()> {
    for args in setup_commands(spec, device) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&in_namespace(ns.map(Netns::name), &args))?;
    }
    Ok(())
}

/// The `ip` argument lists [`setup`] runs, in order.
pub fn setup_commands(spec: &TapSpec, device: Device) -> Vec<Vec<String>> {
    let name = spec.name;
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut push = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
    if device == Device::Add {
        match spec.owner {
            Some(owner) => push(&["tuntap", "add", "dev", name, "mode", "tap", "user", owner]),
            None => push(&["tuntap", "add", "dev", name, "mode", "tap"]),
        }
    }
    push(&["link", "set", name, "mtu", &spec.mtu.to_string()]);
    push(&["addr", "add", spec.host_ip, "dev", name]);
    if let Some(v6) = spec.host_ip6 {
        // nodad: no 1-2 s duplicate-address wait on a private link.
        push(&["-6", "addr", "add", v6, "dev", name, "nodad"]);
    }
    push(&["link", "set", name, "up"]);
    commands
}

/// The one-time commands that make a TAP usable without root.
pub fn manual_setup_hint(name: &str, host_ip: &str) -> String {
    format!(
        "    sudo ip tuntap add {name} mode tap user $USER\n    sudo ip addr add {host_ip} dev {name}\n    sudo ip link set {name} up"
    )
}

/// An existing interface, as seen from the caller's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapState {
    /// It is a TUN/TAP device (and not, say, a bridge).
    pub is_tap: bool,
    /// Administratively up.
    pub up: bool,
    /// Its MTU, if readable.
    pub mtu: Option<usize>,
    /// It has an IPv4 address on the host side.
    pub has_ipv4: bool,
}

/// What interface `name` looks like, or `None` if there is none. Unreadable
/// details count as fine: this only feeds warnings.
pub fn state(name: &str) -> Option<TapState> {
    let dev = Path::new("/sys/class/net").join(name);
    if !dev.exists() {
        return None;
    }
    let read = |file: &str| std::fs::read_to_string(dev.join(file)).unwrap_or_default();
    let flags = read("flags");
    let has_ipv4 = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", name])
        .output()
        .map_or(true, |o| !o.stdout.is_empty());
    Some(TapState {
        is_tap: dev.join("tun_flags").exists(),
        up: u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).map_or(true, |f| f & 1 == 1),
        mtu: read("mtu").trim().parse().ok(),
        has_ipv4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(commands: Vec<Vec<String>>) -> Vec<String> {
        commands.into_iter().map(|c| c.join(" ")).collect()
    }

    #[test]
    fn an_added_lab_tap_gets_both_host_addresses_the_mtu_and_up() {
        assert_eq!(
            lines(setup_commands(&TapSpec::lab("tap0"), Device::Add)),
            [
                "tuntap add dev tap0 mode tap",
                "link set tap0 mtu 1500",
                "addr add 192.168.69.100/24 dev tap0",
                "-6 addr add fdaa::100/64 dev tap0 nodad",
                "link set tap0 up",
            ]
        );
    }

    #[test]
    fn an_opened_tap_is_only_configured_and_ipv6_and_owner_are_optional() {
        let spec = TapSpec { owner: Some("alice"), host_ip6: None, mtu: 9000, ..TapSpec::lab("tap7") };
        assert_eq!(
            lines(setup_commands(&spec, Device::Opened)),
            ["link set tap7 mtu 9000", "addr add 192.168.69.100/24 dev tap7", "link set tap7 up"]
        );
        assert_eq!(lines(setup_commands(&spec, Device::Add))[0], "tuntap add dev tap7 mode tap user alice");
    }

    #[test]
    fn the_hint_is_the_three_commands_a_user_types() {
        assert_eq!(
            manual_setup_hint("tap0", "192.168.69.100/24"),
            "    sudo ip tuntap add tap0 mode tap user $USER\n    sudo ip addr add 192.168.69.100/24 dev tap0\n    sudo ip link set tap0 up"
        );
    }

    #[test]
    fn a_missing_interface_has_no_state_and_loopback_is_no_tap() {
        assert_eq!(state("netlab-nosuch0"), None);
        let lo = state("lo").expect("every namespace has lo");
        assert!(!lo.is_tap && lo.up);
    }
}
