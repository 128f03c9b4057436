//! Command-line interface: every flag is checked here, alone (its value
//! parser) and against the others ([`Args::check`]), before anything is
//! opened or allocated. A bad value is one line and exit status 2.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use echo_core::{Mode, ServiceConfig};
use netlab::plan;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

/// The longest duration a flag takes, in seconds: one week. smoltcp counts
/// microseconds: a `Duration` (u64) wraps above 1.8e13 s and `Instant` +
/// `Duration` (i64) overflows above 9.2e12 s, which once made host-sim reset
/// connections early or spin. A week is far from both.
pub const MAX_SECS: u64 = 7 * 24 * 3600;
/// The most connection buffer memory host-sim reserves up front
/// (`--max-conn` × `--buffer` × 4: receive and transmit, for the serving
/// slots and as many spare ones that finish closes): 1 GiB.
pub const MAX_BUFFER_MEMORY: usize = 1 << 30;
/// The DHCP client's UDP port (smoltcp's `DHCP_CLIENT_PORT`).
const DHCP_CLIENT_PORT: u16 = smoltcp::wire::DHCP_CLIENT_PORT;

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
///
/// Every value is checked before anything starts: a bad one exits with
/// status 2 and one line naming the flag.
#[derive(Parser, Debug)]
#[command(name = "host-sim", version, verbatim_doc_comment)]
// `--max-conn -1` is a bad value for --max-conn, not an unknown flag `-1`.
#[command(allow_negative_numbers = true)]
#[command(after_help = "Logging: RUST_LOG=debug (or trace) for more detail; -v traces every frame.")]
pub struct Args {
    /// TAP interface to serve on (1 to 15 bytes; no `/`, `:`, `%` or spaces).
    #[arg(long, default_value = plan::TAP, value_name = "NAME", value_parser = parse_ifname)]
    pub tap: String,

    /// The device's own IPv4 address and prefix (/1 to /30): a unicast host
    /// address, not the subnet's network or broadcast address, nor --host-ip.
    #[arg(long, default_value = plan::device_cidr(), value_name = "CIDR", value_parser = parse_cidr)]
    pub ip: Ipv4Cidr,

    /// Default gateway of the device: a unicast address on --ip's subnet, or
    /// `none` (hosts on the subnet only).
    #[arg(long, default_value = plan::host_ip_text(), value_name = "IP|none", value_parser = parse_gateway)]
    pub gateway: Gateway,

    /// Address given to the host side of a TAP that host-sim creates itself
    /// (ignored when the TAP already exists); a unicast host address, as --ip.
    #[arg(long, default_value = plan::host_cidr(), value_name = "CIDR", value_parser = parse_cidr)]
    pub host_ip: Ipv4Cidr,

    /// The device's IPv6 address and prefix (/1 to /126): unicast, not `::1`
    /// nor the subnet-router anycast address, nor --host-ip6; its link-local
    /// address (from the MAC) is always added. `none` turns IPv6 off.
    #[arg(long, default_value = plan::device_cidr6(), value_name = "CIDR|none", value_parser = parse_cidr6)]
    pub ip6: Option6,

    /// IPv6 address given to the host side of a TAP that host-sim creates;
    /// a unicast host address, as --ip6.
    #[arg(long, default_value = plan::host_cidr6(), value_name = "CIDR", value_parser = parse_cidr6)]
    pub host_ip6: Option6,

    /// Do not answer UDP datagrams on the port (TCP only, as the tutorial).
    #[arg(long)]
    pub no_udp: bool,

    /// Take the IPv4 address from a DHCP server on the TAP's network; the
    /// static --ip is used if none answers within --dhcp-fallback seconds.
    #[arg(long)]
    pub dhcp: bool,

    /// Seconds to wait for a DHCP answer before falling back to --ip (1 to 3600).
    #[arg(long, default_value_t = ServiceConfig::DEFAULT.dhcp_fallback.secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub dhcp_fallback: u64,

    /// Where the stamps' wall clock comes from: `host` = this machine's clock;
    /// `sntp` = an SNTP server (--ntp-server, or the one a DHCP lease names),
    /// as a board without an RTC does. Until the first answer, stamps count
    /// seconds since start from 1970-01-01 (a 1970 date means "not synced").
    #[arg(long, value_enum, default_value_t = ClockArg::Host)]
    pub clock: ClockArg,

    /// NTP server for --clock sntp (a unicast address, not the device's own).
    #[arg(long, value_name = "IP", value_parser = parse_ntp_server)]
    pub ntp_server: Option<IpAddr>,

