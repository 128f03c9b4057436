//! Where the memory lives and how big it is: every long-lived buffer is a
//! static here, zeroed or filled at run time, so it lands in `.bss` and
//! costs no image space. [`take`] hands them out once, at start-up.

use echo_core::smoltcp::iface::SocketStorage;
use echo_core::{ServiceResources, Slot, Storage, DEFAULT_BACKLOG};
use static_cell::{ConstStaticCell, StaticCell};

/// Connections served at once: the tutorial's backlog.
pub const SERVING: usize = DEFAULT_BACKLOG;
/// Connection slots: the served ones plus as many spares for connections
/// finishing their close.
pub const CONNECTIONS: usize = Storage::slots_needed(SERVING);
/// TCP receive buffer per connection: the largest window a connection
/// alone may get; with others streaming, it gets its share of the RX FIFO
/// (board.rs, `RX_WINDOW_BUDGET`). A 2 KiB window held one connection
/// to 5 MB/s in QEMU, 8 KiB gives it 10.
pub const RX_PER_CONNECTION: usize = 8192;
/// TCP transmit buffer per connection: as much, so the echo of a full window fits.
pub const TX_PER_CONNECTION: usize = 8192;

/// Socket-table entries: the connection slots and the optional services.
const SOCKETS: usize = Storage::sockets_needed(CONNECTIONS);

// SocketStorage::EMPTY is not all zeroes: as a constant initialiser it
// would be copied from the image (.data); filled at run time it stays in .bss.
static SOCKET_TABLE: StaticCell<[SocketStorage<'static>; SOCKETS]> = StaticCell::new();
// Nor is Slot::EMPTY with `ipv6` (a default feature here): as a constant
// initialiser the slots went to .data, 1.6 KB more image.
static SLOTS: StaticCell<[Slot; CONNECTIONS]> = StaticCell::new();
static RX: ConstStaticCell<[u8; CONNECTIONS * RX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * RX_PER_CONNECTION]);
static TX: ConstStaticCell<[u8; CONNECTIONS * TX_PER_CONNECTION]> =
    ConstStaticCell::new([0; CONNECTIONS * TX_PER_CONNECTION]);
// Packet metadata is not all zeroes either: filled at run time, like the table.
static SERVICES: StaticCell<ServiceResources> = StaticCell::new();

/// What the Ethernet driver needs in RAM: nothing, the LAN9118 buffers
/// frames in its own FIFOs (a DMA MAC gets its descriptor rings here).
pub struct EthMemory;

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
        eth: EthMemory,
        server: Storage {
            sockets: SOCKET_TABLE.init([SocketStorage::EMPTY; SOCKETS]),
            slots: SLOTS.init([Slot::EMPTY; CONNECTIONS]),
            rx: RX.take(),
            tx: TX.take(),
        },
        services: SERVICES.init(ServiceResources::new()),
    }
}
