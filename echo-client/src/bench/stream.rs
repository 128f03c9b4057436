//! Streaming phase: N connections, each with a writer thread sending its own
//! seeded payload as fast as the server takes it and a reader thread checking
//! every echoed byte. Rates are taken over the timed window; the echo is then
//! drained and verified to the last byte.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::payload::Payload;
use super::progress::Progress;
use super::verify::Verifier;
use super::{mb_per_s, Config};
use crate::net::{self, is_timeout, reason, secs};

/// How often blocked threads look at the stop and abort flags.
const TICK: Duration = Duration::from_millis(200);
/// How long after the window the echo may take to drain.
const DRAIN: Duration = Duration::from_secs(5);

/// What one connection moved.
#[derive(Debug, Clone, Default)]
pub struct ConnFigures {
    /// Payload bytes sent within the window.
    pub tx_bytes: u64,
    /// Echo bytes (stamps included) received within the window.
    pub rx_bytes: u64,
    /// Payload bytes echoed and verified within the window.
    pub rx_payload_bytes: u64,
    /// Payload bytes verified in all, drain included (= all that was sent).
    pub verified_bytes: u64,
}

/// Result of the streaming phase.
#[derive(Debug, Clone)]
pub struct StreamFigures {
    /// Length of the timed window.
    pub seconds: f64,
    /// Per connection, in connection order.
    pub conns: Vec<ConnFigures>,
}

impl StreamFigures {
    /// Sum over the connections.
    pub fn total(&self) -> ConnFigures {
        let mut t = ConnFigures::default();
        for c in &self.conns {
            t.tx_bytes += c.tx_bytes;
            t.rx_bytes += c.rx_bytes;
            t.rx_payload_bytes += c.rx_payload_bytes;
            t.verified_bytes += c.verified_bytes;
        }
        t
    }
}

/// Live counters of one connection, shared by its threads and the timer.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    payload: AtomicU64,
    writer_done: AtomicBool,
}

/// Flags shared by every thread of the phase.
#[derive(Default)]
struct Flags {
    /// The window is over: writers stop and half-close.
    stop: AtomicBool,
    /// A thread failed: everyone stops now.
    abort: AtomicBool,
}

/// The seed of connection `i`'s payload.
fn seed(i: usize) -> u64 {
    0x5eed_0000 + i as u64
}

/// Runs the phase; any refused connection, reset or wrong byte is an error.
pub fn run(cfg: &Config) -> Result<StreamFigures> {
    let mut socks = Vec::with_capacity(cfg.conns);
    for i in 0..cfg.conns {
        let sock = net::connect(&cfg.target, cfg.connect_timeout).map_err(|e| {
            let note = if i > 0 {
                format!(" ({i} connections were already open; the firmware serves 5 at once)")
            } else {
                String::new()
            };
            anyhow!("connection {i}: {e:#}{note}")
        })?;
        let reader = sock.try_clone().map_err(|e| anyhow!("connection {i}: {}", reason(&e)))?;
        socks.push((sock, reader));
    }

    let counters: Vec<Counters> = (0..cfg.conns).map(|_| Counters::default()).collect();
    let flags = Flags::default();
    let progress = Progress::new(cfg.show_progress, "stream", cfg.duration);
    let start = Instant::now();
    let drain_deadline = start + cfg.duration + DRAIN;

    let (seconds, window, results) = thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, (wsock, rsock)) in socks.into_iter().enumerate() {
            let (c, f) = (&counters[i], &flags);
            let w = s.spawn(move || failing_aborts(f, writer(i, wsock, c, f, cfg)));
            let r = s.spawn(move || failing_aborts(f, reader(i, rsock, c, f, cfg, drain_deadline)));
            handles.push((w, r));
        }
        loop {
            let elapsed = start.elapsed();
            if elapsed >= cfg.duration || flags.abort.load(SeqCst) {
                break;
            }
            let secs = elapsed.as_secs_f64();
            let tx: u64 = counters.iter().map(|c| c.sent.load(SeqCst)).sum();
            let rx: u64 = counters.iter().map(|c| c.received.load(SeqCst)).sum();
            progress
                .update(elapsed, format!("{:.1} MB/s out, {:.1} MB/s back", mb_per_s(tx, secs), mb_per_s(rx, secs)));
            thread::sleep((cfg.duration - elapsed).min(Duration::from_millis(100)));
        }
        flags.stop.store(true, SeqCst);
        let seconds = start.elapsed().as_secs_f64();
        let window: Vec<ConnFigures> = counters
            .iter()
            .map(|c| ConnFigures {
                tx_bytes: c.sent.load(SeqCst),
                rx_bytes: c.received.load(SeqCst),
                rx_payload_bytes: c.payload.load(SeqCst),
                verified_bytes: 0,
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|(w, r)| (join(w), join(r))).collect();
        (seconds, window, results)
    });
    progress.finish();

    let mut conns = Vec::with_capacity(window.len());
    for (i, (mut figs, (w, r))) in window.into_iter().zip(results).enumerate() {
        // The reader's error says more (it sees mismatches and early closes).
        let verified = r.map_err(|e| anyhow!("connection {i}: {e:#}"))?;
        w.map_err(|e| anyhow!("connection {i}: {e:#}"))?;
        figs.verified_bytes = verified;
        conns.push(figs);
    }
    let figures = StreamFigures { seconds, conns };
    if figures.total().verified_bytes == 0 {
        bail!("nothing was echoed in {}", secs(cfg.duration));
    }
    Ok(figures)
}

