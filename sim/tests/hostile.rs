//! Issue 11, "hold up on a real network": lost packets, stray packets and an
//! attacker on the link must not reset, refuse or wedge anyone. Every item of
//! the issue, on the simulated link, with forged frames from
//! `echo_sim::attacker` (see /work/spec-issue11.md for the behaviour).

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::{Duration, Instant};
use echo_core::smoltcp::wire::{
    ArpOperation, EthernetAddress, Icmpv4Message, Icmpv6Message, IpAddress, IpEndpoint, IpProtocol, Ipv4Address,
    Ipv6Address, NdiscNeighborFlags, IPV6_LINK_LOCAL_ALL_NODES,
};
use echo_core::{Mode, SlotState};
use echo_sim::attacker::{self, RawHost, RawState, CLIENT_MAC, ECHO_PORT as PORT, SERVER_MAC};
use echo_sim::world::{CLIENT_IP, CLIENT_IP6, SERVER_IP, SERVER_IP6};
use echo_sim::{Faults, World, WorldConfig};
use netlab::frames::{
    arp_frame, ip_frame, multicast_mac_v4, multicast_mac_v6, neighbour_advert_frame, neighbour_solicit_frame,
    ping_frame, solicited_node, tcp_frame, udp_frame, Frame, Kind, Segment,
};

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);
const EVIL_MAC: EthernetAddress = EthernetAddress([0x02, 0xee, 0xee, 0xee, 0xee, 0xee]);

fn server_addr(v6: bool) -> IpAddress {
    if v6 {
        SERVER_IP6.into()
    } else {
        SERVER_IP.into()
    }
}

fn raw_world() -> World<'static> {
    let mut w = World::with_mode(Mode::Raw);
    attacker::tap(&mut w);
    w
}

fn raw_world_with(f: impl FnOnce(&mut WorldConfig)) -> World<'static> {
    let mut config = WorldConfig::with_mode(Mode::Raw);
    f(&mut config);
    let mut w = World::new(config);
    attacker::tap(&mut w);
    w
}

fn established(w: &mut World, c: usize) -> bool {
    w.client.state(c) == State::Established
}

fn finished(w: &mut World, c: usize) -> bool {
    matches!(w.client.state(c), State::TimeWait | State::Closed)
}

/// Opens a connection to `addr` and waits until it is established.
fn open(w: &mut World, addr: IpAddress) -> usize {
    let c = w.client.connect_to(addr, PORT);
    assert!(w.run_until(SECOND * 2, |w| established(w, c)), "connection {c} to {addr} not established");
    c
}

/// Sends `data` on `c` and checks the echo (raw mode) is exactly `data`.
fn echo(w: &mut World, c: usize, data: &[u8]) {
    let before = w.client.conns[c].inbox.len();
    w.client.send(c, data);
    let ok = w.run_until(SECOND * 5, |w| w.client.conns[c].inbox.len() >= before + data.len());
    let state = w.client.state(c);
    assert!(ok, "no echo of {:?} on connection {c} ({state:?})", String::from_utf8_lossy(data));
    assert_eq!(&w.client.conns[c].inbox[before..], data, "echo differs on connection {c}");
}

/// The client's and the server's endpoints of connection `c`.
fn tuple(w: &mut World, c: usize) -> (IpEndpoint, IpEndpoint) {
    let s = w.client.socket(c);
    (s.local_endpoint().expect("bound"), s.remote_endpoint().expect("connected"))
}

/// The server slot holding the connection from `remote`.
fn slot_of(w: &World, remote: IpEndpoint) -> Option<usize> {
    w.server.slots().iter().position(|s| s.remote() == Some(remote) && !s.is_free())
}

fn slot_states(w: &World) -> Vec<SlotState> {
    w.server.slots().iter().map(|s| s.state()).collect()
}

fn count_slots(w: &World, state: SlotState) -> usize {
    w.server.slots().iter().filter(|s| s.state() == state).count()
}

/// Moves the frames the server sent since the last call into `log`.
fn pump(w: &mut World, log: &mut Vec<Frame>) {
    log.extend(Frame::parse_all(&attacker::take_server_frames(w)));
}

/// Steps until `t`, never skipping past it.
fn run_to(w: &mut World, t: Instant) {
    while w.now < t {
        let left = t - w.now;
        attacker::step_at_most(w, left);
    }
}

/// Runs for `d` exactly (`World::run_for` may overshoot by up to a second
/// when the link is idle).
fn run_fine(w: &mut World, d: Duration) {
    let end = w.now + d;
    run_to(w, end);
}

/// Steps at most 10 ms at a time until `done` holds or `limit` passes.
fn wait_fine(w: &mut World, limit: Duration, mut done: impl FnMut(&mut World) -> bool) -> bool {
    let end = w.now + limit;
    while w.now < end {
        if done(w) {
            return true;
        }
        let left = (end - w.now).min(MS * 10);
        attacker::step_at_most(w, left);
    }
    done(w)
}

/// Segments the server sent to `to`.
fn segments_to(log: &[Frame], to: IpEndpoint) -> Vec<Segment> {
    log.iter().filter_map(|f| f.tcp_to(to).cloned()).collect()
}

/// What the wire tells of the server's side of a connection with `to`, from
/// its last segment: (SND.NXT, RCV.NXT, window field).
fn server_view(log: &[Frame], to: IpEndpoint) -> (u32, u32, u16) {
    let last =
        segments_to(log, to).into_iter().rfind(|s| s.ack.is_some()).expect("the server sent nothing to the peer");
    (last.seq.wrapping_add(last.len()), last.ack.expect("has ACK"), last.window)
}

/// A forged segment, sent from `mac`.
fn forge(w: &World, mac: EthernetAddress, seg: Segment) {
    w.server_link.inject(tcp_frame(mac, SERVER_MAC, &seg));
}

