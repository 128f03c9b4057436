//! Driver glue for the LAN9118 (the driver is `firmware/lan9118`): where the
//! chip sits, which interrupt line it raises, and that line's handler.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;
use echo_core::NetConfig;
use lan9118::{Config, Lan9118, Mmio};

/// The LAN9118's register window on the AN385/AN386 images.
const LAN9118_BASE: usize = 0x4020_0000;
/// Its interrupt line on those images.
const LAN9118_IRQ: u16 = 13;

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
pub fn init(net: &NetConfig) -> Result<Lan9118<Mmio>, lan9118::Error> {
    // SAFETY: the AN386 image maps the LAN9118's 256-byte register window at
    // 0x4020_0000 as device memory, and this is its only user: `init` is
    // called once, and the interrupt handler below touches the NVIC, not the chip.
    let regs = unsafe { Mmio::new(LAN9118_BASE) };
    Lan9118::new(regs, &Config { mac: net.mac.0 })
}

/// Lets the LAN9118 wake the core; the handler masks it again.
pub fn unmask_irq() {
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