    /// Seconds between SNTP re-syncs (10 to 604800, one week).
    #[arg(long, default_value_t = ServiceConfig::DEFAULT.sntp_resync.secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(10..=MAX_SECS))]
    pub ntp_resync: u64,

    /// TCP port to listen on, and UDP unless --no-udp: then not the SNTP
    /// client's own port (49123) with --clock sntp, nor 68 with --dhcp.
    #[arg(long, default_value_t = echo_core::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// Simultaneous connections (the tutorial's listen backlog): one more is
    /// refused. 1 to 65535, and --max-conn × --buffer × 4 at most 1 GiB.
    #[arg(long, default_value_t = echo_core::DEFAULT_BACKLOG, value_name = "N", value_parser = parse_max_conn)]
    pub max_conn: usize,

    /// The device's Ethernet address (unicast, not all zeros).
    #[arg(long, default_value = plan::DEVICE_MAC, value_parser = parse_mac)]
    pub mac: EthernetAddress,

    /// How data is answered: `stamp` = "[<ctime>] <chunk>" per read of up to
    /// 1024 bytes, as the tutorial; `line` = one stamp per newline-terminated
    /// line (lines over 1024 bytes are cut, a tail without newline is sent at
    /// the client's FIN); `raw` = plain echo (benchmarks).
    #[arg(long, default_value_t = Mode::Stamp, value_parser = mode_parser())]
    pub mode: Mode,

    /// Receive and transmit buffer per connection, in bytes (the TCP window):
    /// 28 to 16777216, and --max-conn × --buffer × 4 at most 1 GiB, all
    /// reserved at start.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES", value_parser = parse_buffer)]
    pub buffer: usize,

    /// IP MTU of the link toward the host (1280 to 65521). Above 1500 means jumbo frames: a TAP host-sim
    /// creates gets the same MTU; an existing one must be set to match.
    #[arg(long, default_value_t = plan::IP_MTU, value_name = "BYTES", value_parser = parse_mtu)]
    pub mtu: usize,

    /// Move one frame of at most --mtu bytes per syscall, instead of letting
    /// the kernel hand over and take back TCP segments of up to 64 KiB through
    /// the TAP (virtio-net header, checksum offload and TSO, as a VM's NIC;
    /// the link toward the host keeps --mtu either way). Offloads are also off
    /// under fault injection, which works on wire-sized frames.
    #[arg(long)]
    pub no_offload: bool,

    /// After a frame arrives, keep looking at the TAP for this many
    /// microseconds before sleeping (0 = off, at most 10000), as the MPS2
    /// board lingers before WFI. A sleeping process takes tens of
    /// microseconds to wake on a VM (~70 µs on a 2-core one). Lingering cuts
    /// round trips there from ~75 to ~20 µs, at the cost of CPU while traffic
    /// flows and of streaming speed when the client shares the cores. An idle
    /// server still sleeps.
    #[arg(long, default_value_t = 0, value_name = "MICROS", value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub busy_poll: u64,

    /// Reset a connection that has been silent this many seconds, freeing its
    /// slot at once (0 = never; at most 604800, one week). Peers that stop
    /// acknowledging are dropped after 30 s regardless (keep-alive probes
    /// every 10 s).
    #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
    pub idle_timeout: u64,

    /// Drop a handshake the client has not completed within this many
    /// seconds (0 = only the 30 s peer timeout; at most 604800). When every
    /// slot is taken, a half-open handshake older than 20 ms gives way to a
    /// new SYN at once anyway (a SYN queue's behaviour under a flood).
    #[arg(long, default_value_t = 5, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
    pub handshake_timeout: u64,

    /// Connections one client address may hold at once; its next one is
    /// refused with RST (0 = no limit: one host may take every slot, as in
    /// the tutorial).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=65_535))]
    pub max_per_host: u64,

    /// When every slot is taken and a new client arrives, reset the
    /// connection silent longest if it has been silent this many seconds
    /// (nothing received, nothing of ours acknowledged); 0 = refuse the new
    /// client instead, however long the others idle (at most 604800).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
    pub evict_silent: u64,

    /// UDP replies per second at most, in bursts of as many (0 = unlimited;
    /// at most 1000000): keeps the device from being used as a traffic reflector.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub udp_rate: u32,

