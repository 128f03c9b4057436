//! Bring-up of the NUCLEO-F429ZI: reset cause, watchdog, debug access,
//! clocks, the microsecond clock, hardware RNG, LEDs, and the Ethernet
//! MAC/DMA with its LAN8742A PHY on the NUCLEO-144 RMII pins; then what the
//! main loop asks of the board between polls: the periodic check (link,
//! driver counters, LEDs), feeding the watchdog, and the sleep until the next
//! deadline or a frame.

use echo_core::smoltcp::time::{Duration, Instant};
use echo_core::smoltcp::wire::EthernetAddress;
use echo_core::{EchoServer, InitError, NetConfig};
use stm32_eth::{EthPins, PartsIn};
use stm32f4xx_hal::gpio::{Alternate, Output, Speed, PA2, PB0, PB14, PB7, PC1};
use stm32f4xx_hal::hal_02::blocking::rng::Read as _;
use stm32f4xx_hal::pac::{self, interrupt};
use stm32f4xx_hal::prelude::*;

use crate::clock::{self, Alarm};
use crate::eth::{DriverStats, EthDevice};
use crate::fault::{self, Watchdog};
use crate::ident;
use crate::leds::Leds;
use crate::link::Link;
use crate::memory::{EthMemory, RX_FRAMES_PER_CONNECTION};
use crate::reset_cause::Crash;

/// How often the PHY is asked about the link (a few MDIO reads) and the
/// receive ring is checked.
const CHECK_PERIOD: Duration = Duration::from_millis(250);

/// The HSI's frequency over the HSE's (16 MHz, 8 MHz from the ST-LINK's MCO).
const HSI_PER_HSE: u32 = 2;
/// Core clock. 168 MHz rather than 180: the PLL then also makes the exact
/// 48 MHz the RNG needs (from the HSE or the HSI alike), and no over-drive is
/// required.
const SYSCLK_HZ: u32 = 168_000_000;
/// How long to wait for the HSE before running on the HSI: ST's HAL waits
/// 100 ms (HSE_STARTUP_TIMEOUT). Polls of 100 µs at the 16 MHz start-up clock.
const HSE_POLLS: u32 = 1_000;
const HSE_POLL_CYCLES: u32 = 1_600;
/// The chip's 96-bit unique ID (RM0090 39.1).
const UID_ADDR: usize = 0x1FFF_7A10;

/// RMII management pins: MDIO on PA2, MDC on PC1.
pub type Mdio = PA2<Alternate<11>>;
/// See [`Mdio`].
pub type Mdc = PC1<Alternate<11>>;
/// LD1 green (PB0), LD2 blue (PB7), LD3 red (PB14).
pub type BoardLeds = Leds<PB0<Output>, PB7<Output>, PB14<Output>>;

/// What the main loop drives.
pub struct Board {
    /// The Ethernet MAC as a smoltcp device.
    pub eth: EthDevice<'static, 'static>,
    /// The network identity: the MAC from the chip's unique ID, the random
    /// seed from the hardware RNG.
    pub net: NetConfig,
    /// Milliseconds since 1970 at start-up: never known here (no RTC
    /// battery); SNTP, if built in, sets the wall clock later.
    pub wall_clock: Option<u64>,
    /// The PHY, unless it did not answer (then the link never comes up).
    link: Option<Link<Mdio, Mdc>>,
    /// Status lights.
    leds: BoardLeds,
    /// Ends `wfi` when smoltcp next has work.
    alarm: Alarm,
    /// Resets the chip unless fed at least every 1.36 s.
    watchdog: Watchdog,
    /// When [`Board::check`] next looks at the link and the ring.
    next_check: Instant,
    /// The driver's counters last logged.
    reported: DriverStats,
}

