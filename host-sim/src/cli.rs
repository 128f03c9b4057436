//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr, Ipv6Cidr};

/// The tutorial's TCP echo server, running the firmware's core unchanged on
/// Linux through a TAP interface.
///
/// With no flags it serves 192.168.69.1:12345 on `tap0`. If `tap0` is missing
/// and host-sim may create it (root or CAP_NET_ADMIN), it creates it, gives the
/// host side 192.168.69.100/24 and brings it up; the TAP disappears when
/// host-sim exits. Without that permission, create it once yourself:
///
///   sudo ip tuntap add tap0 mode tap user $USER
///   sudo ip addr add 192.168.69.100/24 dev tap0
///   sudo ip link set tap0 up
///
/// Then talk to it: `echo-client`, `nc 192.168.69.1 12345`, or
/// `python3 tools/tcpclient.py`.
#[derive(Parser, Debug)]
#[command(name = "host-sim", version, verbatim_doc_comment)]
#[command(after_help = "Logging: RUST_LOG=debug (or trace) for more detail; -v traces every frame.")]
pub struct Args {
    /// TAP interface to serve on.
    #[arg(long, default_value = "tap0", value_name = "NAME", value_parser = parse_ifname)]
    pub tap: String,

    /// The device's own IPv4 address and prefix.
    #[arg(long, default_value = "192.168.69.1/24", value_name = "CIDR", value_parser = parse_cidr)]
    pub ip: Ipv4Cidr,

    /// Default gateway of the device.
    #[arg(long, default_value = "192.168.69.100", value_name = "IP", value_parser = parse_ip)]
    pub gateway: Ipv4Address,

    /// Address given to the host side of a TAP that host-sim creates itself
    /// (ignored when the TAP already exists).
    #[arg(long, default_value = "192.168.69.100/24", value_name = "CIDR", value_parser = parse_cidr)]
    pub host_ip: Ipv4Cidr,

    /// The device's IPv6 address and prefix; its link-local address (from the
    /// MAC) is always added. `none` turns IPv6 off.
    #[arg(long, default_value = "fdaa::1/64", value_name = "CIDR|none", value_parser = parse_cidr6)]
    pub ip6: Option6,

    /// IPv6 address given to the host side of a TAP that host-sim creates.
    #[arg(long, default_value = "fdaa::100/64", value_name = "CIDR", value_parser = parse_cidr6)]
    pub host_ip6: Option6,

    /// Do not answer UDP datagrams on the port (TCP only, as the tutorial).
    #[arg(long)]
    pub no_udp: bool,

    /// Take the IPv4 address from a DHCP server on the TAP's network; the
    /// static --ip is used if none answers within --dhcp-fallback seconds.
    #[arg(long)]
    pub dhcp: bool,

    /// Seconds to wait for a DHCP answer before falling back to --ip.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub dhcp_fallback: u64,

    /// Where the stamps' wall clock comes from: `host` = this machine's clock;
    /// `sntp` = an SNTP server (--ntp-server, or the one a DHCP lease names),
    /// as a board without an RTC does. Until the first answer, stamps count
    /// seconds since start from 1970-01-01 (a 1970 date means "not synced").
    #[arg(long, value_enum, default_value_t = ClockArg::Host)]
    pub clock: ClockArg,

    /// NTP server for --clock sntp.
    #[arg(long, value_name = "IP")]
    pub ntp_server: Option<std::net::IpAddr>,

    /// Seconds between SNTP re-syncs.
    #[arg(long, default_value_t = 900, value_name = "SECS", value_parser = clap::value_parser!(u64).range(10..))]
    pub ntp_resync: u64,

    /// TCP port to listen on.
    #[arg(long, default_value_t = echo_core::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// Simultaneous connections (the tutorial's listen backlog): one more is refused.
    #[arg(long, default_value_t = echo_core::DEFAULT_BACKLOG, value_name = "N", value_parser = parse_max_conn)]
    pub max_conn: usize,

