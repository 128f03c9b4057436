//! The echo firmware on a NUCLEO-F429ZI: STM32F429ZI, its on-chip Ethernet MAC
//! and the board's LAN8742A PHY over RMII.
//!
//! This crate is only the board: bring-up, the smoltcp driver adapter, the
//! clock, where memory lives, the LEDs, and which optional services (Cargo
//! features `ipv6`, `udp`, `dhcp`, `sntp`) are switched on. The echo service
//! is `echo-core`.
//!
//! Build and flash (probe-rs, through the cargo runner):
//! `cargo run -p nucleo-f429zi --target thumbv7em-none-eabihf --release`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
mod eth_device;
#[cfg(target_os = "none")]
mod leds;
#[cfg(target_os = "none")]
mod link;
#[cfg(target_os = "none")]
mod storage;

#[cfg(target_os = "none")]
use {defmt_rtt as _, panic_probe as _};

/// On the host there is nothing to run: say how to build the real thing.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "nucleo-f429zi is firmware for the STM32F429ZI. Build it with\n  \
         cargo build -p nucleo-f429zi --target thumbv7em-none-eabihf --release\n\
         or flash and run it (probe-rs, board on USB) with\n  \
         cargo run -p nucleo-f429zi --target thumbv7em-none-eabihf --release"
    );
    std::process::exit(2);
}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use echo_core::smoltcp::time::{Duration, Instant};
    use echo_core::{EchoConfig, EchoServer, NetConfig, ServiceConfig};

    /// How often the PHY is asked about the link (a few MDIO reads).
    const LINK_POLL: Duration = Duration::from_millis(250);

    let memory = storage::take();
    let mut board = board::init(memory.rx_ring, memory.tx_ring);
    let mut clock = clock::Monotonic::new();

    let mut net = NetConfig::DEFAULT;
    match board.random_seed {
        Some(seed) => net.random_seed = seed,
        None => {
            defmt::warn!("hardware RNG failed: TCP sequence numbers use the fixed default seed")
        }
    }
    let now = clock.now();
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
        let now = clock.now();
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
        }

        let wait = server.poll(now, &mut board.device);

        let link_up = board.link.as_ref().is_some_and(|l| l.is_up());
        board.leds.show(link_up, server.open_connections());

        // Sleep unless there is work now. Interrupts are masked between the
        // check and `wfi`, so a frame arriving in between still ends the
        // sleep; SysTick ends it within a millisecond anyway, which is finer
        // than any smoltcp timer.
        if wait != Some(Duration::ZERO) {
            cortex_m::interrupt::free(|_| {
                if !board.device.rx_pending() {
                    cortex_m::asm::wfi();
                }
            });
        }
    }
}
