//! Arbitrary Ethernet frames into the echo server, around a real client
//! session. The server must never panic; libFuzzer finds what does.
//!
//! Input: frames as `[len_hi, len_lo, bytes...]` repeated; a zero-length
//! entry means "let the clock run".
#![no_main]

use echo_core::smoltcp::time::Duration;
use echo_core::{Mode, DEFAULT_PORT};
use echo_sim::{Memory, World, WorldConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mode = if data.first().is_some_and(|b| b & 1 == 1) { Mode::Raw } else { Mode::Stamp };
    // Borrowed, not leaked: libFuzzer runs this millions of times.
    let config = WorldConfig::with_mode(mode);
    let mut memory = Memory::new(&config);
    let mut sockets = Memory::socket_table(&config);
    let mut w = World::in_memory(config, &mut memory, &mut sockets);
    let c = w.client.connect(DEFAULT_PORT);
    w.client.send(c, b"fuzz");
    let mut rest = data.get(1..).unwrap_or_default();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (frame, tail) = rest[2..].split_at(len);
        if frame.is_empty() {
            w.run_for(Duration::from_millis(500));
        } else {
            w.server_link.inject(frame.to_vec());
            w.step();
        }
        rest = tail;
    }
    w.run_for(Duration::from_secs(2));
    // Whatever happened, the books balance.
    let s = w.stats();
    assert!(s.closed + s.resets + s.timeouts <= s.accepted);
    assert!(w.server.open_connections() <= 5);
});
