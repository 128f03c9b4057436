//! The firmware's log: defmt frames from QEMU's stdout, decoded with the
//! tables in the ELF and printed one line each.

use std::io::{IsTerminal, Read, Write};

use anyhow::{bail, Context, Result};
use defmt_decoder::{DecodeError, Table};

/// The decoding tables of one firmware image.
pub struct Log {
    table: Table,
}

impl Log {
    /// Reads the defmt tables from `elf`; fails if there are none.
    pub fn from_elf(elf: &[u8]) -> Result<Self> {
        match Table::parse(elf).context("cannot read the defmt tables")? {
            Some(table) => Ok(Log { table }),
            None => bail!("no defmt data in this ELF: is it the firmware, built with defmt?"),
        }
    }

    /// Decodes `input` until it ends, printing each frame to `out` as
    /// `<time> <LEVEL> <message>`. Garbage is skipped up to the next frame.
    pub fn print(&self, mut input: impl Read, mut out: impl Write) -> Result<()> {
        let colored = std::io::stdout().is_terminal();
        let mut decoder = self.table.new_stream_decoder();
        let mut buf = [0u8; 4096];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading QEMU's output"),
            };
            decoder.received(&buf[..n]);
            loop {
                match decoder.decode() {
                    Ok(frame) => writeln!(out, "{}", frame.display(colored))?,
                    Err(DecodeError::UnexpectedEof) => break,
                    // The stream decoder has already skipped to the next frame.
                    Err(DecodeError::Malformed) => writeln!(out, "(malformed defmt frame skipped)")?,
                }
            }
            out.flush()?;
        }
    }
}