/// Sets the abort flag when a thread fails, so the others stop too.
fn failing_aborts<T>(flags: &Flags, r: Result<T>) -> Result<T> {
    if r.is_err() {
        flags.abort.store(true, SeqCst);
    }
    r
}

fn join<T>(h: thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join().unwrap_or_else(|_| Err(anyhow!("a bench thread panicked")))
}

/// Sends the payload until the window ends, then half-closes.
fn writer(i: usize, mut sock: TcpStream, c: &Counters, f: &Flags, cfg: &Config) -> Result<()> {
    sock.set_write_timeout(Some(TICK)).map_err(|e| anyhow!("cannot set a socket timeout: {}", reason(&e)))?;
    let mut payload = Payload::new(seed(i), !cfg.raw);
    let mut buf = vec![0; cfg.size];
    'window: while !f.stop.load(SeqCst) {
        payload.fill(&mut buf);
        let mut off = 0;
        while off < buf.len() {
            if f.abort.load(SeqCst) {
                return Ok(());
            }
            match sock.write(&buf[off..]) {
                Ok(0) => bail!("the server stopped taking data"),
                Ok(n) => {
                    off += n;
                    c.sent.fetch_add(n as u64, SeqCst);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Mid-block is fine: the reader checks against the count sent.
                Err(e) if is_timeout(&e) && f.stop.load(SeqCst) => break 'window,
                Err(e) if is_timeout(&e) => {}
                Err(e) => bail!("send failed after {} bytes: {}", c.sent.load(SeqCst), reason(&e)),
            }
        }
    }
    // FIN: the server echoes what is left, then closes.
    // Flag first: a fast server answers our FIN with its own at once, and the
    // reader must already know that close is expected.
    c.writer_done.store(true, SeqCst);
    let _ = sock.shutdown(Shutdown::Write);
    Ok(())
}

/// Verifies the echo until the server closes after echoing everything sent;
/// returns the payload bytes verified.
fn reader(i: usize, mut sock: TcpStream, c: &Counters, f: &Flags, cfg: &Config, deadline: Instant) -> Result<u64> {
    sock.set_read_timeout(Some(TICK)).map_err(|e| anyhow!("cannot set a socket timeout: {}", reason(&e)))?;
    let mut v = Verifier::new(Payload::new(seed(i), !cfg.raw), cfg.raw);
    let mut buf = vec![0; 64 * 1024];
    loop {
        if f.abort.load(SeqCst) {
            return Ok(v.payload_bytes());
        }
        match sock.read(&mut buf) {
            Ok(0) => {
                v.finish()?;
                let done = c.writer_done.load(SeqCst);
                let sent = c.sent.load(SeqCst);
                if !done {
                    bail!(
                        "server closed the connection while data was being sent ({} bytes echoed)",
                        v.payload_bytes()
                    );
                }
                if v.payload_bytes() != sent {
                    bail!("server closed the connection after echoing {} of {sent} bytes", v.payload_bytes());
                }
                return Ok(sent);
            }
            Ok(n) => {
                v.feed(&buf[..n])?;
                c.received.fetch_add(n as u64, SeqCst);
                c.payload.store(v.payload_bytes(), SeqCst);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                let done = c.writer_done.load(SeqCst);
                let sent = c.sent.load(SeqCst);
                // Everything is back even though the server keeps its side open.
                if done && v.payload_bytes() == sent {
                    v.finish()?;
                    return Ok(sent);
                }
                if Instant::now() > deadline {
                    bail!(
                        "only {} of {sent} bytes came back within {} after the window",
                        v.payload_bytes(),
                        secs(DRAIN)
                    );
                }
            }
            Err(e) => bail!("receive failed after {} bytes: {}", v.payload_bytes(), reason(&e)),
        }
    }
}
