//! Register-level sequences: reset, MAC and PHY access, FIFO transfers and
//! error recovery. Everything bounded: a chip that stops answering produces
//! an error or a counter, never a hang.

use crate::access::Regs;
use crate::regs::*;
use crate::{Error, Stats};

/// The chip's shortest bus cycle (datasheet Tcyc, 45 ns): `n` register reads
/// take at least `n` × 45 ns on any bus, so waits counted in reads are never
/// shorter than the time they stand for (on the MPS2's slower bus, longer).
/// SMSC's programmer's guide (AN 12.12) counts `BYTE_TEST` dummy reads the same way.
const fn reads_for_us(us: u32) -> u32 {
    us * 1000 / 45 + 1
}

/// How long the chip may take to answer and be READY after power-up or soft
/// reset: Linux's smsc911x polls `PMT_CTRL.READY` for 100 ms.
const READY_POLLS: u32 = reads_for_us(100_000);
/// Polls of `HW_CFG.SRST` before giving up: Linux's smsc911x allows 100 µs
/// (10 polls 10 µs apart); ten times that here.
const SRST_POLLS: u32 = reads_for_us(1_000);
/// Wait after writing `HW_CFG.SRST` before the first poll: the write takes
/// effect a few bus cycles later, and until then `HW_CFG` still reads the old
/// value, SRST clear. Linux's smsc911x waits 10 µs before its first poll.
const SRST_SETTLE_US: u32 = 10;
/// Polls of `E2P_CMD.EPC_BUSY` after reset: Linux's smsc911x allows 500 µs
/// (50 polls 10 µs apart); ten times that here.
const EEPROM_POLLS: u32 = reads_for_us(5_000);
/// Time the LAN9220's PHY takes to wake from energy-detect power-down
/// (Linux's smsc911x: mdelay(2)).
const PHY_WAKE_US: u32 = 2_000;
/// Polls of the PHY's self-clearing reset bit before giving up.
const RESET_POLLS: u32 = 200_000;
/// Polls of a busy bit (MAC CSR, MII) before giving up; these take microseconds.
const BUSY_POLLS: u32 = 20_000;
/// Polls for the TX FIFO to drain before dropping a frame.
const TX_SPACE_POLLS: u32 = 20_000;
/// Bytes of command words in front of every TX frame.
const TX_CMD_BYTES: u32 = 8;

/// Frame length (CRC included) of a received frame, or why it is unusable.
pub(crate) enum RxStatus {
    /// A good frame of this many bytes, CRC included, is next in the data FIFO.
    Frame(usize),
    /// A bad frame of this many data-FIFO words is next: read and discard it.
    Discard(usize),
}

/// The chip, behind its register access, and the counters.
pub(crate) struct Chip<R: Regs> {
    pub(crate) regs: R,
    pub(crate) stats: Stats,
    /// Tag put in TX command B; echoed by the TX status so frames can be told apart.
    tag: u16,
    /// MAC_CR as last written, so the driver never reads it back on the hot path.
    mac_cr: u32,
    /// Received frames whose status `RX_FIFO_INF` last reported and that are
    /// not yet taken: they are read without asking the chip again, which
    /// costs a bus access per frame (in QEMU, a trip through the device model).
    rx_known: u32,
    /// Data-FIFO bytes those frames occupy, from the same read.
    rx_known_bytes: usize,
    /// TX data-FIFO bytes known free: `TX_FIFO_INF` as last read, less what
    /// was written since. Only the chip frees space, so this never overstates
    /// it, and the register is read again only when it looks too small.
    tx_known_free: u32,
}

/// Data-FIFO words holding `len` bytes (the FIFO is read a word at a time,
/// and every frame starts on a word boundary).
pub(crate) const fn words(len: usize) -> usize {
    len.div_ceil(4)
}

impl<R: Regs> Chip<R> {
    pub(crate) fn new(regs: R) -> Self {
        Chip { regs, stats: Stats::default(), tag: 0, mac_cr: 0, rx_known: 0, rx_known_bytes: 0, tx_known_free: 0 }
    }

