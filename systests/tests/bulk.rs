//! 64 KiB in one write, then a half-close: every byte comes back, in chunks of
//! at most 1024 bytes (each stamped in stamp mode), then the server's FIN.

use std::time::Duration;

use systests::client::send_all_then_read_to_eof;
use systests::stamp::unstamp;
use systests::{Mode, Target};

const SIZE: usize = 64 * 1024;

/// Pseudo-random bytes from `alphabet`, so a lost, repeated or reordered chunk
/// cannot go unnoticed (no period that lines up with 1024-byte chunks).
fn pattern(alphabet: &[u8]) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            alphabet[(x as usize) % alphabet.len()]
        })
        .collect()
}

fn send_all_then_half_close(target: &Target, data: &[u8]) -> Vec<u8> {
    let name = target.name();
    let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut stream = server.connect().unwrap_or_else(|e| panic!("{name}: connect: {e}"));
    send_all_then_read_to_eof(&mut stream, data, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn raw_mode_echoes_64_kib_exactly_then_fin() {
    let all_bytes: Vec<u8> = (0..=255).collect();
    let data = pattern(&all_bytes);
    let received = send_all_then_half_close(&Target::host_sim(Mode::Raw), &data);
    assert_eq!(received.len(), data.len(), "raw echo length");
    if let Some(i) = received.iter().zip(&data).position(|(a, b)| a != b) {
        panic!("raw echo differs from byte {i} on");
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn stamp_mode_echoes_64_kib_in_stamped_chunks_then_fin() {
    // No `[` in the data: that is how stamps are told from payload.
    let alphabet: Vec<u8> = (b'0'..=b'9').chain(b'A'..=b'Z').chain(b'a'..=b'z').chain(*b" .,\n").collect();
    let data = pattern(&alphabet);
    for target in Target::stamp_targets() {
        let name = target.name();
        let received = send_all_then_half_close(&target, &data);
        let payload = unstamp(&received).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(payload.len(), data.len(), "{name}: payload length");
        if let Some(i) = payload.iter().zip(&data).position(|(a, b)| a != b) {
            panic!("{name}: echoed payload differs from byte {i} on");
        }
    }
}