fn no_rst_to(log: &[Frame], to: IpEndpoint) {
    let rsts: Vec<_> = segments_to(log, to).into_iter().filter(|s| s.rst).collect();
    assert!(rsts.is_empty(), "the server sent RST to {to}: {rsts:?}");
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

// ---------------------------------------------------------------------------
// 1. A SYN carrying a live connection's addresses and ports.
// ---------------------------------------------------------------------------

fn spoofed_syn_on_a_live_connection(v6: bool) {
    let mut w = raw_world();
    let mut log = vec![];
    // Three connections; the first two close, so that a slot numbered below
    // the victim's listens again (smoltcp offers a SYN to the first socket
    // that accepts it, and a listener accepts any SYN).
    let conns: Vec<usize> = (0..3).map(|_| open(&mut w, server_addr(v6))).collect();
    let victim = conns[2];
    for &c in &conns[..2] {
        let client = tuple(&mut w, c).0;
        w.client.conns[c].close_when_sent = true;
        assert!(w.run_until(SECOND * 5, |w| finished(w, c) && slot_of(w, client).is_none()));
    }
    w.run_for(SECOND);
    let (client, server) = tuple(&mut w, victim);
    let slot = slot_of(&w, client).expect("victim holds a slot");
    assert!(
        w.server.slots()[..slot].iter().any(|s| s.state() == SlotState::Listening),
        "precondition: a slot below the victim's ({slot}) listens: {:?}",
        slot_states(&w)
    );

    echo(&mut w, victim, b"before the spoofed SYN\n");
    w.run_for(SECOND);
    pump(&mut w, &mut log);
    let (snd_nxt, rcv_nxt, _) = server_view(&log, client);
    log.clear();

    // The attacker knows the 4-tuple, not the sequence numbers. 10 SYNs in 0.9 s.
    let t0 = w.now;
    for i in 0..10u32 {
        forge(&w, CLIENT_MAC, Segment::syn(client, server, 0x1234_5678 ^ (i * 7919)));
        run_to(&mut w, t0 + Duration::from_millis(100 * (u64::from(i) + 1) - 10));
    }
    pump(&mut w, &mut log);
    let to_victim = segments_to(&log, client);
    assert!(to_victim.iter().all(|s| !s.rst && !s.syn), "RST or SYN-ACK to the victim: {to_victim:?}");
    let challenges: Vec<&Segment> = to_victim.iter().filter(|s| s.is_pure_ack()).collect();
    assert_eq!(challenges.len(), 1, "one challenge ACK for 10 SYNs within a second: {to_victim:?}");
    assert_eq!((challenges[0].seq, challenges[0].ack), (snd_nxt, Some(rcv_nxt)), "challenge ACK is SND.NXT / RCV.NXT");
    let s = w.stats();
    assert!(s.challenge_acks >= 1, "{s:?}");

    // A second later the next one is answered again.
    w.run_for(SECOND);
    pump(&mut w, &mut log);
    log.clear();
    forge(&w, CLIENT_MAC, Segment::syn(client, server, 0x0bad_cafe));
    w.run_for(Duration::from_millis(100));
    pump(&mut w, &mut log);
    assert_eq!(segments_to(&log, client).iter().filter(|s| s.is_pure_ack()).count(), 1, "{log:?}");
    assert!(w.stats().challenge_acks >= 2);

    // The connection never noticed.
    echo(&mut w, victim, b"after the spoofed SYN\n");
    assert_eq!(w.client.conns[victim].inbox, b"before the spoofed SYN\nafter the spoofed SYN\n");
    pump(&mut w, &mut log);
    no_rst_to(&log, client);
    assert!(established(&mut w, victim));
    let s = w.stats();
    assert_eq!(s.resets, 0, "{s:?}");
    assert_eq!(s.accepted, 3, "{s:?}");
}

#[test]
fn a_spoofed_syn_on_a_live_connection_gets_a_challenge_ack_and_the_connection_lives_v4() {
    spoofed_syn_on_a_live_connection(false);
}

#[test]
fn a_spoofed_syn_on_a_live_connection_gets_a_challenge_ack_and_the_connection_lives_v6() {
    spoofed_syn_on_a_live_connection(true);
}

/// An honest client whose SYN-ACK is lost retransmits its SYN; it must get
/// the same SYN-ACK again and connect. With `lower_slot_listening`, a slot
/// numbered below the half-open one listens when the retransmission arrives.
fn retransmitted_syn(lower_slot_listening: bool) {
    let mut w = raw_world();
    let mut log = vec![];
    // With a lower slot listening: two connections; the first ends before the
    // honest client connects, the second while its handshake is open, so a
    // slot below the half-open one listens when the retransmitted SYN comes.
    let others = lower_slot_listening.then(|| (open(&mut w, SERVER_IP.into()), open(&mut w, SERVER_IP.into())));
    if let Some((first, _)) = others {
        let client = tuple(&mut w, first).0;
        w.client.conns[first].close_when_sent = true;
        assert!(w.run_until(SECOND * 5, |w| finished(w, first) && slot_of(w, client).is_none()));
    }
    let c = w.client.connect(PORT);
    let port = w.client.socket(c).local_endpoint().expect("bound").port;
    let client = IpEndpoint::new(CLIENT_IP.into(), port);

    let syns = Cell::new(0u32);
    let dropped: RefCell<Vec<Segment>> = RefCell::default();
    let mut closed_second = false;
    let mut trap_set = false;
    let end = w.now + SECOND * 10;
    while w.now < end && !established(&mut w, c) {
        attacker::step_filtered(
            &mut w,
            MS * 10,
            |f| {
                if let Some(seg) = Frame::parse(f).and_then(|f| f.tcp().cloned()) {
                    if seg.src.port == port && seg.syn {
                        syns.set(syns.get() + 1);
                    }
                }
                true
            },
            |f| match Frame::parse(f).and_then(|f| f.tcp_to(client).cloned()) {
                // Every SYN-ACK before the client's retransmitted SYN is lost.
                Some(seg) if seg.is_syn_ack() && syns.get() < 2 => {
                    dropped.borrow_mut().push(seg);
                    false
                }
                _ => true,
            },
        );
        pump(&mut w, &mut log);
        if let (Some((_, second)), false) = (others, closed_second) {
            if !dropped.borrow().is_empty() {
                w.client.conns[second].close_when_sent = true;
                closed_second = true;
            }
        }
        if syns.get() == 1
            && slot_of(&w, client)
                .is_some_and(|i| w.server.slots()[..i].iter().any(|s| s.state() == SlotState::Listening))
        {
            // The trap is set before the retransmission arrives.
            trap_set = true;
        }
    }
    if lower_slot_listening {
        assert!(trap_set, "precondition: a slot below the half-open one listened: {:?}", slot_states(&w));
    }
    assert!(established(&mut w, c), "handshake did not complete; SYNs sent {}", syns.get());
    let dropped = dropped.into_inner();
    assert!(!dropped.is_empty(), "no SYN-ACK was dropped");
    assert!(syns.get() >= 2, "the client did not retransmit its SYN");
    // The SYN-ACK the client got is the one that was lost: same ISN, same ACK.
    let delivered: Vec<Segment> = segments_to(&log, client).into_iter().filter(Segment::is_syn_ack).collect();
    assert!(!delivered.is_empty());
    for seg in &delivered {
        assert_eq!(
            (seg.seq, seg.ack),
            (dropped[0].seq, dropped[0].ack),
            "SYN-ACK changed: {delivered:?} vs {dropped:?}"
        );
    }
    let s = w.stats();
    assert!(s.synack_resent >= 1, "{s:?}");

    echo(&mut w, c, b"honest client after a lost SYN-ACK\n");
    if let Some((first, second)) = others {
        assert!(w.run_until(SECOND * 5, |w| finished(w, first) && finished(w, second)));
    }
    pump(&mut w, &mut log);
    no_rst_to(&log, client);
    assert_eq!(w.stats().resets, 0, "{:?}", w.stats());
}

#[test]
fn an_honest_retransmitted_syn_gets_the_same_syn_ack_and_connects() {
    retransmitted_syn(false);
}

#[test]
fn an_honest_retransmitted_syn_connects_with_a_lower_slot_listening() {
    retransmitted_syn(true);
}

// ---------------------------------------------------------------------------
// 2. Blind RSTs.
// ---------------------------------------------------------------------------

fn blind_rsts(v6: bool) {
    let mut w = raw_world();
    let mut log = vec![];
    let c = open(&mut w, server_addr(v6));
    let (client, server) = tuple(&mut w, c);
    echo(&mut w, c, b"hello\n");
    w.run_for(SECOND);
    pump(&mut w, &mut log);
    let (snd_nxt, rcv_nxt, window) = server_view(&log, client);
    log.clear();
    let window = u32::from(window);
    assert!(window > 1000, "server window {window}");

    // In the window, not at RCV.NXT: one every 10 ms for 3 s, with and without ACK.
    let offsets: Vec<u32> =
        [1, 2, 3, 7, 64, 100, 333, 512, 1000, window / 2, window - 1].into_iter().filter(|&o| o < window).collect();
    let t0 = w.now;
    let mut in_window = 0u64;
    for i in 0..300u32 {
        let off = offsets[i as usize % offsets.len()];
        let mut seg = Segment::rst(client, server, rcv_nxt.wrapping_add(off));
        if i % 2 == 1 {
            seg = seg.with_ack(snd_nxt);
        }
        forge(&w, CLIENT_MAC, seg);
        in_window += 1;
        run_to(&mut w, t0 + Duration::from_millis(10 * (u64::from(i) + 1)));
    }
    pump(&mut w, &mut log);
    let challenges = segments_to(&log, client).iter().filter(|s| s.is_pure_ack()).count();
    assert!((1..=4).contains(&challenges), "{challenges} challenge ACKs for {in_window} RSTs in 3 s (at most ~1/s)");
    assert!(established(&mut w, c), "connection reset by a blind in-window RST");

    // Out of the window: dropped without an answer.
    w.run_for(SECOND * 2);
    pump(&mut w, &mut log);
    log.clear();
    let outside =
        [rcv_nxt.wrapping_sub(1), rcv_nxt.wrapping_sub(1000), rcv_nxt.wrapping_add(window + 10), rcv_nxt ^ 0x8000_0000];
    for (i, &seq) in outside.iter().cycle().take(50).enumerate() {
        let seg = Segment::rst(client, server, seq);
        let seg = if i % 2 == 0 { seg } else { seg.with_ack(snd_nxt) };
        forge(&w, CLIENT_MAC, seg);
        attacker::step_at_most(&mut w, MS * 10);
    }
    w.run_for(Duration::from_millis(500));
    pump(&mut w, &mut log);
    let answered = segments_to(&log, client);
    assert!(answered.iter().all(|s| !s.is_pure_ack() && !s.rst), "out-of-window RSTs answered: {answered:?}");
    let s = w.stats();
    assert_eq!(s.rst_ignored, in_window + 50, "{s:?}");
    assert!(s.challenge_acks >= 1, "{s:?}");
    assert_eq!(s.resets, 0, "{s:?}");
    eprintln!("survived {} blind RSTs ({challenges} challenge ACKs)", in_window + 50);

    // Still echoing, byte-exact.
    echo(&mut w, c, b"still here\n");
    assert_eq!(w.client.conns[c].inbox, b"hello\nstill here\n");
    w.run_for(SECOND);
    pump(&mut w, &mut log);
    no_rst_to(&log, client);

    // At exactly RCV.NXT (the server's last ACK) the RST is real.
    let (_, rcv_nxt, _) = server_view(&log, client);
    forge(&w, CLIENT_MAC, Segment::rst(client, server, rcv_nxt));
    assert!(w.run_until(SECOND, |w| slot_of(w, client).is_none()), "exact RST ignored: {:?}", slot_states(&w));
    assert_eq!(w.stats().resets, 1, "{:?}", w.stats());
    // The client finds out on its next segment.
    w.client.send(c, b"anyone?");
    assert!(w.run_until(SECOND * 5, |w| w.client.state(c) == State::Closed));
}

#[test]
fn blind_rsts_in_and_out_of_the_window_are_survived_and_the_exact_one_resets_v4() {
    blind_rsts(false);
}

#[test]
fn blind_rsts_in_and_out_of_the_window_are_survived_and_the_exact_one_resets_v6() {
    blind_rsts(true);
}

#[test]
fn a_client_that_really_reset_is_believed_after_the_challenge_ack() {
    // RFC 5961 §3.2: the peer answers the challenge ACK with an RST at exactly its sequence number.
    let mut w = raw_world();
    let mut log = vec![];
    let mut host = RawHost::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x50]), Ipv4Address::new(192, 168, 69, 50), None);
    let server = IpEndpoint::new(SERVER_IP.into(), PORT);
    let c = host.connect(&w.server_link, server, 41_000, 5_000);
    host.send(&w.server_link, c, b"abc");
    assert!(attacker::run_hosts_until(&mut w, &mut [&mut host], SECOND * 2, &mut log, |_, h| h[0].conns[0]
        .received
        .len()
        == 3));
    let local = host.conns[c].local;
    // Stale RST (it lost track): in the window, not exact.
    let stale = host.conns[c].snd_nxt.wrapping_add(500);
    forge(&w, host.mac, Segment::rst(local, server, stale));
    log.clear();
    attacker::run_hosts_until(&mut w, &mut [&mut host], Duration::from_millis(200), &mut log, |_, _| false);
    let challenge = segments_to(&log, local).into_iter().find(Segment::is_pure_ack).expect("challenge ACK");
    assert_eq!(challenge.ack, Some(host.conns[c].snd_nxt));
    assert!(slot_of(&w, local).is_some(), "stale RST accepted");
    // The real reset, at the challenge ACK's number.
    forge(&w, host.mac, Segment::rst(local, server, challenge.ack.unwrap()));
    assert!(w.run_until(SECOND, |w| slot_of(w, local).is_none()), "{:?}", slot_states(&w));
    let s = w.stats();
    assert_eq!((s.rst_ignored, s.resets), (1, 1), "{s:?}");
}