/// Brings the board up; the Ethernet DMA runs on the given rings.
///
/// Panics only on what cannot happen on this board (peripherals taken twice,
/// a core clock too slow for the MAC): this is start-up, not the network
/// path. Every wait is bounded, and the watchdog runs from the start: a board
/// stuck here resets and says so at the next boot.
// Called once: inlined into main as it was before the loop moved to
// `echo_core::board::run` (212 B less than a call; on the MPS2 it costs more).
#[inline(always)]
pub fn init(eth_memory: EthMemory) -> Board {
    let dp = pac::Peripherals::take().expect("peripherals are taken once");

    fault::report_last_reset(&dp.RCC);
    let watchdog = Watchdog::start(dp.IWDG);
    // Keep the debug port clocked in sleep/stop/standby, so a probe can attach
    // to a sleeping core after an earlier session detached; stop the watchdog
    // while a debugger holds the core halted.
    dp.DBGMCU.cr.modify(|_, w| w.dbg_sleep().set_bit().dbg_stop().set_bit().dbg_standby().set_bit());
    dp.DBGMCU.apb1_fz.modify(|_, w| w.dbg_iwdg_stop().set_bit());

    let hse = start_hse(&dp.RCC);
    // The HAL sets the clocks up from the HSI: with a constant configuration
    // its PLL search folds away at compile time (choosing between two
    // configurations at run time costs 4 KiB of flash), and the PLL is then
    // moved onto the HSE with the same VCO input, so every frequency the HAL
    // computed holds either way.
    let clocks = dp.RCC.constrain().cfgr.sysclk(SYSCLK_HZ.Hz()).hclk(SYSCLK_HZ.Hz()).require_pll48clk().freeze();
    if hse {
        // SAFETY: `freeze` consumed the HAL's RCC handle; from here the HAL
        // touches only the peripheral clock enables, not CR/CFGR/PLLCFGR.
        pll_from_hse(unsafe { &*pac::RCC::ptr() });
    }
    let alarm = clock::start(dp.TIM2, clocks.timclk1().raw());
    let source = if hse {
        defmt::intern!("the ST-LINK's 8 MHz")
    } else {
        // Ethernet does not mind (the PHY makes the RMII clock); time drifts.
        defmt::intern!("the internal 16 MHz oscillator (1%): no 8 MHz from the ST-LINK (MCO)")
    };
    defmt::info!("NUCLEO-F429ZI: core {=u32} MHz from {=istr}", clocks.hclk().raw() / 1_000_000, source);

    let gpioa = dp.GPIOA.split();
    let gpiob = dp.GPIOB.split();
    let gpioc = dp.GPIOC.split();
    let gpiog = dp.GPIOG.split();

    let mut leds = Leds::new(
        gpiob.pb0.into_push_pull_output(),
        gpiob.pb7.into_push_pull_output(),
        gpiob.pb14.into_push_pull_output(),
    );

    let mut seed = [0u8; 8];
    let random_seed = match dp.RNG.constrain(&clocks).read(&mut seed) {
        Ok(()) => Some(u64::from_le_bytes(seed)),
        Err(_) => None,
    };

    let pins = EthPins {
        ref_clk: gpioa.pa1,
        crs: gpioa.pa7,
        tx_en: gpiog.pg11,
        tx_d0: gpiog.pg13,
        tx_d1: gpiob.pb13,
        rx_d0: gpioc.pc4,
        rx_d1: gpioc.pc5,
    };
    let mut mdio: Mdio = gpioa.pa2.into_alternate();
    mdio.set_speed(Speed::VeryHigh);
    let mut mdc: Mdc = gpioc.pc1.into_alternate();
    mdc.set_speed(Speed::VeryHigh);

    let parts = PartsIn { mac: dp.ETHERNET_MAC, mmc: dp.ETHERNET_MMC, dma: dp.ETHERNET_DMA };
    let (mac, dma) = stm32_eth::new_with_mii(parts, eth_memory.rx_ring, eth_memory.tx_ring, clocks, pins, mdio, mdc)
        .expect("HCLK is 168 MHz, above the MAC's 25 MHz minimum")
        .split();
    fix_stm32_eth_defaults();
    // Frame received or sent: wakes the main loop from `wfi` at once.
    dma.enable_interrupt();

    let link = match Link::new(mac) {
        Ok(link) => Some(link),
        Err(e) => {
            defmt::error!("PHY: {}; running without a link", e);
            leds.set_error(true);
            None
        }
    };

    let mac = ident::mac_from_uid(ident::uid_bytes(read_uid()));
    // A byte array rather than `EthernetAddress`'s Format: 0.5 KiB less flash.
    defmt::info!("MAC {=[u8; 6]:02x} (from the chip's unique ID)", mac);
    let mut net = NetConfig::DEFAULT;
    net.mac = EthernetAddress(mac);
    match random_seed {
        Some(seed) => net.random_seed = seed,
        None => {
            defmt::warn!("hardware RNG failed: TCP sequence numbers use the fixed default seed")
        }
    }
    // No RTC (no backup battery on the NUCLEO): until SNTP, if built in, sets
    // it, the core's wall clock is unset.
    defmt::info!("until a wall clock is set, replies are stamped with the time since boot, as 1970");

    let eth = EthDevice::new(dma, RX_FRAMES_PER_CONNECTION);
    let reported = eth.stats();
    Board { eth, net, wall_clock: None, link, leds, alarm, watchdog, next_check: Instant::ZERO, reported }
}

