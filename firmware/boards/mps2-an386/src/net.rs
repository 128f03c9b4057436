//! Ethernet wiring and memory placement: where the LAN9118 sits, which
//! interrupt line it raises, and the static buffers of the echo server.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;
use echo_core::smoltcp::iface::SocketStorage;
use echo_core::{NetConfig, Slot, Storage, DEFAULT_BACKLOG};
use lan9118::{Config, Lan9118, Mmio};
use static_cell::StaticCell;

/// The LAN9118's register window on the AN385/AN386 images.
const LAN9118_BASE: usize = 0x4020_0000;
/// Its interrupt line on those images.
const LAN9118_IRQ: u16 = 13;

/// Connection slots: the tutorial's backlog of five, plus as many spares for
/// connections finishing their close.
const CONNECTIONS: usize = Storage::slots_needed(DEFAULT_BACKLOG);
/// Socket-table entries: the connection slots and the optional services.
const SOCKET_ENTRIES: usize = Storage::sockets_needed(CONNECTIONS);
/// Receive and transmit buffer of each connection.
const BUFFER: usize = 2048;

/// The LAN9118's NVIC line.
#[derive(Clone, Copy)]
pub struct EthIrq;

// SAFETY: 13 is the LAN9118's line on the AN385/AN386 images, which have 32
// external interrupts, so it is a valid interrupt number for this NVIC.
unsafe impl InterruptNumber for EthIrq {
    fn number(self) -> u16 {
        LAN9118_IRQ
    }
}

/// Brings up the LAN9118 with the configured MAC address.
pub fn ethernet(net: &NetConfig) -> Result<Lan9118<Mmio>, lan9118::Error> {
    // SAFETY: the AN386 image maps the LAN9118's 256-byte register window at
    // 0x4020_0000 as device memory, and this is its only user: `ethernet` is
    // called once, and the interrupt handler below touches the NVIC, not the chip.
    let regs = unsafe { Mmio::new(LAN9118_BASE) };
    Lan9118::new(regs, &Config { mac: net.mac.0 })
}

/// Lets the LAN9118 wake the core; the handler masks it again.
pub fn unmask_eth_irq() {
    // SAFETY: unmasking can break critical sections built on NVIC masks; this
    // firmware's are built on PRIMASK (critical-section-single-core), and the
    // handler only masks the line again.
    unsafe { NVIC::unmask(EthIrq) }
}

/// Without a device crate every external interrupt lands here. The LAN9118's
/// only job is to end WFI: mask it, the main loop reads the FIFO and unmasks.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == LAN9118_IRQ as i16 {
        NVIC::mask(EthIrq);
    } else {
        panic!("unexpected interrupt {}", irqn);
    }
}

/// The echo server's memory, in statics: socket table, slots, buffers.
pub fn storage() -> Storage<'static> {
    static SOCKETS: StaticCell<[SocketStorage<'static>; SOCKET_ENTRIES]> = StaticCell::new();
    static SLOTS: StaticCell<[Slot; CONNECTIONS]> = StaticCell::new();
    static RX: StaticCell<[u8; CONNECTIONS * BUFFER]> = StaticCell::new();
    static TX: StaticCell<[u8; CONNECTIONS * BUFFER]> = StaticCell::new();
    Storage {
        sockets: SOCKETS.init([SocketStorage::EMPTY; SOCKET_ENTRIES]),
        slots: SLOTS.init([Slot::EMPTY; CONNECTIONS]),
        rx: RX.init([0; CONNECTIONS * BUFFER]),
        tx: TX.init([0; CONNECTIONS * BUFFER]),
    }
}
