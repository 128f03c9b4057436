//! Moving bytes from a connection's receive buffer to its transmit buffer,
//! one chunk at a time, each answered as the mode says. A byte leaves the
//! receive buffer only once `send_slice` has taken it.

use smoltcp::socket::tcp;
use smoltcp::time::Instant;

use crate::config::EchoConfig;
use crate::events::Events;
use crate::fmt::Printable;
use crate::protocol::{Mode, CHUNK};
use crate::slot::Slot;
use crate::stamp::WallClock;
use crate::stats::Stats;

/// Bytes of each message shown in the log.
const LOG_PREVIEW: usize = 48;

/// Echoes as many whole chunks as the transmit buffer can take.
pub(crate) fn echo(
    sock: &mut tcp::Socket,
    slot: &mut Slot,
    config: &EchoConfig,
    clock: &WallClock,
    now: Instant,
    stats: &mut Stats,
    events: &mut Events,
) {
    let overhead = config.mode.overhead();
    // A chunk must fit the receive buffer (or a line could never complete)
    // and, with its prefix, the transmit buffer (or it could never be sent).
    let limit = CHUNK.min(sock.recv_capacity()).min(sock.send_capacity().saturating_sub(overhead));
    // Not `may_recv()`: that stays true while unread data remains after a FIN.
    let peer_open = matches!(sock.state(), tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2);
    let mut chunk = [0u8; CHUNK];
    while sock.can_recv() && sock.may_send() && limit > 0 {
        let Ok(seen) = sock.peek_slice(&mut chunk[..limit]) else {
            break;
        };
        let Some(take) = chunk_len(config.mode, &chunk[..seen], limit, peer_open) else {
            break; // an unfinished line: wait for the rest
        };
        let free = sock.send_capacity() - sock.send_queue();
        if free < overhead + take {
            break; // backpressure: the peer must read before we take more
        }
        if overhead > 0 {
            // Fits: `free` covers the stamp and the chunk.
            let _ = sock.send_slice(&clock.stamp(now)[..overhead]);
        }
        let sent = sock.send_slice(&chunk[..take]).unwrap_or(0);
        // Dequeue exactly what was queued for sending: nothing lost if `sent < take`.
        discard(sock, sent);
        stats.bytes_in += sent as u64;
        stats.bytes_out += (sent + overhead) as u64;
        slot.last_active = now;
        slot.last_progress = now;
        // Raw chunks are logged at trace only: they use no budget, and no summary counts them.
        if config.mode != Mode::Raw && events.allow_message(now, sent) {
            log_chunk(slot, config.mode, &chunk[..sent]);
        }
        if sent < take {
            break;
        }
    }
}

/// How many of the `seen` bytes (at most `limit`) form the next chunk, or
/// `None` to wait for more. `open` is false once the peer has half-closed.
pub(crate) fn chunk_len(mode: Mode, seen: &[u8], limit: usize, open: bool) -> Option<usize> {
    if seen.is_empty() {
        return None;
    }
    match mode {
        Mode::Stamp | Mode::Raw => Some(seen.len()),
        Mode::Line => match seen.iter().position(|&b| b == b'\n') {
            Some(end) => Some(end + 1),
            // Over-long line: cut at the bound, nothing is dropped.
            None if seen.len() >= limit => Some(seen.len()),
            // Unterminated tail after the peer's FIN: flush it.
            None if !open => Some(seen.len()),
            None => None,
        },
    }
}

/// Drops `n` bytes from the front of the receive buffer. The buffer is a ring:
/// one `recv` call only sees the part up to the wrap, so loop.
fn discard(sock: &mut tcp::Socket, mut n: usize) {
    while n > 0 {
        match sock.recv(|buf| {
            let k = buf.len().min(n);
            (k, k)
        }) {
            Ok(0) | Err(_) => break,
            Ok(k) => n -= k,
        }
    }
}

fn log_chunk(slot: &Slot, mode: Mode, data: &[u8]) {
    let Some(remote) = slot.remote else { return };
    if mode == Mode::Raw {
        trace!("{}: {} bytes", remote, data.len());
    } else if data.len() > LOG_PREVIEW {
        info!("{}: {}... ({} B)", remote, Printable(&data[..LOG_PREVIEW]), data.len());
    } else {
        info!("{}: {}", remote, Printable(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_and_raw_take_everything_seen() {
        assert_eq!(chunk_len(Mode::Stamp, b"abc", 1024, true), Some(3));
        assert_eq!(chunk_len(Mode::Raw, b"a\nb", 1024, true), Some(3));
        assert_eq!(chunk_len(Mode::Raw, b"", 1024, true), None);
    }

    #[test]
    fn line_mode_cuts_after_each_newline() {
        assert_eq!(chunk_len(Mode::Line, b"one\ntwo\n", 1024, true), Some(4));
        assert_eq!(chunk_len(Mode::Line, b"\n", 1024, true), Some(1));
    }

    #[test]
    fn line_mode_waits_for_the_rest_of_a_line() {
        assert_eq!(chunk_len(Mode::Line, b"partial", 1024, true), None);
    }

    #[test]
    fn line_mode_flushes_the_tail_at_fin() {
        assert_eq!(chunk_len(Mode::Line, b"tail", 1024, false), Some(4));
    }

    #[test]
    fn line_mode_cuts_over_long_lines_at_the_bound() {
        assert_eq!(chunk_len(Mode::Line, &[b'x'; 16], 16, true), Some(16));
    }
}