#[test]
fn an_rst_during_the_handshake_counts_only_at_isn_plus_one() {
    let mut w = raw_world();
    let mut log = vec![];
    let mut host = RawHost::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x50]), Ipv4Address::new(192, 168, 69, 50), None);
    let server = IpEndpoint::new(SERVER_IP.into(), PORT);
    for (k, isn) in [(0usize, 10_000u32), (1, 3_000_000_000)] {
        let c = host.connect(&w.server_link, server, 42_000 + k as u16, isn);
        host.conns[c].acks = false; // hold the handshake's last ACK
        assert!(attacker::run_hosts_until(&mut w, &mut [&mut host], SECOND, &mut log, |_, h| h[0].conns[c]
            .server_isn
            .is_some()));
        let local = host.conns[c].local;
        assert_eq!(slot_of(&w, local).map(|i| w.server.slots()[i].state()), Some(SlotState::Handshake));
        let before = w.stats().rst_ignored;
        for off in [0u32, 2, 3, 100, 1000, 30_000] {
            forge(&w, host.mac, Segment::rst(local, server, isn.wrapping_add(off)));
            run_fine(&mut w, MS * 20);
        }
        assert_eq!(
            slot_of(&w, local).map(|i| w.server.slots()[i].state()),
            Some(SlotState::Handshake),
            "handshake abandoned on a wrong-sequence RST: {:?}",
            slot_states(&w)
        );
        assert_eq!(w.stats().rst_ignored - before, 6, "{:?}", w.stats());
        if k == 0 {
            // Completes and echoes.
            host.conns[c].acks = true;
            host.complete_handshake(&w.server_link, c);
            host.send(&w.server_link, c, b"through");
            assert!(attacker::run_hosts_until(&mut w, &mut [&mut host], SECOND, &mut log, |_, h| h[0].conns[c]
                .received
                == b"through"));
        } else {
            // At ISN+1 it is real.
            forge(&w, host.mac, Segment::rst(local, server, isn.wrapping_add(1)));
            assert!(w.run_until(SECOND, |w| slot_of(w, local).is_none()), "{:?}", slot_states(&w));
        }
    }
}

// ---------------------------------------------------------------------------
// 3. SYN flood from addresses that never answer.
// ---------------------------------------------------------------------------

