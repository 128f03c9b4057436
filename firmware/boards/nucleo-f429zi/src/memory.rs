//! Where the memory lives and how big it is. Everything is a static in SRAM
//! (reachable by the Ethernet DMA; see memory.x) that starts zeroed or is
//! filled at run time, so it lands in `.bss` and costs no flash. [`take`]
//! hands them out once, at start-up.

use echo_core::smoltcp::iface::SocketStorage;
use echo_core::{ServiceResources, Slot, Storage, DEFAULT_BACKLOG};
use static_cell::{ConstStaticCell, StaticCell};
use stm32_eth::dma::{RxRingEntry, TxRingEntry};

/// Connections served at once: the tutorial's backlog.
pub const SERVING: usize = DEFAULT_BACKLOG;
/// Connection slots: the served ones plus as many spares for connections
/// finishing their close (their peers send nothing more).
pub const CONNECTIONS: usize = Storage::slots_needed(SERVING);
/// TCP receive buffer per connection: the advertised window.
pub const RX_PER_CONNECTION: usize = 4096;
/// TCP transmit buffer per connection: room for a few stamped 1 KiB chunks.
pub const TX_PER_CONNECTION: usize = 4096;
/// Receive DMA descriptors, one frame each (1522-byte buffers; the MAC
/// strips the FCS and drops longer frames, see README.md, "Receive ring").
/// Sized for the windows: each connection may have its whole window in
/// flight toward us, and the ring must hold it all while the main loop is
/// busy. 16 × ~1.6 KiB = 25 KiB of SRAM.
pub const RX_DESCRIPTORS: usize = 16;
/// Full-size frames one connection may have in flight toward us: the TCP
/// window smoltcp advertises is capped at this many segments
/// (`max_burst_size`), so the served connections together never have more
/// full-size frames on the way than the RX ring holds (a closing one's peer
/// has sent its FIN: nothing more comes); one descriptor is left for ARP,
/// ping, a SYN or a UDP datagram.
pub const RX_FRAMES_PER_CONNECTION: usize = (RX_DESCRIPTORS - 1) / SERVING;
/// Transmit DMA descriptors, one frame each. The echo sends about what it
/// receives, so this matches the RX ring's TCP share; descriptors are freed
/// at wire speed (0.12 ms per full frame at 100 Mbit/s).
pub const TX_DESCRIPTORS: usize = 12;

/// The smallest TCP segment a full window is made of (IPv6: 1500 - 40 - 20).
const MIN_FULL_SEGMENT: usize = 1440;
const _: () = assert!(RX_FRAMES_PER_CONNECTION >= 1, "RX ring too small for one window per connection");
// The cap must not shrink the window below the buffer (it would only slow
// TCP down): a connection's whole receive buffer fits its share of the ring.
const _: () = assert!(
    RX_PER_CONNECTION.div_ceil(MIN_FULL_SEGMENT) <= RX_FRAMES_PER_CONNECTION,
    "a connection's receive window needs more RX descriptors than its share"
);

const SOCKETS: usize = Storage::sockets_needed(CONNECTIONS);

static RX_RING: ConstStaticCell<[RxRingEntry; RX_DESCRIPTORS]> =
    ConstStaticCell::new([RxRingEntry::INIT; RX_DESCRIPTORS]);
static TX_RING: ConstStaticCell<[TxRingEntry; TX_DESCRIPTORS]> =
    ConstStaticCell::new([TxRingEntry::INIT; TX_DESCRIPTORS]);
// SocketStorage::EMPTY is not all zeroes: as a constant initialiser it
// would be copied from flash (.data); filled at run time it stays in .bss.
static SOCKET_TABLE: StaticCell<[SocketStorage<'static>; SOCKETS]> = StaticCell::new();
// Filled at run time: with `ipv6` an empty slot is not all zeros, and a
// constant initialiser would put the slots in flash-backed `.data`.
static SLOTS: StaticCell<[Slot; CONNECTIONS]> = StaticCell::new();
static RX: ConstStaticCell<[u8; CONNECTIONS * RX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * RX_PER_CONNECTION]);
static TX: ConstStaticCell<[u8; CONNECTIONS * TX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * TX_PER_CONNECTION]);

// Packet metadata is not all zeroes either: filled at run time, like the table.
static SERVICES: StaticCell<ServiceResources> = StaticCell::new();

/// What the Ethernet driver needs in RAM: the DMA's descriptor rings.
pub struct EthMemory {
    /// Receive descriptors and frame buffers.
    pub rx_ring: &'static mut [RxRingEntry],
    /// Transmit descriptors and frame buffers.
    pub tx_ring: &'static mut [TxRingEntry],
}

/// All of the firmware's long-lived memory.
pub struct Memory {
    /// For the Ethernet driver.
    pub eth: EthMemory,
    /// Sockets, slots and TCP buffers for the echo server.
    pub server: Storage<'static>,
    /// Buffers of the optional services this build has (UDP echo, DHCP, SNTP).
    pub services: &'static mut ServiceResources,
}

/// Hands out the statics. Called once at start-up (a second call panics).
pub fn take() -> Memory {
    Memory {
        eth: EthMemory { rx_ring: RX_RING.take(), tx_ring: TX_RING.take() },
        server: Storage {
            sockets: SOCKET_TABLE.init([SocketStorage::EMPTY; SOCKETS]),
            slots: SLOTS.init([Slot::EMPTY; CONNECTIONS]),
            rx: RX.take(),
            tx: TX.take(),
        },
        services: SERVICES.init(ServiceResources::new()),
    }
}
