//! Random payloads in random chunkings come back byte-exact.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::{Mode, DEFAULT_PORT};
use echo_sim::stamped::{parse, payload};
use echo_sim::{World, WorldConfig};
use proptest::prelude::*;

/// Sends `chunks` one per step on one connection, half-closes, and returns
/// everything that came back.
fn echo_through(config: WorldConfig, chunks: &[Vec<u8>], gaps: &[u8]) -> Vec<u8> {
    let mut w = World::new(config);
    let c = w.client.connect(DEFAULT_PORT);
    for (i, chunk) in chunks.iter().enumerate() {
        w.client.send(c, chunk);
        for _ in 0..gaps.get(i).copied().unwrap_or(0) {
            w.step();
        }
    }
    w.client.conns[c].close_when_sent = true;
    let done = w.run_until(Duration::from_secs(3600), |w| matches!(w.client.state(c), State::TimeWait | State::Closed));
    assert!(done, "echo did not finish");
    std::mem::take(&mut w.client.conns[c].inbox)
}

fn buffers() -> impl Strategy<Value = (usize, usize)> {
    (
        prop_oneof![Just(64usize), Just(500), Just(2048), Just(16 * 1024)],
        prop_oneof![Just(28usize), Just(100), Just(1500), Just(8192)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn raw_mode_is_byte_exact(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..3000), 1..20),
        gaps in prop::collection::vec(0u8..4, 0..20),
        (rx, tx) in buffers(),
    ) {
        let config = WorldConfig { server_rx: rx, server_tx: tx, ..WorldConfig::with_mode(Mode::Raw) };
        let sent: Vec<u8> = chunks.concat();
        prop_assert_eq!(echo_through(config, &chunks, &gaps), sent);
    }

    #[test]
    fn stamp_mode_is_byte_exact(
        chunks in prop::collection::vec(prop::collection::vec(b'\\'..=b'~', 1..3000), 1..20),
        gaps in prop::collection::vec(0u8..4, 0..20),
        (rx, tx) in buffers(),
    ) {
        let config = WorldConfig { server_rx: rx, server_tx: tx, ..WorldConfig::with_mode(Mode::Stamp) };
        let sent: Vec<u8> = chunks.concat();
        let echoed = parse(&echo_through(config, &chunks, &gaps)).map_err(TestCaseError::fail)?;
        prop_assert!(echoed.iter().all(|e| e.ctime.starts_with("Tue Nov 24 16:0")));
        prop_assert_eq!(payload(&echoed), sent);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn line_mode_stamps_whole_lines_and_loses_nothing(
        chunks in prop::collection::vec(
            prop::collection::vec(prop_oneof![8 => b'\\'..=b'~', 1 => Just(b'\n')], 1..2500),
            1..12,
        ),
        gaps in prop::collection::vec(0u8..4, 0..12),
    ) {
        let sent: Vec<u8> = chunks.concat();
        let echoed = parse(&echo_through(WorldConfig::with_mode(Mode::Line), &chunks, &gaps))
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(payload(&echoed), sent);
        // Every piece is a whole line, a line cut at the bound, or the final tail.
        let last = echoed.len() - 1;
        for (i, e) in echoed.iter().enumerate() {
            let newline_only_at_end = !e.chunk[..e.chunk.len() - 1].contains(&b'\n');
            prop_assert!(newline_only_at_end, "piece {} holds more than one line", i);
            prop_assert!(e.chunk.ends_with(b"\n") || e.chunk.len() == echo_core::CHUNK || i == last,
                "piece {} of {} bytes is neither a line, a cut, nor the tail", i, e.chunk.len());
        }
    }
}