/// The i-th forged SYN of a flood: sources on the subnet (never answering
/// ARP), off it (answered through the gateway, which drops them) and on-link
/// IPv6 (never answering NDP).
fn flood_syn(w: &World, i: u32, rng: &mut u64) {
    let mac = EthernetAddress([0x02, 0x5f, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
    let (src, dst): (IpAddress, IpAddress) = match i % 3 {
        0 => {
            let host = [2 + i % 98, 101 + i % 154][(i / 3 % 2) as usize];
            (Ipv4Address::new(192, 168, 69, host as u8).into(), SERVER_IP.into())
        }
        1 => (Ipv4Address::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8).into(), SERVER_IP.into()),
        _ => (Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0x5f, i as u16).into(), SERVER_IP6.into()),
    };
    let seg = Segment::syn(
        IpEndpoint::new(src, 1024 + (i % 60_000) as u16),
        IpEndpoint::new(dst, PORT),
        xorshift(rng) as u32,
    );
    w.server_link.inject(tcp_frame(mac, SERVER_MAC, &seg));
}

#[test]
fn a_syn_flood_of_100_per_second_from_silent_addresses_keeps_no_real_client_out() {
    let mut w = raw_world();
    let mut log = vec![];
    let mut rng = 0x5eed_u64;
    let period = MS * 10;
    let start = w.now;
    let flood_end = start + SECOND * 12;
    // Real clients try at odd moments during the flood.
    let mut attempts: Vec<(Instant, Option<usize>, Option<Duration>)> = [2_000u64, 4_337, 6_710, 9_005, 11_111]
        .iter()
        .map(|&ms| (start + Duration::from_millis(ms), None, None))
        .collect();
    let mut sent = 0u32;
    let mut next_syn = start;
    while w.now < flood_end {
        while next_syn <= w.now {
            flood_syn(&w, sent, &mut rng);
            sent += 1;
            next_syn += period;
        }
        for (k, (at, conn, took)) in attempts.iter_mut().enumerate() {
            match (*conn, *took) {
                (None, _) if w.now >= *at => {
                    *conn = Some(w.client.connect(PORT));
                    *at = w.now;
                }
                (Some(c), None) if w.client.state(c) == State::Established => {
                    *took = Some(w.now - *at);
                    w.client.send(c, format!("real client {k} during the flood\n").as_bytes());
                    w.client.conns[c].close_when_sent = true;
                }
                _ => {}
            }
        }
        attacker::step_at_most(&mut w, MS);
        pump(&mut w, &mut log);
    }
    let stop = w.now;
    for (k, (_, conn, took)) in attempts.iter().enumerate() {
        let took = took.unwrap_or_else(|| panic!("real client {k} never got in during the flood"));
        eprintln!("real client {k} got in after {} ms", took.total_millis());
        assert!(took <= SECOND, "real client {k} took {took} to get in");
        let c = conn.unwrap();
        let client = tuple(&mut w, c).0;
        no_rst_to(&log, client);
    }
    // Their echoes complete.
    assert!(wait_fine(&mut w, SECOND * 5, |w| attempts.iter().all(|a| finished(w, a.1.unwrap()))));
    for (k, (_, conn, _)) in attempts.iter().enumerate() {
        assert_eq!(w.client.conns[conn.unwrap()].inbox, format!("real client {k} during the flood\n").as_bytes());
    }
    let s = w.stats();
    eprintln!("{sent} SYNs: {s:?}");
    assert!(s.handshakes_dropped >= u64::from(sent) * 9 / 10, "{s:?}");
    assert_eq!(s.accepted, attempts.len() as u64, "{s:?}");
    assert_eq!(s.refused, 0, "SYNs should displace half-open handshakes, not be refused: {s:?}");

    // Flood over: the half-open handshakes go after the handshake timeout (5 s).
    assert!(count_slots(&w, SlotState::Handshake) > 0, "{:?}", slot_states(&w));
    assert!(
        wait_fine(&mut w, SECOND * 6, |w| count_slots(w, SlotState::Handshake) == 0),
        "half-open handshakes still there {} after the flood: {:?}",
        w.now - stop,
        slot_states(&w)
    );
    eprintln!("half-open handshakes gone {} ms after the flood", (w.now - stop).total_millis());
    let c = open(&mut w, SERVER_IP.into());
    echo(&mut w, c, b"after the flood\n");
}

fn half_open_handshakes_go_after(timeout: Option<Duration>, expected: Duration) {
    let mut w = raw_world_with(|c| {
        if let Some(t) = timeout {
            c.echo.handshake_timeout = Some(t);
        }
    });
    assert_eq!(w.server.config().handshake_timeout, Some(expected));
    let mut rng = 7;
    for i in 0..3 {
        flood_syn(&w, i, &mut rng);
    }
    run_fine(&mut w, MS * 50);
    assert_eq!(count_slots(&w, SlotState::Handshake), 3, "{:?}", slot_states(&w));
    run_fine(&mut w, expected - MS * 150);
    assert_eq!(count_slots(&w, SlotState::Handshake), 3, "dropped before the timeout: {:?}", slot_states(&w));
    assert!(wait_fine(&mut w, MS * 300, |w| count_slots(w, SlotState::Handshake) == 0), "{:?}", slot_states(&w));
    assert_eq!(w.stats().handshakes_dropped, 3, "{:?}", w.stats());
    assert_eq!(w.stats().accepted, 0);
    // The slots serve again.
    let c = open(&mut w, SERVER_IP.into());
    echo(&mut w, c, b"after the half-open ones\n");
}

#[test]
fn half_open_handshakes_go_after_the_default_5_s() {
    half_open_handshakes_go_after(None, SECOND * 5);
}

#[test]
fn half_open_handshakes_go_after_the_configured_handshake_timeout() {
    half_open_handshakes_go_after(Some(SECOND * 2), SECOND * 2);
}

// ---------------------------------------------------------------------------
// 4. Closing connections and the close-then-reconnect race.
// ---------------------------------------------------------------------------

/// 100 clients in waves of 5 (connect, echo one line, close), each wave
/// starting as soon as the previous one has closed, at 5 % loss both ways.
fn waves_at_5_percent_loss(seed: u64) {
    let mut w = World::with_mode(Mode::Raw);
    w.server_link.set_faults(Faults { drop_pct: 5, corrupt_pct: 0, seed });
    w.client.link.set_faults(Faults { drop_pct: 5, corrupt_pct: 0, seed: seed * 3 + 1 });
    let mut failures = vec![];
    let started = w.now;
    for wave in 0..20 {
        let lines: Vec<Vec<u8>> = (0..5).map(|k| format!("wave {wave} client {k}: echo me\n").into_bytes()).collect();
        let conns: Vec<usize> = lines
            .iter()
            .map(|line| {
                let c = w.client.connect(PORT);
                w.client.send(c, line);
                w.client.conns[c].close_when_sent = true;
                c
            })
            .collect();
        let done = w.run_until(SECOND * 120, |w| conns.iter().all(|&c| finished(w, c)));
        let states: Vec<State> = conns.iter().map(|&c| w.client.state(c)).collect();
        assert!(done, "seed {seed}: wave {wave} did not finish: {states:?}");
        for (&c, line) in conns.iter().zip(&lines) {
            if &w.client.conns[c].inbox != line {
                failures.push((wave, c, String::from_utf8_lossy(&w.client.conns[c].inbox).into_owned()));
            }
        }
    }
    let s = w.stats();
    eprintln!(
        "seed {seed}: 100 clients in {} s virtual: {} refused, {} evicted, {} SYN-ACKs resent; frames dropped {} + {}",
        (w.now - started).secs(),
        s.refused,
        s.evicted,
        s.synack_resent,
        w.server_link.dropped,
        w.client.link.dropped
    );
    assert!(w.server_link.dropped + w.client.link.dropped > 20, "faults were not injected");
    assert_eq!(s.refused, 0, "seed {seed}: refusals per 100 clients at 5 % loss: {s:?}");
    assert!(failures.is_empty(), "seed {seed}: echo missing or wrong: {failures:?}");
    assert_eq!(s.accepted, 100, "seed {seed}: {s:?}");
}