    /// Write every frame to this pcap file (opens in Wireshark).
    #[arg(long, value_name = "FILE", value_parser = parse_pcap)]
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

impl Args {
    /// Parses the process's command line and checks it ([`Args::try_parse_checked_from`]);
    /// on a bad value prints the one-line error and exits with status 2.
    pub fn parse_checked() -> Args {
        Args::try_parse_checked_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `argv` (program name first) and checks the flags against each
    /// other. `--help` and `--version` come back as errors too, as with clap.
    pub fn try_parse_checked_from<I, T>(argv: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = Args::try_parse_from(argv)?;
        // Status 2, as for a value clap rejects itself; unformatted, so the
        // line is not followed by the whole usage.
        args.check()
            .map_err(|c| clap::Error::raw(ErrorKind::ArgumentConflict, format!("{c}\n")).with_cmd(&Args::command()))?;
        Ok(args)
    }

    /// What no single flag's parser can see: flags that contradict each other.
    pub fn check(&self) -> Result<(), Conflict> {
        let ip = self.ip.address();
        if ip == self.host_ip.address() {
            return Err(Conflict::IpIsHostSide(ip));
        }
        if let (Some(ip6), Some(host6)) = (self.ip6, self.host_ip6) {
            if ip6.address() == host6.address() {
                return Err(Conflict::Ip6IsHostSide(ip6.address()));
            }
        }
        if let Some(gateway) = self.gateway {
            if gateway == ip {
                return Err(Conflict::GatewayIsDevice(gateway));
            }
            if !self.ip.contains_addr(&gateway) {
                return Err(Conflict::GatewayOffSubnet { gateway, ip: self.ip });
            }
            if let Err(why) = host_in_subnet4(self.ip, gateway) {
                return Err(Conflict::GatewayNotAHost { gateway, why });
            }
        }
        let udp = !self.no_udp;
        if udp && self.clock == ClockArg::Sntp && self.port == echo_core::SNTP_LOCAL_PORT {
            return Err(Conflict::PortTaken { port: self.port, by: "the SNTP client's", with: "--clock sntp" });
        }
        if udp && self.dhcp && self.port == DHCP_CLIENT_PORT {
            return Err(Conflict::PortTaken { port: self.port, by: "the DHCP client's", with: "--dhcp" });
        }
        match (self.clock, self.ntp_server) {
            (ClockArg::Host, Some(_)) => return Err(Conflict::NtpServerUnused),
            (ClockArg::Sntp, None) if !self.dhcp => return Err(Conflict::NtpServerMissing),
            (_, Some(IpAddr::V4(server))) if server == ip => return Err(Conflict::NtpServerIsDevice(server.into())),
            (_, Some(IpAddr::V6(server))) => match self.ip6 {
                None => return Err(Conflict::NtpServerNeedsIpv6(server)),
                Some(ip6) if ip6.address() == server => return Err(Conflict::NtpServerIsDevice(server.into())),
                Some(_) => {}
            },
            _ => {}
        }
        // Checked before anything is reserved: the product overflows nothing
        // on 64 bits (65535 × 2^24 × 2 < 2^42), but be exact on 32.
        let slots = self.max_conn.checked_mul(echo_core::Storage::slots_needed(1));
        let memory = slots.and_then(|n| n.checked_mul(self.buffer)).and_then(|m| m.checked_mul(2));
        if memory.is_none_or(|m| m > MAX_BUFFER_MEMORY) {
            return Err(Conflict::BufferMemory { max_conn: self.max_conn, buffer: self.buffer });
        }
        Ok(())
    }
}

/// Flags that are each fine but not together ([`Args::check`]). The text
/// starts with the flag to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// `--ip` is the host side's address.
    IpIsHostSide(Ipv4Address),
    /// `--ip6` is the host side's IPv6 address.
    Ip6IsHostSide(Ipv6Address),
    /// `--gateway` is the device itself.
    GatewayIsDevice(Ipv4Address),
    /// `--gateway` is outside `--ip`'s subnet.
    GatewayOffSubnet {
        /// The gateway.
        gateway: Ipv4Address,
        /// The device's address and prefix.
        ip: Ipv4Cidr,
    },
    /// `--gateway` is the subnet's network or broadcast address.
    GatewayNotAHost {
        /// The gateway.
        gateway: Ipv4Address,
        /// Which of the two.
        why: BadAddr,
    },
    /// UDP echo on `--port` would take datagrams meant for a client of ours.
    PortTaken {
        /// The port.
        port: u16,
        /// Whose port it is.
        by: &'static str,
        /// The flag that starts that client.
        with: &'static str,
    },
    /// `--ntp-server` without `--clock sntp`.
    NtpServerUnused,
    /// `--clock sntp` with no server to ask.
    NtpServerMissing,
    /// `--ntp-server` is the device itself.
    NtpServerIsDevice(IpAddr),
    /// An IPv6 `--ntp-server` with `--ip6 none`.
    NtpServerNeedsIpv6(Ipv6Address),
    /// `--max-conn` × `--buffer` × 4 is over [`MAX_BUFFER_MEMORY`].
    BufferMemory {
        /// `--max-conn`.
        max_conn: usize,
        /// `--buffer`.
        buffer: usize,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Conflict::IpIsHostSide(a) => {
                write!(f, "--ip {a} is the host side's own address (--host-ip): give the device another one")
            }
            Conflict::Ip6IsHostSide(a) => {
                write!(f, "--ip6 {a} is the host side's own address (--host-ip6): give the device another one")
            }
            Conflict::GatewayIsDevice(a) => write!(f, "--gateway {a} is the device's own address (--ip)"),
            Conflict::GatewayOffSubnet { gateway, ip } => write!(
                f,
                "--gateway {gateway} is not on --ip {ip}'s subnet {}: give --gateway an address on it, or `none`",
                ip.network()
            ),
            Conflict::GatewayNotAHost { gateway, why } => write!(f, "--gateway {gateway} is {why} of --ip's subnet"),
            Conflict::PortTaken { port, by, with } => write!(
                f,
                "--port {port} is {by} own UDP port with {with}: the UDP echo would take its answers (pick another port, or add --no-udp)"
            ),
            Conflict::NtpServerUnused => f.write_str("--ntp-server is only used with --clock sntp"),
            Conflict::NtpServerMissing => {
                f.write_str("--clock sntp needs --ntp-server IP, or --dhcp with a server that names one")
            }
            Conflict::NtpServerIsDevice(a) => write!(f, "--ntp-server {a} is the device's own address"),
            Conflict::NtpServerNeedsIpv6(a) => write!(f, "--ntp-server {a} is IPv6, but IPv6 is off (--ip6 none)"),
            Conflict::BufferMemory { max_conn, buffer } => write!(
                f,
                "--max-conn {max_conn} with --buffer {buffer} reserves {} bytes of connection buffers (max-conn × buffer × 4: receive and transmit, serving and closing slots), over the cap of {MAX_BUFFER_MEMORY} (1 GiB): lower one of them",
                max_conn as u128 * echo_core::Storage::slots_needed(1) as u128 * buffer as u128 * 2
            ),
        }
    }
}

