//! A loopback stand-in for the firmware: one thread per connection, each read
//! of at most 1024 bytes echoed back, stamped or raw, closing after the peer does.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::thread;

/// The stamp every reply carries (the format is what matters, not the time).
pub const STAMP: &str = "[Tue Nov 24 16:00:28 2026] ";

/// How the stand-in answers.
#[derive(Debug, Clone, Copy)]
pub enum Echo {
    /// Like the firmware: stamp + chunk.
    Stamp,
    /// The chunk alone.
    Raw,
    /// Raw, but the byte at this stream offset comes back altered.
    CorruptAt(u64),
    /// Accept, then close at once.
    Close,
}

/// Starts a server on 127.0.0.1 and returns its address; it lives as long as the test binary.
pub fn serve(echo: Echo) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || handle(conn, echo));
        }
    });
    addr
}

fn handle(mut conn: std::net::TcpStream, echo: Echo) {
    if let Echo::Close = echo {
        return;
    }
    let mut buf = [0u8; 1024];
    let mut offset = 0u64;
    let mut out = Vec::with_capacity(STAMP.len() + buf.len());
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Echo::CorruptAt(at) = echo {
            if (offset..offset + n as u64).contains(&at) {
                buf[(at - offset) as usize] ^= 0x20;
            }
        }
        offset += n as u64;
        out.clear();
        if let Echo::Stamp = echo {
            out.extend_from_slice(STAMP.as_bytes());
        }
        out.extend_from_slice(&buf[..n]);
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Runs `echo-client` with `args`, feeding `input` on stdin.
pub fn client(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo-client"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The client may exit before reading everything; that is not a test failure.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Asserts a failure: `code`, one stderr line starting `echo-client: `, no panic.
pub fn assert_one_line_failure(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("echo-client: "), "{err}");
    err
}
