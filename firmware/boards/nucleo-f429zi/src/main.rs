//! The echo firmware on a NUCLEO-F429ZI: STM32F429ZI, its on-chip Ethernet MAC
//! and the board's LAN8742A PHY over RMII.
//!
//! Only board matters live here; the echo service is `echo-core`. The files
//! are the board template every board crate follows (README.md):
//!
//! | file | what |
//! | --- | --- |
//! | `main.rs` | entry, server start-up, the one main loop; the host stub |
//! | `board.rs` | bring-up into a [`board::Board`]; its periodic check, watchdog and sleep |
//! | `memory.rs` | every static: DMA rings, socket table, slots, TCP buffers, service buffers |
//! | `clock.rs` | monotonic clock and wake-up alarm (TIM2); no wall clock source (no RTC battery) |
//! | `eth.rs` | driver glue: smoltcp's `phy::Device` on stm32-eth's DMA rings |
//! | `fault.rs` | panic and HardFault: record, reset, report at the next boot; the watchdog |
//! | `link.rs`, `leds.rs`, `ident.rs`, `reset_cause.rs` | this board's PHY, LEDs, MAC from the unique ID, reset-cause decoding |
//!
//! Build and flash (probe-rs, through the cargo runner):
//! `cargo run -p nucleo-f429zi --target thumbv7em-none-eabihf --profile firmware`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
mod eth;
#[cfg(target_os = "none")]
mod fault;
// Pure helpers: also built for the host, where `cargo test` runs their tests.
#[cfg(any(target_os = "none", test))]
mod ident;
#[cfg(target_os = "none")]
mod leds;
#[cfg(target_os = "none")]
mod link;
#[cfg(target_os = "none")]
mod memory;
#[cfg(any(target_os = "none", test))]
mod reset_cause;

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

/// Bring-up, then the one loop: poll the server, let the board look after
/// itself, feed the watchdog, sleep until smoltcp's next deadline, the
/// board's next check or a frame.
#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    let memory = memory::take();
    let mut board = board::init(memory.eth);
    let mut server = start(&mut board, memory.server, memory.services);
    loop {
        let now = clock::now();
        let wait = server.poll(now, &mut board.eth);
        let until_check = board.check(now, &server);
        board.feed_watchdog();
        board.sleep(wait.map_or(until_check, |w| w.min(until_check)));
    }
}

/// The echo server on the board's device, with the services this build's
/// features include (UDP echo, DHCP, SNTP) and the board's wall clock.
#[cfg(target_os = "none")]
fn start(
    board: &mut board::Board,
    storage: echo_core::Storage<'static>,
    services: &'static mut echo_core::ServiceResources,
) -> echo_core::EchoServer<'static> {
    use echo_core::{EchoConfig, EchoServer, ServiceConfig};

    // Copied out first: once the board's device has been handed to code the
    // compiler cannot see through, it no longer knows the board's fields
    // unchanged, and a constant config (the MPS2's) would not fold (136 B).
    let (net, wall_clock) = (board.net, board.wall_clock);
    let now = clock::now();
    let started = EchoServer::new(&net, &EchoConfig::DEFAULT, &mut board.eth, now, storage)
        .and_then(|mut server| server.enable_services(services, &ServiceConfig::DEFAULT).map(|()| server));
    let mut server = match started {
        Ok(server) => server,
        Err(e) => board.fatal("echo server", e),
    };
    #[cfg(feature = "ipv6")]
    if let Some(v6) = net.ipv6 {
        defmt::info!("IPv6 {} and {}", v6, net.link_local());
    }
    if let Some(unix_ms) = wall_clock {
        server.set_unix_time(now, unix_ms);
    }
    server
}
