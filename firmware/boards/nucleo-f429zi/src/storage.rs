//! Where the memory lives and how big it is. Everything is a static in SRAM
//! (reachable by the Ethernet DMA; see memory.x) that starts zeroed or is
//! filled at run time, so it lands in `.bss` and costs no flash.

use echo_core::smoltcp::iface::SocketStorage;
#[cfg(any(feature = "udp", feature = "sntp"))]
use echo_core::smoltcp::socket::udp::PacketMetadata;
#[cfg(any(feature = "udp", feature = "sntp"))]
use echo_core::UdpStorage;
use echo_core::{Slot, Storage, DEFAULT_BACKLOG};
use static_cell::{ConstStaticCell, StaticCell};
use stm32_eth::dma::{RxRingEntry, TxRingEntry};

/// Simultaneous connections: the tutorial's backlog.
pub const CONNECTIONS: usize = DEFAULT_BACKLOG;
/// TCP receive buffer per connection: the advertised window.
pub const RX_PER_CONNECTION: usize = 4096;
/// TCP transmit buffer per connection: room for a few stamped 1 KiB chunks.
pub const TX_PER_CONNECTION: usize = 4096;
/// Receive DMA descriptors, one 1522-byte frame each.
pub const RX_DESCRIPTORS: usize = 4;
/// Transmit DMA descriptors, one 1522-byte frame each.
pub const TX_DESCRIPTORS: usize = 4;

/// UDP echo: datagrams queued each way.
#[cfg(feature = "udp")]
pub const UDP_DATAGRAMS: usize = 4;
/// UDP echo payload bytes each way (transmit must hold one stamped 1 KiB reply).
#[cfg(feature = "udp")]
pub const UDP_BUFFER: usize = 2048;
/// The DHCP server's last answer (the core needs at least 576 B).
#[cfg(feature = "dhcp")]
pub const DHCP_PACKET: usize = 600;
/// SNTP packets queued each way (one 48-byte exchange at a time).
#[cfg(feature = "sntp")]
pub const SNTP_PACKETS: usize = 2;
/// SNTP payload bytes each way.
#[cfg(feature = "sntp")]
pub const SNTP_BUFFER: usize = 2 * 48;

const SOCKETS: usize = Storage::sockets_needed(CONNECTIONS);

static RX_RING: ConstStaticCell<[RxRingEntry; RX_DESCRIPTORS]> =
    ConstStaticCell::new([RxRingEntry::INIT; RX_DESCRIPTORS]);
static TX_RING: ConstStaticCell<[TxRingEntry; TX_DESCRIPTORS]> =
    ConstStaticCell::new([TxRingEntry::INIT; TX_DESCRIPTORS]);
// SocketStorage::EMPTY is not all zeroes: as a constant initialiser it
// would be copied from flash (.data); filled at run time it stays in .bss.
static SOCKET_TABLE: StaticCell<[SocketStorage<'static>; SOCKETS]> = StaticCell::new();
static SLOTS: ConstStaticCell<[Slot; CONNECTIONS]> = ConstStaticCell::new([Slot::EMPTY; CONNECTIONS]);
static RX: ConstStaticCell<[u8; CONNECTIONS * RX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * RX_PER_CONNECTION]);
static TX: ConstStaticCell<[u8; CONNECTIONS * TX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * TX_PER_CONNECTION]);

// Packet metadata is not all zeroes either: filled at run time, like the table.
#[cfg(feature = "udp")]
static UDP_RX_META: StaticCell<[PacketMetadata; UDP_DATAGRAMS]> = StaticCell::new();
#[cfg(feature = "udp")]
static UDP_TX_META: StaticCell<[PacketMetadata; UDP_DATAGRAMS]> = StaticCell::new();
#[cfg(feature = "udp")]
static UDP_RX: ConstStaticCell<[u8; UDP_BUFFER]> = ConstStaticCell::new([0; UDP_BUFFER]);
#[cfg(feature = "udp")]
static UDP_TX: ConstStaticCell<[u8; UDP_BUFFER]> = ConstStaticCell::new([0; UDP_BUFFER]);
#[cfg(feature = "dhcp")]
static DHCP: ConstStaticCell<[u8; DHCP_PACKET]> = ConstStaticCell::new([0; DHCP_PACKET]);
#[cfg(feature = "sntp")]
static SNTP_RX_META: StaticCell<[PacketMetadata; SNTP_PACKETS]> = StaticCell::new();
#[cfg(feature = "sntp")]
static SNTP_TX_META: StaticCell<[PacketMetadata; SNTP_PACKETS]> = StaticCell::new();
#[cfg(feature = "sntp")]
static SNTP_RX: ConstStaticCell<[u8; SNTP_BUFFER]> = ConstStaticCell::new([0; SNTP_BUFFER]);
#[cfg(feature = "sntp")]
static SNTP_TX: ConstStaticCell<[u8; SNTP_BUFFER]> = ConstStaticCell::new([0; SNTP_BUFFER]);

/// All of the firmware's long-lived memory.
pub struct Memory {
    /// Receive descriptors and frame buffers for the Ethernet DMA.
    pub rx_ring: &'static mut [RxRingEntry],
    /// Transmit descriptors and frame buffers for the Ethernet DMA.
    pub tx_ring: &'static mut [TxRingEntry],
    /// Sockets, slots and TCP buffers for the echo server.
    pub server: Storage<'static>,
    /// Buffers of the optional services this build has.
    pub services: Services,
}

/// Buffers of the optional services (Cargo features); empty without any.
pub struct Services {
    /// UDP echo socket.
    #[cfg(feature = "udp")]
    pub udp: UdpStorage<'static>,
    /// The DHCP server's last answer.
    #[cfg(feature = "dhcp")]
    pub dhcp_packet: &'static mut [u8],
    /// SNTP client socket.
    #[cfg(feature = "sntp")]
    pub sntp: UdpStorage<'static>,
}

/// Hands out the statics. Called once at start-up (a second call panics).
pub fn take() -> Memory {
    Memory {
        rx_ring: RX_RING.take(),
        tx_ring: TX_RING.take(),
        server: Storage {
            sockets: SOCKET_TABLE.init([SocketStorage::EMPTY; SOCKETS]),
            slots: SLOTS.take(),
            rx: RX.take(),
            tx: TX.take(),
        },
        services: Services {
            #[cfg(feature = "udp")]
            udp: UdpStorage {
                rx_meta: UDP_RX_META.init([PacketMetadata::EMPTY; UDP_DATAGRAMS]),
                rx: UDP_RX.take(),
                tx_meta: UDP_TX_META.init([PacketMetadata::EMPTY; UDP_DATAGRAMS]),
                tx: UDP_TX.take(),
            },
            #[cfg(feature = "dhcp")]
            dhcp_packet: DHCP.take(),
            #[cfg(feature = "sntp")]
            sntp: UdpStorage {
                rx_meta: SNTP_RX_META.init([PacketMetadata::EMPTY; SNTP_PACKETS]),
                rx: SNTP_RX.take(),
                tx_meta: SNTP_TX_META.init([PacketMetadata::EMPTY; SNTP_PACKETS]),
                tx: SNTP_TX.take(),
            },
        },
    }
}
