//! The LAN8742A PHY, read over MDIO: link up/down is logged and the MAC's
//! speed and duplex follow what autonegotiation settled on.

use ieee802_3_miim::phy::{PhySpeed, LAN8742A};
use ieee802_3_miim::Phy;
use stm32_eth::mac::{EthernetMACWithMii, MdcPin, MdioPin, Speed};

/// MDIO address of the LAN8742A on NUCLEO-144 boards (strapped to 0).
pub const PHY_ADDR: u8 = 0;
/// LAN8742A identifier (registers 2 and 3) with the revision nibble masked.
const LAN8742A_ID: u32 = 0x0007_C130;
/// Soft reset takes well under a millisecond; give up after this many polls.
/// Each is one MDIO read, 64 bits at MDC = HCLK/102 (about 40 µs), so this
/// is about 0.4 s: inside the watchdog's period.
const RESET_POLLS: u32 = 10_000;

/// Why the PHY could not be brought up.
#[derive(Debug, Clone, Copy, defmt::Format)]
pub enum PhyError {
    /// Nothing, or another PHY, answered at [`PHY_ADDR`] (raw id shown).
    NotFound(u32),
    /// The soft-reset bit never cleared.
    ResetTimeout,
}

/// The PHY, and what it last said about the link.
pub struct Link<Mdio: MdioPin, Mdc: MdcPin> {
    phy: LAN8742A<EthernetMACWithMii<Mdio, Mdc>>,
    up: bool,
}

impl<Mdio: MdioPin, Mdc: MdcPin> Link<Mdio, Mdc> {
    /// Checks the PHY is a LAN8742A, resets it and starts autonegotiation.
    pub fn new(mac: EthernetMACWithMii<Mdio, Mdc>) -> Result<Self, PhyError> {
        let mut phy = LAN8742A::new(mac, PHY_ADDR);
        let id = phy.phy_ident().map(|id| id.raw_u32()).unwrap_or(0);
        if id & 0xFFFF_FFF0 != LAN8742A_ID {
            return Err(PhyError::NotFound(id));
        }
        // The MCU may have been reset while the PHY kept its old state.
        phy.reset();
        let mut polls = 0;
        while phy.is_resetting() {
            polls += 1;
            if polls == RESET_POLLS {
                return Err(PhyError::ResetTimeout);
            }
        }
        phy.phy_init();
        Ok(Link { phy, up: false })
    }

    /// Whether the link was up at the last [`Link::poll`].
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Reads the PHY; on a change, logs it, sets the MAC to the negotiated
    /// speed and returns the new state.
    pub fn poll(&mut self) -> Option<bool> {
        let up = self.phy.link_established();
        if up == self.up {
            return None;
        }
        self.up = up;
        if up {
            match self.phy.link_speed() {
                Some(speed) => {
                    let (mac_speed, name) = mac_speed(speed);
                    self.phy.get_miim().set_speed(mac_speed);
                    defmt::info!("link up, {=str}", name);
                }
                None => {
                    defmt::warn!("link up, but the PHY reports no valid speed; MAC left as it was")
                }
            }
        } else {
            defmt::info!("link down");
        }
        Some(up)
    }
}

/// The MAC setting for a PHY speed, and its name for the log.
fn mac_speed(speed: PhySpeed) -> (Speed, &'static str) {
    match speed {
        PhySpeed::HalfDuplexBase10T => (Speed::HalfDuplexBase10T, "10BASE-T half duplex"),
        PhySpeed::FullDuplexBase10T => (Speed::FullDuplexBase10T, "10BASE-T full duplex"),
        PhySpeed::HalfDuplexBase100Tx => (Speed::HalfDuplexBase100Tx, "100BASE-TX half duplex"),
        PhySpeed::FullDuplexBase100Tx => (Speed::FullDuplexBase100Tx, "100BASE-TX full duplex"),
    }
}
