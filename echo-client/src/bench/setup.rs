//! Connection-setup phase: connect, one small echo, half-close, wait for the
//! server's close; repeated until the phase's time or count is used up.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::latency::{await_echo, prepare};
use super::payload::Payload;
use super::progress::Progress;
use super::verify::Verifier;
use super::{new_histogram, Config, Quantiles};
use crate::net::{self, is_timeout, reason, secs};

const SEED: u64 = 0x5e70_0000;
/// Bytes echoed on each connection.
const MESSAGE: usize = 16;

/// Result of the setup phase.
#[derive(Debug, Clone)]
pub struct SetupFigures {
    /// Connections completed.
    pub count: u64,
    /// Time they took.
    pub seconds: f64,
    /// Time of each (connect to server's close), in microseconds.
    pub each: Quantiles,
}

/// Runs connect–echo–close cycles; a refused or reset connection is an error.
pub fn run(cfg: &Config) -> Result<SetupFigures> {
    let mut hist = new_histogram();
    let mut buf = vec![0; 4096];
    let progress = Progress::new(cfg.show_progress, "setup", cfg.duration);
    let start = Instant::now();
    let mut shown = start;
    while start.elapsed() < cfg.duration && hist.len() < cfg.max_setups {
        let n = hist.len();
        let t0 = Instant::now();
        one(cfg, n, &mut buf).map_err(|e| anyhow!("connection {n}: {e:#}"))?;
        hist.saturating_record(t0.elapsed().as_nanos() as u64);
        if shown.elapsed() >= Duration::from_millis(100) {
            shown = Instant::now();
            let rate = hist.len() as f64 / start.elapsed().as_secs_f64();
            progress.update(start.elapsed(), format!("{} connections, {rate:.0}/s", hist.len()));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    if hist.is_empty() {
        bail!("no connection completed in {}", secs(cfg.duration));
    }
    Ok(SetupFigures { count: hist.len(), seconds, each: Quantiles::from_ns(&hist) })
}

/// One connection's life: connect, echo [`MESSAGE`] bytes, close both ways.
fn one(cfg: &Config, n: u64, buf: &mut [u8]) -> Result<()> {
    let mut sock: TcpStream = net::connect(&cfg.target, cfg.connect_timeout)?;
    prepare(&sock, cfg)?;
    let mut msg = [0; MESSAGE];
    Payload::new(SEED ^ n, !cfg.raw).fill(&mut msg);
    let t0 = Instant::now();
    sock.write_all(&msg).map_err(|e| anyhow!("send failed: {}", reason(&e)))?;
    let mut echo = Verifier::new(Payload::new(SEED ^ n, !cfg.raw), cfg.raw);
    await_echo(&mut sock, &mut echo, buf, MESSAGE as u64, t0 + cfg.reply_timeout, cfg)?;
    sock.shutdown(Shutdown::Write).map_err(|e| anyhow!("close failed: {}", reason(&e)))?;
    // The server closes once it has read our FIN; anything else sent is wrong.
    loop {
        match sock.read(buf) {
            Ok(0) => return Ok(()),
            Ok(k) => echo.feed(&buf[..k])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => bail!("server did not close within {} of our close", secs(cfg.reply_timeout)),
            Err(e) => bail!("close failed: {}", reason(&e)),
        }
    }
}
