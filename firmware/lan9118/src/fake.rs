//! A model of the LAN9118 for host tests: the registers, FIFOs, MAC CSR and
//! MII ports the driver uses, behaving as the datasheet describes, with knobs
//! to inject faults. Shared through `Rc<RefCell<_>>` so a test can look at the
//! chip while the driver owns it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::vec::Vec;

use crate::access::Regs;
use crate::regs::*;

/// Bytes the model's TX data FIFO reports free when empty (5 KiB FIFO less 512).
pub const TX_FIFO_BYTES: u32 = 4608;

/// The chip's state. Fields are public so tests can inject faults and inspect.
#[derive(Debug)]
pub struct State {
    pub id_rev: u32,
    pub byte_test: u32,
    /// Soft reset never completes.
    pub srst_sticks: bool,
    pub hw_cfg: u32,
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
}

impl State {
    fn new() -> Self {
        let mut s = State {
            id_rev: 0x0118_0001,
            byte_test: BYTE_TEST_VALUE,
            srst_sticks: false,
            hw_cfg: 0,
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
            tx_protocol_errors: 0,
        };
        s.soft_reset();
        s
    }

    /// What HW_CFG.SRST resets (fault knobs and the wire stay).
    fn soft_reset(&mut self) {
        self.hw_cfg = HW_CFG_TX_FIF_SZ_5K;
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
                    self.int_sts |= INT_RXSTOP;
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
            BYTE_TEST => s.byte_test,
            RX_CFG => s.rx_cfg,
            TX_CFG => s.tx_cfg,
            HW_CFG => s.hw_cfg,
            RX_FIFO_INF => ((s.rx_status.len() as u32) << 16) | (s.rx_data.len() as u32 * 4),
            TX_FIFO_INF => ((s.tx_status.len() as u32) << 16) | s.tdfree,
            PMT_CTRL => PMT_CTRL_READY,
            RX_DROP => std::mem::take(&mut s.rx_drop),
            MAC_CSR_CMD => 0, // never busy: commands complete at once
            MAC_CSR_DATA => s.csr_data,
            other => panic!("driver read unmodelled register {other:#x}"),
        }
    }

    fn write(&mut self, offset: usize, value: u32) {
        let mut s = self.0.borrow_mut();
        match offset {
            TX_DATA_FIFO => s.tx_push(value),
            INT_STS => s.int_sts &= !value,
            INT_EN => s.int_en = value,
            IRQ_CFG => s.irq_cfg = value,
            RX_CFG => {
                if value & RX_CFG_RX_DUMP != 0 {
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
                if s.srst_sticks {
                    s.hw_cfg |= HW_CFG_SRST;
                } else {
                    s.soft_reset();
                }
            }
            HW_CFG => s.hw_cfg = value,
            GPIO_CFG | AFC_CFG => {}
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
