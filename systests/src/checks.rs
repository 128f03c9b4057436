//! The end-to-end checks, written once and used both by the system tests
//! (from inside a test namespace, [`Netns`]) and by the runner for a real
//! device (`hil`, from the network namespace it runs in, [`Here`]).
//!
//! Each check returns the figure it measured (for the runner's table) or why
//! it failed. Replies' stamps are judged by a [`Clock`]: a device without a
//! wall clock stamps the time since boot, counted from 1970.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{read_exact_reporting, send_all_then_read_to_eof};
use crate::process::run_piped;
use crate::stamp::{now_unix, stamp_of, unstamp_with, year_of, STAMP_LEN, TOLERANCE_SECS};
use crate::target::IO_TIMEOUT;
use crate::{bins, Netns};

/// Largest payload a stamped UDP answer carries (the first [`CHUNK`](echo_core::CHUNK) bytes).
pub const UDP_CHUNK: usize = echo_core::CHUNK;
/// The half-close check's size.
pub const BULK: usize = 64 * 1024;
/// How long a connect retries refusals: a slot is free again only once the
/// server has seen its previous connection end.
pub const SLOT_WAIT: Duration = Duration::from_secs(3);

/// Where sockets are made: a test namespace, or the caller's own.
pub trait Link: Sync {
    /// A TCP connection to `addr`, given up after `timeout`.
    fn tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream>;
    /// An unconnected UDP socket on an ephemeral port of the right family.
    fn udp(&self, v6: bool) -> io::Result<UdpSocket>;
}

impl Link for Netns {
    fn tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        self.connect(addr, timeout)
    }

    fn udp(&self, v6: bool) -> io::Result<UdpSocket> {
        self.run(|| Here.udp(v6))?
    }
}

/// The calling thread's own network namespace (the runner for a real device).
#[derive(Debug, Clone, Copy)]
pub struct Here;

impl Link for Here {
    fn tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        TcpStream::connect_timeout(&addr, timeout)
    }

    fn udp(&self, v6: bool) -> io::Result<UdpSocket> {
        let bind: SocketAddr = if v6 { SocketAddr::from(([0u16; 8], 0)) } else { SocketAddr::from(([0, 0, 0, 0], 0)) };
        UdpSocket::bind(bind)
    }
}

/// How a reply's stamp is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The device keeps wall-clock time: stamps within `tolerance` seconds of
    /// the host's clock.
    Host {
        /// Seconds either way.
        tolerance: i64,
    },
    /// The device has no wall clock (no SNTP): stamps count the time since
    /// boot from 1970. A stamp within the default tolerance of the host's
    /// clock is accepted too (the device may sync meanwhile).
    SinceBoot,
}

impl Clock {
    /// The host's clock within [`TOLERANCE_SECS`], as the system tests expect.
    pub fn host() -> Self {
        Clock::Host { tolerance: TOLERANCE_SECS }
    }

    /// Checks one stamp's time (seconds since the Unix epoch).
    pub fn check(self, stamp: i64) -> Result<(), String> {
        let off = stamp - now_unix();
        match self {
            Clock::Host { tolerance } if off.abs() <= tolerance => Ok(()),
            Clock::Host { tolerance } => Err(format!(
                "stamp is {off:+} s off the host clock (tolerance {tolerance} s){}",
                if is_since_boot(stamp) { ": the device's clock is not set (1970)" } else { "" }
            )),
            Clock::SinceBoot if is_since_boot(stamp) || off.abs() <= TOLERANCE_SECS => Ok(()),
            Clock::SinceBoot => Err(format!("stamp {stamp} is neither in 1970 (time since boot) nor now")),
        }
    }
}

/// Whether a stamp's time is in 1970: a device counting from boot.
pub fn is_since_boot(stamp: i64) -> bool {
    year_of(stamp) == 1970
}

/// Connects to `server` through `link`, retrying refusals for `window`, with
/// read and write timeouts of [`IO_TIMEOUT`].
pub fn connect(link: &dyn Link, server: SocketAddr, window: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + window;
    let stream = loop {
        match link.tcp(server, IO_TIMEOUT) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10));
            }
            other => break other?,
        }
    };
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Reads the stamped echo of `payload` (sent earlier) and returns its stamp's
/// time, after checking the reply is exactly a stamp and `payload` and the
/// stamp passes `clock`.
pub fn expect_echo(stream: &mut TcpStream, payload: &[u8], clock: Clock) -> Result<i64, String> {
    let mut reply = vec![0; STAMP_LEN + payload.len()];
    read_exact_reporting(stream, &mut reply)
        .map_err(|e| format!("reply to {:?}: {e}", String::from_utf8_lossy(payload)))?;
    let time = stamp_of(&reply, payload)?;
    clock.check(time)?;
    Ok(time)
}

