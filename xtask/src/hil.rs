//! `cargo xtask hil`: the end-to-end checks against a device that is already
//! running — a flashed NUCLEO, the MPS2 firmware under `cargo xtask qemu`,
//! host-sim — reached through one of this host's interfaces. Builds
//! echo-client (release, for the bench floors), then runs the checks of
//! `systests::hil` in this process and prints their table.
//!
//! The same checks are the `hil` binary of the systests crate, which the
//! system test `systests/tests/hil.rs` runs inside a test namespace.

use anyhow::{bail, Result};

use crate::util::{cargo, root, sh};

/// Runs the command.
pub fn run(mut args: systests::hil::Args) -> Result<()> {
    if args.echo_client.is_none() && !args.no_bench {
        let from_env = std::env::var_os("ECHO_CLIENT_BIN").filter(|v| !v.is_empty());
        args.echo_client = Some(match from_env {
            Some(path) => path.into(),
            None => {
                sh(cargo().args(["build", "--release", "-p", "echo-client"]))?;
                let target =
                    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |d| root().join(d));
                target.join("release/echo-client")
            }
        });
    }
    eprintln!();
    let report = systests::hil::run(&args);
    print!("{}", report.table());
    if !report.passed() {
        bail!("{} of {} checks failed against {}", report.failures(), report.rows.len(), args.device);
    }
    Ok(())
}
