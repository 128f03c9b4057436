//! Register map of the LAN9118 (SMSC/Microchip datasheet, section 5), as
//! byte offsets from the base of its 256-byte window and bit masks.
//!
//! Only what the driver uses is named here.

// --- Directly addressed: FIFO ports ---------------------------------------

/// RX data FIFO port (aliased over 0x00..0x1c; reading pops one word).
pub const RX_DATA_FIFO: usize = 0x00;
/// TX data FIFO port (aliased over 0x20..0x3c; writing pushes one word).
pub const TX_DATA_FIFO: usize = 0x20;
/// RX status FIFO port (reading pops one status word).
pub const RX_STATUS_FIFO: usize = 0x40;
/// TX status FIFO port (reading pops one status word).
pub const TX_STATUS_FIFO: usize = 0x48;

// --- Directly addressed: system control and status registers --------------

/// Chip ID (31:16) and revision (15:0).
pub const ID_REV: usize = 0x50;
/// Interrupt pin configuration.
pub const IRQ_CFG: usize = 0x54;
/// Interrupt status; write one to clear.
pub const INT_STS: usize = 0x58;
/// Interrupt enable.
pub const INT_EN: usize = 0x5c;
/// Reads [`BYTE_TEST_VALUE`] whatever the bus state: tells endianness and
/// whether the chip answers at all. Reading it is also the datasheet's delay.
pub const BYTE_TEST: usize = 0x64;
/// Receive configuration.
pub const RX_CFG: usize = 0x6c;
/// Transmit configuration.
pub const TX_CFG: usize = 0x70;
/// Hardware configuration (soft reset, FIFO sizes).
pub const HW_CFG: usize = 0x74;
/// RX FIFO fill levels.
pub const RX_FIFO_INF: usize = 0x7c;
/// TX FIFO fill levels.
pub const TX_FIFO_INF: usize = 0x80;
/// Power management control (device READY bit).
pub const PMT_CTRL: usize = 0x84;
/// GPIO and LED configuration.
pub const GPIO_CFG: usize = 0x88;
/// Frames dropped for lack of RX FIFO space; cleared on read.
pub const RX_DROP: usize = 0xa0;
/// Command port of the indirectly addressed MAC registers.
pub const MAC_CSR_CMD: usize = 0xa4;
/// Data port of the indirectly addressed MAC registers.
pub const MAC_CSR_DATA: usize = 0xa8;
/// Automatic flow control configuration.
pub const AFC_CFG: usize = 0xac;
/// EEPROM controller command and status (the loader's busy bit).
pub const E2P_CMD: usize = 0xb0;

/// What [`BYTE_TEST`] always reads.
pub const BYTE_TEST_VALUE: u32 = 0x8765_4321;

// IRQ_CFG
/// Interrupt pin enabled.
pub const IRQ_CFG_IRQ_EN: u32 = 1 << 8;
/// Interrupt pin active high.
pub const IRQ_CFG_IRQ_POL: u32 = 1 << 4;
/// Interrupt pin push-pull (not open drain).
pub const IRQ_CFG_IRQ_TYPE: u32 = 1 << 0;

// INT_STS / INT_EN
/// MAC transmitter stopped.
pub const INT_TXSTOP: u32 = 1 << 25;
/// MAC receiver stopped.
pub const INT_RXSTOP: u32 = 1 << 24;
/// TX status FIFO overflowed.
pub const INT_TXSO: u32 = 1 << 16;
/// Receive watchdog: a frame longer than 2048 bytes was cut.
pub const INT_RWT: u32 = 1 << 15;
/// Receiver error (e.g. the RX FIFOs were read past their content).
pub const INT_RXE: u32 = 1 << 14;
/// Transmitter error (e.g. malformed TX command words).
pub const INT_TXE: u32 = 1 << 13;
/// TX data FIFO overrun.
pub const INT_TDFO: u32 = 1 << 10;
/// A received frame was dropped: no FIFO space.
pub const INT_RXDF: u32 = 1 << 6;
/// RX status FIFO above its level: a frame is waiting.
pub const INT_RSFL: u32 = 1 << 3;

