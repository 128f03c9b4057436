//! The optional services — UDP echo, DHCP, SNTP — switched on together from
//! one block of memory, so a board needs one `static` and one call for
//! whichever of them its Cargo features include.

#[cfg(feature = "udp")]
use smoltcp::socket::udp::PacketMetadata;
use smoltcp::time::{Duration, Instant};
#[cfg(feature = "sntp")]
use smoltcp::wire::IpAddress;

use crate::server::EchoServer;
use crate::storage::InitError;
#[cfg(feature = "udp")]
use crate::udp_echo::UdpStorage;

/// How the services behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceConfig {
    /// DHCP: without an answer this long, use the static address (and keep asking).
    pub dhcp_fallback: Duration,
    /// SNTP server; `None` takes the one the DHCP lease names (option 42).
    #[cfg(feature = "sntp")]
    pub sntp_server: Option<IpAddress>,
    /// How often SNTP re-syncs once it has the time.
    pub sntp_resync: Duration,
}

impl ServiceConfig {
    /// DHCP fallback after 10 s; SNTP from the DHCP lease's server, hourly.
    pub const DEFAULT: ServiceConfig = ServiceConfig {
        dhcp_fallback: Duration::from_secs(10),
        #[cfg(feature = "sntp")]
        sntp_server: None,
        sntp_resync: Duration::from_secs(3600),
    };
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// UDP datagrams queued each way for the echo.
#[cfg(feature = "udp")]
const UDP_DATAGRAMS: usize = 4;
/// UDP echo payload bytes each way: one stamped 1 KiB reply, and then some.
#[cfg(feature = "udp")]
const UDP_BYTES: usize = 2048;
/// The DHCP server's last answer (options are read from it); at least 576 B.
#[cfg(feature = "dhcp")]
const DHCP_BYTES: usize = 600;
/// SNTP: one 48-byte exchange at a time, two packets of room each way.
#[cfg(feature = "sntp")]
const SNTP_PACKETS: usize = 2;
#[cfg(feature = "sntp")]
const SNTP_BYTES: usize = 2 * crate::sntp::PACKET_LEN;

/// Buffers for one UDP socket.
#[cfg(feature = "udp")]
struct UdpMemory<const N: usize, const B: usize> {
    rx_meta: [PacketMetadata; N],
    rx: [u8; B],
    tx_meta: [PacketMetadata; N],
    tx: [u8; B],
}

#[cfg(feature = "udp")]
impl<const N: usize, const B: usize> UdpMemory<N, B> {
    const fn new() -> Self {
        UdpMemory { rx_meta: [PacketMetadata::EMPTY; N], rx: [0; B], tx_meta: [PacketMetadata::EMPTY; N], tx: [0; B] }
    }

    fn storage(&mut self) -> UdpStorage<'_> {
        UdpStorage { rx_meta: &mut self.rx_meta, rx: &mut self.rx, tx_meta: &mut self.tx_meta, tx: &mut self.tx }
    }
}

/// Memory for every service this build has (empty without any). Put it in a
/// `static` (e.g. `static_cell::StaticCell`) and hand it to
/// [`EchoServer::enable_services`].
pub struct ServiceMemory {
    #[cfg(feature = "udp")]
    udp: UdpMemory<UDP_DATAGRAMS, UDP_BYTES>,
    #[cfg(feature = "dhcp")]
    dhcp: [u8; DHCP_BYTES],
    #[cfg(feature = "sntp")]
    sntp: UdpMemory<SNTP_PACKETS, SNTP_BYTES>,
}

impl ServiceMemory {
    /// Fresh buffers.
    #[allow(clippy::new_without_default)] // const: usable in a static initialiser
    pub const fn new() -> Self {
        ServiceMemory {
            #[cfg(feature = "udp")]
            udp: UdpMemory::new(),
            #[cfg(feature = "dhcp")]
            dhcp: [0; DHCP_BYTES],
            #[cfg(feature = "sntp")]
            sntp: UdpMemory::new(),
        }
    }
}

impl<'a> EchoServer<'a> {
    /// Switches on every service this build's features include: UDP echo,
    /// DHCP (static fallback after `config.dhcp_fallback`), SNTP.
    pub fn enable_services(
        &mut self,
        now: Instant,
        memory: &'a mut ServiceMemory,
        config: &ServiceConfig,
    ) -> Result<(), InitError> {
        #[cfg(feature = "udp")]
        self.enable_udp(memory.udp.storage())?;
        #[cfg(feature = "dhcp")]
        self.enable_dhcp(now, &mut memory.dhcp, config.dhcp_fallback)?;
        #[cfg(feature = "sntp")]
        self.enable_sntp(now, memory.sntp.storage(), config.sntp_server, config.sntp_resync)?;
        // Arguments some builds do not need.
        #[cfg(not(any(feature = "dhcp", feature = "sntp")))]
        let _ = (now, config);
        #[cfg(not(any(feature = "udp", feature = "dhcp")))]
        let _ = memory;
        Ok(())
    }
}
