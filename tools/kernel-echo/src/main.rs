//! `kernel-echo`: the tutorial's echo server on the Linux TCP stack, one
//! thread per connection. `cargo xtask bench` measures host-sim against it,
//! so both serve the same protocol to the same client.
//!
//! `--mode raw` echoes bytes as read; `--mode stamp` answers every read of at
//! most 1024 bytes with `[<ctime>] <chunk>` (UTC), as the firmware does.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Parser;
use echo_core::protocol::{encode_stamp, Mode, CHUNK, STAMP_LEN};

/// Raw mode reads this much at a time: large reads keep the kernel's side
/// of the comparison at its best.
const RAW_BUF: usize = 64 * 1024;

/// Thread-per-connection TCP echo server on the kernel's stack (bench baseline).
#[derive(Parser, Debug)]
#[command(name = "kernel-echo", version)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, default_value = "0.0.0.0:12345", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// `raw` echoes bytes unchanged; `stamp` prefixes each chunk with `[<ctime>] `.
    #[arg(long, default_value_t = Mode::Raw, value_parser = mode_parser())]
    mode: Mode,
}

/// `--mode`: the modes kernel-echo serves, by their protocol names.
fn mode_parser() -> impl TypedValueParser<Value = Mode> {
    let about = |mode| match mode {
        Mode::Raw => "Plain echo",
        Mode::Stamp => "`[<ctime>] <chunk>`, as the tutorial's server",
        Mode::Line => "One stamp per line (not served)",
    };
    let values = [Mode::Raw, Mode::Stamp].map(|m| PossibleValue::new(m.name()).help(about(m)));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mode>())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kernel-echo: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("kernel-echo: listening on {} ({:?} mode)", args.listen, args.mode);
    for conn in listener.incoming() {
        match conn {
            Ok(sock) => {
                let mode = args.mode;
                thread::spawn(move || {
                    // A peer that resets or vanishes ends only its own thread.
                    let _ = serve(sock, mode);
                });
            }
            // E.g. EMFILE or an aborted handshake: keep serving the others.
            Err(e) => eprintln!("kernel-echo: accept failed: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// Echoes until the peer closes its side, then closes ours.
fn serve(mut sock: TcpStream, mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Raw => {
            let mut buf = vec![0; RAW_BUF];
            loop {
                let n = read(&mut sock, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                sock.write_all(&buf[..n])?;
            }
        }
        Mode::Stamp => {
            // Stamp and chunk go out in one write, as one reply.
            let mut out = [0; STAMP_LEN + CHUNK];
            loop {
                let n = read(&mut sock, &mut out[STAMP_LEN..])?;
                if n == 0 {
                    return Ok(());
                }
                out[..STAMP_LEN].copy_from_slice(&encode_stamp(unix_secs()));
                sock.write_all(&out[..STAMP_LEN + n])?;
            }
        }
        // `--mode` does not offer it.
        Mode::Line => Err(io::Error::new(io::ErrorKind::Unsupported, "kernel-echo does not serve line mode")),
    }
}

/// `read`, retried when a signal interrupts it.
fn read(sock: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match sock.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