impl echo_core::board::Board for Board {
    type Device = EthDevice<'static, 'static>;

    fn net(&self) -> NetConfig {
        self.net
    }

    fn wall_clock(&self) -> Option<u64> {
        self.wall_clock
    }

    fn now(&self) -> Instant {
        clock::now()
    }

    fn device(&mut self) -> &mut Self::Device {
        &mut self.eth
    }

    /// Shows the link and the open connections on the LEDs; every
    /// [`CHECK_PERIOD`] also polls the PHY, logs new driver errors and resets
    /// the board if the receive ring fell out of step. Returns the time until
    /// the next check.
    fn check(&mut self, now: Instant, server: &EchoServer) -> Duration {
        if now >= self.next_check {
            self.next_check = now + CHECK_PERIOD;
            if let Some(link) = &mut self.link {
                link.poll();
            }
            let stats = self.eth.stats();
            if stats.rx_errors != self.reported.rx_errors || stats.tx_dropped != self.reported.tx_dropped {
                defmt::warn!("ethernet: {}", stats);
                self.reported = stats;
            }
            if self.eth.rx_ring_out_of_step() {
                defmt::error!("receive ring out of step with the DMA after an errored frame: resetting");
                fault::reset(Crash::RxRingOutOfStep);
            }
        }
        let link_up = self.link.as_ref().is_some_and(|l| l.is_up());
        self.leds.show(link_up, server.open_connections());
        self.next_check - now
    }

    /// Restarts the watchdog's countdown.
    fn feed_watchdog(&mut self) {
        self.watchdog.feed();
    }

    /// Sleeps for at most `time` (up to [`clock::MAX_SLEEP_US`], for the
    /// watchdog); a frame received or sent ends the sleep early through the
    /// ETH interrupt.
    fn sleep(&mut self, time: Duration) {
        let us = time.total_micros().min(u64::from(clock::MAX_SLEEP_US)) as u32;
        if us == 0 {
            return;
        }
        // Interrupts off between the last look at the ring and `wfi`, so a
        // frame or the alarm arriving in between still ends the sleep (WFI
        // wakes on a pending interrupt even while PRIMASK masks it).
        cortex_m::interrupt::free(|_| {
            self.alarm.set(us);
            if !self.eth.rx_pending() && !self.alarm.due() {
                cortex_m::asm::wfi();
            }
        });
    }

    /// Lights the error LED, logs why start-up failed and resets (the next
    /// boot reports the panic).
    fn fatal(&mut self, what: &str, e: InitError) -> ! {
        self.leds.set_error(true);
        defmt::panic!("{=str}: {}", what, e)
    }
}

