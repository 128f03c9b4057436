//! The echo firmware on a NUCLEO-F429ZI: STM32F429ZI, its on-chip Ethernet MAC
//! and the board's LAN8742A PHY over RMII.
//!
//! This crate is only the board: bring-up, the smoltcp driver adapter, the
//! clock, where memory lives, the LEDs, what happens on a fault, and which
//! optional services (Cargo features `ipv6`, `udp`, `dhcp`, `sntp`) are
//! switched on. The echo service is `echo-core`.
//!
//! Build and flash (probe-rs, through the cargo runner):
//! `cargo run -p nucleo-f429zi --target thumbv7em-none-eabihf --profile firmware`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
mod eth_device;
#[cfg(target_os = "none")]
mod fault;
// Pure helpers: also built for the host, where `cargo test` runs their tests.
#[cfg(any(target_os = "none", test))]
mod ident;
#[cfg(target_os = "none")]
mod leds;
#[cfg(target_os = "none")]
mod link;
#[cfg(any(target_os = "none", test))]
mod reset_cause;
#[cfg(target_os = "none")]
mod storage;

#[cfg(target_os = "none")]
use defmt_rtt as _;

/// On the host there is nothing to run: say how to build the real thing.
#[cfg(all(not(target_os = "none"), not(test)))]
fn main() {
    eprintln!(
        "nucleo-f429zi is firmware for the STM32F429ZI. Build it with\n  \
         cargo build -p nucleo-f429zi --target thumbv7em-none-eabihf --profile firmware\n\
         or flash and run it (probe-rs, board on USB) with\n  \
         cargo run -p nucleo-f429zi --target thumbv7em-none-eabihf --profile firmware"
    );
    std::process::exit(2);
}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use echo_core::smoltcp::time::{Duration, Instant};
    use echo_core::smoltcp::wire::EthernetAddress;
    use echo_core::{EchoConfig, EchoServer, NetConfig, ServiceConfig};

    /// How often the PHY is asked about the link (a few MDIO reads) and the
    /// receive ring is checked.
    const LINK_POLL: Duration = Duration::from_millis(250);

    let memory = storage::take();
    let mut board = board::init(memory.rx_ring, memory.tx_ring);

    let mut net = NetConfig::DEFAULT;
    net.mac = EthernetAddress(board.mac);
    // A byte array rather than `EthernetAddress`'s Format: 0.5 KiB less flash.
    defmt::info!("MAC {=[u8; 6]:02x} (from the chip's unique ID)", board.mac);
    match board.random_seed {
        Some(seed) => net.random_seed = seed,
        None => {
            defmt::warn!("hardware RNG failed: TCP sequence numbers use the fixed default seed")
        }
    }
    let now = clock::now();
    let started =
        EchoServer::new(&net, &EchoConfig::DEFAULT, &mut board.device, now, memory.server).and_then(|mut server| {
            // UDP echo, DHCP, SNTP: whichever this build's features include.
            server.enable_services(now, memory.services, &ServiceConfig::DEFAULT).map(|()| server)
        });
    let mut server = match started {
        Ok(server) => server,
        Err(e) => {
            board.leds.set_error(true);
            defmt::panic!("echo server: {}", e)
        }
    };
    #[cfg(feature = "ipv6")]
    if let Some(v6) = net.ipv6 {
        defmt::info!("IPv6 {} and {}", v6, net.link_local());
    }
    // No RTC (no backup battery on the NUCLEO): until SNTP, if built in, sets
    // it, the core's wall clock is unset.
    defmt::info!("until a wall clock is set, replies are stamped with the time since boot, as 1970");

    let mut next_check = Instant::ZERO;
    let mut reported = board.device.stats();
    loop {
        board.watchdog.feed();
        let now = clock::now();
        if now >= next_check {
            next_check = now + LINK_POLL;
            if let Some(link) = &mut board.link {
                link.poll();
            }
            let stats = board.device.stats();
            if stats.rx_errors != reported.rx_errors || stats.tx_dropped != reported.tx_dropped {
                defmt::warn!("ethernet: {}", stats);
                reported = stats;
            }
            if board.device.rx_ring_out_of_step() {
                defmt::error!("receive ring out of step with the DMA after an errored frame: resetting");
                fault::reset(reset_cause::Crash::RxRingOutOfStep);
            }
        }

        let wait = server.poll(now, &mut board.device);

        let link_up = board.link.as_ref().is_some_and(|l| l.is_up());
        board.leds.show(link_up, server.open_connections());

        // Sleep until smoltcp's next deadline or the next link check,
        // whichever comes first (at most 0.5 s, for the watchdog); a frame
        // received or sent ends the sleep early through the ETH interrupt.
        // Both are counted from `now`, as smoltcp counts its delay.
        let until_check = next_check - now;
        let sleep = wait.map_or(until_check, |d| d.min(until_check));
        let sleep_us = sleep.total_micros().min(u64::from(clock::MAX_SLEEP_US)) as u32;
        if sleep_us == 0 {
            continue;
        }
        // Interrupts off between the last look at the ring and `wfi`, so a
        // frame or the alarm arriving in between still ends the sleep (WFI
        // wakes on a pending interrupt even while PRIMASK masks it).
        cortex_m::interrupt::free(|_| {
            board.alarm.set(sleep_us);
            if !board.device.rx_pending() && !board.alarm.due() {
                cortex_m::asm::wfi();
            }
        });
    }
}
