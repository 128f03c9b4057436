//! The tutorial's client: prompt `>`, send a line, print the one reply, until an empty line or EOF.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::addr::Target;
use crate::net::{self, is_timeout, reason, secs};
use crate::reply;

/// Settings of an interactive session.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server to talk to.
    pub target: Target,
    /// Bound on establishing the connection.
    pub connect_timeout: Duration,
    /// How long to wait for a reply to start (`None`: forever).
    pub wait_timeout: Option<Duration>,
    /// How long to keep collecting a reply after its first byte.
    pub reply_timeout: Duration,
    /// The server echoes without stamps.
    pub raw: bool,
}

/// Runs the prompt loop on stdin/stdout until an empty line, EOF or the server closing.
pub fn run(opts: &Options) -> Result<()> {
    let mut sock = net::connect(&opts.target, opts.connect_timeout)?;
    // One line, one segment: the reply then usually comes back as one chunk.
    let _ = sock.set_nodelay(true);
    let stdin = io::stdin();
    let prompt = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut stdout = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        if prompt {
            // A closed stdout ends the session, like a closed stdin.
            if stdout.write_all(b">").and_then(|_| stdout.flush()).is_err() {
                break;
            }
        }
        line.clear();
        let n = input.read_until(b'\n', &mut line).context("cannot read standard input")?;
        if n == 0 {
            if prompt {
                let _ = stdout.write_all(b"\n");
            }
            break;
        }
        strip_newline(&mut line);
        if line.is_empty() {
            break;
        }
        sock.write_all(&line).map_err(|e| anyhow!("connection to {} lost: {}", opts.target, reason(&e)))?;
        let answer = read_reply(&mut sock, &line, opts)?;
        let Some(answer) = answer else {
            bail!("server {} closed the connection", opts.target);
        };
        let printed = stdout.write_all(&answer).and_then(|_| stdout.write_all(b"\n")).and_then(|_| stdout.flush());
        if printed.is_err() {
            break;
        }
    }
    let _ = sock.shutdown(Shutdown::Both);
    Ok(())
}

/// Drops a trailing `\n` or `\r\n`.
fn strip_newline(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// Collects the reply to `line`: until it is complete, `reply_timeout` after
/// its first byte, or the server closes. `None` if the server closed before
/// sending anything.
fn read_reply(sock: &mut TcpStream, line: &[u8], opts: &Options) -> Result<Option<Vec<u8>>> {
    let mut reply = Vec::new();
    // The tutorial's recv(1024).
    let mut buf = [0u8; 1024];
    let mut deadline: Option<Instant> = None;
    set_timeout(sock, opts.wait_timeout)?;
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(&buf[..n]);
                if reply::is_complete(&reply, line, opts.raw) {
                    break;
                }
                let end = *deadline.get_or_insert_with(|| Instant::now() + opts.reply_timeout);
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                set_timeout(sock, Some(left))?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if reply.is_empty() {
                    let waited = opts.wait_timeout.map(secs).unwrap_or_default();
                    bail!("no reply from {} within {waited}", opts.target);
                }
                break;
            }
            Err(e) => bail!("connection to {} lost: {}", opts.target, reason(&e)),
        }
    }
    Ok((!reply.is_empty()).then_some(reply))
}

fn set_timeout(sock: &TcpStream, t: Option<Duration>) -> Result<()> {
    sock.set_read_timeout(t).map_err(|e| anyhow!("cannot set a socket timeout: {}", reason(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_one_line_ending() {
        for (input, want) in [
            (&b"abc\n"[..], &b"abc"[..]),
            (b"abc\r\n", b"abc"),
            (b"abc", b"abc"),
            (b"\n", b""),
            (b"a\r", b"a\r"),
            (b"a\n\n", b"a\n"),
        ] {
            let mut v = input.to_vec();
            strip_newline(&mut v);
            assert_eq!(v, want);
        }
    }
}