/// Turns the HSE on in bypass mode (the ST-LINK's 8 MHz MCO drives OSC_IN)
/// and waits for it, bounded: without that clock (the ST-LINK part cut off,
/// its MCO not bridged to OSC_IN) the HAL's `freeze` would wait forever.
/// Returns false, HSE off again, if it never came.
fn start_hse(rcc: &pac::RCC) -> bool {
    // HSEBYP may only be written while the HSE is off (RM0090 6.3.1): it is,
    // after any reset.
    rcc.cr.modify(|_, w| w.hsebyp().set_bit());
    rcc.cr.modify(|_, w| w.hseon().set_bit());
    for _ in 0..HSE_POLLS {
        if rcc.cr.read().hserdy().bit_is_set() {
            return true;
        }
        cortex_m::asm::delay(HSE_POLL_CYCLES);
    }
    rcc.cr.modify(|_, w| w.hseon().clear_bit());
    rcc.cr.modify(|_, w| w.hsebyp().clear_bit());
    false
}

/// Moves the main PLL from the HSI to the HSE: PLLM divided by the ratio of
/// their frequencies gives the PLL the same input, so its outputs (168 MHz,
/// 48 MHz) do not change. The core runs from the HSI meanwhile, as the PLL can
/// only be changed while off. PLL lock is not bounded (the HAL does not bound
/// it either): it always comes from a running source, and the watchdog runs.
fn pll_from_hse(rcc: &pac::rcc::RegisterBlock) {
    rcc.cfgr.modify(|_, w| w.sw().hsi());
    while !rcc.cfgr.read().sws().is_hsi() {}
    rcc.cr.modify(|_, w| w.pllon().clear_bit());
    while rcc.cr.read().pllrdy().bit_is_set() {}
    rcc.pllcfgr.modify(|r, w| unsafe { w.pllm().bits(r.pllm().bits() / HSI_PER_HSE as u8) }.pllsrc().hse());
    rcc.cr.modify(|_, w| w.pllon().set_bit());
    while rcc.cr.read().pllrdy().bit_is_clear() {}
    rcc.cfgr.modify(|_, w| w.sw().pll());
    while !rcc.cfgr.read().sws().is_pll() {}
}

/// What stm32-eth 0.8.2 sets up and this board needs otherwise. It owns the
/// MAC and DMA but writes these registers only while starting up, which is
/// over, so the writes here cannot race it. The MAC's registers need a few
/// MII clocks between writes (errata ES0182, "Successive write operations to
/// the same register might not be fully taken into account"; stm32-eth waits
/// 29 core clocks before each write, as here).
fn fix_stm32_eth_defaults() {
    // SAFETY: see above: no other code accesses DMAOMR or MACCR now, and
    // these are plain read-modify-writes of documented bits.
    let (dma, mac) = unsafe { (&*pac::ETHERNET_DMA::ptr(), &*pac::ETHERNET_MAC::ptr()) };

    // DMAOMR: stm32-eth forwards error frames (FEF) and frames with bad
    // checksums (DTCEFD) to the ring, where its `recv_next` puts the ring out
    // of step (README.md, "Receive ring"). Cleared, the RX FIFO, which works
    // store-and-forward (RSF), drops them whole: CRC errors, collisions,
    // giant frames (over 1518 bytes, 1522 tagged), watchdog cut-offs,
    // overflows. With the FCS stripped (CSTF, APCS) every frame that is
    // left fits one 1522-byte buffer, so none spans two descriptors either.
    // (The receiver is already on: a frame arriving during these few cycles
    // is still judged the old way; `EthDevice` catches that.)
    dma.dmaomr.modify(|_, w| w.fef().clear_bit().dtcefd().clear_bit());

    // MACCR.RD: stm32-eth disables retries, so at half duplex every collision
    // loses the frame; the MAC retries (up to 16 times) with RD clear.
    cortex_m::asm::delay(29);
    mac.maccr.modify(|_, w| w.rd().clear_bit());
}

/// The chip's 96-bit unique ID.
fn read_uid() -> [u32; 3] {
    // SAFETY: the unique ID is three read-only words in system memory at
    // UID_ADDR, always mapped, 4-byte aligned.
    unsafe { core::ptr::read_volatile(UID_ADDR as *const [u32; 3]) }
}

/// Only clears the DMA's interrupt flags: its job is to end `wfi`.
#[interrupt]
fn ETH() {
    stm32_eth::eth_interrupt_handler();
}
