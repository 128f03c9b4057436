//! Many slots (issue 12, `--max-conn` scaling): sockets are made as slots
//! are first needed and few listen at once, so a large backlog starts at
//! once and behaves as a small one.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::{Mode, SlotState};
use echo_sim::{World, WorldConfig};

const PORT: u16 = echo_core::DEFAULT_PORT;
const SECOND: Duration = Duration::from_secs(1);

fn listening(w: &World) -> usize {
    w.server.slots().iter().filter(|s| s.state() == SlotState::Listening).count()
}

#[test]
fn ten_thousand_slots_start_at_once_and_serve_as_five_do() {
    let config = WorldConfig { slots: 5000, server_rx: 64, server_tx: 64, ..WorldConfig::with_mode(Mode::Raw) };
    let started = std::time::Instant::now();
    let mut w = World::new(config);
    // Filling smoltcp's socket table up front took seconds (its `add` scans
    // from the start); generous for a debug build on a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "start took {:?}", started.elapsed());
    assert_eq!(w.server.slots().len(), 10_000);
    assert_eq!(listening(&w), 8, "a few listen, not the whole backlog");

    let conns: Vec<_> = (0..40).map(|_| w.client.connect(PORT)).collect();
    assert!(w.run_until(SECOND * 5, |w| w.stats().accepted == 40), "accepted {}", w.stats().accepted);
    assert!(conns.iter().all(|&c| w.client.state(c) == State::Established));
    assert_eq!(w.stats().refused, 0);
    assert_eq!(listening(&w), 8, "listeners are replenished");
    for &c in &conns {
        w.client.send(c, format!("conn {c}").as_bytes());
    }
    assert!(w.run_until(SECOND, |w| conns.iter().all(|&c| w.client.conns[c].inbox == format!("conn {c}").as_bytes())));
    // The slots used are the first ones: the rest were never touched.
    assert!(w.server.slots()[60..].iter().all(|s| s.state() == SlotState::Idle && s.remote().is_none()));

    for &c in &conns {
        w.client.conns[c].close_when_sent = true;
    }
    assert!(w.run_until(SECOND * 5, |w| w.server.open_connections() == 0));
    // Freed slots are reused before new ones are made.
    let again = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(again) == State::Established));
    assert!(w.server.slots()[60..].iter().all(|s| s.state() == SlotState::Idle));
}
