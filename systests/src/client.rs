//! Client-side checks over a std `TcpStream` (the Linux kernel as the client).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::stamp::{check_reply, stamp_of, STAMP_LEN};
use crate::Mode;

/// Sends `payload` and checks that exactly its echo comes back: the same
/// bytes, stamped with the current time in stamp mode. Reads only the reply's
/// length, so a later read sees anything extra.
pub fn round_trip(stream: &mut TcpStream, mode: Mode, payload: &[u8]) -> Result<(), String> {
    stream.write_all(payload).map_err(|e| format!("send {:?}: {e}", String::from_utf8_lossy(payload)))?;
    expect_echo(stream, mode, payload)
}

/// Reads one reply to `payload` (sent earlier) and checks it; see [`round_trip`].
pub fn expect_echo(stream: &mut TcpStream, mode: Mode, payload: &[u8]) -> Result<(), String> {
    let mut reply = vec![0; mode.overhead() + payload.len()];
    read_exact_reporting(stream, &mut reply)
        .map_err(|e| format!("reply to {:?}: {e}", String::from_utf8_lossy(payload)))?;
    match mode {
        // In line mode `payload` must be one newline-terminated line.
        Mode::Stamp | Mode::Line => check_reply(&reply, payload),
        Mode::Raw if reply == payload => Ok(()),
        Mode::Raw => Err(format!(
            "raw echo {:?}, expected {:?}",
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(payload)
        )),
    }
}

/// Sends `payload` (stamp mode) and returns the time in the reply's stamp,
/// after checking the reply is exactly a stamp and `payload`. Unlike
/// [`round_trip`] it does not require the host's time: for a server whose
/// clock comes from elsewhere (SNTP).
pub fn stamp_of_reply(stream: &mut TcpStream, payload: &[u8]) -> Result<i64, String> {
    stream.write_all(payload).map_err(|e| format!("send {:?}: {e}", String::from_utf8_lossy(payload)))?;
    let mut reply = vec![0; STAMP_LEN + payload.len()];
    read_exact_reporting(stream, &mut reply)
        .map_err(|e| format!("reply to {:?}: {e}", String::from_utf8_lossy(payload)))?;
    stamp_of(&reply, payload)
}

/// Reads until the server's FIN, giving up after `limit` in total.
pub fn read_to_eof(stream: &mut TcpStream, limit: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + limit;
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no FIN within {limit:?} (after {} bytes)", data.len()),
            ));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(data),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{e} (after {} bytes)", data.len()))),
        }
    }
}

/// Writes `data` then half-closes, from another thread so that the replies
/// never wait for the whole write to be accepted, while this one reads until
/// the server's FIN (at most `limit`); returns what came back.
pub fn send_all_then_read_to_eof(stream: &mut TcpStream, data: &[u8], limit: Duration) -> Result<Vec<u8>, String> {
    let mut writer = stream.try_clone().map_err(|e| format!("clone the socket: {e}"))?;
    let owned = data.to_vec();
    let sender = thread::spawn(move || {
        writer.write_all(&owned)?;
        writer.shutdown(Shutdown::Write)
    });
    let received = read_to_eof(stream, limit).map_err(|e| e.to_string())?;
    match sender.join() {
        Ok(Ok(())) => Ok(received),
        Ok(Err(e)) => Err(format!("send: {e}")),
        Err(_) => Err("the sender thread panicked".into()),
    }
}

/// `read_exact` whose error says how much did arrive.
pub fn read_exact_reporting(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), String> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(format!("connection closed after {got} of {} bytes: {:?}", buf.len(), lossy(&buf[..got])))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{e} after {got} of {} bytes: {:?}", buf.len(), lossy(&buf[..got]))),
        }
    }
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Waits for the device to end a connection: a read must see RST
/// (ECONNRESET) or FIN (0) within `limit`, and no data.
pub fn expect_reset(stream: &mut TcpStream, limit: Duration, what: &str) {
    stream.set_read_timeout(Some(limit.max(Duration::from_millis(1)))).expect("read timeout");
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("{what}: received {n} bytes, expected the connection to be reset"),
        Err(e) => panic!("{what}: not reset within {limit:?}: {e}"),
    }
}

/// Half-closes and checks the device answers with its FIN and nothing else.
pub fn close_cleanly(stream: &mut TcpStream, what: &str) {
    stream.shutdown(Shutdown::Write).unwrap_or_else(|e| panic!("{what}: shutdown: {e}"));
    let rest = read_to_eof(stream, crate::target::IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("{what}: waiting for the device's FIN: {e}"));
    assert!(rest.is_empty(), "{what}: {} unexpected bytes before the device's FIN", rest.len());
}

/// A refusal must be an RST (ECONNREFUSED) and come at once, not after a
/// SYN timeout.
pub fn expect_refused_promptly(connect: impl FnOnce() -> io::Result<TcpStream>, what: &str) {
    let asked = Instant::now();
    let result = connect();
    let took = asked.elapsed();
    match result {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        Err(e) => panic!("{what}: expected ECONNREFUSED (RST), got {e} after {took:?}"),
        Ok(_) => panic!("{what}: was accepted, expected ECONNREFUSED"),
    }
    assert!(took < Duration::from_secs(1), "{what}: refusal took {took:?}");
}
