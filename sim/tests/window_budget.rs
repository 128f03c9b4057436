//! `EchoConfig::rx_window_budget`: a device that can hold only so much
//! received data at once (the LAN9118's RX FIFO) has it shared among the
//! connections being served, so one connection alone gets all of it and five
//! streaming at once cannot overflow it, and every byte still comes back.

use echo_core::smoltcp::time::Duration;
use echo_core::Mode;
use echo_sim::attacker;
use echo_sim::{World, WorldConfig};
use netlab::frames::Frame;

const PORT: u16 = echo_core::DEFAULT_PORT;
const BUDGET: usize = 6 * 1460;
const SECOND: Duration = Duration::from_secs(1);

/// 8 KiB buffers per connection, bigger than a fifth of the budget.
fn world() -> World<'static> {
    let mut config = WorldConfig { server_rx: 8192, server_tx: 8192, ..WorldConfig::with_mode(Mode::Raw) };
    config.echo.rx_window_budget = Some(BUDGET);
    let mut w = World::new(config);
    attacker::tap(&mut w);
    w
}

/// The windows the server advertised in the data-carrying direction's ACKs
/// since the last call: every TCP segment from the echo port.
fn windows(w: &mut World) -> Vec<u16> {
    let frames = attacker::take_server_frames(w);
    let frames = Frame::parse_all(&frames);
    assert!(frames.iter().all(|f| f.checksums_ok), "a capped segment went out with a bad checksum");
    frames.iter().filter_map(Frame::tcp).filter(|s| s.src.port == PORT && !s.syn && !s.rst).map(|s| s.window).collect()
}

fn pattern(conn: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + conn * 7) as u8).collect()
}

#[test]
fn one_connection_alone_gets_the_whole_budget() {
    let mut w = world();
    let c = w.client.connect(PORT);
    let data = pattern(0, 200_000);
    w.client.send(c, &data);
    assert!(w.run_until(SECOND * 20, |w| w.client.conns[c].inbox.len() == data.len()));
    assert_eq!(w.client.conns[c].inbox, data);
    let seen = windows(&mut w);
    let most = seen.iter().copied().max().unwrap();
    assert!(usize::from(most) <= BUDGET, "window {most} over the budget {BUDGET}");
    assert!(usize::from(most) > BUDGET / 2, "a lone connection was held to {most} of {BUDGET}");
}

#[test]
fn five_streaming_connections_share_it_and_lose_nothing() {
    let mut w = world();
    let conns: Vec<_> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(w.run_until(SECOND, |w| w.stats().accepted == 5));
    windows(&mut w);
    let data: Vec<_> = conns.iter().map(|&c| pattern(c, 100_000)).collect();
    for (&c, d) in conns.iter().zip(&data) {
        w.client.send(c, d);
    }
    assert!(
        w.run_until(SECOND * 30, |w| conns.iter().zip(&data).all(|(&c, d)| w.client.conns[c].inbox.len() == d.len()))
    );
    for (&c, d) in conns.iter().zip(&data) {
        assert!(w.client.conns[c].inbox == *d, "connection {c}: echo differs");
    }
    let seen = windows(&mut w);
    assert!(seen.len() > 100, "only {} segments seen", seen.len());
    let share = BUDGET / 5;
    assert!(
        seen.iter().all(|&win| usize::from(win) <= share),
        "a window over the share {share}: {:?}",
        seen.iter().max()
    );
    assert!(seen.iter().any(|&win| usize::from(win) == share), "no connection was given its share");
}

#[test]
fn without_a_budget_the_window_is_the_buffer() {
    let mut w = World::new(WorldConfig { server_rx: 8192, server_tx: 8192, ..WorldConfig::with_mode(Mode::Raw) });
    attacker::tap(&mut w);
    let conns: Vec<_> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(w.run_until(SECOND, |w| w.stats().accepted == 5));
    for &c in &conns {
        w.client.send(c, &pattern(c, 20_000));
    }
    assert!(w.run_until(SECOND * 10, |w| conns.iter().all(|&c| w.client.conns[c].inbox.len() == 20_000)));
    assert!(windows(&mut w).iter().any(|&win| usize::from(win) > BUDGET / 5));
}

#[test]
fn a_syn_ack_sent_again_for_a_retransmitted_syn_carries_the_share() {
    let mut w = world();
    for _ in 0..4 {
        w.client.connect(PORT);
    }
    assert!(w.run_until(SECOND, |w| w.stats().accepted == 4));
    let c = w.client.connect(PORT);
    let port = w.client.socket(c).local_endpoint().expect("bound").port;
    let (syns, mut syn_acks) = (std::cell::Cell::new(0), vec![]);
    let end = w.now + SECOND * 10;
    while w.now < end && w.stats().accepted < 5 {
        attacker::step_filtered(
            &mut w,
            Duration::from_millis(10),
            |f| {
                if Frame::parse(f).and_then(|f| f.tcp().cloned()).is_some_and(|s| s.src.port == port && s.syn) {
                    syns.set(syns.get() + 1);
                }
                true
            },
            |f| match Frame::parse(f).and_then(|f| f.tcp().cloned()) {
                Some(seg) if seg.is_syn_ack() && seg.dst.port == port => {
                    syn_acks.push(seg.window);
                    // Lost until the client has sent its SYN again.
                    syns.get() >= 2
                }
                _ => true,
            },
        );
    }
    assert_eq!(w.stats().accepted, 5, "the fifth client connects");
    assert!(syn_acks.len() >= 2, "the SYN-ACK was sent again: {syn_acks:?}");
    let share = (BUDGET / 5) as u16;
    assert!(syn_acks.iter().all(|&win| win <= share), "SYN-ACK windows {syn_acks:?} over the share {share}");
}
