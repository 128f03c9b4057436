//! Extra hosts on the simulated link, built from raw frames: an attacker
//! forging segments, datagrams and neighbour messages, or a second honest
//! host with its own addresses (the sim client has only one of each).
//!
//! Link semantics (see [`crate::link`]): a frame given to
//! `world.server_link.inject` arrives at the server; every frame the server
//! sends lands in the client's receive queue, so [`tap`] records the client
//! end and [`take_server_frames`] hands them out. The client stack drops
//! frames for other MAC addresses itself, so frames for a [`RawHost`] never
//! disturb it.
//!
//! The frames themselves (building, parsing, [`Segment`], [`Frame`]) are
//! [`netlab::frames`], shared with the system tests' attacker on the TAP;
//! this module only drives them through the simulated world.

use std::collections::VecDeque;

use echo_core::NetConfig;
use netlab::frames::{
    arp_frame, neighbour_advert_frame, neighbour_solicit_frame, tcp_frame, Frame, Kind, Neighbour, Segment,
};
use smoltcp::time::Duration;
use smoltcp::wire::{
    ArpOperation, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv6Address, NdiscNeighborFlags,
};

use crate::link::LinkEnd;
use crate::world::World;

/// The server's MAC address.
pub const SERVER_MAC: EthernetAddress = NetConfig::DEFAULT.mac;
/// The sim client's MAC address (set in `world.rs`).
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
/// The echo port.
pub const ECHO_PORT: u16 = echo_core::DEFAULT_PORT;

/// Starts recording every frame the server sends (at the client's end of
/// the link, before any fault the client end applies).
pub fn tap(w: &mut World) {
    if w.client.link.recorded.is_none() {
        w.client.link.recorded = Some(vec![]);
    }
}

/// The frames the server sent since the last call (or since [`tap`]).
pub fn take_server_frames(w: &mut World) -> Vec<Vec<u8>> {
    w.client.link.recorded.as_mut().map(std::mem::take).expect("call attacker::tap first")
}

/// Steps the world once, advancing the clock by at most `max` (the world
/// skips ahead to the next deadline when idle; a flood needs finer steps).
pub fn step_at_most(w: &mut World, max: Duration) {
    let before = w.now;
    w.step();
    if w.now > before + max {
        w.now = before + max;
    }
}

/// Steps the world once (at most `max` of virtual time) with a middlebox on
/// the cable: frames the client sent (and frames injected toward the server,
/// which share that queue) pass `to_server`, frames the server sends pass
/// `to_client`; a frame for which the filter returns false is lost.
pub fn step_filtered(
    w: &mut World,
    max: Duration,
    mut to_server: impl FnMut(&[u8]) -> bool,
    mut to_client: impl FnMut(&[u8]) -> bool,
) {
    // The client sent these during the previous step; they wait in the server's queue.
    for frame in w.client.link.drain_sent() {
        if to_server(&frame) {
            w.server_link.inject(frame);
        }
    }
    // Let the server answer now, and intercept before the client polls.
    w.server.poll(w.now, &mut w.server_link);
    for frame in w.server_link.drain_sent() {
        if to_client(&frame) {
            w.client.link.inject(frame);
        }
    }
    step_at_most(w, max);
}

/// State of one [`RawHost`] connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawState {
    /// SYN sent; the handshake's last ACK not sent yet.
    SynSent,
    /// SYN-ACK received and acknowledged.
    Established,
    /// The server reset it.
    Reset,
}

/// One TCP connection of a [`RawHost`]: no retransmission of its own, meant
/// for a lossless link.
#[derive(Debug, Clone)]
pub struct RawConn {
    /// Our address and port.
    pub local: IpEndpoint,
    /// The server's.
    pub remote: IpEndpoint,
    /// Our initial sequence number.
    pub isn: u32,
    /// Next sequence number we send.
    pub snd_nxt: u32,
    /// Next sequence number we expect (after the SYN-ACK).
    pub rcv_nxt: Option<u32>,
    /// The server's initial sequence number, from its SYN-ACK.
    pub server_isn: Option<u32>,
    /// Where it stands.
    pub state: RawState,
    /// Bytes received in order.
    pub received: Vec<u8>,
    /// The server's FIN arrived.
    pub got_fin: bool,
    /// Acknowledge what arrives (SYN-ACK, data and FIN); false plays a peer
    /// that holds its handshake or went silent.
    pub acks: bool,
    /// Data waiting for the handshake to complete.
    pending: VecDeque<u8>,
}

