//! The echo firmware on the Arm MPS2 with the AN386 image (Cortex-M4 at
//! 25 MHz, LAN9118 Ethernet), as QEMU's `mps2-an386` machine models it.
//!
//! Only board matters live here; the echo service is `echo-core`. The files
//! are the board template every board crate follows (README.md):
//!
//! | file | what |
//! | --- | --- |
//! | `main.rs` | entry: memory, bring-up, then `echo_core::board::run` (server start-up and the one main loop); the host stub |
//! | `board.rs` | bring-up into a [`board::Board`], and what `echo_core::board::run` asks of it: its periodic check and its sleep |
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

/// Bring-up, then the one loop every board runs (`echo_core::board::run`).
#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    let memory = memory::take();
    let mut board = board::init(memory.eth);
    echo_core::board::run(&mut board, memory.server, memory.services)
}
