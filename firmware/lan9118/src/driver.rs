//! The driver's public face: bring-up, link state, interrupts, counters.

use crate::access::Regs;
use crate::chip::Chip;
use crate::regs::*;
use crate::{Error, Stats};

/// Largest Ethernet frame sent or received, header included, CRC excluded
/// (smoltcp's notion of MTU for Ethernet devices).
pub const MTU: usize = 1514;

/// Receive buffer: a frame with its CRC, rounded up to whole FIFO words,
/// with room for a VLAN tag.
pub(crate) const RX_BUF_LEN: usize = 1536;

/// What the driver is told at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Station address programmed into the MAC (must be unicast).
    pub mac: [u8; 6],
}

/// Link state as the PHY reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Link {
    /// Cable connected and auto-negotiation complete.
    pub up: bool,
    /// Full duplex negotiated (the MAC is set to match).
    pub full_duplex: bool,
}

/// A LAN9118 brought up and ready to carry frames; `R` reaches its registers.
pub struct Lan9118<R: Regs> {
    pub(crate) chip: Chip<R>,
    pub(crate) rx_buf: [u8; RX_BUF_LEN],
    pub(crate) tx_buf: [u8; MTU],
    id_rev: u32,
    mac: [u8; 6],
    link: Link,
}

impl<R: Regs> Lan9118<R> {
    /// Waits for the chip to answer and be READY, checks it (`ID_REV`),
    /// soft-resets it, resets the PHY and starts auto-negotiation, programs
    /// the MAC address and enables the transmitter and receiver. Busy-waits
    /// only on bounded polls: a chip that never answers is an error within
    /// about a second.
    pub fn new(regs: R, config: &Config) -> Result<Self, Error> {
        let mac = config.mac;
        if mac[0] & 1 != 0 || mac == [0; 6] {
            return Err(Error::InvalidMac);
        }
        let mut chip = Chip::new(regs);
        let id_rev = chip.identify()?;
        chip.reset(id_rev)?;
        chip.phy_init()?;
        chip.set_mac_address(&mac)?;
        // Full duplex until the PHY says otherwise (see `poll_link`).
        chip.start(true)?;
        Ok(Lan9118 {
            chip,
            rx_buf: [0; RX_BUF_LEN],
            tx_buf: [0; MTU],
            id_rev,
            mac,
            link: Link { up: false, full_duplex: true },
        })
    }

    /// The chip's `ID_REV` register: chip ID in the high half, revision in the low.
    pub fn id_rev(&self) -> u32 {
        self.id_rev
    }

    /// The station address in use.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// Frame and error counters.
    pub fn stats(&self) -> Stats {
        self.chip.stats
    }

    /// Reads the link state from the PHY and, once auto-negotiation has
    /// completed, sets the MAC's duplex to match. Call it now and then (it is a
    /// handful of slow MII accesses); a failed access is counted and the last
    /// known state returned.
    pub fn poll_link(&mut self) -> Link {
        match self.read_link() {
            Ok(link) => {
                if link.up && self.chip.set_duplex(link.full_duplex).is_err() {
                    self.chip.stats.timeouts = self.chip.stats.timeouts.wrapping_add(1);
                }
                self.link = link;
            }
            Err(_) => self.chip.stats.timeouts = self.chip.stats.timeouts.wrapping_add(1),
        }
        self.link
    }

    fn read_link(&mut self) -> Result<Link, Error> {
        // The link bit latches low: the first read reports any drop since the
        // last one, the second the state now.
        self.chip.phy_read(PHY_BMSR)?;
        let bmsr = self.chip.phy_read(PHY_BMSR)?;
        let up = bmsr & BMSR_LINK != 0 && bmsr & BMSR_AN_COMPLETE != 0;
        if !up {
            return Ok(Link { up, full_duplex: self.link.full_duplex });
        }
        let common = self.chip.phy_read(PHY_ANAR)? & self.chip.phy_read(PHY_ANLPAR)?;
        Ok(Link { up, full_duplex: resolve_full_duplex(common) })
    }

    /// Drives the interrupt pin (push-pull, active high) while a received
    /// frame waits, so the CPU can sleep until one arrives.
    pub fn enable_rx_interrupt(&mut self) {
        self.chip.enable_rx_irq();
    }

    /// Lowers the RX interrupt before the CPU sleeps. Returns true if frames
    /// are already waiting: then poll again instead of sleeping, as no new
    /// interrupt will announce them.
    pub fn ack_rx_interrupt(&mut self) -> bool {
        self.chip.ack_rx_irq()
    }

    /// True if a received frame waits (at most one register read, and none
    /// while frames the driver already knows of wait). For a short busy-wait
    /// before sleeping, when the next frame may be microseconds away.
    pub fn rx_waiting(&mut self) -> bool {
        self.chip.rx_waiting()
    }

    /// Gives the register access back (the chip keeps running).
    pub fn release(self) -> R {
        self.chip.regs
    }
}

/// Duplex of the best mode both ends advertise (IEEE 802.3 annex 28B priority:
/// 100 full, 100 half, 10 full, 10 half). No common mode: half, the safe guess.
fn resolve_full_duplex(common: u16) -> bool {
    if common & AN_100_FULL != 0 {
        true
    } else if common & AN_100_HALF != 0 {
        false
    } else {
        common & AN_10_FULL != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplex_resolution_follows_802_3_priority() {
        assert!(resolve_full_duplex(AN_100_FULL | AN_10_HALF));
        assert!(!resolve_full_duplex(AN_100_HALF | AN_10_FULL));
        assert!(resolve_full_duplex(AN_10_FULL | AN_10_HALF));
        assert!(!resolve_full_duplex(AN_10_HALF));
        assert!(!resolve_full_duplex(0));
    }
}