#[test]
fn close_then_reconnect_in_waves_of_5_at_5_percent_loss_refuses_nobody() {
    for seed in [1111, 2024, 77, 31337] {
        waves_at_5_percent_loss(seed);
    }
}

/// Runs with a middlebox dropping every frame the client sends from a port
/// in `stuck` once that port's FIN has gone through: those connections'
/// close can never finish on the server (LAST-ACK, FIN unacknowledged).
struct StuckClosers {
    stuck: HashSet<u16>,
    fin_passed: HashSet<u16>,
}

impl StuckClosers {
    fn pass(&mut self, frame: &[u8]) -> bool {
        let Some(seg) = Frame::parse(frame).and_then(|f| f.tcp().cloned()) else { return true };
        if !self.stuck.contains(&seg.src.port) || seg.dst.port != PORT {
            return true;
        }
        if self.fin_passed.contains(&seg.src.port) {
            return false;
        }
        if seg.fin {
            self.fin_passed.insert(seg.src.port);
        }
        true
    }

    fn run_until(
        &mut self,
        w: &mut World,
        limit: Duration,
        mut done: impl FnMut(&mut World, &StuckClosers) -> bool,
    ) -> bool {
        let end = w.now + limit;
        while w.now < end {
            if done(w, self) {
                return true;
            }
            attacker::step_filtered(w, SECOND, |f| self.pass(f), |_| true);
        }
        done(w, self)
    }
}

/// `n` clients connect, echo a line and close, and never acknowledge the
/// server's FIN; returns their connections once their FINs reached the server.
fn stuck_closers(w: &mut World, mb: &mut StuckClosers, n: usize, tag: &str) -> Vec<usize> {
    let lines: Vec<Vec<u8>> = (0..n).map(|k| format!("{tag} {k}\n").into_bytes()).collect();
    let conns: Vec<usize> = lines
        .iter()
        .map(|line| {
            let c = w.client.connect(PORT);
            w.client.send(c, line);
            w.client.conns[c].close_when_sent = true;
            c
        })
        .collect();
    let ports: Vec<u16> = conns.iter().map(|&c| w.client.socket(c).local_endpoint().unwrap().port).collect();
    mb.stuck.extend(&ports);
    let done = mb.run_until(w, SECOND * 5, |w, mb| {
        conns.iter().zip(&lines).all(|(&c, line)| &w.client.conns[c].inbox == line)
            && ports.iter().all(|p| mb.fin_passed.contains(p))
    });
    assert!(done, "{tag}: closers did not get their echo and close");
    conns
}

#[test]
fn five_connections_stuck_closing_and_five_new_clients_are_all_served() {
    let mut w = World::with_mode(Mode::Raw);
    let mut mb = StuckClosers { stuck: HashSet::new(), fin_passed: HashSet::new() };
    let closers = stuck_closers(&mut w, &mut mb, 5, "closer");
    mb.run_until(&mut w, Duration::from_millis(300), |_, _| false);
    assert_eq!(mb.fin_passed.len(), 5, "FINs did not reach the server");
    let states = slot_states(&w);
    eprintln!("server slots with 5 stuck closers: {states:?}");
    assert_eq!(count_slots(&w, SlotState::Closing), 5, "{states:?}");

    let fresh: Vec<usize> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(
        mb.run_until(&mut w, SECOND * 2, |w, _| fresh.iter().all(|&c| established(w, c))),
        "new clients kept out by closing connections: {:?}; {:?}",
        fresh.iter().map(|&c| w.client.state(c)).collect::<Vec<_>>(),
        w.stats()
    );
    for (k, &c) in fresh.iter().enumerate() {
        w.client.send(c, format!("fresh {k}\n").as_bytes());
        w.client.conns[c].close_when_sent = true;
    }
    assert!(mb.run_until(&mut w, SECOND * 5, |w, _| fresh.iter().all(|&c| finished(w, c))));
    for (k, &c) in fresh.iter().enumerate() {
        assert_eq!(w.client.conns[c].inbox, format!("fresh {k}\n").as_bytes());
    }
    let s = w.stats();
    assert_eq!(s.refused, 0, "{s:?}");
    assert_eq!(s.accepted, 10, "{s:?}");
    // The closers' connections were served in full too.
    for (k, &c) in closers.iter().enumerate() {
        assert_eq!(w.client.conns[c].inbox, format!("closer {k}\n").as_bytes());
    }
}

#[test]
fn with_every_socket_closing_the_oldest_close_gives_way_to_a_new_client() {
    let mut w = World::with_mode(Mode::Raw);
    let mut mb = StuckClosers { stuck: HashSet::new(), fin_passed: HashSet::new() };
    // Twice the backlog of stuck closes: every socket (backlog + spares) is closing.
    stuck_closers(&mut w, &mut mb, 5, "first");
    mb.run_until(&mut w, Duration::from_millis(300), |_, _| false);
    stuck_closers(&mut w, &mut mb, 5, "second");
    mb.run_until(&mut w, Duration::from_millis(300), |_, _| false);
    assert_eq!(mb.fin_passed.len(), 10);
    eprintln!("slots: {:?}", slot_states(&w));
    assert_eq!(w.stats().refused, 0, "{:?}", w.stats());

    let fresh: Vec<usize> = (0..5).map(|_| w.client.connect(PORT)).collect();
    assert!(
        mb.run_until(&mut w, SECOND * 2, |w, _| fresh.iter().all(|&c| established(w, c))),
        "new clients refused while only closing connections held the sockets: {:?}; {:?}",
        fresh.iter().map(|&c| w.client.state(c)).collect::<Vec<_>>(),
        w.stats()
    );
    for (k, &c) in fresh.iter().enumerate() {
        w.client.send(c, format!("fresh {k}\n").as_bytes());
    }
    assert!(mb.run_until(&mut w, SECOND * 2, |w, _| fresh
        .iter()
        .enumerate()
        .all(|(k, &c)| w.client.conns[c].inbox == format!("fresh {k}\n").as_bytes())));
    let s = w.stats();
    assert_eq!(s.refused, 0, "{s:?}");
    assert!(s.evicted >= 5, "{s:?}");
}

// ---------------------------------------------------------------------------
// 5. UDP replies that cannot be delivered.
// ---------------------------------------------------------------------------

/// Sends one datagram from the real client and waits for the reply; returns how long it took.
fn udp_round_trip(
    w: &mut World,
    h: echo_core::smoltcp::iface::SocketHandle,
    server: IpAddress,
    data: &[u8],
) -> Duration {
    while w.client.udp(h).recv().is_ok() {}
    let t0 = w.now;
    w.client.send_datagram(h, IpEndpoint::new(server, PORT), data);
    let mut reply = None;
    while reply.is_none() && w.now < t0 + SECOND * 10 {
        attacker::step_at_most(w, MS);
        if let Ok((d, _)) = w.client.udp(h).recv() {
            reply = Some(d.to_vec());
        }
    }
    let reply = reply.unwrap_or_else(|| panic!("no UDP reply via {server} after {}", w.now - t0));
    assert_eq!(reply, data);
    w.now - t0
}