    /// Polls `offset` until `done(value)`, at most `polls` times.
    fn wait(&mut self, offset: usize, polls: u32, done: impl Fn(u32) -> bool) -> bool {
        (0..polls).any(|_| done(self.regs.read(offset)))
    }

    /// The datasheet's write-to-read settling time: some registers need a few
    /// bus cycles after a write before they read back the new state, and a
    /// `BYTE_TEST` read is the documented way to spend them.
    fn settle(&mut self) {
        for _ in 0..4 {
            self.regs.read(BYTE_TEST);
        }
    }

    /// Waits until the host interface answers (`BYTE_TEST` reads right),
    /// then until the chip is READY: until then, reading anything but
    /// `BYTE_TEST`, `PMT_CTRL` and `HW_CFG`, or writing anything, is
    /// forbidden (datasheet 3.10.2; Linux's smsc911x polls READY for 100 ms
    /// before any other access). Bounded: a dead bus is an error.
    fn wait_ready(&mut self) -> Result<(), Error> {
        let mut byte_test = 0;
        if !(0..READY_POLLS).any(|_| {
            byte_test = self.regs.read(BYTE_TEST);
            byte_test == BYTE_TEST_VALUE
        }) {
            return Err(Error::NotResponding { byte_test });
        }
        if !self.wait(PMT_CTRL, READY_POLLS, |v| v & PMT_CTRL_READY != 0) {
            return Err(Error::NotReady);
        }
        Ok(())
    }

    /// Checks that a supported chip answers, returns its `ID_REV`.
    pub(crate) fn identify(&mut self) -> Result<u32, Error> {
        self.wait_ready()?;
        let id_rev = self.regs.read(ID_REV);
        if !crate::SUPPORTED_CHIP_IDS.contains(&((id_rev >> 16) as u16)) {
            return Err(Error::UnknownChip { id_rev });
        }
        Ok(id_rev)
    }

    /// Spends at least `us` microseconds on `BYTE_TEST` reads, the datasheet's
    /// harmless delay.
    fn delay_us(&mut self, us: u32) {
        for _ in 0..reads_for_us(us) {
            self.regs.read(BYTE_TEST);
        }
    }

    /// Soft reset, then FIFO sizes, flow control, LEDs; interrupts off. The
    /// chip must be READY (see `identify`); `id_rev` says which one it is.
    ///
    /// The sequence is Linux's smsc911x (`smsc911x_soft_reset`, `_open`):
    /// wake a LAN9220's PHY first, wait before polling SRST, check SRST_TO,
    /// wait for READY again, and for the EEPROM loader before GPIO_CFG and
    /// the MAC address (the loader writes its own address into ADDRL/ADDRH).
    pub(crate) fn reset(&mut self, id_rev: u32) -> Result<(), Error> {
        if id_rev >> 16 == 0x9220 {
            self.wake_phy()?;
        }
        self.regs.write(HW_CFG, HW_CFG_SRST);
        self.delay_us(SRST_SETTLE_US);
        if !self.wait(HW_CFG, SRST_POLLS, |v| v & HW_CFG_SRST == 0) {
            return Err(Error::ResetTimeout);
        }
        if self.regs.read(HW_CFG) & HW_CFG_SRST_TO != 0 {
            return Err(Error::ResetTimeout);
        }
        self.wait_ready()?;
        self.regs.write(HW_CFG, HW_CFG_TX_FIF_SZ_5K | HW_CFG_MBO);
        self.regs.write(AFC_CFG, AFC_CFG_DEFAULT);
        if !self.wait(E2P_CMD, EEPROM_POLLS, |v| v & E2P_CMD_BUSY == 0) {
            return Err(Error::EepromTimeout);
        }
        self.regs.write(GPIO_CFG, GPIO_CFG_LEDS);
        self.regs.write(INT_EN, 0);
        self.regs.write(INT_STS, u32::MAX);
        self.regs.write(IRQ_CFG, 0);
        self.settle();
        Ok(())
    }