impl std::error::Error for Conflict {}

/// `--mode`: every echo mode, by its protocol name, with a line of help.
fn mode_parser() -> impl TypedValueParser<Value = Mode> {
    let help = |mode| match mode {
        Mode::Stamp => "`[<ctime>] <chunk>`",
        Mode::Raw => "Plain echo",
        Mode::Line => "`[<ctime>] <line>`",
    };
    let values = Mode::ALL.into_iter().map(move |m| PossibleValue::new(m.name()).help(help(m)));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mode>())
}

/// Source of the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The host's clock.
    Host,
    /// SNTP over the simulated device's own network.
    Sntp,
}

/// An optional IPv6 prefix (`none` on the command line). An alias, so that
/// clap takes `none` as a value rather than making the flag optional.
pub type Option6 = Option<Ipv6Cidr>;

/// An optional gateway (`none` on the command line); an alias as [`Option6`].
pub type Gateway = Option<Ipv4Address>;

/// Why a flag's value was refused (its parser's verdict; clap puts the flag
/// and the value in front).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// Not of the expected form, which the text describes.
    Form(&'static str),
    /// A whole number outside `min..=max`; `what` says of what.
    Range {
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
        /// What the number counts.
        what: &'static str,
    },
    /// A prefix length that leaves no host addresses.
    Prefix {
        /// The length given.
        len: u8,
        /// The longest allowed.
        max: u8,
    },
    /// An address that cannot be a host's.
    Addr(IpAddr, BadAddr),
    /// A multicast or all-zero MAC address.
    Mac(EthernetAddress),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueError::Form(expected) => write!(f, "expected {expected}"),
            ValueError::Range { min, max, what } => write!(f, "expected {what} from {min} to {max}"),
            ValueError::Prefix { len, max } => write!(f, "prefix /{len} leaves no room for a host: use /1 to /{max}"),
            ValueError::Addr(a, why) => write!(f, "{a} is {why}; only a unicast host address will do"),
            ValueError::Mac(m) => write!(f, "{m} is not a unicast MAC address (multicast bit set, or all zeros)"),
        }
    }
}

