//! `cargo xtask test`: the one command that runs every check.

use anyhow::Result;

use crate::util::{cargo, sh};

/// Command-line arguments.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> Result<()> {
    sh(cargo().args(["test", "--workspace"]))
}