/// Sends `payload` and checks its stamped echo; see [`expect_echo`].
pub fn round_trip(stream: &mut TcpStream, payload: &[u8], clock: Clock) -> Result<i64, String> {
    stream.write_all(payload).map_err(|e| format!("send {:?}: {e}", String::from_utf8_lossy(payload)))?;
    expect_echo(stream, payload, clock)
}

/// The tutorial's client (tools/tcpclient.py) against `server`: two lines
/// in, two stamped replies out, the empty line ends the session. `python3`
/// is the command that runs Python (in a namespace: `ns.command("python3")`).
/// Returns the first reply.
pub fn tutorial_client(mut python3: Command, server: SocketAddr, clock: Clock) -> Result<String, String> {
    python3.arg(bins::python_client()).arg(server.ip().to_string()).arg(server.port().to_string());
    // The empty line ends the session: the last line must never be sent.
    let out = run_piped(&mut python3, b"hello\nworld\n\nnot sent\n", Duration::from_secs(10))
        .map_err(|e| format!("tools/tcpclient.py: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "tools/tcpclient.py failed ({}): {}{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // input('>') prints its prompt without a newline: `>reply\n` per line,
    // then the prompt that read the empty line.
    let body =
        stdout.strip_suffix('>').ok_or_else(|| format!("output does not end with the last prompt: {stdout:?}"))?;
    let replies = body
        .split_terminator('\n')
        .map(|line| line.strip_prefix('>').ok_or_else(|| format!("line without prompt: {line:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    if replies.len() != 2 {
        return Err(format!("expected two replies, got {stdout:?}"));
    }
    for (reply, sent) in replies.iter().zip(["hello", "world"]) {
        clock.check(stamp_of(reply.as_bytes(), sent.as_bytes())?)?;
    }
    Ok(replies[0].to_owned())
}

/// `slots` clients served at once (interleaved: all send before any reads),
/// the next one refused with RST without disturbing them, and a slot taken
/// by a newcomer shortly after one leaves.
pub fn concurrency(link: &dyn Link, server: SocketAddr, slots: usize, clock: Clock) -> Result<String, String> {
    let mut clients = (0..slots)
        .map(|i| connect(link, server, SLOT_WAIT).map_err(|e| format!("client {} of {slots} not accepted: {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let exchange = |clients: &mut [TcpStream], round: usize| -> Result<(), String> {
        for (i, c) in clients.iter_mut().enumerate() {
            let payload = format!("client {i} round {round}");
            c.write_all(payload.as_bytes()).map_err(|e| format!("client {i}, round {round}: send: {e}"))?;
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let payload = format!("client {i} round {round}");
            expect_echo(c, payload.as_bytes(), clock).map_err(|e| format!("client {i}, round {round}: {e}"))?;
        }
        Ok(())
    };
    exchange(&mut clients, 0)?;
    exchange(&mut clients, 1)?;
    expect_refused(link, server, &format!("client {} while {slots} are connected", slots + 1))?;
    // The refusal did not disturb the others.
    exchange(&mut clients, 2)?;

    // One leaves; its slot must be taken by a newcomer shortly after.
    drop(clients.remove(0));
    let mut newcomer = connect(link, server, SLOT_WAIT)
        .map_err(|e| format!("no slot freed within {SLOT_WAIT:?} after a client left: {e}"))?;
    round_trip(&mut newcomer, b"newcomer", clock).map_err(|e| format!("newcomer: {e}"))?;
    clients.push(newcomer);
    exchange(&mut clients, 3)?;
    // Full again.
    expect_refused(link, server, &format!("client {} after the newcomer took the free slot", slots + 1))?;
    Ok(format!("{slots} served at once, #{} refused (RST), freed slot reused", slots + 1))
}

/// One connection attempt that must be refused (ECONNREFUSED: the server's RST).
pub fn expect_refused(link: &dyn Link, server: SocketAddr, what: &str) -> Result<(), String> {
    match link.tcp(server, IO_TIMEOUT) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(()),
        Err(e) => Err(format!("{what}: expected ECONNREFUSED (RST), got {e}")),
        Ok(_) => Err(format!("{what}: was accepted, expected ECONNREFUSED (RST)")),
    }
}

/// `len` pseudo-random bytes from `alphabet`, so a lost, repeated or reordered
/// chunk cannot go unnoticed (no period that lines up with 1024-byte chunks).
pub fn pattern(alphabet: &[u8], len: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            alphabet[(x as usize) % alphabet.len()]
        })
        .collect()
}

/// Bytes that never contain `[`, which is how stamps are told from payload.
pub fn stamp_safe_alphabet() -> Vec<u8> {
    (b'0'..=b'9').chain(b'A'..=b'Z').chain(b'a'..=b'z').chain(*b" .,\n").collect()
}

/// `len` stamp-safe bytes in one write, then a half-close: every byte must
/// come back in stamped chunks of at most 1024 bytes, then the server's FIN.
pub fn bulk_half_close(link: &dyn Link, server: SocketAddr, len: usize, clock: Clock) -> Result<String, String> {
    let data = pattern(&stamp_safe_alphabet(), len);
    let mut stream = connect(link, server, SLOT_WAIT).map_err(|e| format!("connect: {e}"))?;
    let started = Instant::now();
    let received = send_all_then_read_to_eof(&mut stream, &data, Duration::from_secs(20))?;
    let took = started.elapsed();
    let payload = unstamp_with(&received, &|t| clock.check(t))?;
    if payload.len() != data.len() {
        return Err(format!("{} payload bytes came back before the FIN, {} sent", payload.len(), data.len()));
    }
    if let Some(i) = payload.iter().zip(&data).position(|(a, b)| a != b) {
        return Err(format!("echoed payload differs from byte {i} on"));
    }
    Ok(format!("{} KiB back byte-exact, then FIN, in {:.1} ms", len / 1024, took.as_secs_f64() * 1e3))
}

/// Sends `payload` to `server` from a fresh socket made by `link` and
/// returns the first datagram that comes back from `server` within
/// `timeout`. The socket is connected, so an ICMP "port unreachable" shows
/// up as `ConnectionRefused`.
pub fn udp_exchange(link: &dyn Link, server: SocketAddr, payload: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let socket = link.udp(server.is_ipv6())?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(payload)?;
    // Larger than any answer the server may send, so truncation would show.
    let mut buf = vec![0u8; 65_536];
    let len = socket.recv(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

/// UDP echo: a short datagram comes back stamped; one of 1400 bytes comes
/// back as a stamp and its first [`UDP_CHUNK`] bytes.
pub fn udp_echo(link: &dyn Link, server: SocketAddr, clock: Clock) -> Result<String, String> {
    let started = Instant::now();
    let reply = udp_exchange(link, server, b"ping", IO_TIMEOUT).map_err(|e| format!("\"ping\": {e}"))?;
    let rtt = started.elapsed();
    clock.check(stamp_of(&reply, b"ping").map_err(|e| format!("\"ping\": {e}"))?)?;
    // Not a multiple of anything, and no two 1024-byte windows alike.
    let big: Vec<u8> = (0..1400u32).map(|i| b'a' + (i * 7 % 26) as u8).collect();
    let reply = udp_exchange(link, server, &big, IO_TIMEOUT).map_err(|e| format!("1400 bytes: {e}"))?;
    if reply.len() != STAMP_LEN + UDP_CHUNK {
        return Err(format!(
            "the answer to 1400 bytes is {} bytes, expected a stamp and the first {UDP_CHUNK} ({})",
            reply.len(),
            STAMP_LEN + UDP_CHUNK
        ));
    }
    clock.check(stamp_of(&reply, &big[..UDP_CHUNK]).map_err(|e| format!("1400 bytes: {e}"))?)?;
    Ok(format!("ping answered in {:.2} ms; 1400 B -> stamp + first {UDP_CHUNK}", rtt.as_secs_f64() * 1e3))
}

/// One connection, two stamped round trips, then a clean close (our FIN,
/// then the server's, nothing else).
pub fn tcp_echo(link: &dyn Link, server: SocketAddr, clock: Clock) -> Result<String, String> {
    let mut stream = connect(link, server, SLOT_WAIT).map_err(|e| format!("connect to {server}: {e}"))?;
    let started = Instant::now();
    round_trip(&mut stream, b"hello", clock)?;
    let rtt = started.elapsed();
    round_trip(&mut stream, b"hello again", clock)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(|e| format!("half-close: {e}"))?;
    let rest = crate::client::read_to_eof(&mut stream, IO_TIMEOUT).map_err(|e| format!("FIN after ours: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} unexpected bytes before the server's FIN", rest.len()));
    }
    Ok(format!("round trip {:.2} ms, clean close", rtt.as_secs_f64() * 1e3))
}