impl std::error::Error for ValueError {}

/// Why an address cannot be a host's: the device's, its gateway's, a server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAddr {
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// In `0.0.0.0/8`, "this network" (RFC 1122).
    ThisNetwork,
    /// In `127.0.0.0/8`, or `::1`.
    Loopback,
    /// In `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// In `240.0.0.0/4`, reserved (RFC 1112).
    Reserved,
    /// `::ffff:a.b.c.d`: an IPv4 address in IPv6 clothing.
    Ipv4Mapped,
    /// The subnet's network address (host bits all 0).
    Network,
    /// The subnet's broadcast address (host bits all 1).
    SubnetBroadcast,
    /// The IPv6 subnet-router anycast address (interface identifier all 0, RFC 4291).
    SubnetAnycast,
}

impl fmt::Display for BadAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadAddr::Unspecified => "the unspecified address",
            BadAddr::ThisNetwork => "in 0.0.0.0/8 (\"this network\")",
            BadAddr::Loopback => "a loopback address",
            BadAddr::Multicast => "a multicast address",
            BadAddr::Broadcast => "the broadcast address",
            BadAddr::Reserved => "in the reserved 240.0.0.0/4",
            BadAddr::Ipv4Mapped => "an IPv4-mapped address",
            BadAddr::Network => "the network address",
            BadAddr::SubnetBroadcast => "the broadcast address",
            BadAddr::SubnetAnycast => "the subnet-router anycast address",
        })
    }
}

/// An IPv4 address a host may have, whatever the subnet.
fn unicast4(a: Ipv4Addr) -> Result<(), BadAddr> {
    match a.octets()[0] {
        _ if a.is_unspecified() => Err(BadAddr::Unspecified),
        0 => Err(BadAddr::ThisNetwork),
        127 => Err(BadAddr::Loopback),
        224..=239 => Err(BadAddr::Multicast),
        _ if a.is_broadcast() => Err(BadAddr::Broadcast),
        240.. => Err(BadAddr::Reserved),
        _ => Ok(()),
    }
}

/// `a` as a host of `subnet`: not its network nor its broadcast address.
/// (`/31` and `/32` are refused by the parser, so the two always differ.)
fn host_in_subnet4(subnet: Ipv4Cidr, a: Ipv4Address) -> Result<(), BadAddr> {
    if a == subnet.network().address() {
        return Err(BadAddr::Network);
    }
    if Some(a) == subnet.broadcast() {
        return Err(BadAddr::SubnetBroadcast);
    }
    Ok(())
}

/// An IPv6 address a host may have, whatever the prefix.
fn unicast6(a: Ipv6Addr) -> Result<(), BadAddr> {
    if a.is_unspecified() {
        Err(BadAddr::Unspecified)
    } else if a.is_loopback() {
        Err(BadAddr::Loopback)
    } else if a.is_multicast() {
        Err(BadAddr::Multicast)
    } else if a.to_ipv4_mapped().is_some() {
        Err(BadAddr::Ipv4Mapped)
    } else {
        Ok(())
    }
}

fn parse_cidr(s: &str) -> Result<Ipv4Cidr, ValueError> {
    let cidr: Ipv4Cidr =
        s.parse().map_err(|()| ValueError::Form("an IPv4 address with prefix, like 192.168.69.1/24"))?;
    if cidr.prefix_len() == 0 || cidr.prefix_len() > 30 {
        return Err(ValueError::Prefix { len: cidr.prefix_len(), max: 30 });
    }
    // smoltcp asserts a unicast address (a panic); network and broadcast
    // addresses it would take, and never be reachable at.
    let a = cidr.address();
    unicast4(a).and_then(|()| host_in_subnet4(cidr, a)).map_err(|why| ValueError::Addr(a.into(), why))?;
    Ok(cidr)
}

fn parse_cidr6(s: &str) -> Result<Option6, ValueError> {
    if s == "none" {
        return Ok(None);
    }
    let cidr: Ipv6Cidr =
        s.parse().map_err(|()| ValueError::Form("an IPv6 address with prefix, like fdaa::1/64, or `none`"))?;
    let len = cidr.prefix_len();
    if len == 0 || len > 126 {
        return Err(ValueError::Prefix { len, max: 126 });
    }
    let a = cidr.address();
    unicast6(a).map_err(|why| ValueError::Addr(a.into(), why))?;
    if u128::from(a) << len == 0 {
        return Err(ValueError::Addr(a.into(), BadAddr::SubnetAnycast));
    }
    Ok(Some(cidr))
}