/// A host with its own MAC and addresses on the link, driven by hand.
#[derive(Debug, Clone)]
pub struct RawHost {
    /// Its MAC address.
    pub mac: EthernetAddress,
    /// Its IPv4 address.
    pub ip4: Ipv4Address,
    /// Its IPv6 address, if any.
    pub ip6: Option<Ipv6Address>,
    /// Answer ARP requests and neighbour solicitations for its addresses.
    pub answers_neighbours: bool,
    /// Its TCP connections.
    pub conns: Vec<RawConn>,
    /// Frames the server sent to this host (its MAC), parsed, in order.
    pub inbox: Vec<Frame>,
}

impl RawHost {
    /// A host at `mac` / `ip4` that answers ARP.
    pub fn new(mac: EthernetAddress, ip4: Ipv4Address, ip6: Option<Ipv6Address>) -> Self {
        RawHost { mac, ip4, ip6, answers_neighbours: true, conns: vec![], inbox: vec![] }
    }

    /// Does what a real host does before it talks to the server: asks for
    /// the server's MAC (ARP, and a neighbour solicitation if it has IPv6),
    /// which also tells the server this host's MAC.
    pub fn announce(&self, link: &LinkEnd) {
        let server_ip = NetConfig::DEFAULT.ipv4.address();
        link.inject(arp_frame(
            ArpOperation::Request,
            EthernetAddress::BROADCAST,
            self.mac,
            self.ip4,
            EthernetAddress([0; 6]),
            server_ip,
        ));
        if let (Some(ip6), Some(server)) = (self.ip6, NetConfig::DEFAULT.ipv6) {
            link.inject(neighbour_solicit_frame(self.mac, ip6, server.address(), self.mac));
        }
    }

    fn ip_for(&self, remote: IpAddress) -> IpAddress {
        match remote {
            IpAddress::Ipv4(_) => self.ip4.into(),
            IpAddress::Ipv6(_) => self.ip6.expect("host has no IPv6 address").into(),
        }
    }

    fn send_segment(&self, link: &LinkEnd, seg: &Segment) {
        link.inject(tcp_frame(self.mac, SERVER_MAC, seg));
    }

    /// Sends a SYN from `local_port` to `remote`; returns the connection's index.
    pub fn connect(&mut self, link: &LinkEnd, remote: IpEndpoint, local_port: u16, isn: u32) -> usize {
        let local = IpEndpoint::new(self.ip_for(remote.addr), local_port);
        let conn = RawConn {
            local,
            remote,
            isn,
            snd_nxt: isn.wrapping_add(1),
            rcv_nxt: None,
            server_isn: None,
            state: RawState::SynSent,
            received: vec![],
            got_fin: false,
            acks: true,
            pending: VecDeque::new(),
        };
        self.send_segment(link, &Segment::syn(local, remote, isn));
        self.conns.push(conn);
        self.conns.len() - 1
    }

    /// Sends `data` on connection `c` (once established; queued until then).
    pub fn send(&mut self, link: &LinkEnd, c: usize, data: &[u8]) {
        self.conns[c].pending.extend(data);
        self.flush(link, c);
    }

    /// Sends FIN on connection `c` (it must be established).
    pub fn close(&mut self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        let ack = conn.rcv_nxt.expect("close before the handshake");
        let seg = Segment { fin: true, ..Segment::new(conn.local, conn.remote, conn.snd_nxt).with_ack(ack) };
        self.send_segment(link, &seg);
        self.conns[c].snd_nxt = conn.snd_nxt.wrapping_add(1);
    }

    /// Sends an RST at our next sequence number (what an honest peer's abort sends).
    pub fn abort(&mut self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        self.send_segment(link, &Segment::rst(conn.local, conn.remote, conn.snd_nxt));
        self.conns[c].state = RawState::Reset;
    }

    /// Sends the handshake's last ACK on connection `c` (after its SYN-ACK
    /// arrived while `acks` was off) and any data queued meanwhile.
    pub fn complete_handshake(&mut self, link: &LinkEnd, c: usize) {
        assert!(self.conns[c].rcv_nxt.is_some(), "no SYN-ACK yet");
        self.conns[c].state = RawState::Established;
        self.ack(link, c);
        self.flush(link, c);
    }

