//! What the server is told at start-up: addresses, port, echo mode, limits.

use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// The tutorial's port.
pub const DEFAULT_PORT: u16 = 12345;
/// The tutorial's `listen(5)`: five connections at once, the sixth is refused.
pub const DEFAULT_BACKLOG: usize = 5;
/// The tutorial's `BUFSIZ`: the most one read takes, and so one stamped chunk.
pub const CHUNK: usize = 1024;

/// How each chunk read from a connection is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Mode {
    /// `[<ctime>] <chunk>`, as the tutorial's server does.
    #[default]
    Stamp,
    /// The chunk alone: plain echo, for benchmarks.
    Raw,
}

impl Mode {
    /// Bytes added in front of every echoed chunk.
    pub const fn overhead(self) -> usize {
        match self {
            Mode::Stamp => crate::stamp::STAMP_LEN,
            Mode::Raw => 0,
        }
    }
}

/// Link and IP configuration of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// Ethernet address; must be unicast.
    pub mac: EthernetAddress,
    /// The device's IPv4 address and prefix.
    pub ipv4: Ipv4Cidr,
    /// Default route, if any (replies to hosts on the subnet need none).
    pub gateway: Option<Ipv4Address>,
    /// Seeds TCP initial sequence numbers and ephemeral ports: vary it per boot.
    pub random_seed: u64,
}

impl NetConfig {
    /// smoltcp's example conventions: `192.168.69.1/24`, host side `192.168.69.100`.
    pub const DEFAULT: NetConfig = NetConfig {
        mac: EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
        ipv4: Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 1), 24),
        gateway: Some(Ipv4Address::new(192, 168, 69, 100)),
        random_seed: 0x5eed_cafe_f00d_d00d,
    };
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
    /// Probe a silent peer this often so a vanished one is noticed
    /// (smoltcp's `set_keep_alive`). smoltcp counts any silence against
    /// `peer_timeout`, so this must be well below it.
    pub keep_alive: Option<Duration>,
}

impl EchoConfig {
    /// Port 12345, stamped echo; idle connections reset after 5 minutes,
    /// keep-alive every 10 s, a peer silent for 30 s (three unanswered
    /// probes, or a handshake never completed) dropped.
    pub const DEFAULT: EchoConfig = EchoConfig {
        port: DEFAULT_PORT,
        mode: Mode::Stamp,
        idle_timeout: Some(Duration::from_secs(300)),
        peer_timeout: Some(Duration::from_secs(30)),
        keep_alive: Some(Duration::from_secs(10)),
    };
}

impl Default for EchoConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