// RX_CFG
/// Empty both RX FIFOs (receiver must be stopped); self-clearing.
pub const RX_CFG_RX_DUMP: u32 = 1 << 15;

// TX_CFG
/// Empty the TX status FIFO; self-clearing.
pub const TX_CFG_TXS_DUMP: u32 = 1 << 15;
/// Empty the TX data FIFO; self-clearing.
pub const TX_CFG_TXD_DUMP: u32 = 1 << 14;
/// Keep transmitting when the TX status FIFO is full (oldest status lost).
pub const TX_CFG_TXSAO: u32 = 1 << 2;
/// Transmitter on.
pub const TX_CFG_TX_ON: u32 = 1 << 1;
/// Stop the transmitter after the frame in progress.
pub const TX_CFG_STOP_TX: u32 = 1 << 0;

// HW_CFG
/// Must be written as one (LAN9118); store-and-forward on later parts.
pub const HW_CFG_MBO: u32 = 1 << 20;
/// TX FIFO size in KiB (bits 19:16); 5 KiB leaves about 10 KiB for RX.
pub const HW_CFG_TX_FIF_SZ_5K: u32 = 5 << 16;
/// Soft reset timed out (read-only): the reset did not happen, e.g. because
/// the internal PHY was not operational (powered down).
pub const HW_CFG_SRST_TO: u32 = 1 << 1;
/// Soft reset; self-clearing.
pub const HW_CFG_SRST: u32 = 1 << 0;

// RX_FIFO_INF / TX_FIFO_INF
/// Shift of the status-word count in both FIFO_INF registers (bits 23:16).
pub const FIFO_INF_STATUS_SHIFT: u32 = 16;
/// Mask of the status-word count, after shifting.
pub const FIFO_INF_STATUS_MASK: u32 = 0xff;
/// Bytes in the RX data FIFO (RX_FIFO_INF) or free in the TX data FIFO (TX_FIFO_INF).
pub const FIFO_INF_BYTES_MASK: u32 = 0xffff;

// PMT_CTRL
/// The chip is out of reset and its registers may be used.
pub const PMT_CTRL_READY: u32 = 1 << 0;

// GPIO_CFG
/// LED1..3 outputs driven by the PHY (link, speed, activity).
pub const GPIO_CFG_LEDS: u32 = 0b111 << 28;

// AFC_CFG
/// Flow control thresholds recommended by the datasheet for a 5 KiB TX FIFO.
pub const AFC_CFG_DEFAULT: u32 = 0x006e_3740;

// E2P_CMD
/// The EEPROM controller is busy: after a reset, while it loads the MAC
/// address into ADDRL/ADDRH (and its pins are in use).
pub const E2P_CMD_BUSY: u32 = 1 << 31;
/// The loader found an EEPROM and loaded the MAC address from it.
pub const E2P_CMD_MAC_LOADED: u32 = 1 << 8;

// MAC_CSR_CMD
/// Command in progress; set to start one.
pub const MAC_CSR_BUSY: u32 = 1 << 31;
/// Read (set) or write (clear).
pub const MAC_CSR_READ: u32 = 1 << 30;

// --- RX and TX FIFO words -------------------------------------------------

/// RX status: frame length in bytes, CRC included (bits 29:16).
pub const RX_STS_LEN_SHIFT: u32 = 16;
/// RX status: length mask, after shifting.
pub const RX_STS_LEN_MASK: u32 = 0x3fff;
/// RX status: error summary (CRC, runt, too long, collision, ...).
pub const RX_STS_ES: u32 = 1 << 15;

