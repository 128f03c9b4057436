//! 64 KiB in one write, then a half-close: every byte comes back, in chunks of
//! at most 1024 bytes (each stamped in stamp mode), then the server's FIN.

use std::time::Duration;

use systests::checks::{self, pattern, Clock, BULK};
use systests::client::send_all_then_read_to_eof;
use systests::{Mode, Target, SERVER};

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
    let data = pattern(&all_bytes, BULK);
    let received = send_all_then_half_close(&Target::host_sim(Mode::Raw), &data);
    assert_eq!(received.len(), data.len(), "raw echo length");
    if let Some(i) = received.iter().zip(&data).position(|(a, b)| a != b) {
        panic!("raw echo differs from byte {i} on");
    }
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn stamp_mode_echoes_64_kib_in_stamped_chunks_then_fin() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        // The check the `hil` runner shares: stamp-safe data, every stamp
        // checked, the payload compared byte for byte, then the FIN.
        checks::bulk_half_close(server.ns(), SERVER, BULK, Clock::host()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
