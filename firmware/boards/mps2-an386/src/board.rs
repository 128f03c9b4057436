//! Bring-up of the MPS2-AN386: the clock, the wall clock from the host, the
//! LAN9118; then what the main loop asks of the board between polls: the
//! periodic check (link state, the driver's error counters) and the sleep
//! until the next deadline or a frame.

use echo_core::smoltcp::time::{Duration, Instant};
use echo_core::smoltcp::wire::EthernetAddress;
use echo_core::{EchoConfig, EchoServer, InitError, NetConfig};
use lan9118::{Lan9118, Mmio};

use crate::clock::{self, Alarm};
use crate::memory::EthMemory;
use crate::{eth, fault};

/// How often the PHY is asked about the link and the driver's error counters are looked at.
const CHECK_PERIOD: Duration = Duration::from_millis(1000);

/// After a poll that received frames, how long to watch the RX FIFO before
/// sleeping. Traffic comes in conversations: the next frame (a client's next
/// request, the rest of a window) often follows within tens of microseconds,
/// and a WFI with its wake-up through the interrupt costs more than that
/// (in QEMU: the vCPU thread goes to sleep and must be woken and scheduled
/// again, about 40 µs off the median echo round trip on a busy host).
const LINGER_CYCLES: u32 = clock::CLOCK_HZ / 1_000_000 * 150;
/// Pause between two looks while lingering (about 2 µs at 25 MHz): in QEMU
/// every register read takes the lock the thread delivering frames needs.
const LINGER_PAUSE_CYCLES: u32 = 50;

/// TCP payload the RX FIFO holds: its full-size frames, counted at the
/// smaller IPv6 segment (1500 - 40 - 20).
const RX_WINDOW_BUDGET: usize = lan9118::RX_FIFO_FRAMES * 1440;

/// What the main loop drives.
pub struct Board {
    /// The LAN9118 as a smoltcp device.
    pub eth: Lan9118<Mmio>,
    /// The network identity: the default addresses, a per-boot random seed.
    pub net: NetConfig,
    /// Milliseconds since 1970 at start-up, if the host left its wall clock.
    pub wall_clock: Option<u64>,
    /// Ends WFI when smoltcp next has work.
    alarm: Alarm,
    /// When [`Board::check`] next looks at the link and the counters.
    next_check: Instant,
    /// The link state last logged.
    link: lan9118::Link,
    /// The error counters last logged.
    seen_errors: lan9118::Stats,
    /// Frames received as of the last sleep: more since means traffic, so linger.
    rx_frames_at_sleep: u32,
}

/// Brings the board up. A LAN9118 that does not come up ends the run
/// ([`fault::fatal`]).
pub fn init(_eth_memory: EthMemory) -> Board {
    let core = cortex_m::Peripherals::take().expect("core peripherals are taken once, here");
    let alarm = clock::start(core.SYST);
    defmt::info!("mps2-an386 echo firmware {=str}", env!("CARGO_PKG_VERSION"));

    let unix_secs = clock::unix_time_secs();
    let net = NetConfig {
        // Differs per boot, so TCP sequence numbers do too.
        random_seed: NetConfig::DEFAULT.random_seed ^ unix_secs,
        ..NetConfig::DEFAULT
    };
    let wall_clock = if unix_secs != 0 {
        defmt::info!("wall clock from the host: {=u64} s since 1970", unix_secs);
        Some(unix_secs * 1000)
    } else {
        defmt::warn!("no wall clock from the host: replies are stamped with the time since boot, as 1970");
        None
    };

    let mut eth = match eth::init(&net) {
        Ok(eth) => eth,
        Err(e) => fault::fatal("LAN9118", e),
    };
    defmt::info!("LAN9118 ID_REV {=u32:#010x}, MAC {}", eth.id_rev(), EthernetAddress(eth.mac_address()));
    // With DHCP the core says where the address comes from.
    #[cfg(not(feature = "dhcp"))]
    defmt::info!("address {}", net.ipv4);

    let link = eth.poll_link();
    defmt::info!("link {}", link);
    let seen_errors = errors(&eth.stats());
    eth.enable_rx_interrupt();

    Board {
        eth,
        net,
        wall_clock,
        alarm,
        next_check: clock::now() + CHECK_PERIOD,
        link,
        seen_errors,
        rx_frames_at_sleep: 0,
    }
}

impl echo_core::board::Board for Board {
    type Device = Lan9118<Mmio>;

    /// The defaults, with the RX FIFO shared among the connections: each
    /// connection's 8 KiB window (memory.rs) fits the FIFO alone, five
    /// streaming at once get a fifth of it each instead of overflowing it.
    const ECHO_CONFIG: EchoConfig = EchoConfig { rx_window_budget: Some(RX_WINDOW_BUDGET), ..EchoConfig::DEFAULT };

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

    /// Every [`CHECK_PERIOD`]: logs link changes and new driver errors.
    /// Returns the time until the next check.
    fn check(&mut self, now: Instant, _server: &EchoServer) -> Duration {
        if now >= self.next_check {
            self.next_check = now + CHECK_PERIOD;
            let link = self.eth.poll_link();
            if link != self.link {
                defmt::info!("link {}", link);
                self.link = link;
            }
            let now_errors = errors(&self.eth.stats());
            if now_errors != self.seen_errors {
                defmt::warn!("LAN9118 counters {}", self.eth.stats());
                self.seen_errors = now_errors;
            }
        }
        self.next_check - now
    }

    /// Nothing to feed: the MPS2's CMSDK watchdog is not used (QEMU does
    /// not model it on this machine).
    #[inline(always)]
    fn feed_watchdog(&mut self) {}

    /// Sleeps for at most `time` (whole milliseconds; up to
    /// [`clock::MAX_SLEEP_MS`]); a frame ends the sleep early through the
    /// LAN9118's interrupt line. After traffic it first lingers: up to
    /// [`LINGER_CYCLES`] watching for the next frame, and returns at once if
    /// one comes.
    fn sleep(&mut self, time: Duration) {
        let ms = time.total_millis().min(u64::from(clock::MAX_SLEEP_MS)) as u32;
        if ms == 0 {
            return;
        }
        let rx_frames = self.eth.stats().rx_frames;
        if rx_frames != self.rx_frames_at_sleep {
            self.rx_frames_at_sleep = rx_frames;
            let start = clock::cycles();
            while start.wrapping_sub(clock::cycles()) < LINGER_CYCLES {
                if self.eth.rx_waiting() {
                    return;
                }
                cortex_m::asm::delay(LINGER_PAUSE_CYCLES);
            }
        }
        self.alarm.set(ms);
        // Interrupts off between the last look at the RX FIFO and WFI, so a
        // frame arriving in between still wakes us (WFI wakes on a pending
        // interrupt even while PRIMASK masks it).
        cortex_m::interrupt::free(|_| {
            if !self.eth.ack_rx_interrupt() {
                eth::unmask_irq();
                cortex_m::asm::wfi();
            }
        });
    }

    /// Logs why start-up failed and ends the run.
    fn fatal(&mut self, what: &str, e: InitError) -> ! {
        fault::fatal(what, e)
    }
}

/// The driver's counters with the frame counts left out: what is worth a log line.
fn errors(stats: &lan9118::Stats) -> lan9118::Stats {
    lan9118::Stats { rx_frames: 0, tx_frames: 0, ..*stats }
}
