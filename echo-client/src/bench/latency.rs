//! Latency phase: ping-pong of small messages on one connection with
//! TCP_NODELAY; each round trip (send, whole echo verified) is one sample.
//! Optionally with idle connections held open all the while, to show what
//! open connections cost the server per round trip.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::payload::Payload;
use super::progress::Progress;
use super::verify::Verifier;
use super::{new_histogram, Config, Quantiles};
use crate::net::{self, is_timeout, reason, secs};

const SEED: u64 = 0x1a7e_0000;

/// Result of the latency phase.
#[derive(Debug, Clone)]
pub struct LatencyFigures {
    /// Bytes per ping.
    pub size: usize,
    /// Idle connections held open meanwhile.
    pub idle_conns: usize,
    /// Round trips completed.
    pub samples: u64,
    /// Round trips measured, in microseconds.
    pub rtt: Quantiles,
}

/// Runs ping-pongs until the phase's time or count is used up.
pub fn run(cfg: &Config) -> Result<LatencyFigures> {
    let idle = open_idle(cfg)?;
    let mut sock = net::connect(&cfg.target, cfg.connect_timeout)?;
    prepare(&sock, cfg)?;
    let mut outgoing = Payload::new(SEED, !cfg.raw);
    let mut echo = Verifier::new(Payload::new(SEED, !cfg.raw), cfg.raw);
    let mut hist = new_histogram();
    let mut msg = vec![0; cfg.ping_size];
    let mut buf = vec![0; 64 * 1024];
    let progress = Progress::new(cfg.show_progress, "latency", cfg.duration);
    let start = Instant::now();
    let mut shown = start;
    let mut sent = 0u64;
    while start.elapsed() < cfg.duration && hist.len() < cfg.max_pings {
        outgoing.fill(&mut msg);
        let t0 = Instant::now();
        sock.write_all(&msg).map_err(|e| anyhow!("ping {}: send failed: {}", hist.len(), reason(&e)))?;
        sent += msg.len() as u64;
        await_echo(&mut sock, &mut echo, &mut buf, sent, t0 + cfg.reply_timeout, cfg)
            .map_err(|e| anyhow!("ping {}: {e:#}", hist.len()))?;
        hist.saturating_record(t0.elapsed().as_nanos() as u64);
        if shown.elapsed() >= Duration::from_millis(100) {
            shown = Instant::now();
            let p50 = hist.value_at_quantile(0.5) as f64 / 1000.0;
            progress.update(start.elapsed(), format!("{} pings, p50 {p50:.1} µs", hist.len()));
        }
    }
    progress.finish();
    let _ = sock.shutdown(Shutdown::Write);
    for s in &idle {
        let _ = s.shutdown(Shutdown::Write);
    }
    if hist.is_empty() {
        bail!("no ping completed in {}", secs(cfg.duration));
    }
    Ok(LatencyFigures {
        size: cfg.ping_size,
        idle_conns: idle.len(),
        samples: hist.len(),
        rtt: Quantiles::from_ns(&hist),
    })
}

/// `cfg.idle_conns` connections, each proven accepted by one echoed byte,
/// then left silent.
fn open_idle(cfg: &Config) -> Result<Vec<TcpStream>> {
    let mut idle = Vec::with_capacity(cfg.idle_conns);
    let mut buf = [0u8; 256];
    for i in 0..cfg.idle_conns {
        let mut sock = net::connect(&cfg.target, cfg.connect_timeout)
            .map_err(|e| anyhow!("idle connection {} of {}: {e:#}", i + 1, cfg.idle_conns))?;
        prepare(&sock, cfg)?;
        // One byte echoed: the server has accepted it (not just the kernel's
        // backlog, nor a SYN-ACK of a listener about to be reclaimed).
        let mut echo = Verifier::new(Payload::new(SEED ^ i as u64, !cfg.raw), cfg.raw);
        let mut msg = [0u8; 1];
        Payload::new(SEED ^ i as u64, !cfg.raw).fill(&mut msg);
        sock.write_all(&msg).map_err(|e| anyhow!("idle connection {}: send failed: {}", i + 1, reason(&e)))?;
        await_echo(&mut sock, &mut echo, &mut buf, 1, Instant::now() + cfg.reply_timeout, cfg)
            .map_err(|e| anyhow!("idle connection {}: {e:#}", i + 1))?;
        idle.push(sock);
    }
    Ok(idle)
}

/// TCP_NODELAY, so small messages leave at once, and the reply timeout on
/// reads (set once: a syscall per ping would show in the figures).
pub(super) fn prepare(sock: &TcpStream, cfg: &Config) -> Result<()> {
    sock.set_nodelay(true)
        .and_then(|_| sock.set_read_timeout(Some(cfg.reply_timeout)))
        .map_err(|e| anyhow!("cannot set socket options: {}", reason(&e)))
}

/// Reads until `sent` payload bytes have been echoed and verified, by
/// `deadline` (checked between reads, each bounded by the read timeout).
pub(super) fn await_echo(
    sock: &mut TcpStream,
    echo: &mut Verifier,
    buf: &mut [u8],
    sent: u64,
    deadline: Instant,
    cfg: &Config,
) -> Result<()> {
    let late = || anyhow!("no complete echo within {}", secs(cfg.reply_timeout));
    while echo.payload_bytes() < sent {
        match sock.read(buf) {
            Ok(0) => bail!("server closed the connection before echoing"),
            Ok(n) => echo.feed(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Err(late()),
            Err(e) => bail!("receive failed: {}", reason(&e)),
        }
        if Instant::now() > deadline && echo.payload_bytes() < sent {
            return Err(late());
        }
    }
    Ok(())
}
