//! Why the chip could not be brought up.

use core::fmt;

/// Initialisation failure. Small and `Copy`, so boards can log or match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// `BYTE_TEST` did not read `0x87654321`: nothing answers at this
    /// address, or the bus width or byte order is wrong.
    NotResponding {
        /// What `BYTE_TEST` read.
        byte_test: u32,
    },
    /// `ID_REV` names a chip this driver does not know.
    UnknownChip {
        /// What `ID_REV` read.
        id_rev: u32,
    },
    /// The chip did not report READY after power-up or soft reset.
    NotReady,
    /// The soft reset did not complete: `HW_CFG.SRST` did not clear, or the
    /// chip set `HW_CFG.SRST_TO` (the reset did not happen).
    ResetTimeout,
    /// The EEPROM loader stayed busy after reset (`E2P_CMD.EPC_BUSY`).
    EepromTimeout,
    /// A MAC register access through `MAC_CSR_CMD` did not complete.
    MacTimeout,
    /// A PHY register access through `MII_ACC` did not complete.
    PhyTimeout,
    /// The PHY's reset bit did not clear.
    PhyResetTimeout,
    /// The MAC address given is multicast or all zeroes.
    InvalidMac,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NotResponding { byte_test } => {
                write!(f, "LAN9118 not responding: BYTE_TEST reads {byte_test:#010x}, expected 0x87654321")
            }
            Error::UnknownChip { id_rev } => {
                write!(
                    f,
                    "unsupported chip: ID_REV {id_rev:#010x}, expected 0x0118xxxx (LAN9118) or 0x9220xxxx (LAN9220)"
                )
            }
            Error::NotReady => write!(f, "LAN9118 did not become ready"),
            Error::ResetTimeout => write!(f, "LAN9118 soft reset did not complete"),
            Error::EepromTimeout => write!(f, "LAN9118 EEPROM loader stayed busy after reset"),
            Error::MacTimeout => write!(f, "LAN9118 MAC register access timed out"),
            Error::PhyTimeout => write!(f, "LAN9118 PHY (MII) access timed out"),
            Error::PhyResetTimeout => write!(f, "LAN9118 PHY reset did not complete"),
            Error::InvalidMac => write!(f, "MAC address must be unicast and not all zeroes"),
        }
    }
}

impl core::error::Error for Error {}
