//! The echo firmware on the Arm MPS2 with the AN386 image (Cortex-M4 at
//! 25 MHz, LAN9118 Ethernet), as QEMU's `mps2-an386` machine models it.
//!
//! Only board matters live here; the echo service is `echo-core`. The files
//! are the board template every board crate follows (README.md):
//!
//! | file | what |
//! | --- | --- |
//! | `main.rs` | entry, server start-up, the one main loop; the host stub |
//! | `board.rs` | bring-up into a [`board::Board`]; its periodic check and its sleep |
//! | `memory.rs` | every static: socket table, slots, TCP buffers, service buffers |
//! | `clock.rs` | monotonic clock (CMSDK timer 0), wake-up alarm (SysTick), wall clock from the host |
//! | `eth.rs` | driver glue: where the LAN9118 sits, its interrupt line |
//! | `fault.rs` | panic and HardFault: log, then stop |
//! | `uart.rs` | this board's defmt transport (UART0) |
//!
//! Logs are defmt frames on UART0 (QEMU's stdout), or over semihosting with
//! the `semihosting` feature; `cargo xtask qemu` decodes them either way.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod board;
#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
mod eth;
#[cfg(target_os = "none")]
mod fault;
#[cfg(target_os = "none")]
mod memory;
// The defmt transport: UART0, or the host's stdout over semihosting (which
// needs a debugger or QEMU: without one, a semihosting call is a HardFault).
#[cfg(all(target_os = "none", not(feature = "semihosting")))]
mod uart;
#[cfg(all(target_os = "none", feature = "semihosting"))]
use defmt_semihosting as _;

/// On the host there is nothing to run: say how to build the real thing.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "mps2-an386 is firmware: build it with `--target thumbv7em-none-eabihf`, \
         or boot it in QEMU with `cargo xtask qemu`"
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
