//! The echo firmware on a NUCLEO-F429ZI: STM32F429ZI, its on-chip Ethernet MAC
//! and the board's LAN8742A PHY over RMII.
//!
//! Only board matters live here; the echo service is `echo-core`. The files
//! are the board template every board crate follows (README.md):
//!
//! | file | what |
//! | --- | --- |
//! | `main.rs` | entry: memory, bring-up, then `echo_core::board::run` (server start-up and the one main loop); the host stub |
//! | `board.rs` | bring-up into a [`board::Board`], and what `echo_core::board::run` asks of it: its periodic check, watchdog and sleep |
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

/// Bring-up, then the one loop every board runs (`echo_core::board::run`).
#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    let memory = memory::take();
    let mut board = board::init(memory.eth);
    echo_core::board::run(&mut board, memory.server, memory.services)
}
