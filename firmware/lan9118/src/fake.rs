//! A model of the LAN9118 for host tests: the registers, FIFOs, MAC CSR and
//! MII ports the driver uses, behaving as the datasheet describes, with knobs
//! to inject faults. Shared through `Rc<RefCell<_>>` so a test can look at the
//! chip while the driver owns it.
//!
//! Time is counted in bus accesses (`State::now`): the driver has no other
//! clock, and on the real chip every access takes at least one bus cycle.
//! What QEMU makes instant takes time here, as on the chip:
//!
//! - after power-up and after a soft reset, `BYTE_TEST` reads garbage until
//!   the host interface is up, and `PMT_CTRL.READY` comes later still; until
//!   READY, reading anything but `BYTE_TEST`, `PMT_CTRL` and `HW_CFG`, and
//!   writing anything, is forbidden (the datasheet's rule for READY, 3.10.2;
//!   Linux's smsc911x: "Any other access to the device is forbidden while
//!   this bit isn't set");
//! - a write of `HW_CFG.SRST` takes effect a few accesses later (the
//!   datasheet's write-to-read timing), so a read right after it still shows
//!   the old value; the reset then runs for a while, and ends with
//!   `HW_CFG.SRST_TO` instead of a reset if the PHY was in energy-detect
//!   power-down (what Linux's smsc911x works around on the LAN9220);
//! - after READY the EEPROM loader runs (`E2P_CMD` busy) and ends by writing
//!   its MAC address into ADDRL/ADDRH, over whatever the driver put there;
//! - clearing `MAC_CR.RXEN` stops the receiver only once the frame on the
//!   wire is in, then raises `INT_STS.RXSTOP`.
//!
//! Every rule the driver breaks is recorded in `State::violations`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use crate::access::Regs;
use crate::regs::*;

/// Bytes the model's TX data FIFO reports free when empty (5 KiB FIFO less 512).
pub const TX_FIFO_BYTES: u32 = 4608;

/// After power-up: accesses until `BYTE_TEST` reads right, and until READY.
const POWER_UP_BYTE_TEST: u64 = 100;
const POWER_UP_READY: u64 = 200;
/// Accesses between the write of `HW_CFG.SRST` and the reset starting.
const SRST_LATENCY: u64 = 3;
/// After a soft reset ends: accesses until `BYTE_TEST` reads right, and until READY.
const RESET_BYTE_TEST: u64 = 20;
const RESET_READY: u64 = 100;
/// The MAC address the model's EEPROM holds (not the one the tests configure).
pub const EEPROM_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// The chip's state. Fields are public so tests can inject faults and inspect.
#[derive(Debug)]
pub struct State {
    /// Bus accesses so far: the model's clock.
    pub now: u64,
    /// From this access on, `BYTE_TEST` reads [`State::byte_test`].
    pub byte_test_at: u64,
    /// From this access on, `PMT_CTRL.READY` is set (`u64::MAX`: never).
    pub ready_at: u64,
    /// A soft reset in progress: it starts at the first access, ends at the second.
    srst: Option<(u64, u64)>,
    /// Accesses a soft reset takes.
    pub srst_accesses: u64,
    /// Soft reset never completes.
    pub srst_sticks: bool,
    /// Soft resets that ended with SRST_TO set instead of resetting the chip.
    pub srst_timeouts: u32,
    /// Soft resets completed.
    pub soft_resets: u32,
    /// The EEPROM loader ends (and writes the MAC address) at this access; `None` when idle.
    pub eeprom_done_at: Option<u64>,
    /// Accesses the loader runs after READY (`u64::MAX`: never ends).
    pub eeprom_accesses: u64,
    /// What the EEPROM holds: `None` for no EEPROM (the loader finds none).
    pub eeprom_mac: Option<[u8; 6]>,
    pub e2p_cmd: u32,
    /// Accesses between clearing `MAC_CR.RXEN` and the receiver stopping.
    pub rx_stop_accesses: u64,
    /// The receiver stops (RXSTOP is raised) at this access.
    rx_stop_at: Option<u64>,
    /// Rules of the datasheet the driver broke, in order.
    pub violations: Vec<String>,
    pub id_rev: u32,
    pub byte_test: u32,
    pub hw_cfg: u32,
    pub afc_cfg: u32,
    pub gpio_cfg: u32,
    pub int_sts: u32,
    pub int_en: u32,
    pub irq_cfg: u32,
    pub rx_cfg: u32,
    pub tx_cfg: u32,
    pub mac_cr: u32,
    pub mac_addr: [u8; 6],
    csr_data: u32,
    mii_acc: u32,
    mii_data: u32,
    pub bmcr: u16,
    pub anar: u16,
    /// PHY register 17's energy-detect power-down bit.
    pub phy_edpd: bool,
    pub anlpar: u16,
    pub link_up: bool,
    pub phy_resets: u32,
    pub rx_status: VecDeque<u32>,
    pub rx_data: VecDeque<u32>,
    /// RX_DROP counter (clear on read).
    pub rx_drop: u32,
    /// Frames offered while the receiver was off.
    pub rx_refused: u32,
    pub rx_dumps: u32,
    tx_words: Vec<u32>,
    /// Frames transmitted, CRC not included.
    pub sent: Vec<Vec<u8>>,
    pub tx_status: VecDeque<u32>,
    /// The next transmitted frame gets an error status.
    pub tx_fail_next: bool,
    /// Free bytes reported in TX_FIFO_INF (tests shrink it to fake a busy wire).
    pub tdfree: u32,
    /// TX command words that broke the protocol the driver must follow.
    pub tx_protocol_errors: u32,
    /// Reads of TX_FIFO_INF so far.
    pub tx_fifo_inf_reads: u32,
}

