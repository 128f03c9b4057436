//! `cargo xtask <command>`: the project's automation, in Rust so it runs
//! wherever cargo does. Each command lives in its own module.

mod bench;
mod hil;
mod qemu;
mod runner;
mod setup;
mod size;
mod table;
mod test;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, test, boot and measure the echo firmware")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every test: fmt, clippy (host and thumb), unit, in-process and,
    /// as root, the system tests in network namespaces. First installs what
    /// they need and is missing (the thumb target, nightly and cargo-fuzz;
    /// as root, the Debian packages), unless --no-setup.
    Test(test::Args),
    /// Build the MPS2-AN386 firmware and boot it in QEMU on a TAP.
    Qemu(qemu::Args),
    /// Print flash and static RAM use of each board image.
    Size(size::Args),
    /// Measure host-sim against the kernel's TCP stack (root; network namespaces).
    Bench(bench::Args),
    /// Check a device that is already running (a flashed board, `cargo xtask
    /// qemu`, host-sim) end to end through this host's interface toward it:
    /// tutorial client and stamp, 5 concurrent + 6th refused, 64 KiB
    /// half-close, UDP, IPv6, DHCP/SNTP when asked, bench floors. Prints a
    /// pass/fail table; exit status 1 if a check fails.
    #[command(after_help = HIL_EXAMPLES)]
    Hil(systests::hil::Args),
    /// Cargo's target runner for thumbv7em-none-eabihf (see .cargo/config.toml).
    #[command(hide = true)]
    Runner(runner::Args),
}

const HIL_EXAMPLES: &str = "\
Examples:
  # a NUCLEO cabled to enp3s0 (once: ip addr add 192.168.69.100/24 dev enp3s0)
  cargo xtask hil --device 192.168.69.1 --iface enp3s0
  # the MPS2 firmware under `cargo xtask qemu` (tap0), dual stack, QEMU's clock from the host
  cargo xtask hil --device 192.168.69.1 --iface tap0 --ip6 fdaa::1 --expect-time
  # a board that took 192.168.69.57 from DHCP and its clock from SNTP
  cargo xtask hil --device 192.168.69.57 --iface enp3s0 --dhcp --sntp";

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(a) => test::run(a),
        Command::Qemu(a) => qemu::run(a),
        Command::Size(a) => size::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Hil(a) => hil::run(a),
        Command::Runner(a) => runner::run(a),
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}