    fn flush(&mut self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        let (RawState::Established, Some(ack)) = (conn.state, conn.rcv_nxt) else { return };
        if conn.pending.is_empty() {
            return;
        }
        let data: Vec<u8> = conn.pending.iter().copied().collect();
        for chunk in data.chunks(1000) {
            let conn = &self.conns[c];
            let seg = Segment::new(conn.local, conn.remote, conn.snd_nxt).with_ack(ack).with_payload(chunk);
            self.send_segment(link, &seg);
            self.conns[c].snd_nxt = conn.snd_nxt.wrapping_add(chunk.len() as u32);
        }
        self.conns[c].pending.clear();
    }

    fn ack(&self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        if let Some(ack) = conn.rcv_nxt {
            self.send_segment(link, &Segment::new(conn.local, conn.remote, conn.snd_nxt).with_ack(ack));
        }
    }

    /// Reacts to frames the server sent: answers ARP and neighbour
    /// solicitations for its addresses, completes handshakes, takes data.
    pub fn handle(&mut self, link: &LinkEnd, frames: &[Frame]) {
        for frame in frames {
            let for_us = frame.dst_mac == self.mac;
            match &frame.kind {
                Kind::Arp { op: ArpOperation::Request, sender_mac, sender_ip, target_ip }
                    if *target_ip == self.ip4 && self.answers_neighbours =>
                {
                    link.inject(arp_frame(
                        ArpOperation::Reply,
                        *sender_mac,
                        self.mac,
                        self.ip4,
                        *sender_mac,
                        *sender_ip,
                    ));
                }
                Kind::Icmpv6 { src, neighbour: Some(Neighbour::Solicit { target, .. }), .. }
                    if Some(*target) == self.ip6 && self.answers_neighbours =>
                {
                    link.inject(neighbour_advert_frame(
                        self.mac,
                        frame.src_mac,
                        *target,
                        *src,
                        *target,
                        self.mac,
                        NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
                    ));
                }
                Kind::Tcp(seg) if for_us => {
                    self.inbox.push(frame.clone());
                    let Some(c) = self.conns.iter().position(|k| k.local == seg.dst && k.remote == seg.src) else {
                        continue;
                    };
                    self.on_segment(link, c, seg);
                }
                _ if for_us => self.inbox.push(frame.clone()),
                _ => {}
            }
        }
    }

    fn on_segment(&mut self, link: &LinkEnd, c: usize, seg: &Segment) {
        let conn = &mut self.conns[c];
        if seg.rst {
            conn.state = RawState::Reset;
            return;
        }
        match conn.state {
            RawState::Reset => {}
            RawState::SynSent => {
                if seg.is_syn_ack() && seg.ack == Some(conn.isn.wrapping_add(1)) {
                    conn.server_isn = Some(seg.seq);
                    conn.rcv_nxt = Some(seg.seq.wrapping_add(1));
                    if conn.acks {
                        self.complete_handshake(link, c);
                    }
                }
            }
            RawState::Established => {
                let rcv_nxt = conn.rcv_nxt.expect("established");
                if seg.seq == rcv_nxt && !seg.syn {
                    conn.received.extend_from_slice(&seg.payload);
                    let mut next = rcv_nxt.wrapping_add(seg.payload.len() as u32);
                    if seg.fin {
                        next = next.wrapping_add(1);
                        conn.got_fin = true;
                    }
                    conn.rcv_nxt = Some(next);
                }
                // Acknowledge anything with sequence space (or a retransmission).
                if conn.acks && (!seg.is_empty() || seg.seq != rcv_nxt) {
                    self.ack(link, c);
                }
            }
        }
    }
}

/// Steps the world once (at most `max` of virtual time) and lets `hosts`
/// answer what the server sent; returns the server's frames of this step.
pub fn step_hosts(w: &mut World, hosts: &mut [&mut RawHost], max: Duration) -> Vec<Frame> {
    step_at_most(w, max);
    let frames = Frame::parse_all(&take_server_frames(w));
    for host in hosts.iter_mut() {
        host.handle(&w.server_link, &frames);
    }
    frames
}

/// Steps with `hosts` answering until `done` holds or `limit` passes;
/// returns whether it held, and appends the server's frames to `log`.
pub fn run_hosts_until(
    w: &mut World,
    hosts: &mut [&mut RawHost],
    limit: Duration,
    log: &mut Vec<Frame>,
    mut done: impl FnMut(&mut World, &[&mut RawHost]) -> bool,
) -> bool {
    tap(w);
    let end = w.now + limit;
    while w.now < end {
        if done(w, hosts) {
            return true;
        }
        log.extend(step_hosts(w, hosts, Duration::from_millis(10)));
    }
    done(w, hosts)
}
