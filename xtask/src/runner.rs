//! Cargo's target runner for `thumbv7em-none-eabihf` (see .cargo/config.toml):
//! `cargo run -p <board> --target thumbv7em-none-eabihf [-- args]` ends here
//! with the ELF, and the board is told by the ELF's file name.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
use clap::Parser;

use crate::qemu;

/// The probe-rs chip name of the NUCLEO-F429ZI's microcontroller.
const NUCLEO_CHIP: &str = "STM32F429ZITx";

/// Command-line arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The firmware ELF cargo built.
    pub elf: PathBuf,
    /// Passed on: `cargo xtask qemu` options for mps2-an386 (e.g. `--tap tap1`),
    /// `probe-rs run` options for nucleo-f429zi.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// `cargo xtask qemu`'s options, parsed from what follows the ELF.
#[derive(Parser)]
#[command(name = "cargo run -p mps2-an386 --target thumbv7em-none-eabihf --")]
struct QemuOptions {
    #[command(flatten)]
    args: qemu::Args,
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let name = args.elf.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    match name.as_str() {
        qemu::BOARD => {
            let options = QemuOptions::try_parse_from(std::iter::once(String::new()).chain(args.rest))
                .unwrap_or_else(|e| e.exit());
            qemu::run(qemu::Args { elf: Some(args.elf), ..options.args })
        }
        "nucleo-f429zi" => flash(&args.elf, &args.rest),
        _ => bail!(
            "no runner for {}: expected an ELF named mps2-an386 (QEMU) or nucleo-f429zi (probe-rs)",
            args.elf.display()
        ),
    }
}

/// Flashes and runs the ELF on a connected board, printing its defmt log.
fn flash(elf: &Path, rest: &[String]) -> Result<()> {
    let mut c = Command::new("probe-rs");
    c.args(["run", "--chip", NUCLEO_CHIP]).args(rest).arg(elf);
    eprintln!("\n$ {c:?}");
    let status = c.status().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "probe-rs not found: install it with `cargo install probe-rs-tools --locked`, \
             connect the board's ST-LINK, and run again"
        ),
        _ => anyhow::anyhow!("cannot start probe-rs: {e}"),
    })?;
    if !status.success() {
        bail!("probe-rs run failed ({status})");
    }
    Ok(())
}
