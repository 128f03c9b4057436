//! `hil`: the end-to-end checks against a device that is already running,
//! from this host's network namespace; `cargo xtask hil` builds echo-client
//! and runs the same checks. Exit status 0 when every check passed, 1 when
//! one failed, 2 on a usage error.

use clap::Parser;

/// End-to-end checks against a running echo device (a flashed board, QEMU, host-sim)
#[derive(Parser)]
#[command(name = "hil")]
struct Cli {
    #[command(flatten)]
    args: systests::hil::Args,
}

fn main() {
    let cli = Cli::parse();
    let report = systests::hil::run(&cli.args);
    print!("{}", report.table());
    std::process::exit(if report.passed() { 0 } else { 1 });
}
