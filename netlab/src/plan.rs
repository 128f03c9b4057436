//! The lab's address plan: the device (host-sim, or the firmware in QEMU or on
//! a board) and the host side of the link to it. Everything is derived from
//! echo-core's defaults, so the firmware and the tools cannot disagree.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::OnceLock;

use echo_core::NetConfig;

const NET: NetConfig = NetConfig::DEFAULT;

/// The device's IPv4 address.
pub const DEVICE_IP: Ipv4Addr = NET.ipv4.address();
/// Prefix length of the lab's IPv4 subnet (device and host side).
pub const PREFIX_LEN: u8 = NET.ipv4.prefix_len();
/// The device's IPv6 address.
pub const DEVICE_IP6: Ipv6Addr = match NET.ipv6 {
    Some(cidr) => cidr.address(),
    None => panic!("echo-core's default configuration has no IPv6 address"),
};
/// Prefix length of the lab's IPv6 subnet (device and host side).
pub const PREFIX_LEN6: u8 = match NET.ipv6 {
    Some(cidr) => cidr.prefix_len(),
    None => panic!("echo-core's default configuration has no IPv6 address"),
};
/// The host side of the link (the device's default gateway).
pub const HOST_IP: Ipv4Addr = echo_core::HOST_IPV4;
/// The host side of the link over IPv6.
pub const HOST_IP6: Ipv6Addr = echo_core::HOST_IPV6;
/// The echo port (TCP, and UDP).
pub const PORT: u16 = echo_core::DEFAULT_PORT;
/// Where the echo server listens.
pub const SERVER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(DEVICE_IP, PORT));
/// Where the echo server listens over IPv6.
pub const SERVER6: SocketAddr = SocketAddr::V6(SocketAddrV6::new(DEVICE_IP6, PORT, 0, 0));
/// The device's MAC address as `ip` and QEMU write it (a unit test checks
/// it against echo-core's).
pub const DEVICE_MAC: &str = "02:00:00:00:00:01";
/// The TAP's usual name (smoltcp's examples, host-sim's default).
pub const TAP: &str = "tap0";
/// IP MTU of the link (host-sim's default `--mtu`; the firmware's LAN9118).
pub const MTU: usize = 1500;

/// The IPv4 netmask of the lab subnet: `255.255.255.0`.
pub const NETMASK: Ipv4Addr = Ipv4Addr::from_bits(u32::MAX << (32 - PREFIX_LEN));

/// Address number `host` in the lab's IPv4 subnet (`subnet_host(50)` is
/// `192.168.69.50`): for DHCP pools and extra hosts in tests.
pub const fn subnet_host(host: u32) -> Ipv4Addr {
    Ipv4Addr::from_bits((DEVICE_IP.to_bits() & NETMASK.to_bits()) | (host & !NETMASK.to_bits()))
}

/// The lab's IPv4 subnet: `192.168.69.0/24`.
pub fn subnet() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{}/{PREFIX_LEN}", subnet_host(0)))
}

/// The device's address without prefix: `192.168.69.1` (a command-line argument).
pub fn device_ip_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| DEVICE_IP.to_string())
}

/// The device's side as `ip` writes it: `192.168.69.1/24`.
pub fn device_cidr() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{DEVICE_IP}/{PREFIX_LEN}"))
}

/// The device's IPv6 side: `fdaa::1/64`.
pub fn device_cidr6() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{DEVICE_IP6}/{PREFIX_LEN6}"))
}

/// The host side without prefix: `192.168.69.100` (a command-line default).
pub fn host_ip_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| HOST_IP.to_string())
}

/// The host side as `ip addr add` takes it: `192.168.69.100/24`.
pub fn host_cidr() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{HOST_IP}/{PREFIX_LEN}"))
}

/// The host's IPv6 side: `fdaa::100/64`.
pub fn host_cidr6() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{HOST_IP6}/{PREFIX_LEN6}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The literal plan, as the README and every tutorial command line write it.
    #[test]
    fn is_the_documented_plan() {
        assert_eq!(device_cidr(), "192.168.69.1/24");
        assert_eq!(host_cidr(), "192.168.69.100/24");
        assert_eq!(host_ip_text(), "192.168.69.100");
        assert_eq!(device_ip_text(), "192.168.69.1");
        assert_eq!(subnet(), "192.168.69.0/24");
        assert_eq!(NETMASK, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(subnet_host(50), Ipv4Addr::new(192, 168, 69, 50));
        assert_eq!(subnet_host(0x1_01), Ipv4Addr::new(192, 168, 69, 1), "host bits only");
        assert_eq!(device_cidr6(), "fdaa::1/64");
        assert_eq!(host_cidr6(), "fdaa::100/64");
        assert_eq!(SERVER.to_string(), "192.168.69.1:12345");
        assert_eq!(SERVER6.to_string(), "[fdaa::1]:12345");
    }

    #[test]
    fn host_and_device_share_a_subnet_and_the_gateway_is_the_host() {
        let net4 = |a: Ipv4Addr| u32::from(a) >> (32 - PREFIX_LEN);
        assert_eq!(net4(DEVICE_IP), net4(HOST_IP));
        assert_ne!(DEVICE_IP, HOST_IP);
        let net6 = |a: Ipv6Addr| u128::from(a) >> (128 - PREFIX_LEN6);
        assert_eq!(net6(DEVICE_IP6), net6(HOST_IP6));
        assert_ne!(DEVICE_IP6, HOST_IP6);
        assert_eq!(NET.gateway, Some(HOST_IP));
    }

    #[test]
    fn mac_text_is_echo_cores_mac() {
        let text: Vec<String> = NET.mac.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(DEVICE_MAC, text.join(":"));
    }
}
