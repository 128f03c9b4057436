//! The echo service end to end in the simulated world: what a client sees.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::{Mode, SlotState};
use echo_sim::stamped::{parse, payload};
use echo_sim::{World, WorldConfig};

const PORT: u16 = echo_core::DEFAULT_PORT;
const SECOND: Duration = Duration::from_secs(1);

fn established(w: &mut World, id: usize) -> bool {
    w.client.state(id) == State::Established
}

/// Our FIN was sent and the server's FIN has arrived: the echo is complete.
fn finished(w: &mut World, id: usize) -> bool {
    matches!(w.client.state(id), State::TimeWait | State::Closed)
}

#[test]
fn hello_gets_the_tutorial_reply() {
    let mut w = World::with_mode(Mode::Stamp);
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, c)));
    w.client.send(c, b"hello");
    assert!(w.run_until(SECOND, |w| w.client.conns[c].inbox.len() >= 32));
    assert_eq!(w.client.conns[c].inbox, b"[Tue Nov 24 16:00:28 2026] hello");
    assert_eq!(w.stats().accepted, 1);
    assert_eq!(w.stats().bytes_in, 5);
    assert_eq!(w.stats().bytes_out, 32);
}

#[test]
fn the_stamp_follows_virtual_time() {
    let mut w = World::with_mode(Mode::Stamp);
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, c)));
    w.run_for(Duration::from_secs(65));
    w.client.send(c, b"later");
    assert!(w.run_until(SECOND, |w| w.client.conns[c].inbox.len() >= 32));
    let echoed = parse(&w.client.conns[c].inbox).unwrap();
    assert_eq!(echoed[0].ctime, "Tue Nov 24 16:01:33 2026");
}

#[test]
fn five_connections_held_and_the_sixth_refused() {
    let mut w = World::with_mode(Mode::Stamp);
    let five: Vec<_> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(w.run_until(SECOND, |w| five.iter().all(|&c| established(w, c))));
    let sixth = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(sixth) == State::Closed), "sixth connection not refused");
    assert_eq!(w.stats().refused, 1);
    assert_eq!(w.stats().accepted, 5);
    // The five are all still served.
    for &c in &five {
        w.client.send(c, format!("conn {c}").as_bytes());
    }
    assert!(w.run_until(SECOND, |w| five.iter().all(|&c| w.client.conns[c].inbox.len() >= 33)));
    for &c in &five {
        assert_eq!(payload(&parse(&w.client.conns[c].inbox).unwrap()), format!("conn {c}").as_bytes());
    }
    // One leaves; its slot is free again at once.
    w.client.conns[five[0]].close_when_sent = true;
    assert!(w.run_until(SECOND, |w| w.server.open_connections() == 4));
    let seventh = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, seventh)), "freed slot not reused");
    assert_eq!(w.stats().refused, 1);
}

#[test]
fn half_close_gets_everything_then_fin() {
    let mut w = World::with_mode(Mode::Raw);
    let c = w.client.connect(PORT);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    w.client.send(c, &data);
    w.client.conns[c].close_when_sent = true;
    assert!(w.run_until(Duration::from_secs(10), |w| finished(w, c)));
    assert_eq!(w.client.conns[c].inbox, data);
    assert!(w.run_until(SECOND, |w| w.server.open_connections() == 0));
    assert_eq!(w.stats().closed, 1);
    assert_eq!(w.stats().resets, 0);
}

#[test]
fn a_reset_frees_the_slot() {
    let mut w = World::new(WorldConfig { slots: 1, ..WorldConfig::default() });
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.stats().accepted == 1));
    w.client.socket(c).abort();
    assert!(w.run_until(SECOND, |w| w.server.slots().iter().all(|s| s.is_free())));
    assert_eq!(w.stats().resets, 1);
    let again = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, again)), "slot not listening after reset");
}