    /// Reads MAC register `index` through the CSR command port.
    pub(crate) fn mac_read(&mut self, index: u8) -> Result<u32, Error> {
        self.mac_idle()?;
        self.regs.write(MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | u32::from(index));
        self.settle();
        self.mac_idle()?;
        Ok(self.regs.read(MAC_CSR_DATA))
    }

    /// Writes MAC register `index` through the CSR command port.
    pub(crate) fn mac_write(&mut self, index: u8, value: u32) -> Result<(), Error> {
        self.mac_idle()?;
        self.regs.write(MAC_CSR_DATA, value);
        self.regs.write(MAC_CSR_CMD, MAC_CSR_BUSY | u32::from(index));
        self.settle();
        self.mac_idle()
    }

    fn mac_idle(&mut self) -> Result<(), Error> {
        if self.wait(MAC_CSR_CMD, BUSY_POLLS, |v| v & MAC_CSR_BUSY == 0) {
            Ok(())
        } else {
            Err(Error::MacTimeout)
        }
    }

    /// Reads PHY register `reg` over MII.
    pub(crate) fn phy_read(&mut self, reg: u8) -> Result<u16, Error> {
        self.mii_idle()?;
        self.mac_write(MAC_MII_ACC, mii_acc(reg, false))?;
        self.mii_idle()?;
        // The data register holds the 16-bit PHY register in its low half.
        Ok(self.mac_read(MAC_MII_DATA)? as u16)
    }

    /// Writes PHY register `reg` over MII.
    pub(crate) fn phy_write(&mut self, reg: u8, value: u16) -> Result<(), Error> {
        self.mii_idle()?;
        self.mac_write(MAC_MII_DATA, u32::from(value))?;
        self.mac_write(MAC_MII_ACC, mii_acc(reg, true))?;
        self.mii_idle()
    }

    fn mii_idle(&mut self) -> Result<(), Error> {
        for _ in 0..BUSY_POLLS {
            if self.mac_read(MAC_MII_ACC)? & MII_ACC_BUSY == 0 {
                return Ok(());
            }
        }
        Err(Error::PhyTimeout)
    }

    /// Takes the PHY out of energy-detect power-down, in which the LAN9220's
    /// PHY starts and which makes a soft reset of the chip time out (Linux's
    /// smsc911x does this for the LAN921x/922x parts before every soft reset).
    fn wake_phy(&mut self) -> Result<(), Error> {
        let mode = self.phy_read(PHY_MODE_CTRL_STS)?;
        if mode & MODE_CTRL_STS_EDPWRDOWN != 0 {
            self.phy_write(PHY_MODE_CTRL_STS, mode & !MODE_CTRL_STS_EDPWRDOWN)?;
            self.delay_us(PHY_WAKE_US);
        }
        Ok(())
    }

    /// PHY reset, then auto-negotiation of every 10/100 mode.
    pub(crate) fn phy_init(&mut self) -> Result<(), Error> {
        self.phy_write(PHY_BMCR, BMCR_RESET)?;
        let mut polls = 0;
        while self.phy_read(PHY_BMCR)? & BMCR_RESET != 0 {
            polls += 1;
            if polls == RESET_POLLS {
                return Err(Error::PhyResetTimeout);
            }
        }
        let modes = AN_100_FULL | AN_100_HALF | AN_10_FULL | AN_10_HALF | AN_SELECTOR_802_3;
        self.phy_write(PHY_ANAR, modes)?;
        self.phy_write(PHY_BMCR, BMCR_AN_ENABLE | BMCR_AN_RESTART)
    }

