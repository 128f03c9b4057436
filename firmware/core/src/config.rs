//! What the server is told at start-up: addresses, port, echo mode, limits.

use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Ipv6Address, Ipv6Cidr};

use crate::protocol::{Mode, DEFAULT_BACKLOG, DEFAULT_PORT};

/// The host side of the lab link (smoltcp's example convention): the
/// device's default gateway, and the address a host gives its end of the TAP
/// or cable, in the device's subnet.
pub const HOST_IPV4: Ipv4Address = Ipv4Address::new(192, 168, 69, 100);
/// The host side of the lab link over IPv6, in the device's subnet.
#[cfg(feature = "ipv6")]
pub const HOST_IPV6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x100);

/// Link and IP configuration of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// Ethernet address; must be unicast.
    pub mac: EthernetAddress,
    /// The device's IPv4 address and prefix.
    pub ipv4: Ipv4Cidr,
    /// Default route, if any (replies to hosts on the subnet need none).
    pub gateway: Option<Ipv4Address>,
    /// The device's IPv6 address and prefix, if any; the link-local address
    /// derived from the MAC is added whenever IPv6 is on.
    #[cfg(feature = "ipv6")]
    pub ipv6: Option<Ipv6Cidr>,
    /// Seeds TCP initial sequence numbers and ephemeral ports: vary it per boot.
    pub random_seed: u64,
}

impl NetConfig {
    /// smoltcp's example conventions: `192.168.69.1/24`, host side [`HOST_IPV4`]
    /// (also the gateway); `fdaa::1/64`, host side [`HOST_IPV6`].
    pub const DEFAULT: NetConfig = NetConfig {
        mac: EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
        ipv4: Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24),
        gateway: Some(HOST_IPV4),
        #[cfg(feature = "ipv6")]
        ipv6: Some(Ipv6Cidr::new(Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 1), 64)),
        random_seed: 0x5eed_cafe_f00d_d00d,
    };

    /// The IPv6 link-local address derived from the MAC (modified EUI-64).
    #[cfg(feature = "ipv6")]
    pub fn link_local(&self) -> Ipv6Address {
        let m = self.mac.0;
        Ipv6Address::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]]),
        )
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How the echo service behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoConfig {
    /// TCP port every slot listens on.
    pub port: u16,
    /// How chunks are answered.
    pub mode: Mode,
    /// A connection silent this long is reset and its slot freed (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// A peer that acknowledges nothing for this long — a handshake never
    /// completed, data never acknowledged, keep-alives unanswered — is dropped
    /// (smoltcp's `set_timeout`).
    pub peer_timeout: Option<Duration>,
    /// Send TCP timestamps (RFC 7323) when the client offers them.
    pub tcp_timestamps: bool,
    /// Probe a silent peer this often so a vanished one is noticed
    /// (smoltcp's `set_keep_alive`). smoltcp counts any silence against
    /// `peer_timeout`, so this must be well below it.
    pub keep_alive: Option<Duration>,
    /// Connections served at once (handshaking or open): the tutorial's
    /// `listen(5)`. Connections finishing their close do not count; they use
    /// the spare slots beyond this (see [`Storage::slots_needed`](crate::Storage::slots_needed)).
    pub backlog: usize,
    /// A handshake the client never completes is dropped after this long
    /// (`None`: only `peer_timeout` ends it). When no slot listens, the
    /// oldest half-open handshake also gives way to a new SYN at once, as in
    /// a SYN queue.
    pub handshake_timeout: Option<Duration>,
    /// Connections one IP address may hold at once; its next SYN is refused
    /// (`None`: no limit, the tutorial's behaviour).
    pub max_per_host: Option<usize>,
    /// When every serving slot is taken and a new client arrives, the open
    /// connection silent longest (nothing received, nothing of ours newly
    /// acknowledged) is reset to make room if it has been silent this long
    /// (`None`: the new client is refused, however long the others idle).
    pub evict_silent_after: Option<Duration>,
    /// UDP replies per second, in bursts of as many (`0`: unlimited). Keeps
    /// the device from being used as a reflector.
    pub udp_rate: u32,
    /// Bytes of TCP payload the device can hold for all connections at once
    /// (a MAC's receive FIFO, a DMA ring): each serving connection's
    /// advertised window is capped at its equal share, at least one
    /// full-size segment, so one connection alone may use all of it and five
    /// streaming at once do not overflow it (`None`: each connection's
    /// window is its receive buffer, or smoltcp's `max_burst_size` cap).
    /// Give each serving connection more than one segment's worth (the
    /// MPS2: 8 640 B for 5, 1 728 each): with a one-segment window the peer
    /// sends one segment and smoltcp acknowledges it only after its delayed
    /// ACK (10 ms), so the connection slows to a segment per 10 ms.
    pub rx_window_budget: Option<usize>,
}

impl EchoConfig {
    /// Port 12345, stamped echo, 5 connections; idle connections reset
    /// after 5 minutes, keep-alive every 10 s, a peer silent for 30 s (three
    /// unanswered probes) dropped, half-open handshakes after 5 s; a
    /// connection silent for 30 s gives way when a new client finds every
    /// slot taken; at most 1000 UDP replies a second.
    pub const DEFAULT: EchoConfig = EchoConfig {
        port: DEFAULT_PORT,
        mode: Mode::Stamp,
        idle_timeout: Some(Duration::from_secs(300)),
        peer_timeout: Some(Duration::from_secs(30)),
        keep_alive: Some(Duration::from_secs(10)),
        tcp_timestamps: true,
        backlog: DEFAULT_BACKLOG,
        handshake_timeout: Some(Duration::from_secs(5)),
        max_per_host: None,
        evict_silent_after: Some(Duration::from_secs(30)),
        udp_rate: 1000,
        rx_window_budget: None,
    };
}

impl Default for EchoConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