    /// The device's Ethernet address (unicast).
    #[arg(long, default_value = "02:00:00:00:00:01", value_parser = parse_mac)]
    pub mac: EthernetAddress,

    /// How data is answered: `stamp` = "[<ctime>] <chunk>" per read of up to
    /// 1024 bytes, as the tutorial; `line` = one stamp per newline-terminated
    /// line (lines over 1024 bytes are cut, a tail without newline is sent at
    /// the client's FIN); `raw` = plain echo (benchmarks).
    #[arg(long, value_enum, default_value_t = ModeArg::Stamp)]
    pub mode: ModeArg,

    /// Receive and transmit buffer per connection, in bytes (the TCP window).
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES", value_parser = parse_buffer)]
    pub buffer: usize,

    /// IP MTU of the link toward the host. Above 1500 means jumbo frames: a TAP host-sim
    /// creates gets the same MTU; an existing one must be set to match.
    #[arg(long, default_value_t = 1500, value_name = "BYTES", value_parser = parse_mtu)]
    pub mtu: usize,

    /// Move one frame of at most --mtu bytes per syscall, instead of letting
    /// the kernel hand over and take back TCP segments of up to 64 KiB through
    /// the TAP (virtio-net header, checksum offload and TSO, as a VM's NIC;
    /// the link toward the host keeps --mtu either way). Offloads are also off
    /// under fault injection, which works on wire-sized frames.
    #[arg(long)]
    pub no_offload: bool,

    /// Reset a connection that has been silent this many seconds, freeing its
    /// slot at once (0 = never). Peers that stop acknowledging are dropped
    /// after 30 s regardless (keep-alive probes every 10 s).
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub idle_timeout: u64,

    /// Drop a handshake the client has not completed within this many
    /// seconds (0 = only the 30 s peer timeout). When every slot is taken,
    /// the oldest half-open handshake gives way to a new SYN at once anyway.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub handshake_timeout: u64,

    /// Connections one client address may hold at once; its next one is
    /// refused (0 = no limit: one host may take every slot, as in the tutorial).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_per_host: usize,

    /// When every slot is taken and a new client arrives, reset the
    /// connection silent longest if it has been silent this many seconds
    /// (nothing received, nothing of ours acknowledged); 0 = refuse the new
    /// client instead, however long the others idle.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub evict_silent: u64,

    /// UDP replies per second at most, in bursts of as many (0 = unlimited):
    /// keeps the device from being used as a traffic reflector.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub udp_rate: u32,

    /// Write every frame to this pcap file (opens in Wireshark).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Drop this percentage of frames, both ways (fault injection, 0-100).
    #[arg(long, default_value_t = 0, value_name = "PCT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub drop_pct: u8,

    /// Flip a bit in this percentage of frames, both ways (fault injection, 0-100).
    #[arg(long, default_value_t = 0, value_name = "PCT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub corrupt_pct: u8,

    /// Seed for the fault injector, so a faulty run can be repeated.
    #[arg(long, default_value_t = 1)]
    pub seed: u32,

    /// Trace every frame sent and received.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Echo mode on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// `[<ctime>] <chunk>`.
    Stamp,
    /// Plain echo.
    Raw,
    /// `[<ctime>] <line>`.
    Line,
}

/// Source of the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The host's clock.
    Host,
    /// SNTP over the simulated device's own network.
    Sntp,
}

/// An optional IPv6 prefix (`none` on the command line).
pub type Option6 = Option<Ipv6Cidr>;

impl From<ModeArg> for echo_core::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Stamp => echo_core::Mode::Stamp,
            ModeArg::Raw => echo_core::Mode::Raw,
            ModeArg::Line => echo_core::Mode::Line,
        }
    }
}