impl State {
    fn new() -> Self {
        let mut s = State {
            now: 0,
            byte_test_at: POWER_UP_BYTE_TEST,
            ready_at: POWER_UP_READY,
            srst: None,
            srst_accesses: 500,
            srst_sticks: false,
            srst_timeouts: 0,
            soft_resets: 0,
            eeprom_done_at: None,
            eeprom_accesses: 2000,
            eeprom_mac: Some(EEPROM_MAC),
            e2p_cmd: 0,
            rx_stop_accesses: 0,
            rx_stop_at: None,
            violations: Vec::new(),
            id_rev: 0x0118_0001,
            byte_test: BYTE_TEST_VALUE,
            hw_cfg: 0,
            afc_cfg: 0,
            gpio_cfg: 0,
            int_sts: 0,
            int_en: 0,
            irq_cfg: 0,
            rx_cfg: 0,
            tx_cfg: 0,
            mac_cr: 0,
            mac_addr: [0; 6],
            csr_data: 0,
            mii_acc: 0,
            mii_data: 0,
            bmcr: 0,
            anar: 0,
            phy_edpd: false,
            anlpar: AN_100_FULL | AN_100_HALF | AN_10_FULL | AN_10_HALF | AN_SELECTOR_802_3,
            link_up: true,
            phy_resets: 0,
            rx_status: VecDeque::new(),
            rx_data: VecDeque::new(),
            rx_drop: 0,
            rx_refused: 0,
            rx_dumps: 0,
            tx_words: Vec::new(),
            sent: Vec::new(),
            tx_status: VecDeque::new(),
            tx_fail_next: false,
            tdfree: TX_FIFO_BYTES,
            tx_fifo_inf_reads: 0,
            tx_protocol_errors: 0,
        };
        s.soft_reset();
        // Power-up: the loader starts once the chip is READY.
        s.eeprom_done_at = Some(POWER_UP_READY.saturating_add(s.eeprom_accesses));
        s
    }

    /// What HW_CFG.SRST resets (fault knobs and the wire stay).
    fn soft_reset(&mut self) {
        self.hw_cfg = HW_CFG_TX_FIF_SZ_5K;
        self.afc_cfg = 0;
        self.gpio_cfg = 0;
        self.e2p_cmd = 0;
        self.rx_stop_at = None;
        self.int_sts = 0;
        self.int_en = 0;
        self.irq_cfg = 0;
        self.rx_cfg = 0;
        self.tx_cfg = 0;
        self.mac_cr = MAC_CR_PRMS;
        self.rx_status.clear();
        self.rx_data.clear();
        self.tx_words.clear();
        self.tx_status.clear();
        self.phy_reset();
    }

