//! Start-up and the main loop: bring up the clock and the LAN9118, hand them
//! to the echo server, then poll it, sleeping until a frame arrives or
//! smoltcp has something to do.

use cortex_m_rt::entry;
use echo_core::smoltcp::wire::EthernetAddress;
use echo_core::{EchoConfig, EchoServer, NetConfig, ServiceConfig, ServiceMemory};
use static_cell::StaticCell;

use crate::{clock, fault, net};

/// How often the PHY is asked about the link and the driver's error counters are looked at.
const LINK_POLL_MS: u64 = 1000;

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take().expect("core peripherals are taken once, here");
    let mut alarm = clock::start(core.SYST);
    defmt::info!("mps2-an386 echo firmware {=str}", env!("CARGO_PKG_VERSION"));

    let unix_secs = clock::unix_time_secs();
    let net_config = NetConfig {
        // Differs per boot, so TCP sequence numbers do too.
        random_seed: NetConfig::DEFAULT.random_seed ^ unix_secs,
        ..NetConfig::DEFAULT
    };
    let mut eth = match net::ethernet(&net_config) {
        Ok(eth) => eth,
        Err(e) => fatal("LAN9118", e),
    };
    defmt::info!("LAN9118 ID_REV {=u32:#010x}, MAC {}", eth.id_rev(), EthernetAddress(eth.mac_address()));
    // With DHCP the core says where the address comes from.
    #[cfg(not(feature = "dhcp"))]
    defmt::info!("address {}", net_config.ipv4);
    #[cfg(feature = "ipv6")]
    if let Some(v6) = net_config.ipv6 {
        defmt::info!("IPv6 {} and {}", v6, net_config.link_local());
    }

    let now = clock::now();
    let mut server = match EchoServer::new(&net_config, &EchoConfig::DEFAULT, &mut eth, now, net::storage()) {
        Ok(server) => server,
        Err(e) => fatal("echo server", e),
    };
    // UDP echo, DHCP, SNTP: whichever this build's features include.
    static SERVICES: StaticCell<ServiceMemory> = StaticCell::new();
    if let Err(e) = server.enable_services(now, SERVICES.init(ServiceMemory::new()), &ServiceConfig::DEFAULT) {
        fatal("echo services", e);
    }
    if unix_secs != 0 {
        server.set_unix_time(now, unix_secs * 1000);
        defmt::info!("wall clock from the host: {=u64} s since 1970", unix_secs);
    } else {
        defmt::warn!("no wall clock from the host: replies are stamped with the time since boot, as 1970");
    }

    let mut link = eth.poll_link();
    defmt::info!("link {}", link);
    let mut next_link_poll = clock::millis() + LINK_POLL_MS;
    let mut seen_errors = errors(&eth.stats());
    eth.enable_rx_interrupt();

    loop {
        let delay = server.poll(clock::now(), &mut eth);
        let now_ms = clock::millis();
        if now_ms >= next_link_poll {
            next_link_poll = now_ms + LINK_POLL_MS;
            let now_link = eth.poll_link();
            if now_link != link {
                defmt::info!("link {}", now_link);
                link = now_link;
            }
            let now_errors = errors(&eth.stats());
            if now_errors != seen_errors {
                defmt::warn!("LAN9118 counters {}", eth.stats());
                seen_errors = now_errors;
            }
        }
        // Sleep until smoltcp's next deadline or the next link poll, whichever
        // comes first; a frame ends the sleep early through the LAN9118's line.
        let until_link = next_link_poll.saturating_sub(now_ms);
        let sleep_ms = delay.map_or(until_link, |d| d.total_millis().min(until_link));
        if sleep_ms == 0 {
            continue;
        }
        alarm.set(sleep_ms.min(u64::from(clock::MAX_SLEEP_MS)) as u32);
        // Interrupts off between the last look at the RX FIFO and WFI, so a
        // frame arriving in between still wakes us (WFI wakes on a pending
        // interrupt even while PRIMASK masks it).
        cortex_m::interrupt::free(|_| {
            if !eth.ack_rx_interrupt() {
                net::unmask_eth_irq();
                cortex_m::asm::wfi();
            }
        });
    }
}

/// The driver's counters with the frame counts left out: what is worth a log line.
fn errors(stats: &lan9118::Stats) -> lan9118::Stats {
    lan9118::Stats { rx_frames: 0, tx_frames: 0, ..*stats }
}

/// Logs why start-up failed and ends the run (see `fault::stop`).
fn fatal(what: &str, e: impl defmt::Format) -> ! {
    defmt::error!("{=str} failed: {}", what, e);
    fault::stop(1)
}