fn parse_gateway(s: &str) -> Result<Gateway, ValueError> {
    if s == "none" {
        return Ok(None);
    }
    let a: Ipv4Address = s.parse().map_err(|_| ValueError::Form("an IPv4 address, like 192.168.69.100, or `none`"))?;
    unicast4(a).map_err(|why| ValueError::Addr(a.into(), why))?;
    Ok(Some(a))
}

fn parse_ntp_server(s: &str) -> Result<IpAddr, ValueError> {
    let a: IpAddr = s.parse().map_err(|_| ValueError::Form("an IPv4 or IPv6 address, like 192.168.69.100"))?;
    match a {
        IpAddr::V4(v4) => unicast4(v4),
        IpAddr::V6(v6) => unicast6(v6),
    }
    .map_err(|why| ValueError::Addr(a, why))?;
    Ok(a)
}

fn parse_mac(s: &str) -> Result<EthernetAddress, ValueError> {
    let mac: EthernetAddress = s.parse().map_err(|()| ValueError::Form("a MAC address, like 02:00:00:00:00:01"))?;
    // Linux refuses the all-zero address on a NIC too (is_valid_ether_addr).
    if !mac.is_unicast() || mac.0 == [0; 6] {
        return Err(ValueError::Mac(mac));
    }
    Ok(mac)
}

/// A whole number in `min..=max`, else a message naming `what` and the range.
fn in_range(s: &str, min: usize, max: usize, what: &'static str) -> Result<usize, ValueError> {
    match s.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ValueError::Range { min, max, what }),
    }
}

fn parse_max_conn(s: &str) -> Result<usize, ValueError> {
    in_range(s, 1, 65_535, "a connection count")
}

fn parse_buffer(s: &str) -> Result<usize, ValueError> {
    in_range(s, echo_core::STAMP_LEN + 1, 1 << 24, "a buffer size in bytes")
}

fn parse_mtu(s: &str) -> Result<usize, ValueError> {
    // 1280: IPv6's minimum; 65521: the largest TAP frame (65535) less the Ethernet header.
    in_range(s, 1280, 65_521, "an MTU in bytes")
}

fn parse_ifname(s: &str) -> Result<String, ValueError> {
    // Linux's dev_valid_name: IFNAMSIZ is 16 with the NUL. `%` would make
    // TUNSETIFF pick a new name (a template like tap%d) instead of this one.
    let bad_char = |c: char| matches!(c, '/' | ':' | '%') || c.is_whitespace();
    if s.is_empty() || s.len() > 15 || s == "." || s == ".." || s.contains(bad_char) {
        return Err(ValueError::Form(
            "an interface name: 1 to 15 bytes, not `.` or `..`, without `/`, `:`, `%` or spaces",
        ));
    }
    Ok(s.to_owned())
}

