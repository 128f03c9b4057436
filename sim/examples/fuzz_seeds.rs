//! Writes the fuzz target's seed corpus: the frames of real sessions, in the
//! target's `[len_hi, len_lo, bytes...]` format.
//!
//! `cargo run -p echo-sim --example fuzz_seeds -- fuzz/corpus/frames`

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::{Mode, DEFAULT_PORT};
use echo_sim::World;

fn session(mode: Mode, payload: &[u8], reset: bool) -> Vec<Vec<u8>> {
    let mut w = World::with_mode(mode);
    w.server_link.recorded = Some(vec![]);
    let c = w.client.connect(DEFAULT_PORT);
    w.client.send(c, payload);
    if reset {
        w.run_for(Duration::from_millis(50));
        w.client.socket(c).abort();
    } else {
        w.client.conns[c].close_when_sent = true;
    }
    w.run_until(Duration::from_secs(5), |w| matches!(w.client.state(c), State::TimeWait | State::Closed));
    w.run_for(Duration::from_millis(100));
    w.server_link.recorded.take().unwrap_or_default()
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus/frames".into());
    std::fs::create_dir_all(&dir)?;
    let cases = [
        ("hello-stamp", Mode::Stamp, b"hello".to_vec(), false),
        ("bulk-raw", Mode::Raw, vec![0x5a; 4000], false),
        ("reset", Mode::Stamp, b"bye".to_vec(), true),
    ];
    for (name, mode, payload, reset) in cases {
        let mut out = vec![u8::from(mode == Mode::Raw)];
        for frame in session(mode, &payload, reset) {
            out.extend((frame.len() as u16).to_be_bytes());
            out.extend(frame);
        }
        std::fs::write(format!("{dir}/seed-{name}"), out)?;
    }
    Ok(())
}