#[test]
fn tiny_transmit_buffer_loses_nothing() {
    // Room for exactly one stamp plus one byte: every chunk is one byte.
    let config =
        WorldConfig { server_tx: echo_core::STAMP_LEN + 1, server_rx: 64, ..WorldConfig::with_mode(Mode::Stamp) };
    let mut w = World::new(config);
    let c = w.client.connect(PORT);
    let data = b"the quick brown fox jumps over the lazy dog".repeat(20);
    w.client.send(c, &data);
    w.client.conns[c].close_when_sent = true;
    assert!(w.run_until(Duration::from_secs(60), |w| finished(w, c)));
    let echoed = parse(&w.client.conns[c].inbox).unwrap();
    assert_eq!(payload(&echoed), data);
    assert!(echoed.iter().all(|e| e.chunk.len() == 1));
}

#[test]
fn a_client_that_stops_reading_stalls_only_itself() {
    let mut w = World::new(WorldConfig { client_buf: 4096, ..WorldConfig::with_mode(Mode::Raw) });
    let (stalled, served) = (w.client.connect(PORT), w.client.connect(PORT));
    assert!(w.run_until(SECOND, |w| established(w, stalled) && established(w, served)));
    w.client.conns[stalled].paused = true;
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    w.client.send(stalled, &big);
    w.run_for(Duration::from_secs(2));
    // The stalled one is blocked by its own unread replies...
    assert!(w.client.conns[stalled].outbox.len() > 100_000);
    // ...while the other is served.
    w.client.send(served, b"still here");
    assert!(w.run_until(SECOND, |w| w.client.conns[served].inbox == b"still here"));
    // Reading again delivers every byte in order.
    w.client.conns[stalled].paused = false;
    assert!(w.run_until(Duration::from_secs(60), |w| w.client.conns[stalled].inbox.len() == big.len()));
    assert_eq!(w.client.conns[stalled].inbox, big);
}

#[test]
fn idle_connection_is_reset_after_the_timeout() {
    let mut config = WorldConfig { slots: 1, ..WorldConfig::default() };
    config.echo.idle_timeout = Some(Duration::from_secs(30));
    let mut w = World::new(config);
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, c)));
    w.run_for(Duration::from_secs(29));
    assert_eq!(w.server.open_connections(), 1, "closed before the timeout");
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.state(c) == State::Closed), "client not reset");
    assert!(w.run_until(SECOND, |w| w.server.open_connections() == 0));
    assert_eq!(w.stats().timeouts, 1);
    let next = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, next)));
}

#[test]
fn a_connection_reset_right_after_its_handshake_is_counted() {
    let mut w = World::new(WorldConfig { slots: 1, ..WorldConfig::default() });
    let c = w.client.connect(PORT);
    // The client is established as soon as the SYN-ACK arrives; the server
    // learns it from the ACK, which now travels with data and an RST.
    assert!(w.run_until(SECOND, |w| established(w, c)));
    w.client.send(c, b"bye");
    w.client.socket(c).abort();
    assert!(w.run_until(SECOND, |w| w.server.slots().iter().all(|s| s.is_free()) && w.stats().resets == 1));
    assert_eq!(w.stats().accepted, 1);
}

#[test]
fn an_abandoned_handshake_counts_nothing_and_frees_the_slot() {
    let mut w = World::new(WorldConfig { slots: 1, ..WorldConfig::default() });
    // A first, normal connection, so both sides know each other's MAC.
    let first = w.client.connect(PORT);
    w.client.conns[first].close_when_sent = true;
    assert!(w.run_until(SECOND * 2, |w| w.stats().closed == 1));
    // The client never hears the SYN-ACK, so it never completes the handshake.
    w.client.link.set_faults(echo_sim::Faults { drop_pct: 100, corrupt_pct: 0, seed: 1 });
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.server.slots().iter().any(|s| s.state() == SlotState::Handshake)));
    w.client.socket(c).abort();
    w.run_for(SECOND);
    w.client.link.set_faults(echo_sim::Faults::default());
    w.run_for(Duration::from_secs(40));
    assert!(w.server.slots().iter().all(|s| s.is_free()));
    assert_eq!((w.stats().accepted, w.stats().resets), (1, 0));
}