/// TX command A: first segment of the frame.
pub const TX_CMD_A_FIRST_SEG: u32 = 1 << 13;
/// TX command A: last segment of the frame.
pub const TX_CMD_A_LAST_SEG: u32 = 1 << 12;
/// TX command A and B: buffer / frame length field (bits 10:0).
pub const TX_CMD_LEN_MASK: u32 = 0x7ff;
/// TX command B: shift of the frame tag, echoed in the TX status word.
pub const TX_CMD_B_TAG_SHIFT: u32 = 16;
/// TX status: error summary (collisions, carrier loss, underrun, ...).
pub const TX_STS_ES: u32 = 1 << 15;

// --- Indirectly addressed MAC registers (through MAC_CSR_CMD/DATA) --------

/// MAC control.
pub const MAC_CR: u8 = 1;
/// MAC address bytes 4 and 5.
pub const MAC_ADDRH: u8 = 2;
/// MAC address bytes 0 to 3.
pub const MAC_ADDRL: u8 = 3;
/// MII (PHY management) access.
pub const MAC_MII_ACC: u8 = 6;
/// MII data.
pub const MAC_MII_DATA: u8 = 7;

// MAC_CR
/// Full duplex.
pub const MAC_CR_FDPX: u32 = 1 << 20;
/// Pass all multicast frames (IPv6 neighbour discovery needs them).
pub const MAC_CR_MCPAS: u32 = 1 << 19;
/// Promiscuous.
pub const MAC_CR_PRMS: u32 = 1 << 18;
/// Transmitter enable.
pub const MAC_CR_TXEN: u32 = 1 << 3;
/// Receiver enable.
pub const MAC_CR_RXEN: u32 = 1 << 2;

// MII_ACC
/// Shift of the PHY address (bits 15:11).
pub const MII_ACC_PHY_SHIFT: u32 = 11;
/// Shift of the PHY register index (bits 10:6).
pub const MII_ACC_REG_SHIFT: u32 = 6;
/// Write (set) or read (clear).
pub const MII_ACC_WRITE: u32 = 1 << 1;
/// Access in progress.
pub const MII_ACC_BUSY: u32 = 1 << 0;

/// MII address of the internal PHY.
pub const PHY_ADDR: u32 = 1;

// --- PHY registers (IEEE 802.3 clause 22) ---------------------------------

/// Basic control.
pub const PHY_BMCR: u8 = 0;
/// Basic status.
pub const PHY_BMSR: u8 = 1;
/// Auto-negotiation advertisement.
pub const PHY_ANAR: u8 = 4;
/// Auto-negotiation link partner ability.
pub const PHY_ANLPAR: u8 = 5;
/// Mode control/status (vendor-specific, the SMSC internal PHY).
pub const PHY_MODE_CTRL_STS: u8 = 17;

/// BMCR: reset; self-clearing.
pub const BMCR_RESET: u16 = 1 << 15;
/// BMCR: auto-negotiation enable.
pub const BMCR_AN_ENABLE: u16 = 1 << 12;
/// BMCR: restart auto-negotiation; self-clearing.
pub const BMCR_AN_RESTART: u16 = 1 << 9;
/// BMSR: auto-negotiation complete.
pub const BMSR_AN_COMPLETE: u16 = 1 << 5;
/// BMSR: link up (latched low: read twice for the current state).
pub const BMSR_LINK: u16 = 1 << 2;
/// ANAR / ANLPAR: 100BASE-TX full duplex.
pub const AN_100_FULL: u16 = 1 << 8;
/// ANAR / ANLPAR: 100BASE-TX half duplex.
pub const AN_100_HALF: u16 = 1 << 7;
/// ANAR / ANLPAR: 10BASE-T full duplex.
pub const AN_10_FULL: u16 = 1 << 6;
/// ANAR / ANLPAR: 10BASE-T half duplex.
pub const AN_10_HALF: u16 = 1 << 5;
/// Mode control/status: energy-detect power-down. While the LAN9220's PHY
/// sleeps in it (its state after power-up, no cable), a soft reset of the
/// chip times out.
pub const MODE_CTRL_STS_EDPWRDOWN: u16 = 1 << 13;
/// ANAR: IEEE 802.3 selector.
pub const AN_SELECTOR_802_3: u16 = 0x0001;
