//! The echo firmware on the Arm MPS2 with the AN386 image (Cortex-M4 at
//! 25 MHz, LAN9118 Ethernet), as QEMU's `mps2-an386` machine models it.
//!
//! Only board matters live here: start-up, the clock, the Ethernet wiring,
//! memory placement, which optional services (Cargo features `ipv6`, `udp`,
//! `dhcp`, `sntp`) are switched on. The echo service is `echo-core`. Logs are defmt frames
//! on UART0 (QEMU's stdout), or over semihosting with the `semihosting`
//! feature; `cargo xtask qemu` decodes them either way.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
mod fault;
#[cfg(target_os = "none")]
mod firmware;
#[cfg(target_os = "none")]
mod net;
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
