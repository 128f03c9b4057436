//! Bring-up of the NUCLEO-F429ZI: clocks, hardware RNG, LEDs, and the
//! Ethernet MAC/DMA with its LAN8742A PHY on the NUCLEO-144 RMII pins.

use stm32_eth::{EthPins, PartsIn};
use stm32f4xx_hal::gpio::{Alternate, Output, Speed, PA2, PB0, PB14, PB7, PC1};
use stm32f4xx_hal::hal_02::blocking::rng::Read as _;
use stm32f4xx_hal::pac::{self, interrupt};
use stm32f4xx_hal::prelude::*;

use crate::clock;
use crate::eth_device::EthDevice;
use crate::leds::Leds;
use crate::link::Link;

/// HSE: the 8 MHz MCO of the on-board ST-LINK, fed in bypass mode.
const HSE_HZ: u32 = 8_000_000;
/// Core clock. 168 MHz rather than 180: the PLL then also makes the exact
/// 48 MHz the RNG needs, and no over-drive is required.
const SYSCLK_HZ: u32 = 168_000_000;

/// RMII management pins: MDIO on PA2, MDC on PC1.
pub type Mdio = PA2<Alternate<11>>;
/// See [`Mdio`].
pub type Mdc = PC1<Alternate<11>>;
/// LD1 green (PB0), LD2 blue (PB7), LD3 red (PB14).
pub type BoardLeds = Leds<PB0<Output>, PB7<Output>, PB14<Output>>;

/// What the main loop drives.
pub struct Board {
    /// The Ethernet MAC as a smoltcp device.
    pub device: EthDevice<'static, 'static>,
    /// The PHY, unless it did not answer (then the link never comes up).
    pub link: Option<Link<Mdio, Mdc>>,
    /// Status lights.
    pub leds: BoardLeds,
    /// 64 bits from the hardware RNG, unless it reported a fault.
    pub random_seed: Option<u64>,
}

/// Brings the board up; the Ethernet DMA runs on the given rings.
///
/// Panics only on what cannot happen on this board (peripherals taken twice,
/// a core clock too slow for the MAC): this is start-up, not the network path.
pub fn init(
    rx_ring: &'static mut [stm32_eth::dma::RxRingEntry],
    tx_ring: &'static mut [stm32_eth::dma::TxRingEntry],
) -> Board {
    let dp = pac::Peripherals::take().expect("peripherals are taken once");
    let cp = cortex_m::Peripherals::take().expect("core peripherals are taken once");

    let clocks = dp
        .RCC
        .constrain()
        .cfgr
        .use_hse(HSE_HZ.Hz())
        .bypass_hse_oscillator()
        .sysclk(SYSCLK_HZ.Hz())
        .hclk(SYSCLK_HZ.Hz())
        .require_pll48clk()
        .freeze();
    clock::start(cp.SYST, clocks.hclk().raw());
    defmt::info!("NUCLEO-F429ZI: core {=u32} MHz", clocks.hclk().raw() / 1_000_000);

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

    let rx_ring_len = rx_ring.len();
    let parts = PartsIn { mac: dp.ETHERNET_MAC, mmc: dp.ETHERNET_MMC, dma: dp.ETHERNET_DMA };
    let (mac, dma) = stm32_eth::new_with_mii(parts, rx_ring, tx_ring, clocks, pins, mdio, mdc)
        .expect("HCLK is 168 MHz, above the MAC's 25 MHz minimum")
        .split();
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

    Board { device: EthDevice::new(dma, rx_ring_len), link, leds, random_seed }
}

/// Only clears the DMA's interrupt flags: its job is to end `wfi`.
#[interrupt]
fn ETH() {
    stm32_eth::eth_interrupt_handler();
}