fn parse_pcap(s: &str) -> Result<PathBuf, ValueError> {
    if s.is_empty() {
        return Err(ValueError::Form("a file name"));
    }
    Ok(PathBuf::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_checked_from(std::iter::once("host-sim").chain(flags.iter().copied()))
    }

    #[test]
    fn defaults_are_the_smoltcp_conventions() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.tap, "tap0");
        assert_eq!(a.ip.to_string(), "192.168.69.1/24");
        assert_eq!(a.gateway, Some(Ipv4Address::new(192, 168, 69, 100)));
        assert_eq!(a.port, 12345);
        assert_eq!(a.max_conn, 5);
        assert_eq!(a.buffer, 64 * 1024);
        assert_eq!(a.mode, Mode::Stamp);
        assert_eq!(a.clock, ClockArg::Host);
        assert!(!a.dhcp);
    }

    #[test]
    fn values_at_the_limits_are_accepted() {
        for good in [
            &["--ip", "10.0.0.1/30", "--gateway", "10.0.0.2"][..],
            &["--ip", "10.0.0.2/8", "--gateway", "none"],
            &["--ip", "169.254.7.7/16", "--gateway", "169.254.0.1"],
            &["--ip", "192.168.69.254/24", "--gateway", "192.168.69.1"],
            &["--ip6", "fdaa::2/126"],
            &["--ip6", "fe80::7/64"],
            &["--ip6", "none", "--host-ip6", "fdaa::1/64"],
            &["--idle-timeout", "604800", "--ntp-resync", "604800", "--clock", "sntp", "--ntp-server", "fdaa::100"],
            &["--idle-timeout", "0"],
            &["--clock", "sntp", "--dhcp"],
            &["--clock", "sntp", "--ntp-server", "192.168.69.100", "--port", "49123", "--no-udp"],
            &["--dhcp", "--port", "68", "--no-udp"],
            &["--max-conn", "16", "--buffer", "16777216"],
            &["--max-conn", "65535", "--buffer", "4096"],
            // 4096 × 64 KiB × 4 is the 1 GiB cap exactly.
            &["--max-conn", "4096"],
            &["--mac", "02:ff:ff:ff:ff:ff"],
            &["--tap", "a-name-of-15-ch"],
            &["--pcap", "/tmp/x.pcap"],
            &["--busy-poll", "10000"],
        ] {
            if let Err(e) = parse(good) {
                panic!("{good:?} refused: {e}");
            }
        }
    }

    #[test]
    fn the_buffer_memory_message_states_what_would_be_reserved() {
        let e = parse(&["--max-conn", "4097"]).unwrap_err().to_string();
        // 4097 serving + 4097 closing slots × 64 KiB × (receive + transmit).
        assert!(e.contains(&format!("reserves {} bytes", 4097u64 * 2 * 65536 * 2)), "{e}");
    }

    /// Every flag's bad values, each with the flag the message must name.
    /// The first group panicked, aborted, spun or misbehaved before they were
    /// checked (issue 12).
    const BAD: &[(&[&str], &str)] = &[
        (&["--ip", "224.0.0.1/24"], "--ip"),
        (&["--ip", "255.255.255.255/24"], "--ip"),
        (&["--ip6", "ff02::1/64"], "--ip6"),
        (&["--max-conn", "4096", "--buffer", "16777216"], "--max-conn"),
        (&["--max-conn", "4097"], "--max-conn"),
        (&["--busy-poll", "10001"], "--busy-poll"),
        (&["--busy-poll", "-1"], "--busy-poll"),
        (&["--handshake-timeout", "604801"], "--handshake-timeout"),
        (&["--handshake-timeout", "-1"], "--handshake-timeout"),
        (&["--evict-silent", "18446744073710"], "--evict-silent"),
        (&["--max-per-host", "65536"], "--max-per-host"),
        (&["--max-per-host", "x"], "--max-per-host"),
        (&["--udp-rate", "1000001"], "--udp-rate"),
        (&["--max-conn", "65535"], "--max-conn"),
        (&["--idle-timeout", "9223372036855"], "--idle-timeout"),
        (&["--idle-timeout", "18446744073710"], "--idle-timeout"),
        (&["--ip", "192.168.69.0/24"], "--ip"),
        (&["--ip", "192.168.69.255/24"], "--ip"),
        (&["--ip", "0.0.0.0/24"], "--ip"),
        (&["--ip", "127.0.0.1/8"], "--ip"),
        (&["--ip", "192.168.69.100/24"], "--ip"),
        (&["--gateway", "0.0.0.0"], "--gateway"),
        (&["--gateway", "255.255.255.255"], "--gateway"),
        (&["--gateway", "192.168.69.255"], "--gateway"),
        (&["--gateway", "224.0.0.1"], "--gateway"),
        (&["--gateway", "10.0.0.1"], "--gateway"),
        (&["--ip6", "::/64"], "--ip6"),
        (&["--ip6", "::1/64"], "--ip6"),
        (&["--clock", "sntp", "--ntp-server", "192.168.69.100", "--port", "49123"], "--port"),
        // Every other flag, old and new checks alike.
        (&["--tap", "a-name-much-too-long"], "--tap"),
        (&["--tap", ""], "--tap"),
        (&["--tap", ".."], "--tap"),
        (&["--tap", "tap%d"], "--tap"),
        (&["--tap", "tap:0"], "--tap"),
        (&["--tap", "tap 0"], "--tap"),
        (&["--ip", "192.168.69.1"], "--ip"),
        (&["--ip", "300.1.1.1/24"], "--ip"),
        (&["--ip", "192.168.69.1/31"], "--ip"),
        (&["--ip", "192.168.69.1/0"], "--ip"),
        (&["--ip", "0.1.2.3/8"], "--ip"),
        (&["--ip", "240.0.0.1/8"], "--ip"),
        (&["--ip", "10.0.0.1/8"], "--gateway"),
        (&["--gateway", "192.168.69.0"], "--gateway"),
        (&["--gateway", "192.168.69.1"], "--gateway"),
        (&["--gateway", "127.0.0.1"], "--gateway"),
        (&["--gateway", "gw.example"], "--gateway"),
        (&["--host-ip", "224.0.0.1/24"], "--host-ip"),
        (&["--host-ip", "192.168.69.0/24"], "--host-ip"),
        (&["--host-ip", "192.168.69.1/24"], "--ip"),
        (&["--ip6", "fdaa::1"], "--ip6"),
        (&["--ip6", "192.168.69.1/24"], "--ip6"),
        (&["--ip6", "fdaa::1/127"], "--ip6"),
        (&["--ip6", "fdaa::/64"], "--ip6"),
        (&["--ip6", "::ffff:192.168.69.1/120"], "--ip6"),
        (&["--ip6", "fdaa::100/64"], "--ip6"),
        (&["--host-ip6", "ff02::2/64"], "--host-ip6"),
        (&["--host-ip6", "::1/128"], "--host-ip6"),
        (&["--dhcp-fallback", "0"], "--dhcp-fallback"),
        (&["--dhcp-fallback", "3601"], "--dhcp-fallback"),
        (&["--clock", "sundial"], "--clock"),
        (&["--clock", "sntp"], "--clock"),
        (&["--ntp-server", "pool.example"], "--ntp-server"),
        (&["--ntp-server", "192.168.69.100"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "0.0.0.0"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "255.255.255.255"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "ff02::101"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "192.168.69.1"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "fdaa::1"], "--ntp-server"),
        (&["--clock", "sntp", "--ntp-server", "fdaa::100", "--ip6", "none"], "--ntp-server"),
        (&["--ntp-resync", "9"], "--ntp-resync"),
        (&["--ntp-resync", "604801"], "--ntp-resync"),
        (&["--ntp-resync", "18446744073709551615"], "--ntp-resync"),
        (&["--dhcp", "--port", "68"], "--port"),
        (&["--port", "0"], "--port"),
        (&["--port", "70000"], "--port"),
        (&["--max-conn", "0"], "--max-conn"),
        (&["--max-conn", "65536"], "--max-conn"),
        (&["--max-conn", "-1"], "--max-conn"),
        (&["--mac", "01:00:00:00:00:01"], "--mac"),
        (&["--mac", "ff:ff:ff:ff:ff:ff"], "--mac"),
        (&["--mac", "00:00:00:00:00:00"], "--mac"),
        (&["--mac", "02:00:00:00:01"], "--mac"),
        (&["--mode", "loud"], "--mode"),
        (&["--buffer", "10"], "--buffer"),
        (&["--buffer", "16777217"], "--buffer"),
        (&["--buffer", "1e6"], "--buffer"),
        (&["--mtu", "500"], "--mtu"),
        (&["--mtu", "65522"], "--mtu"),
        (&["--idle-timeout", "604801"], "--idle-timeout"),
        (&["--idle-timeout", "-1"], "--idle-timeout"),
        (&["--pcap", ""], "--pcap"),
        (&["--drop-pct", "101"], "--drop-pct"),
        (&["--corrupt-pct", "-1"], "--corrupt-pct"),
        (&["--seed", "4294967296"], "--seed"),
        (&["--frobnicate"], "--frobnicate"),
    ];

    #[test]
    fn every_bad_value_is_one_line_naming_its_flag_and_status_2() {
        for &(flags, flag) in BAD {
            let err = match parse(flags) {
                Ok(_) => panic!("{flags:?} accepted"),
                Err(e) => e,
            };
            assert_eq!(err.exit_code(), 2, "{flags:?}: {err}");
            let text = err.render().to_string();
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let first = lines.next().unwrap_or_default();
            assert!(first.starts_with("error: "), "{flags:?}: {text}");
            // The flag itself, not a longer one that starts the same (--ip vs --ip6).
            let named = first
                .match_indices(flag)
                .any(|(at, _)| !first[at + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-'));
            assert!(named, "{flags:?}: the message does not name {flag}: {first}");
            // Only clap's own hints may follow: the pointer to --help, an
            // enum's possible values, an unknown flag's tip and usage.
            for rest in lines {
                let hints = ["For more information", "  [possible values:", "  tip:", "Usage:"];
                assert!(hints.iter().any(|h| rest.starts_with(h)), "{flags:?}: more than one line: {text}");
            }
        }
    }

    #[test]
    fn help_states_the_limits() {
        let help = Args::command().render_long_help().to_string();
        for limit in ["604800", "1 GiB", "1 to 65535", "/1 to /30", "/1 to /126", "1280 to 65521", "49123", "unicast"] {
            assert!(help.contains(limit), "--help does not mention {limit}");
        }
    }
}
