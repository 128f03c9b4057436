//! Never lose a byte, never wedge: loss, corruption, churn, dead peers,
//! idle hogs and malformed frames, on the simulated link.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::Mode;
use echo_sim::stamped::{parse, payload};
use echo_sim::{Faults, World, WorldConfig};

const PORT: u16 = echo_core::DEFAULT_PORT;
const SECOND: Duration = Duration::from_secs(1);

fn finished(w: &mut World, id: usize) -> bool {
    matches!(w.client.state(id), State::TimeWait | State::Closed)
}

fn pseudo_random(len: usize, seed: u32, alphabet: &[u8]) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            alphabet[x as usize % alphabet.len()]
        })
        .collect()
}

fn lossy_echo(mode: Mode, seed: u64) {
    let mut w = World::with_mode(mode);
    let faults = Faults { drop_pct: 5, corrupt_pct: 1, seed };
    w.server_link.set_faults(faults);
    w.client.link.set_faults(Faults { seed: seed + 1, ..faults });
    let alphabet: Vec<u8> = if mode == Mode::Raw { (0..=255).collect() } else { (b'a'..=b'z').collect() };
    let sent: Vec<Vec<u8>> = (0..3).map(|i| pseudo_random(100_000, i + 7, &alphabet)).collect();
    let conns: Vec<usize> = sent
        .iter()
        .map(|data| {
            let c = w.client.connect(PORT);
            w.client.send(c, data);
            w.client.conns[c].close_when_sent = true;
            c
        })
        .collect();
    assert!(
        w.run_until(Duration::from_secs(900), |w| conns.iter().all(|&c| finished(w, c))),
        "echo stalled under loss"
    );
    for (&c, data) in conns.iter().zip(&sent) {
        let got = &w.client.conns[c].inbox;
        match mode {
            Mode::Raw => assert!(got == data, "connection {c}: echo differs"),
            _ => assert_eq!(&payload(&parse(got).unwrap()), data, "connection {c}"),
        }
    }
    let (dropped, corrupted) =
        (w.server_link.dropped + w.client.link.dropped, w.server_link.corrupted + w.client.link.corrupted);
    eprintln!("{mode:?}: {dropped} frames dropped, {corrupted} corrupted");
    assert!(dropped > 10 && corrupted > 0, "faults were not injected");
}

#[test]
fn byte_exact_at_5_percent_loss_and_1_percent_corruption_raw() {
    lossy_echo(Mode::Raw, 11);
}

#[test]
fn byte_exact_at_5_percent_loss_and_1_percent_corruption_stamped() {
    lossy_echo(Mode::Stamp, 23);
}

#[test]
fn churn_thousands_of_connections_without_a_slot_leak() {
    let mut w = World::with_mode(Mode::Stamp);
    const CYCLES: usize = 2000;
    for i in 0..CYCLES {
        let c = w.client.connect(PORT);
        w.client.send(c, b"ping");
        if i % 10 == 9 {
            // Reset mid-stream: abort once the server has the connection.
            assert!(w.run_until(SECOND, |w| w.stats().accepted == i as u64 + 1));
            w.client.socket(c).abort();
        } else {
            w.client.conns[c].close_when_sent = true;
            assert!(w.run_until(SECOND * 10, |w| finished(w, c)), "cycle {i} did not finish");
            assert_eq!(payload(&parse(&w.client.conns[c].inbox).unwrap()), b"ping", "cycle {i}");
        }
        // Keep the client's socket table small.
        if i % 50 == 49 {
            w.client.forget_finished();
        }
    }
    assert!(w.run_until(SECOND * 10, |w| w.server.open_connections() == 0), "slots leaked");
    let s = w.stats();
    assert_eq!(s.accepted, CYCLES as u64);
    assert_eq!(s.closed + s.resets, s.accepted, "{s:?}");
    assert_eq!(s.resets, (CYCLES / 10) as u64);
    assert!(w.server.slots().iter().all(|s| s.is_free()));
}

#[test]
fn a_vanished_peer_is_dropped_and_its_slot_reused() {
    let mut config = WorldConfig { slots: 1, ..WorldConfig::default() };
    config.echo.idle_timeout = None; // only the peer timeout can free it
    let mut w = World::new(config);
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.stats().accepted == 1));
    // The client's cable is cut both ways.
    let cut = Faults { drop_pct: 100, corrupt_pct: 0, seed: 1 };
    w.server_link.set_faults(cut);
    w.client.link.set_faults(cut);
    w.run_for(Duration::from_secs(20));
    assert_eq!(w.server.open_connections(), 1, "dropped before the peer timeout");
    assert!(w.run_until(Duration::from_secs(30), |w| w.server.open_connections() == 0), "dead peer kept its slot");
    assert_eq!(w.stats().resets, 1);
    // Reconnected, a new client is served.
    w.server_link.set_faults(Faults::default());
    w.client.link.set_faults(Faults::default());
    w.client.socket(c).abort();
    let d = w.client.connect(PORT);
    assert!(w.run_until(SECOND * 5, |w| w.client.state(d) == State::Established));
}

#[test]
fn five_idle_hogs_lock_nobody_out_past_the_idle_timeout() {
    let mut config = WorldConfig::default();
    config.echo.idle_timeout = Some(Duration::from_secs(60));
    let mut w = World::new(config);
    let hogs: Vec<usize> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(w.run_until(SECOND, |w| w.server.open_connections() == 5));
    let early = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(early) == State::Closed), "sixth not refused");
    w.run_for(Duration::from_secs(58));
    assert!(w.run_until(SECOND * 3, |w| w.server.open_connections() == 0), "idle hogs kept their slots");
    assert!(hogs.iter().all(|&h| w.client.state(h) == State::Closed), "hogs were not reset");
    let late = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(late) == State::Established));
    assert_eq!(w.stats().timeouts, 5);
}

#[test]
fn an_unfinished_handshake_gives_the_slot_back() {
    let mut config = WorldConfig { slots: 1, ..WorldConfig::default() };
    config.echo.idle_timeout = None;
    let mut w = World::new(config);
    // The client's SYN goes out, but nothing comes back to it: it never ACKs.
    w.client.link.set_faults(Faults { drop_pct: 100, corrupt_pct: 0, seed: 1 });
    let c = w.client.connect(PORT);
    w.run_for(SECOND);
    w.client.socket(c).abort();
    w.client.link.set_faults(Faults::default());
    w.server_link.set_faults(Faults { drop_pct: 100, corrupt_pct: 0, seed: 1 });
    w.run_for(SECOND);
    w.server_link.set_faults(Faults::default());
    w.run_for(Duration::from_secs(40));
    let d = w.client.connect(PORT);
    assert!(w.run_until(SECOND * 5, |w| w.client.state(d) == State::Established), "half-open slot never freed");
}
