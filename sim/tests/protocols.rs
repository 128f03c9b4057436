//! Beyond the tutorial: line mode, IPv6, UDP echo.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::wire::{IpAddress, IpEndpoint};
use echo_core::{Mode, CHUNK, STAMP_LEN};
use echo_sim::stamped::{parse, payload};
use echo_sim::world::{SERVER_IP, SERVER_IP6};
use echo_sim::World;

const PORT: u16 = echo_core::DEFAULT_PORT;
const SECOND: Duration = Duration::from_secs(1);

fn finished(w: &mut World, id: usize) -> bool {
    matches!(w.client.state(id), State::TimeWait | State::Closed)
}

fn chunks(w: &World, id: usize) -> Vec<Vec<u8>> {
    parse(&w.client.conns[id].inbox).unwrap().into_iter().map(|e| e.chunk).collect()
}

#[test]
fn line_mode_stamps_each_line_joins_split_ones_and_flushes_the_tail() {
    let mut w = World::with_mode(Mode::Line);
    let c = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(c) == State::Established));
    w.client.send(c, b"one\ntw");
    w.run_for(SECOND);
    assert_eq!(chunks(&w, c), vec![b"one\n".to_vec()], "a partial line was echoed early");
    w.client.send(c, b"o\nthree\nfour");
    w.run_for(SECOND);
    w.client.conns[c].close_when_sent = true;
    assert!(w.run_until(SECOND * 5, |w| finished(w, c)));
    let expected: Vec<Vec<u8>> = vec![b"one\n".to_vec(), b"two\n".to_vec(), b"three\n".to_vec(), b"four".to_vec()];
    assert_eq!(chunks(&w, c), expected);
}

#[test]
fn line_mode_cuts_an_over_long_line_and_loses_nothing() {
    let mut w = World::with_mode(Mode::Line);
    let c = w.client.connect(PORT);
    let mut line = vec![b'x'; 3000];
    line.push(b'\n');
    w.client.send(c, &line);
    w.client.conns[c].close_when_sent = true;
    assert!(w.run_until(SECOND * 5, |w| finished(w, c)));
    let got = chunks(&w, c);
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![CHUNK, CHUNK, 3001 - 2 * CHUNK]);
    assert_eq!(got.concat(), line);
}

#[test]
fn tcp_echo_over_ipv6() {
    let mut w = World::with_mode(Mode::Stamp);
    let c = w.client.connect_to(IpAddress::Ipv6(SERVER_IP6), PORT);
    w.client.send(c, b"hello v6");
    assert!(w.run_until(SECOND * 2, |w| w.client.conns[c].inbox.len() >= STAMP_LEN + 8));
    assert_eq!(w.client.conns[c].inbox, b"[Tue Nov 24 16:00:28 2026] hello v6");
}

#[test]
fn the_sixth_ipv6_connection_is_refused_too() {
    let mut w = World::with_mode(Mode::Stamp);
    let five: Vec<_> = (0..5).map(|_| w.client.connect_to(IpAddress::Ipv6(SERVER_IP6), PORT)).collect();
    assert!(w.run_until(SECOND * 2, |w| five.iter().all(|&c| w.client.state(c) == State::Established)));
    let sixth = w.client.connect_to(IpAddress::Ipv6(SERVER_IP6), PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(sixth) == State::Closed));
    assert_eq!(w.stats().refused, 1);
}

fn udp_roundtrip(server: IpAddress, data: &[u8]) -> (Vec<u8>, World<'static>) {
    let mut w = World::with_mode(Mode::Stamp);
    let h = w.client.udp_socket(50_000);
    w.client.send_datagram(h, IpEndpoint::new(server, PORT), data);
    let mut reply = None;
    w.run_until(SECOND * 3, |w| {
        if let Ok((d, _)) = w.client.udp(h).recv() {
            reply = Some(d.to_vec());
        }
        reply.is_some()
    });
    (reply.expect("no UDP reply"), w)
}

#[test]
fn udp_datagram_is_answered_with_a_stamped_datagram_v4_and_v6() {
    for server in [IpAddress::Ipv4(SERVER_IP), IpAddress::Ipv6(SERVER_IP6)] {
        let (reply, w) = udp_roundtrip(server, b"ping");
        assert_eq!(reply, b"[Tue Nov 24 16:00:28 2026] ping", "via {server}");
        assert_eq!(w.stats().udp_datagrams, 1);
    }
}

#[test]
fn oversized_udp_datagram_is_cut_to_the_1024_byte_read() {
    let data: Vec<u8> = (0..1400u32).map(|i| b'a' + (i % 26) as u8).collect();
    let (reply, w) = udp_roundtrip(IpAddress::Ipv4(SERVER_IP), &data);
    assert_eq!(reply.len(), STAMP_LEN + CHUNK);
    assert_eq!(payload(&parse(&reply).unwrap()), data[..CHUNK]);
    assert_eq!(w.stats().udp_truncated, 1);
}