fn parse_cidr(s: &str) -> Result<Ipv4Cidr, String> {
    let cidr: Ipv4Cidr =
        s.parse().map_err(|()| format!("`{s}` is not an IPv4 address with prefix, like 192.168.69.1/24"))?;
    if cidr.prefix_len() == 0 || cidr.prefix_len() > 30 {
        return Err(format!("prefix /{} leaves no room for a host: use /1 to /30", cidr.prefix_len()));
    }
    Ok(cidr)
}

fn parse_cidr6(s: &str) -> Result<Option6, String> {
    if s == "none" {
        return Ok(None);
    }
    let cidr: Ipv6Cidr =
        s.parse().map_err(|()| format!("`{s}` is not an IPv6 address with prefix, like fdaa::1/64, or `none`"))?;
    if cidr.prefix_len() == 0 || cidr.prefix_len() > 126 {
        return Err(format!("prefix /{} leaves no room for a host: use /1 to /126", cidr.prefix_len()));
    }
    Ok(Some(cidr))
}

fn parse_ip(s: &str) -> Result<Ipv4Address, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IPv4 address, like 192.168.69.100"))
}

fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let mac: EthernetAddress = s.parse().map_err(|()| format!("`{s}` is not a MAC address, like 02:00:00:00:00:01"))?;
    if !mac.is_unicast() {
        return Err(format!("{mac} is a multicast address; the device needs a unicast one"));
    }
    Ok(mac)
}

/// A whole number in `min..=max`, else a message naming `what` and the range.
fn in_range(s: &str, min: usize, max: usize, what: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not {what} from {min} to {max}")),
    }
}

fn parse_max_conn(s: &str) -> Result<usize, String> {
    in_range(s, 1, 65_535, "a connection count")
}

fn parse_buffer(s: &str) -> Result<usize, String> {
    in_range(s, echo_core::STAMP_LEN + 1, 1 << 24, "a buffer size in bytes")
}

fn parse_mtu(s: &str) -> Result<usize, String> {
    // 1280: IPv6's minimum; 65521: the largest TAP frame (65535) less the Ethernet header.
    in_range(s, 1280, 65_521, "an MTU in bytes")
}

fn parse_ifname(s: &str) -> Result<String, String> {
    // IFNAMSIZ is 16 including the NUL.
    if s.is_empty() || s.len() > 15 || s.contains(['/', ' ', '\0']) {
        return Err(format!("`{s}` is not a valid interface name (1 to 15 characters, no '/' or spaces)"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_smoltcp_conventions() {
        let a = Args::try_parse_from(["host-sim"]).unwrap();
        assert_eq!(a.tap, "tap0");
        assert_eq!(a.ip.to_string(), "192.168.69.1/24");
        assert_eq!(a.gateway.to_string(), "192.168.69.100");
        assert_eq!(a.port, 12345);
        assert_eq!(a.max_conn, 5);
        assert_eq!(a.mode, ModeArg::Stamp);
        assert_eq!(a.clock, ClockArg::Host);
        assert!(!a.dhcp);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["host-sim", "--port", "0"][..],
            &["host-sim", "--port", "70000"],
            &["host-sim", "--ip", "192.168.69.1"],
            &["host-sim", "--ip", "300.1.1.1/24"],
            &["host-sim", "--mac", "01:00:00:00:00:01"],
            &["host-sim", "--max-conn", "0"],
            &["host-sim", "--mode", "loud"],
            &["host-sim", "--tap", "a-name-much-too-long"],
            &["host-sim", "--buffer", "10"],
            &["host-sim", "--frobnicate"],
            &["host-sim", "--drop-pct", "101"],
            &["host-sim", "--corrupt-pct", "-1"],
            &["host-sim", "--ip6", "fdaa::1"],
            &["host-sim", "--ip6", "192.168.69.1/24"],
            &["host-sim", "--clock", "sundial"],
            &["host-sim", "--ntp-server", "pool.example"],
            &["host-sim", "--dhcp-fallback", "0"],
            &["host-sim", "--mtu", "500"],
        ] {
            let err = Args::try_parse_from(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?} should be a usage error");
        }
    }
}