    /// Programs the station address: bytes 0..4 in ADDRL, 4..6 in ADDRH,
    /// first byte least significant (the order they go on the wire).
    pub(crate) fn set_mac_address(&mut self, mac: &[u8; 6]) -> Result<(), Error> {
        let low = u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]);
        let high = u32::from(u16::from_le_bytes([mac[4], mac[5]]));
        self.mac_write(MAC_ADDRL, low)?;
        self.mac_write(MAC_ADDRH, high)
    }

    /// Empties both RX FIFOs, turns the transmitter on and enables the MAC.
    pub(crate) fn start(&mut self, full_duplex: bool) -> Result<(), Error> {
        self.forget_fifo_levels();
        self.regs.write(RX_CFG, RX_CFG_RX_DUMP);
        self.wait_rx_dump();
        self.regs.write(RX_CFG, 0); // no offset, 4-byte end alignment
        self.regs.write(TX_CFG, TX_CFG_TXS_DUMP | TX_CFG_TXD_DUMP);
        self.regs.write(TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
        // Own address and broadcast by the perfect filter (PRMS off, as the
        // reset value has it on); all multicast passes, for IPv6.
        let duplex = if full_duplex { MAC_CR_FDPX } else { 0 };
        self.write_mac_cr(MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_MCPAS | duplex)
    }

    fn write_mac_cr(&mut self, value: u32) -> Result<(), Error> {
        self.mac_write(MAC_CR, value)?;
        self.mac_cr = value;
        Ok(())
    }

    /// Sets the MAC's duplex to match the PHY's, if it differs.
    pub(crate) fn set_duplex(&mut self, full: bool) -> Result<(), Error> {
        let want = if full { self.mac_cr | MAC_CR_FDPX } else { self.mac_cr & !MAC_CR_FDPX };
        if want == self.mac_cr {
            return Ok(());
        }
        self.write_mac_cr(want)
    }

    /// Deals with the error conditions the chip flags in `INT_STS`: counts
    /// them, and stops, empties and restarts a path that may be out of step.
    pub(crate) fn check_errors(&mut self) {
        let status = self.regs.read(INT_STS);
        let handled = status & (INT_RXDF | INT_RXE | INT_RWT | INT_TXE | INT_TDFO | INT_TXSO);
        if handled == 0 {
            return;
        }
        self.regs.write(INT_STS, handled);
        if handled & INT_RXDF != 0 {
            // Clear-on-read; only the low 16 bits are the count.
            let dropped = self.regs.read(RX_DROP) & 0xffff;
            self.stats.rx_dropped = self.stats.rx_dropped.wrapping_add(dropped.max(1));
        }
        if handled & INT_RWT != 0 {
            self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
        }
        if handled & INT_TXSO != 0 {
            // Statuses were lost, not frames: nothing to recover.
            self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
        }
        if handled & INT_RXE != 0 {
            self.recover_rx();
        }
        if handled & (INT_TXE | INT_TDFO) != 0 {
            self.recover_tx();
        }
    }

    /// Receiver off, both RX FIFOs emptied, receiver on. Frames in the FIFOs
    /// are lost; TCP retransmits them.
    pub(crate) fn recover_rx(&mut self) {
        self.stats.rx_recoveries = self.stats.rx_recoveries.wrapping_add(1);
        self.rx_known = 0;
        self.rx_known_bytes = 0;
        let cr = self.mac_cr;
        // The receiver stops at a frame boundary; dumping before that would
        // leave half a frame behind. RXSTOP latches: one left from an earlier
        // stop (say a recovery whose wait timed out) would end the wait at
        // once, so clear it before asking for this stop.
        self.regs.write(INT_STS, INT_RXSTOP);
        let stopped = self.mac_write(MAC_CR, cr & !MAC_CR_RXEN).is_ok()
            && self.wait(INT_STS, BUSY_POLLS, |v| v & INT_RXSTOP != 0);
        if !stopped {
            self.stats.timeouts = self.stats.timeouts.wrapping_add(1);
        }
        self.regs.write(INT_STS, INT_RXSTOP);
        self.regs.write(RX_CFG, RX_CFG_RX_DUMP);
        self.wait_rx_dump();
        self.regs.write(RX_CFG, 0);
        if self.mac_write(MAC_CR, cr).is_err() {
            self.stats.timeouts = self.stats.timeouts.wrapping_add(1);
        }
    }

    fn wait_rx_dump(&mut self) {
        if !self.wait(RX_CFG, BUSY_POLLS, |v| v & RX_CFG_RX_DUMP == 0) {
            self.stats.timeouts = self.stats.timeouts.wrapping_add(1);
        }
    }

    /// Transmitter stopped, both TX FIFOs emptied, transmitter on again.
    pub(crate) fn recover_tx(&mut self) {
        self.stats.tx_recoveries = self.stats.tx_recoveries.wrapping_add(1);
        self.tx_known_free = 0;
        self.regs.write(TX_CFG, TX_CFG_STOP_TX | TX_CFG_TXSAO);
        if !self.wait(INT_STS, BUSY_POLLS, |v| v & INT_TXSTOP != 0) {
            self.stats.timeouts = self.stats.timeouts.wrapping_add(1);
        }
        self.regs.write(INT_STS, INT_TXSTOP);
        self.regs.write(TX_CFG, TX_CFG_TXS_DUMP | TX_CFG_TXD_DUMP | TX_CFG_TXSAO);
        self.regs.write(TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
    }

    /// Forgets the FIFO levels last read, so the next look asks the chip.
    fn forget_fifo_levels(&mut self) {
        self.rx_known = 0;
        self.rx_known_bytes = 0;
        self.tx_known_free = 0;
    }

    /// Reads `RX_FIFO_INF` into `rx_known`; true if frames wait.
    pub(crate) fn refresh_rx(&mut self) -> bool {
        let inf = self.regs.read(RX_FIFO_INF);
        self.rx_known = (inf >> FIFO_INF_STATUS_SHIFT) & FIFO_INF_STATUS_MASK;
        self.rx_known_bytes = (inf & FIFO_INF_BYTES_MASK) as usize;
        self.rx_known != 0
    }

    /// True if a received frame waits: known from the last look, or reported
    /// by the chip now.
    pub(crate) fn rx_waiting(&mut self) -> bool {
        self.rx_known != 0 || self.refresh_rx()
    }

    /// Status of the next received frame, if any; `None` also when the FIFOs
    /// disagree (then the receiver has been reset).
    ///
    /// The chip is asked how many frames wait only when the frames it last
    /// reported are all taken, and then the error flags are looked at too:
    /// once per burst of frames instead of once per frame.
    pub(crate) fn next_rx(&mut self, max_len: usize) -> Option<RxStatus> {
        if self.rx_known == 0 {
            self.check_errors();
            if !self.refresh_rx() {
                return None;
            }
        }
        self.rx_known -= 1;
        let status = self.regs.read(RX_STATUS_FIFO);
        let len = ((status >> RX_STS_LEN_SHIFT) & RX_STS_LEN_MASK) as usize;
        let Some(left) = self.rx_known_bytes.checked_sub(words(len) * 4) else {
            // A status without its data: we are out of step with the chip.
            self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
            self.recover_rx();
            return None;
        };
        self.rx_known_bytes = left;
        // Shorter than a header plus CRC, or longer than the buffer: unusable.
        if status & RX_STS_ES != 0 || len < 14 + 4 || len > max_len {
            self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
            return Some(RxStatus::Discard(words(len)));
        }
        Some(RxStatus::Frame(len))
    }

    /// Pops `len` bytes' worth of words from the RX data FIFO into `buf`
    /// (which must hold `words(len) * 4` bytes).
    pub(crate) fn read_frame(&mut self, buf: &mut [u8], len: usize) {
        // Bytes sit little-endian in each FIFO word, first byte lowest.
        for chunk in buf.chunks_exact_mut(4).take(words(len)) {
            chunk.copy_from_slice(&self.regs.read(RX_DATA_FIFO).to_le_bytes());
        }
    }

    /// Pops and drops `words` words of a bad frame. Reading them out works for
    /// every length (the `RX_DP_CTRL` fast-forward needs at least 4 words,
    /// and QEMU's model of it loses track of the FIFO level).
    pub(crate) fn discard(&mut self, words: usize) {
        for _ in 0..words {
            self.regs.read(RX_DATA_FIFO);
        }
    }

    /// Reads `TX_FIFO_INF`: pops every TX status it reports, counting the
    /// failed frames, and notes the free data-FIFO space.
    pub(crate) fn refresh_tx(&mut self) {
        let inf = self.regs.read(TX_FIFO_INF);
        self.tx_known_free = inf & FIFO_INF_BYTES_MASK;
        let used = (inf >> FIFO_INF_STATUS_SHIFT) & FIFO_INF_STATUS_MASK;
        for _ in 0..used {
            if self.regs.read(TX_STATUS_FIFO) & TX_STS_ES != 0 {
                self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
            }
        }
    }

    /// True when the TX data FIFO can take a frame of `len` bytes now. Asks
    /// the chip (draining TX statuses on the way) only when the space known
    /// free is too small.
    pub(crate) fn tx_space(&mut self, len: usize) -> bool {
        let need = words(len) as u32 * 4 + TX_CMD_BYTES;
        if self.tx_known_free < need {
            self.refresh_tx();
        }
        self.tx_known_free >= need
    }

    /// Queues `frame` as one segment. Waits (bounded) for FIFO space; if it
    /// never comes the frame is dropped and counted.
    pub(crate) fn write_frame(&mut self, frame: &[u8]) {
        let len = frame.len() as u32 & TX_CMD_LEN_MASK;
        if !(0..TX_SPACE_POLLS).any(|_| self.tx_space(frame.len())) {
            self.stats.tx_dropped = self.stats.tx_dropped.wrapping_add(1);
            return;
        }
        self.tx_known_free -= words(frame.len()) as u32 * 4 + TX_CMD_BYTES;
        self.tag = self.tag.wrapping_add(1);
        // Command A: one segment, no offset, 4-byte end alignment. Command B:
        // tag and frame length; the MAC adds padding and the CRC.
        self.regs.write(TX_DATA_FIFO, TX_CMD_A_FIRST_SEG | TX_CMD_A_LAST_SEG | len);
        self.regs.write(TX_DATA_FIFO, u32::from(self.tag) << TX_CMD_B_TAG_SHIFT | len);
        let mut chunks = frame.chunks_exact(4);
        for chunk in &mut chunks {
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 4];
            last[..rest.len()].copy_from_slice(rest);
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes(last));
        }
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
    }

    /// Interrupt pin on (push-pull, active high), raised while a received frame waits.
    pub(crate) fn enable_rx_irq(&mut self) {
        self.regs.write(IRQ_CFG, IRQ_CFG_IRQ_EN | IRQ_CFG_IRQ_POL | IRQ_CFG_IRQ_TYPE);
        self.regs.write(INT_EN, INT_RSFL);
    }

    /// Lowers the RX interrupt; true if frames are still waiting (then the
    /// caller must not sleep: the interrupt will not fire again for them).
    /// Also drains the TX statuses, which the transmit path leaves while it
    /// knows of enough space.
    pub(crate) fn ack_rx_irq(&mut self) -> bool {
        if self.rx_known != 0 {
            return true;
        }
        self.regs.write(INT_STS, INT_RSFL);
        self.refresh_tx();
        self.refresh_rx()
    }
}

/// MII_ACC value to access `reg` of the internal PHY.
fn mii_acc(reg: u8, write: bool) -> u32 {
    let dir = if write { MII_ACC_WRITE } else { 0 };
    PHY_ADDR << MII_ACC_PHY_SHIFT | u32::from(reg) << MII_ACC_REG_SHIFT | dir | MII_ACC_BUSY
}