    fn phy_reset(&mut self) {
        self.bmcr = BMCR_AN_ENABLE | (1 << 13);
        self.anar = AN_100_FULL | AN_100_HALF | AN_10_FULL | AN_10_HALF | AN_SELECTOR_802_3;
    }

    /// One bus access: time moves on, and what was due happens.
    fn tick(&mut self) {
        self.now += 1;
        let now = self.now;
        if let Some((_, end)) = self.srst {
            if now >= end {
                self.srst = None;
                if self.phy_edpd {
                    // The chip's reset waits for the PHY, which sleeps: it gives up.
                    self.hw_cfg |= HW_CFG_SRST_TO;
                    self.srst_timeouts += 1;
                } else {
                    self.soft_reset();
                    self.soft_resets += 1;
                    self.byte_test_at = now + RESET_BYTE_TEST;
                    self.ready_at = now + RESET_READY;
                    self.eeprom_done_at = Some(self.ready_at.saturating_add(self.eeprom_accesses));
                }
            }
        }
        if self.eeprom_done_at.is_some_and(|at| now >= at) {
            self.eeprom_done_at = None;
            if let Some(mac) = self.eeprom_mac {
                self.mac_addr = mac;
                self.e2p_cmd |= E2P_CMD_MAC_LOADED;
            }
        }
        if self.rx_stop_at.is_some_and(|at| now >= at) {
            self.rx_stop_at = None;
            self.int_sts |= INT_RXSTOP;
        }
    }

    /// A soft reset has started and not ended.
    fn in_reset(&self) -> bool {
        self.srst.is_some_and(|(start, _)| self.now >= start)
    }