/// Injects the `poison` datagrams, then checks the real client is answered
/// at once for 4 s and again 30 s later; returns the world and the counters
/// at 4 s.
fn poisoned_udp(poison: &[(IpAddress, EthernetAddress)]) -> (World<'static>, echo_core::Stats) {
    let mut w = raw_world();
    let h = w.client.udp_socket(50_000);
    // Warm up: both families resolved both ways.
    for server in [server_addr(false), server_addr(true)] {
        udp_round_trip(&mut w, h, server, b"warm-up");
    }
    for &(src, mac) in poison {
        let server = match src {
            IpAddress::Ipv4(_) => server_addr(false),
            IpAddress::Ipv6(_) => server_addr(true),
        };
        w.server_link.inject(udp_frame(
            mac,
            SERVER_MAC,
            IpEndpoint::new(src, 5353),
            IpEndpoint::new(server, PORT),
            b"reply to nobody",
        ));
    }
    // While the poison's reply waits for a neighbour, and after: answered at once.
    let t0 = w.now;
    let mut worst = Duration::ZERO;
    let mut n = 0;
    while w.now < t0 + SECOND * 4 {
        for server in [server_addr(false), server_addr(true)] {
            let took = udp_round_trip(&mut w, h, server, format!("real {n}").as_bytes());
            worst = worst.max(took);
            n += 1;
        }
        w.run_for(Duration::from_millis(200));
    }
    eprintln!("{n} real datagrams answered, slowest in {} ms", worst.total_millis());
    assert!(worst <= MS * 20, "a real client's datagram waited {worst}");
    let at_4_s = w.stats();
    // 30 s later UDP still works, both families.
    w.run_for(SECOND * 30);
    for server in [server_addr(false), server_addr(true)] {
        let took = udp_round_trip(&mut w, h, server, b"30 s later");
        assert!(took <= MS * 20, "{took}");
    }
    // Nothing ever went to the poison's source.
    let mut log = vec![];
    pump(&mut w, &mut log);
    let to_poison: Vec<&Frame> = log
        .iter()
        .filter(|f| matches!(&f.kind, Kind::Udp { dst, .. } if poison.iter().any(|p| p.0 == dst.addr)))
        .collect();
    assert!(to_poison.is_empty(), "{to_poison:?}");
    (w, at_4_s)
}

#[test]
fn a_datagram_from_an_address_nobody_owns_does_not_wedge_udp_v4_and_v6() {
    let (w, at_4_s) = poisoned_udp(&[
        (Ipv4Address::new(192, 168, 69, 77).into(), EthernetAddress([0x02, 0x77, 0, 0, 0, 0x77])),
        (Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x77).into(), EthernetAddress([0x02, 0x77, 0, 0, 0, 0x78])),
    ]);
    assert_eq!(at_4_s.udp_unresolved, 2, "both replies dropped after ~3 s: {at_4_s:?}");
    assert_eq!(w.stats().udp_unresolved, 2, "{:?}", w.stats());
}

#[test]
fn a_datagram_from_the_devices_own_address_does_not_wedge_udp_v4_and_v6() {
    let (w, at_4_s) = poisoned_udp(&[
        (SERVER_IP.into(), EthernetAddress([0x02, 0x77, 0, 0, 0, 0x01])),
        (SERVER_IP6.into(), EthernetAddress([0x02, 0x77, 0, 0, 0, 0x02])),
    ]);
    assert!(at_4_s.udp_filtered + at_4_s.udp_unresolved >= 2, "{at_4_s:?}");
    assert_eq!(w.stats().udp_datagrams, at_4_s.udp_datagrams + 2, "only the real client's answered: {:?}", w.stats());
}

// ---------------------------------------------------------------------------
// 6. Echo loops, amplification, ICMP.
// ---------------------------------------------------------------------------

const HOST_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
const HOST_IP: Ipv4Address = Ipv4Address::new(192, 168, 69, 66);
const HOST_IP6: Ipv6Address = Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0, 0x66);

/// A host on the link that answers ARP and NDP, known to the server.
fn host(w: &mut World) -> RawHost {
    let mut host = RawHost::new(HOST_MAC, HOST_IP, Some(HOST_IP6));
    host.announce(&w.server_link);
    run_host(w, &mut host, MS * 10);
    host
}

fn host_addr(dst: IpAddress) -> IpAddress {
    match dst {
        IpAddress::Ipv4(_) => HOST_IP.into(),
        IpAddress::Ipv6(_) => HOST_IP6.into(),
    }
}

/// Runs `d` with the host answering; returns what the server sent.
fn run_host(w: &mut World, host: &mut RawHost, d: Duration) -> Vec<Frame> {
    let mut log = vec![];
    attacker::run_hosts_until(w, &mut [host], d, &mut log, |_, _| false);
    log
}

fn udp_replies(log: &[Frame]) -> Vec<(IpEndpoint, IpEndpoint, Vec<u8>)> {
    log.iter()
        .filter_map(|f| match &f.kind {
            Kind::Udp { src, dst, payload } if src.port == PORT => Some((*src, *dst, payload.clone())),
            _ => None,
        })
        .collect()
}

fn send_udp(w: &World, eth_dst: EthernetAddress, src_port: u16, dst: IpAddress, payload: &[u8]) {
    let src = IpEndpoint::new(host_addr(dst), src_port);
    w.server_link.inject(udp_frame(HOST_MAC, eth_dst, src, IpEndpoint::new(dst, PORT), payload));
}

#[test]
fn no_udp_reply_to_broadcast_multicast_echo_ports_or_empty_datagrams() {
    let mut w = raw_world();
    let mut host = host(&mut w);
    // Control: the host is answered, both families.
    for dst in [server_addr(false), server_addr(true)] {
        send_udp(&w, SERVER_MAC, 5555, dst, b"control");
        let log = run_host(&mut w, &mut host, MS * 200);
        assert_eq!(udp_replies(&log).len(), 1, "control datagram to {dst} not answered: {log:?}");
    }
    let before = w.stats();

    let bcast: IpAddress = Ipv4Address::new(192, 168, 69, 255).into();
    let all_ones: IpAddress = Ipv4Address::BROADCAST.into();
    let all_systems = Ipv4Address::new(224, 0, 0, 1);
    let mut cases: Vec<(&str, EthernetAddress, u16, IpAddress, &[u8])> = vec![
        ("subnet broadcast", EthernetAddress::BROADCAST, 5555, bcast, b"x"),
        ("limited broadcast", EthernetAddress::BROADCAST, 5555, all_ones, b"x"),
        ("224.0.0.1", multicast_mac_v4(all_systems), 5555, all_systems.into(), b"x"),
        ("ff02::1", multicast_mac_v6(IPV6_LINK_LOCAL_ALL_NODES), 5555, IPV6_LINK_LOCAL_ALL_NODES.into(), b"x"),
        ("empty v4", SERVER_MAC, 5555, server_addr(false), b""),
        ("empty v6", SERVER_MAC, 5555, server_addr(true), b""),
    ];
    for port in [7, 13, 17, 19, 37, PORT] {
        cases.push(("echo-style source port v4", SERVER_MAC, port, server_addr(false), b"loop?"));
        cases.push(("echo-style source port v6", SERVER_MAC, port, server_addr(true), b"loop?"));
    }
    for &(what, eth_dst, port, dst, payload) in &cases {
        send_udp(&w, eth_dst, port, dst, payload);
        let log = run_host(&mut w, &mut host, MS * 100);
        let replies = udp_replies(&log);
        assert!(replies.is_empty(), "{what} ({dst} from port {port}) answered: {replies:?}");
    }
    let s = w.stats();
    assert_eq!(s.udp_filtered - before.udp_filtered, cases.len() as u64, "{s:?}");
    assert_eq!(s.udp_datagrams, before.udp_datagrams, "{s:?}");

    // Not wedged: the host is still answered.
    send_udp(&w, SERVER_MAC, 5555, server_addr(false), b"control again");
    let log = run_host(&mut w, &mut host, MS * 200);
    assert_eq!(udp_replies(&log).len(), 1);
}

