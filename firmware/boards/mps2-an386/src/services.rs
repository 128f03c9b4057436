//! The echo core's optional services, as this build's Cargo features pick
//! them (UDP echo, DHCP, SNTP): their memory, in statics, and switching them
//! on. What they do is `echo-core`'s business.

#[cfg(any(feature = "udp", feature = "sntp"))]
use echo_core::smoltcp::socket::udp::PacketMetadata;
#[cfg(any(feature = "dhcp", feature = "sntp"))]
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::time::Instant;
#[cfg(feature = "sntp")]
use echo_core::smoltcp::wire::IpAddress;
#[cfg(any(feature = "udp", feature = "sntp"))]
use echo_core::UdpStorage;
use echo_core::{EchoServer, InitError};
#[cfg(any(feature = "udp", feature = "dhcp", feature = "sntp"))]
use static_cell::StaticCell;

/// Without a DHCP answer this long, the static 192.168.69.1/24 is used (and
/// DHCP keeps asking).
#[cfg(feature = "dhcp")]
const DHCP_FALLBACK: Duration = Duration::from_secs(10);
/// The DHCP server's last answer is kept here (the core needs at least 576 B).
#[cfg(feature = "dhcp")]
const DHCP_PACKET: usize = 600;

/// SNTP server; `None` takes the one the DHCP lease names (option 42).
#[cfg(feature = "sntp")]
const SNTP_SERVER: Option<IpAddress> = None;
/// How often SNTP re-syncs the wall clock once it has it.
#[cfg(feature = "sntp")]
const SNTP_RESYNC: Duration = Duration::from_secs(3600);

/// UDP echo: datagrams queued each way, and their payload bytes (the
/// transmit side must hold one stamped 1 KiB reply).
#[cfg(feature = "udp")]
const UDP_DATAGRAMS: usize = 4;
#[cfg(feature = "udp")]
const UDP_BUFFER: usize = 4096;
/// SNTP: two 48-byte packets each way is plenty.
#[cfg(feature = "sntp")]
const SNTP_PACKETS: usize = 2;
#[cfg(feature = "sntp")]
const SNTP_BUFFER: usize = 2 * 48;

/// Switches on every service this build has. Call once, at start-up.
pub fn enable(server: &mut EchoServer<'static>, now: Instant) -> Result<(), InitError> {
    #[cfg(feature = "udp")]
    server.enable_udp(udp_storage())?;
    #[cfg(feature = "dhcp")]
    {
        static PACKET: StaticCell<[u8; DHCP_PACKET]> = StaticCell::new();
        server.enable_dhcp(now, PACKET.init([0; DHCP_PACKET]), DHCP_FALLBACK)?;
    }
    #[cfg(feature = "sntp")]
    {
        server.enable_sntp(now, sntp_storage(), SNTP_SERVER, SNTP_RESYNC)?;
        match SNTP_SERVER {
            Some(ntp) => defmt::info!("SNTP from {}", ntp),
            None => defmt::info!("SNTP from the server the DHCP lease names"),
        }
    }
    // Nothing to do in a build without services.
    let _ = (server, now);
    Ok(())
}

#[cfg(feature = "udp")]
fn udp_storage() -> UdpStorage<'static> {
    static RX_META: StaticCell<[PacketMetadata; UDP_DATAGRAMS]> = StaticCell::new();
    static RX: StaticCell<[u8; UDP_BUFFER]> = StaticCell::new();
    static TX_META: StaticCell<[PacketMetadata; UDP_DATAGRAMS]> = StaticCell::new();
    static TX: StaticCell<[u8; UDP_BUFFER]> = StaticCell::new();
    UdpStorage {
        rx_meta: RX_META.init([PacketMetadata::EMPTY; UDP_DATAGRAMS]),
        rx: RX.init([0; UDP_BUFFER]),
        tx_meta: TX_META.init([PacketMetadata::EMPTY; UDP_DATAGRAMS]),
        tx: TX.init([0; UDP_BUFFER]),
    }
}

#[cfg(feature = "sntp")]
fn sntp_storage() -> UdpStorage<'static> {
    static RX_META: StaticCell<[PacketMetadata; SNTP_PACKETS]> = StaticCell::new();
    static RX: StaticCell<[u8; SNTP_BUFFER]> = StaticCell::new();
    static TX_META: StaticCell<[PacketMetadata; SNTP_PACKETS]> = StaticCell::new();
    static TX: StaticCell<[u8; SNTP_BUFFER]> = StaticCell::new();
    UdpStorage {
        rx_meta: RX_META.init([PacketMetadata::EMPTY; SNTP_PACKETS]),
        rx: RX.init([0; SNTP_BUFFER]),
        tx_meta: TX_META.init([PacketMetadata::EMPTY; SNTP_PACKETS]),
        tx: TX.init([0; SNTP_BUFFER]),
    }
}