    /// READY: registers other than BYTE_TEST, PMT_CTRL and HW_CFG may be used.
    pub fn ready(&self) -> bool {
        !self.in_reset() && self.now >= self.ready_at
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn bmsr(&self) -> u16 {
        let link = if self.link_up { BMSR_LINK | BMSR_AN_COMPLETE } else { 0 };
        0x7809 | link
    }

    /// A frame arriving from the wire, with `flags` ORed into its RX status.
    pub fn receive(&mut self, frame: &[u8], flags: u32) {
        if self.mac_cr & MAC_CR_RXEN == 0 {
            self.rx_refused += 1;
            return;
        }
        let len = frame.len() + 4;
        let mut bytes = frame.to_vec();
        bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // stands in for the CRC
        bytes.resize(len.div_ceil(4) * 4, 0);
        for w in bytes.chunks_exact(4) {
            self.rx_data.push_back(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
        self.rx_status.push_back(((len as u32) << RX_STS_LEN_SHIFT) | flags);
        self.int_sts |= INT_RSFL;
    }

    fn mac_read(&mut self, index: u32) -> u32 {
        match index as u8 {
            MAC_CR => self.mac_cr,
            MAC_ADDRH => u32::from(u16::from_le_bytes([self.mac_addr[4], self.mac_addr[5]])),
            MAC_ADDRL => u32::from_le_bytes([self.mac_addr[0], self.mac_addr[1], self.mac_addr[2], self.mac_addr[3]]),
            MAC_MII_ACC => self.mii_acc,
            MAC_MII_DATA => self.mii_data,
            other => panic!("driver read unmodelled MAC register {other}"),
        }
    }

    fn mac_write(&mut self, index: u32, value: u32) {
        match index as u8 {
            MAC_CR => {
                if self.mac_cr & MAC_CR_RXEN != 0 && value & MAC_CR_RXEN == 0 {
                    // It stops once the frame on the wire is in.
                    if self.rx_stop_accesses == 0 {
                        self.int_sts |= INT_RXSTOP;
                    } else {
                        self.rx_stop_at = Some(self.now + self.rx_stop_accesses);
                    }
                }
                self.mac_cr = value;
            }
            MAC_ADDRH => {
                let b = value.to_le_bytes();
                self.mac_addr[4] = b[0];
                self.mac_addr[5] = b[1];
            }
            MAC_ADDRL => self.mac_addr[..4].copy_from_slice(&value.to_le_bytes()),
            MAC_MII_ACC => {
                assert_eq!((value >> MII_ACC_PHY_SHIFT) & 0x1f, PHY_ADDR, "internal PHY is at address 1");
                let reg = ((value >> MII_ACC_REG_SHIFT) & 0x1f) as u8;
                if value & MII_ACC_WRITE != 0 {
                    self.phy_write(reg, self.mii_data as u16);
                } else {
                    self.mii_data = u32::from(self.phy_read(reg));
                }
                self.mii_acc = value & !MII_ACC_BUSY;
            }
            MAC_MII_DATA => self.mii_data = value & 0xffff,
            other => panic!("driver wrote unmodelled MAC register {other}"),
        }
    }

    fn phy_read(&mut self, reg: u8) -> u16 {
        match reg {
            PHY_BMCR => self.bmcr,
            PHY_BMSR => self.bmsr(),
            PHY_ANAR => self.anar,
            PHY_ANLPAR => self.anlpar,
            PHY_MODE_CTRL_STS => {
                // ENERGYON (bit 1) set: the link partner is there.
                let edpd = if self.phy_edpd { MODE_CTRL_STS_EDPWRDOWN } else { 0 };
                edpd | 1 << 1
            }
            other => panic!("driver read unmodelled PHY register {other}"),
        }
    }

    fn phy_write(&mut self, reg: u8, value: u16) {
        match reg {
            PHY_BMCR if value & BMCR_RESET != 0 => {
                self.phy_resets += 1;
                self.phy_reset();
            }
            PHY_BMCR => self.bmcr = value & !BMCR_AN_RESTART,
            PHY_ANAR => self.anar = value,
            PHY_MODE_CTRL_STS => self.phy_edpd = value & MODE_CTRL_STS_EDPWRDOWN != 0,
            other => panic!("driver wrote unmodelled PHY register {other}"),
        }
    }

    /// One word into the TX data FIFO: command A, command B, then the data.
    fn tx_push(&mut self, word: u32) {
        self.tx_words.push(word);
        let cmd_a = self.tx_words[0];
        let buf_len = (cmd_a & TX_CMD_LEN_MASK) as usize;
        if self.tx_words.len() < 2 + buf_len.div_ceil(4) {
            return;
        }
        let cmd_b = self.tx_words[1];
        let single_segment = cmd_a & (TX_CMD_A_FIRST_SEG | TX_CMD_A_LAST_SEG) == TX_CMD_A_FIRST_SEG | TX_CMD_A_LAST_SEG;
        // Offset (20:16), alignment (25:24) must be zero; lengths must agree.
        let plain = cmd_a & 0x031f_0000 == 0 && (cmd_b & TX_CMD_LEN_MASK) as usize == buf_len;
        if !single_segment || !plain {
            self.tx_protocol_errors += 1;
            self.int_sts |= INT_TXE;
        }
        let mut frame: Vec<u8> = self.tx_words[2..].iter().flat_map(|w| w.to_le_bytes()).collect();
        frame.truncate(buf_len);
        self.sent.push(frame);
        let es = if std::mem::take(&mut self.tx_fail_next) { TX_STS_ES } else { 0 };
        self.tx_status.push_back((cmd_b & 0xffff_0000) | es);
        self.tx_words.clear();
    }
}

/// Register access to a shared [`State`].
#[derive(Clone, Debug)]
pub struct Fake(pub Rc<RefCell<State>>);

impl Fake {
    pub fn new() -> Self {
        Fake(Rc::new(RefCell::new(State::new())))
    }

    pub fn state(&self) -> std::cell::RefMut<'_, State> {
        self.0.borrow_mut()
    }
}

impl Regs for Fake {
    fn read(&mut self, offset: usize) -> u32 {
        let mut s = self.0.borrow_mut();
        s.tick();
        if !s.ready() && !matches!(offset, BYTE_TEST | PMT_CTRL | HW_CFG) {
            let now = s.now;
            s.violation(std::format!("read of {offset:#04x} before READY (access {now})"));
            return 0xdead_beef;
        }
        match offset {
            RX_DATA_FIFO => s.rx_data.pop_front().unwrap_or_else(|| {
                // Reading past the content: the chip flags a receiver error.
                s.int_sts |= INT_RXE;
                0
            }),
            RX_STATUS_FIFO => s.rx_status.pop_front().unwrap_or(0),
            TX_STATUS_FIFO => s.tx_status.pop_front().unwrap_or(0),
            ID_REV => s.id_rev,
            IRQ_CFG => s.irq_cfg,
            INT_STS => s.int_sts,
            INT_EN => s.int_en,
            // The host interface is not up yet: the bus reads garbage.
            BYTE_TEST if s.in_reset() || s.now < s.byte_test_at => 0,
            BYTE_TEST => s.byte_test,
            RX_CFG => s.rx_cfg,
            TX_CFG => s.tx_cfg,
            HW_CFG => match s.srst {
                // The write has not taken effect yet: the old value.
                Some((start, _)) if s.now < start => s.hw_cfg,
                Some(_) => s.hw_cfg | HW_CFG_SRST,
                None => s.hw_cfg,
            },
            RX_FIFO_INF => ((s.rx_status.len() as u32) << 16) | (s.rx_data.len() as u32 * 4),
            TX_FIFO_INF => {
                s.tx_fifo_inf_reads += 1;
                ((s.tx_status.len() as u32) << 16) | s.tdfree
            }
            PMT_CTRL if s.ready() => PMT_CTRL_READY,
            PMT_CTRL => 0,
            RX_DROP => std::mem::take(&mut s.rx_drop),
            MAC_CSR_CMD => 0, // never busy: commands complete at once
            MAC_CSR_DATA => s.csr_data,
            AFC_CFG => s.afc_cfg,
            GPIO_CFG => s.gpio_cfg,
            E2P_CMD if s.eeprom_done_at.is_some() => s.e2p_cmd | E2P_CMD_BUSY,
            E2P_CMD => s.e2p_cmd,
            other => panic!("driver read unmodelled register {other:#x}"),
        }
    }

    fn write(&mut self, offset: usize, value: u32) {
        let mut s = self.0.borrow_mut();
        s.tick();
        if !s.ready() {
            // Lost: the chip does not take writes until READY.
            let now = s.now;
            s.violation(std::format!("write of {offset:#04x} before READY (access {now})"));
            return;
        }
        match offset {
            TX_DATA_FIFO => s.tx_push(value),
            INT_STS => s.int_sts &= !value,
            INT_EN => s.int_en = value,
            IRQ_CFG => s.irq_cfg = value,
            RX_CFG => {
                if value & RX_CFG_RX_DUMP != 0 {
                    if s.mac_cr & MAC_CR_RXEN != 0 || s.rx_stop_at.is_some() {
                        s.violation("RX_DUMP while the receiver runs".into());
                    }
                    s.rx_dumps += 1;
                    s.rx_status.clear();
                    s.rx_data.clear();
                }
                s.rx_cfg = value & !RX_CFG_RX_DUMP;
            }
            TX_CFG => {
                if value & TX_CFG_STOP_TX != 0 {
                    s.int_sts |= INT_TXSTOP;
                }
                if value & TX_CFG_TXS_DUMP != 0 {
                    s.tx_status.clear();
                }
                if value & TX_CFG_TXD_DUMP != 0 {
                    s.tx_words.clear();
                }
                s.tx_cfg = value & (TX_CFG_TX_ON | TX_CFG_TXSAO);
            }
            HW_CFG if value & HW_CFG_SRST != 0 => {
                let start = s.now + SRST_LATENCY;
                let end = if s.srst_sticks { u64::MAX } else { start + s.srst_accesses };
                s.srst = Some((start, end));
                s.hw_cfg &= !HW_CFG_SRST_TO;
            }
            HW_CFG => s.hw_cfg = value & !(HW_CFG_SRST | HW_CFG_SRST_TO),
            GPIO_CFG => {
                if s.eeprom_done_at.is_some() {
                    // Linux's smsc911x waits for the loader before touching
                    // GPIO_CFG: the EEPROM's pins are configured there.
                    s.violation("GPIO_CFG written while the EEPROM loader runs".into());
                }
                s.gpio_cfg = value;
            }
            AFC_CFG => s.afc_cfg = value,
            MAC_CSR_DATA => s.csr_data = value,
            MAC_CSR_CMD => {
                assert!(value & MAC_CSR_BUSY != 0, "MAC CSR command without the busy bit does nothing");
                let index = value & 0xff;
                if value & MAC_CSR_READ != 0 {
                    s.csr_data = s.mac_read(index);
                } else {
                    let data = s.csr_data;
                    s.mac_write(index, data);
                }
            }
            other => panic!("driver wrote unmodelled register {other:#x}"),
        }
    }
}