#[test]
fn udp_replies_are_rate_limited() {
    let mut w = raw_world();
    let mut host = host(&mut w);
    let rate = u64::from(w.server.config().udp_rate);
    assert_eq!(rate, 1000, "default udp_rate");
    // Two seconds of 5000 datagrams/s; replies counted per second sent.
    let mut replies = [0u64; 2];
    let start = w.now;
    for replied in replies.iter_mut() {
        for i in 0..5000u32 {
            let src = IpEndpoint::new(HOST_IP.into(), 20_000 + (i % 1000) as u16);
            let dst = IpEndpoint::new(SERVER_IP.into(), PORT);
            w.server_link.inject(udp_frame(HOST_MAC, SERVER_MAC, src, dst, b"flood"));
            if i % 5 == 4 {
                let frames = attacker::step_hosts(&mut w, &mut [&mut host], MS);
                *replied += udp_replies(&frames).len() as u64;
            }
        }
    }
    let elapsed = w.now - start;
    replies[1] += udp_replies(&run_host(&mut w, &mut host, MS * 100)).len() as u64;
    let s = w.stats();
    eprintln!(
        "10 000 datagrams in {} ms: {} replies in the first second, {} in the second; {s:?}",
        elapsed.total_millis(),
        replies[0],
        replies[1]
    );
    assert!(elapsed <= SECOND * 2 + MS * 20, "{elapsed}");
    // A bucket of `rate`, refilled at `rate` per second.
    assert!(replies[0] <= 2 * rate + 10, "first second: {} replies, bucket {rate} + {rate}/s", replies[0]);
    assert!(replies[1] <= rate + rate / 5, "second second: {} replies at {rate}/s", replies[1]);
    assert!(replies[0] >= rate, "UDP should still answer up to the limit: {}", replies[0]);
    assert!(s.udp_rate_limited >= 10_000 - 3 * rate - 500, "{s:?}");
    assert!(s.udp_rate_limited + replies[0] + replies[1] <= 10_000, "{s:?}");
}

#[test]
fn no_reply_to_broadcast_pings() {
    let mut w = raw_world();
    let mut host = host(&mut w);
    let echo_replies = |log: &[Frame]| {
        log.iter().filter(|f| matches!(f.kind, Kind::Icmpv4 { msg: Icmpv4Message::EchoReply, .. })).count()
    };
    // Control.
    w.server_link.inject(ping_frame(HOST_MAC, SERVER_MAC, HOST_IP, SERVER_IP, 0x4242, 1));
    assert_eq!(echo_replies(&run_host(&mut w, &mut host, MS * 200)), 1, "unicast ping not answered");
    let before = w.stats().icmp_suppressed;
    for (seq, dst) in [Ipv4Address::new(192, 168, 69, 255), Ipv4Address::BROADCAST].into_iter().enumerate() {
        w.server_link.inject(ping_frame(HOST_MAC, EthernetAddress::BROADCAST, HOST_IP, dst, 0x4242, 2 + seq as u16));
        let log = run_host(&mut w, &mut host, MS * 200);
        assert_eq!(echo_replies(&log), 0, "ping to {dst} answered");
    }
    assert_eq!(w.stats().icmp_suppressed - before, 2, "{:?}", w.stats());
}

#[test]
fn no_icmpv6_error_about_a_packet_sent_to_multicast() {
    let mut w = raw_world();
    let mut host = host(&mut w);
    let errors = |log: &[Frame]| -> Vec<Frame> {
        log.iter()
            .filter(|f| {
                matches!(f.kind, Kind::Icmpv6 { msg: Icmpv6Message::ParamProblem | Icmpv6Message::DstUnreachable, .. })
            })
            .cloned()
            .collect()
    };
    let unknown = IpProtocol::Unknown(253); // RFC 3692 experimental
                                            // Control: an unknown next header to our unicast address is reported.
    w.server_link.inject(ip_frame(HOST_MAC, SERVER_MAC, HOST_IP6.into(), SERVER_IP6.into(), unknown, 64, b"????????"));
    assert_eq!(errors(&run_host(&mut w, &mut host, MS * 200)).len(), 1, "control: no Parameter Problem");
    let before = w.stats().icmp_suppressed;

    let group = IPV6_LINK_LOCAL_ALL_NODES;
    let group_mac = multicast_mac_v6(group);
    let solicited = solicited_node(SERVER_IP6);
    // Unknown next header to ff02::1 and to our solicited-node group.
    for dst in [group, solicited] {
        let mac = multicast_mac_v6(dst);
        w.server_link.inject(ip_frame(HOST_MAC, mac, HOST_IP6.into(), dst.into(), unknown, 64, b"????????"));
        let log = run_host(&mut w, &mut host, MS * 200);
        assert!(errors(&log).is_empty(), "ICMPv6 error about a packet to {dst}: {:?}", errors(&log));
    }
    // UDP to a closed port of ff02::1.
    let src = IpEndpoint::new(HOST_IP6.into(), 5555);
    w.server_link.inject(udp_frame(HOST_MAC, group_mac, src, IpEndpoint::new(group.into(), 9999), b"closed"));
    let log = run_host(&mut w, &mut host, MS * 200);
    assert!(errors(&log).is_empty(), "port unreachable about a datagram to ff02::1: {:?}", errors(&log));
    // (The datagram to a group's closed port is dropped before smoltcp sees
    // it; only the two that smoltcp would have answered are counted for sure.)
    assert!(w.stats().icmp_suppressed - before >= 2, "{:?}", w.stats());
}

/// Builds one frame.
type FrameMaker = fn() -> Vec<u8>;

#[test]
fn icmp_errors_are_rate_limited() {
    let kinds: [(&str, FrameMaker); 3] = [
        ("UDP to a closed port (v4)", || {
            let src = IpEndpoint::new(HOST_IP.into(), 5555);
            udp_frame(HOST_MAC, SERVER_MAC, src, IpEndpoint::new(SERVER_IP.into(), 9), b"x")
        }),
        ("unknown protocol (v4)", || {
            ip_frame(HOST_MAC, SERVER_MAC, HOST_IP.into(), SERVER_IP.into(), IpProtocol::Unknown(253), 64, b"x")
        }),
        ("unknown next header (v6)", || {
            let unknown = IpProtocol::Unknown(253);
            ip_frame(HOST_MAC, SERVER_MAC, HOST_IP6.into(), SERVER_IP6.into(), unknown, 64, b"x")
        }),
    ];
    let mut report = vec![];
    for (what, frame) in kinds {
        let mut w = raw_world();
        let mut host = host(&mut w);
        let mut log = vec![];
        for _ in 0..1000 {
            w.server_link.inject(frame());
            log.extend(attacker::step_hosts(&mut w, &mut [&mut host], MS));
        }
        let errors = log
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    Kind::Icmpv4 { msg: Icmpv4Message::DstUnreachable, .. }
                        | Kind::Icmpv6 { msg: Icmpv6Message::ParamProblem | Icmpv6Message::DstUnreachable, .. }
                )
            })
            .count();
        eprintln!("{what}: 1000 packets in 1 s, {errors} ICMP errors; {:?}", w.stats());
        report.push((what, errors, w.stats().icmp_suppressed));
    }
    for &(what, errors, suppressed) in &report {
        assert!(errors >= 1, "{what}: no error at all (the first should be sent)");
        assert!(errors <= 500, "{what}: {errors} ICMP errors for 1000 packets in 1 s: not rate-limited ({report:?})");
        assert!(suppressed >= 1000 - errors as u64, "{what}: icmp_suppressed {suppressed}");
    }
}

// ---------------------------------------------------------------------------
// 7. Slow clients: per-host limit, silent connections give way.
// ---------------------------------------------------------------------------

#[test]
fn max_per_host_refuses_a_third_from_one_host_and_lets_another_host_in() {
    let mut w = raw_world_with(|c| c.echo.max_per_host = Some(2));
    let mut log = vec![];
    let a = open(&mut w, SERVER_IP.into());
    let b = open(&mut w, SERVER_IP.into());
    let third = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(third) == State::Closed), "third from one host not refused");
    assert_eq!(w.stats().refused, 1, "{:?}", w.stats());
    // Another host gets in and is served.
    let mut other = RawHost::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x50]), Ipv4Address::new(192, 168, 69, 50), None);
    let c = other.connect(&w.server_link, IpEndpoint::new(SERVER_IP.into(), PORT), 43_000, 77);
    other.send(&w.server_link, c, b"second host");
    assert!(
        attacker::run_hosts_until(&mut w, &mut [&mut other], SECOND * 2, &mut log, |_, h| h[0].conns[c].received
            == b"second host"),
        "second host not served: {:?}",
        other.conns[c].state
    );
    assert_ne!(other.conns[c].state, RawState::Reset);
    // The first two are untouched; when one ends the host may open another.
    echo(&mut w, a, b"a\n");
    echo(&mut w, b, b"b\n");
    w.client.conns[a].close_when_sent = true;
    assert!(w.run_until(SECOND * 2, |w| finished(w, a)));
    w.run_for(SECOND);
    let d = open(&mut w, SERVER_IP.into());
    echo(&mut w, d, b"d\n");
    assert_eq!(w.stats().refused, 1, "{:?}", w.stats());
}

#[test]
fn the_longest_silent_connection_gives_way_after_evict_silent_after() {
    let mut w = raw_world_with(|c| c.echo.evict_silent_after = Some(SECOND * 30));
    let conns: Vec<usize> = (0..5).map(|_| open(&mut w, SERVER_IP.into())).collect();
    let start = w.now;
    // All but the first show life at 5 s.
    run_to(&mut w, start + SECOND * 5);
    for &c in &conns[1..] {
        echo(&mut w, c, b"alive\n");
    }
    // Before the threshold: the tutorial's refusal.
    run_to(&mut w, start + SECOND * 10);
    let early = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| w.client.state(early) == State::Closed), "sixth admitted before the threshold");
    assert_eq!((w.stats().refused, w.stats().evicted), (1, 0), "{:?}", w.stats());
    assert!(conns.iter().all(|&c| established(&mut w, c)));
    // After it: the first (silent 31 s, the others 26 s) gives way.
    run_to(&mut w, start + SECOND * 31);
    let late = w.client.connect(PORT);
    assert!(w.run_until(SECOND, |w| established(w, late)), "new client refused after the threshold: {:?}", w.stats());
    assert!(w.run_until(SECOND, |w| w.client.state(conns[0]) == State::Closed), "longest-silent not reset");
    let s = w.stats();
    assert_eq!((s.evicted, s.refused), (1, 1), "{s:?}");
    for &c in &conns[1..] {
        assert!(established(&mut w, c), "connection {c} reset too");
        echo(&mut w, c, b"still\n");
    }
    echo(&mut w, late, b"in\n");
}

// ---------------------------------------------------------------------------
// 8. Neighbour poisoning.
// ---------------------------------------------------------------------------

/// Echoes for 5 s after the spoof; `log` holds what the server sent since just before it.
fn keeps_going_to_the_real_mac(w: &mut World, mut log: Vec<Frame>, c: usize, client_ip: IpAddress) {
    for i in 0..5 {
        echo(w, c, format!("after the spoof {i}\n").as_bytes());
        w.run_for(SECOND);
    }
    pump(w, &mut log);
    let to_evil: Vec<&Frame> = log.iter().filter(|f| f.dst_mac == EVIL_MAC).collect();
    assert!(to_evil.is_empty(), "frames went to the forged MAC: {to_evil:?}");
    let misdirected: Vec<&Frame> =
        log.iter().filter(|f| f.ip_dst() == Some(client_ip) && f.dst_mac != CLIENT_MAC).collect();
    assert!(misdirected.is_empty(), "{misdirected:?}");
    assert!(log.iter().any(|f| f.ip_dst() == Some(client_ip)));
}

#[test]
fn a_forged_arp_reply_or_request_does_not_cut_a_live_client_off() {
    let mut w = raw_world();
    let c = open(&mut w, SERVER_IP.into());
    echo(&mut w, c, b"before\n");
    pump(&mut w, &mut vec![]);
    // Unsolicited reply, unicast to the server.
    w.server_link.inject(arp_frame(ArpOperation::Reply, SERVER_MAC, EVIL_MAC, CLIENT_IP, SERVER_MAC, SERVER_IP));
    w.run_for(MS * 50);
    // Request for the server's address "from" the client, broadcast.
    w.server_link.inject(arp_frame(
        ArpOperation::Request,
        EthernetAddress::BROADCAST,
        EVIL_MAC,
        CLIENT_IP,
        EthernetAddress([0; 6]),
        SERVER_IP,
    ));
    w.run_for(MS * 50);
    let mut log = vec![];
    pump(&mut w, &mut log);
    keeps_going_to_the_real_mac(&mut w, log, c, CLIENT_IP.into());
    assert!(w.stats().neighbour_spoofs >= 2, "{:?}", w.stats());
    assert!(established(&mut w, c));
}

#[test]
fn a_forged_neighbour_advertisement_does_not_cut_a_live_client_off() {
    let mut w = raw_world();
    let c = open(&mut w, SERVER_IP6.into());
    echo(&mut w, c, b"before\n");
    pump(&mut w, &mut vec![]);
    let flags = NdiscNeighborFlags::OVERRIDE;
    // Unicast to the server, and to all nodes.
    w.server_link
        .inject(neighbour_advert_frame(EVIL_MAC, SERVER_MAC, CLIENT_IP6, SERVER_IP6, CLIENT_IP6, EVIL_MAC, flags));
    w.run_for(MS * 50);
    let all = IPV6_LINK_LOCAL_ALL_NODES;
    w.server_link.inject(neighbour_advert_frame(
        EVIL_MAC,
        multicast_mac_v6(all),
        CLIENT_IP6,
        all,
        CLIENT_IP6,
        EVIL_MAC,
        flags,
    ));
    w.run_for(MS * 50);
    // A solicitation "from" the client naming the forged MAC as its own.
    w.server_link.inject(neighbour_solicit_frame(EVIL_MAC, CLIENT_IP6, SERVER_IP6, EVIL_MAC));
    w.run_for(MS * 50);
    let mut log = vec![];
    pump(&mut w, &mut log);
    keeps_going_to_the_real_mac(&mut w, log, c, CLIENT_IP6.into());
    assert!(w.stats().neighbour_spoofs >= 3, "{:?}", w.stats());
    assert!(established(&mut w, c));
}
