//! The guard: a device middleware between the caller's device and smoltcp
//! that sees every frame in and out, and keeps one stray or hostile packet
//! from doing what smoltcp alone would let it do (Linux's TCP is the bar):
//!
//! - a SYN with a live connection's addresses never reaches a listener
//!   (smoltcp gives a segment to the first socket that accepts it, and a
//!   listener accepts any SYN): a half-open handshake gets its SYN-ACK again,
//!   an open connection a challenge ACK (RFC 5961 §4);
//! - an RST resets only at exactly the next expected sequence number; one
//!   elsewhere in the window gets a challenge ACK (RFC 5961 §3.2);
//! - a SYN that finds no listener makes room when it can (the oldest half-open
//!   handshake, as a SYN queue; a connection finishing its close; a silent one)
//!   and is replayed once the server has freed the slot;
//! - UDP echo answers only unicast datagrams from plausible sources, at a
//!   bounded rate, and only once the sender's neighbour entry is known
//!   (smoltcp would park an unresolved reply at the head of the socket's
//!   queue and block every later one); the guard resolves it itself;
//! - ARP and NDP cannot re-point a peer that has a live connection;
//! - no ping to broadcast or multicast is answered, and no ICMP error is
//!   provoked by a packet sent to a multicast address.
//!
//! What the guard knows of each connection ([`Flow`]) it learns from the
//! segments smoltcp sends, so it needs nothing from smoltcp's internals.

use core::cell::RefCell;

use smoltcp::phy::{ChecksumCapabilities, Device, DeviceCapabilities, RxToken, TxToken};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress,
    IpCidr, IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    TcpTimestampRepr, UdpPacket, ETHERNET_HEADER_LEN,
};
#[cfg(feature = "ipv6")]
use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, Icmpv6Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, NdiscRepr};

use crate::config::EchoConfig;
use crate::events::Events;
use crate::neighbours::Neighbours;
use crate::slot::{Slot, SlotState};
use crate::stats::Stats;
use crate::tcp_timestamps;

/// Source ports of services that answer anything (echo, daytime, quote,
/// chargen, time): replying to them starts an endless ping-pong.
const ECHO_STYLE_PORTS: [u16; 5] = [7, 13, 17, 19, 37];
/// DHCP client port: broadcasts to it must reach smoltcp's DHCP socket.
const DHCP_CLIENT_PORT: u16 = 68;
/// A datagram whose sender does not resolve within this long is dropped
/// (Linux: 3 probes 1 s apart).
const RESOLVE_WITHIN: Duration = Duration::from_secs(3);
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// At most one challenge ACK per connection per second (RFC 5961 §7; smoltcp's own rate).
const CHALLENGE_EVERY: Duration = Duration::from_secs(1);
/// A half-open handshake gives way to a new SYN only once it is this old:
/// a burst of honest clients (8 SYNs within a millisecond on 5 slots) is
/// served and refused as the tutorial's server would, while under a flood
/// of 100 SYN/s the oldest of 5 spoofed handshakes is ~40 ms old whenever a
/// real client's SYN arrives, so it gets in.
const HANDSHAKE_GRACE: Duration = Duration::from_millis(20);
/// A retransmitted SYN gets the SYN-ACK again at most this often.
const SYNACK_EVERY: Duration = Duration::from_millis(500);
/// ICMP errors smoltcp may be provoked to send per second.
const ICMP_ERRORS_PER_SEC: u32 = 100;
/// Frames held back: a SYN waiting for room, datagrams waiting for their
/// sender's neighbour entry.
const PARKED: usize = 3;
/// The smallest window share a connection is given: one full-size IPv4
/// segment on a 1500-byte link, so no connection is left with a window too
/// small to send a full segment into (silly-window territory).
const MIN_WINDOW_SHARE: usize = 1460;
/// The largest frame that can be parked (a full standard Ethernet frame);
/// a larger unresolved datagram is dropped.
const PARK_FRAME: usize = 1536;

/// What the guard knows of one connection, learned from the segments we sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flow {
    /// Whether anything has been learned yet.
    known: bool,
    /// The MAC our segments go to (the peer or its router).
    peer_mac: EthernetAddress,
    /// One past the last sequence number we have sent.
    snd_nxt: u32,
    /// The acknowledgement number we last sent: the next byte we expect.
    rcv_nxt: u32,
    /// One past the peer's last in-order segment we passed on: ahead of
    /// `rcv_nxt` while smoltcp has taken data it has not acknowledged yet
    /// (a peer that sends and resets at once uses this number).
    peer_nxt: u32,
    /// The receive window we last advertised, in bytes.
    rcv_wnd: u32,
    /// Our window scale, if the peer agreed to scaling.
    wshift: u8,
    /// The timestamp we last echoed, if the connection uses timestamps.
    tsecr: Option<u32>,
    /// Our SYN-ACK, while the handshake is open: sent again on a retransmitted SYN.
    synack: SynAck,
    /// When we last answered on our own (challenge ACK or SYN-ACK again).
    last_reply: Option<Instant>,
}

impl Flow {
    pub(crate) const NONE: Flow = Flow {
        known: false,
        peer_mac: EthernetAddress([0; 6]),
        snd_nxt: 0,
        rcv_nxt: 0,
        peer_nxt: 0,
        rcv_wnd: 0,
        wshift: 0,
        tsecr: None,
        synack: SynAck::NONE,
        last_reply: None,
    };

    fn may_reply(&mut self, now: Instant, every: Duration) -> bool {
        if self.last_reply.is_some_and(|at| now < at + every) {
            return false;
        }
        self.last_reply = Some(now);
        true
    }
}

/// The options of our SYN-ACK, kept to send it again. Plain fields rather
/// than a `TcpRepr`, so that an empty slot is all zeros (boards keep slots in
/// `.bss`, not in flash-initialised `.data`).
#[derive(Debug, Clone, Copy)]
struct SynAck {
    sent: bool,
    seq: u32,
    ack: u32,
    window: u16,
    wscale: Option<u8>,
    mss: Option<u16>,
    sack: bool,
    timestamp: Option<TcpTimestampRepr>,
}

impl SynAck {
    const NONE: SynAck =
        SynAck { sent: false, seq: 0, ack: 0, window: 0, wscale: None, mss: None, sack: false, timestamp: None };
}

/// A token bucket: `rate` per second, bursts of as many.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    rate: u32,
    tokens: u32,
    refilled: Instant,
}

impl Bucket {
    pub(crate) const fn new(rate: u32) -> Self {
        Bucket { rate, tokens: rate, refilled: Instant::ZERO }
    }

    /// Takes a token if one is left (always, for rate 0: unlimited).
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        let elapsed = (now - self.refilled.min(now)).total_millis();
        let earned = (elapsed.min(1000) * self.rate as u64 / 1000) as u32;
        if earned > 0 {
            self.tokens = self.tokens.saturating_add(earned).min(self.rate);
            self.refilled = now;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Why a frame is held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A SYN, until the server has freed a slot for it.
    Room,
    /// A datagram, until its sender's neighbour entry is known.
    Neighbour { hop: IpAddress, deadline: Instant, next_probe: Instant },
    /// Ready to be handed to smoltcp.
    Ready,
}

struct Parked {
    frame: heapless::Vec<u8, PARK_FRAME>,
    wait: Wait,
}

/// Something the guard sends on its own, between two frames.
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// RFC 5961 challenge ACK on the connection in this slot.
    ChallengeAck(usize),
    /// Our SYN-ACK again, for the handshake in this slot.
    SynAck(usize),
    /// RST to a SYN refused by policy (more connections than a host may hold).
    Refuse { mac: EthernetAddress, local: IpEndpoint, remote: IpEndpoint, ack: u32 },
    /// ARP request or neighbour solicitation for this next hop.
    Probe(IpAddress),
}

/// The guard's state between polls.
pub(crate) struct Guard {
    neighbours: Neighbours,
    parked: heapless::Vec<Parked, PARKED>,
    replies: heapless::Vec<Reply, 8>,
    udp: Bucket,
    icmp_errors: Bucket,
    /// The slot the server must free before the parked SYN is replayed.
    pub(crate) make_room: Option<usize>,
    /// UDP frames sent from the echo port so far (the server's check that
    /// the UDP socket's queue moves).
    pub(crate) udp_sent: u64,
    /// smoltcp fills TCP checksums in (the device does not): a segment
    /// whose window is capped gets its checksum updated.
    fill_tcp_checksum: bool,
}

impl Guard {
    pub(crate) const fn new(udp_rate: u32, fill_tcp_checksum: bool) -> Self {
        Guard {
            neighbours: Neighbours::new(),
            parked: heapless::Vec::new(),
            replies: heapless::Vec::new(),
            udp: Bucket::new(udp_rate),
            icmp_errors: Bucket::new(ICMP_ERRORS_PER_SEC),
            make_room: None,
            udp_sent: 0,
            fill_tcp_checksum,
        }
    }

    /// The server has freed the slot (or could not): replay the held SYN.
    pub(crate) fn room_made(&mut self) {
        self.make_room = None;
        for p in self.parked.iter_mut().filter(|p| p.wait == Wait::Room) {
            p.wait = Wait::Ready;
        }
    }

    /// Drops datagrams whose sender did not resolve in time and schedules
    /// probes for the others.
    pub(crate) fn tick(&mut self, now: Instant, stats: &mut Stats, events: &mut Events) {
        let mut i = 0;
        while i < self.parked.len() {
            if let Wait::Neighbour { hop, deadline, next_probe } = self.parked[i].wait {
                if now >= deadline {
                    self.parked.swap_remove(i);
                    stats.udp_unresolved += 1;
                    if events.allow(now) {
                        warn!("udp reply to {} dropped: no neighbour answered within 3 s", hop);
                    }
                    continue;
                }
                if now >= next_probe {
                    let _ = self.replies.push(Reply::Probe(hop));
                    self.parked[i].wait = Wait::Neighbour { hop, deadline, next_probe: now + PROBE_EVERY };
                }
            }
            i += 1;
        }
    }

    /// When the guard next needs a poll (a probe or a deadline), if ever.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.parked
            .iter()
            .map(|p| match p.wait {
                Wait::Neighbour { deadline, next_probe, .. } => deadline.min(next_probe),
                Wait::Room | Wait::Ready => Instant::ZERO,
            })
            .min()
    }

    fn resolved(&mut self, ip: IpAddress) {
        for p in self.parked.iter_mut() {
            if matches!(p.wait, Wait::Neighbour { hop, .. } if hop == ip) {
                p.wait = Wait::Ready;
            }
        }
    }

    fn park(&mut self, frame: &[u8], wait: Wait) -> bool {
        let Ok(frame) = heapless::Vec::from_slice(frame) else { return false };
        self.parked.push(Parked { frame, wait }).is_ok()
    }

    fn take_ready(&mut self) -> Option<heapless::Vec<u8, PARK_FRAME>> {
        let i = self.parked.iter().position(|p| p.wait == Wait::Ready)?;
        Some(self.parked.swap_remove(i).frame)
    }
}

/// Where the device stands, copied in for one ingress or egress step.
#[derive(Clone)]
pub(crate) struct Net {
    pub mac: EthernetAddress,
    pub addrs: heapless::Vec<IpCidr, 3>,
    pub gateway: Option<Ipv4Address>,
    pub config: EchoConfig,
    pub now: Instant,
}

impl Net {
    fn is_ours(&self, ip: IpAddress) -> bool {
        self.addrs.iter().any(|c| c.address() == ip)
    }

    fn on_link(&self, ip: IpAddress) -> bool {
        self.addrs.iter().any(|c| c.contains_addr(&ip))
    }

    /// The neighbour a packet to `ip` goes to, if any.
    fn next_hop(&self, ip: IpAddress) -> Option<IpAddress> {
        if self.on_link(ip) {
            return Some(ip);
        }
        match ip {
            IpAddress::Ipv4(_) => self.gateway.map(IpAddress::Ipv4),
            #[cfg(feature = "ipv6")]
            IpAddress::Ipv6(_) => None,
        }
    }

    fn source_for(&self, dst: IpAddress) -> Option<IpAddress> {
        let same_family = |c: &&IpCidr| core::mem::discriminant(&c.address()) == core::mem::discriminant(&dst);
        let addrs = || self.addrs.iter().filter(same_family);
        addrs().find(|c| c.contains_addr(&dst)).or_else(|| addrs().next()).map(|c| c.address())
    }
}

/// Everything the guard works on during one step, shared by the receive and
/// transmit tokens (smoltcp holds both at once, and uses the transmit token
/// while the received frame is being processed).
pub(crate) struct Cx<'s> {
    pub guard: &'s mut Guard,
    pub slots: &'s mut [Slot],
    pub stats: &'s mut Stats,
    pub events: &'s mut Events,
    pub net: &'s Net,
    /// Slots listening now; a SYN the guard lets through takes one.
    pub listeners: usize,
    /// Set when a frame may have changed a slot's state: the server looks
    /// at the slots again before the next frame.
    pub changed: bool,
}

/// The device as smoltcp sees it.
pub(crate) struct Guarded<'d, 's, D: ?Sized> {
    pub inner: &'d mut D,
    pub cx: &'d RefCell<Cx<'s>>,
}

impl<'s, D: Device + ?Sized> Device for Guarded<'_, 's, D> {
    type RxToken<'a>
        = GuardRx<'a, 's, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = GuardTx<'a, 's, D::TxToken<'a>>
    where
        Self: 'a;

    fn receive(&mut self, ts: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let cx: &RefCell<Cx<'s>> = self.cx;
        let ready = cx.try_borrow().is_ok_and(|c| c.guard.parked.iter().any(|p| p.wait == Wait::Ready));
        if ready {
            let tx = self.inner.transmit(ts)?;
            return Some((GuardRx::Replay(cx), GuardTx { inner: tx, cx }));
        }
        let (rx, tx) = self.inner.receive(ts)?;
        Some((GuardRx::Wire(rx, cx), GuardTx { inner: tx, cx }))
    }

    fn transmit(&mut self, ts: Instant) -> Option<Self::TxToken<'_>> {
        let cx: &RefCell<Cx<'s>> = self.cx;
        Some(GuardTx { inner: self.inner.transmit(ts)?, cx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

/// A frame from the wire, or one the guard held back and now hands over.
pub(crate) enum GuardRx<'a, 's, T> {
    Wire(T, &'a RefCell<Cx<'s>>),
    Replay(&'a RefCell<Cx<'s>>),
}

impl<T: RxToken> RxToken for GuardRx<'_, '_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            GuardRx::Wire(inner, cx) => inner.consume(|frame| {
                let verdict = match cx.try_borrow_mut() {
                    Ok(mut cx) => inspect(&mut cx, frame),
                    Err(_) => Verdict::Pass,
                };
                match verdict {
                    Verdict::Pass => f(frame),
                    // smoltcp drops an empty frame without a word.
                    Verdict::Drop => f(&[]),
                }
            }),
            GuardRx::Replay(cx) => {
                let frame = cx.try_borrow_mut().ok().and_then(|mut cx| {
                    cx.changed = true;
                    cx.guard.take_ready()
                });
                f(frame.as_deref().unwrap_or(&[]))
            }
        }
    }

    fn meta(&self) -> smoltcp::phy::PacketMeta {
        match self {
            GuardRx::Wire(inner, _) => inner.meta(),
            GuardRx::Replay(_) => smoltcp::phy::PacketMeta::default(),
        }
    }
}

/// Sends smoltcp's frame and learns from it.
pub(crate) struct GuardTx<'a, 's, T> {
    inner: T,
    cx: &'a RefCell<Cx<'s>>,
}

impl<T: TxToken> TxToken for GuardTx<'_, '_, T> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let cx = self.cx;
        self.inner.consume(len, |buf| {
            let r = f(buf);
            if let Ok(mut cx) = cx.try_borrow_mut() {
                if let Some(cap) = learn(&mut cx, buf) {
                    cap.apply(buf, cx.guard.fill_tcp_checksum);
                }
            }
            r
        })
    }

    fn set_meta(&mut self, meta: smoltcp::phy::PacketMeta) {
        self.inner.set_meta(meta)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Drop,
}

/// Decides what becomes of one received frame. Anything smoltcp would drop
/// anyway (malformed, not for us, bad checksum) passes untouched.
fn inspect(cx: &mut Cx, frame: &[u8]) -> Verdict {
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return Verdict::Pass };
    let dst = eth.dst_addr();
    if dst != cx.net.mac && !dst.is_broadcast() && !dst.is_multicast() {
        return Verdict::Pass;
    }
    match eth.ethertype() {
        EthernetProtocol::Arp => arp(cx, eth.payload()),
        EthernetProtocol::Ipv4 => ipv4(cx, eth.src_addr(), frame, eth.payload()),
        #[cfg(feature = "ipv6")]
        EthernetProtocol::Ipv6 => ipv6(cx, eth.src_addr(), frame, eth.payload()),
        _ => Verdict::Pass,
    }
}

fn arp(cx: &mut Cx, payload: &[u8]) -> Verdict {
    let Ok(packet) = ArpPacket::new_checked(payload) else { return Verdict::Pass };
    let Ok(ArpRepr::EthernetIpv4 { source_hardware_addr: mac, source_protocol_addr: ip, target_protocol_addr, .. }) =
        ArpRepr::parse(&packet)
    else {
        return Verdict::Pass;
    };
    let sender = IpAddress::Ipv4(ip);
    // The frames smoltcp fills its cache from (ARP aimed at us from an
    // on-link unicast sender); it ignores the rest.
    if !cx.net.is_ours(IpAddress::Ipv4(target_protocol_addr)) || !sender.is_unicast() || !mac.is_unicast() {
        return Verdict::Pass;
    }
    if !cx.net.on_link(sender) {
        return Verdict::Pass;
    }
    neighbour_seen(cx, sender, mac)
}

/// A frame would tell smoltcp that `ip` is at `mac`: refuse it if a live
/// connection's peer would be re-pointed, else note it.
fn neighbour_seen(cx: &mut Cx, ip: IpAddress, mac: EthernetAddress) -> Verdict {
    let net = cx.net;
    let live = cx.slots.iter().find(|s| {
        s.flow.known
            && matches!(s.state, SlotState::Handshake | SlotState::Open | SlotState::Closing)
            && s.remote.and_then(|r| net.next_hop(r.addr)) == Some(ip)
    });
    if let Some(live) = live {
        if live.flow.peer_mac != mac {
            cx.stats.neighbour_spoofs += 1;
            if cx.events.allow(net.now) {
                warn!("ignored a claim that {} (live connection) moved to {}", ip, mac);
            }
            return Verdict::Drop;
        }
    }
    cx.guard.neighbours.fill(ip, mac, net.now);
    cx.guard.resolved(ip);
    Verdict::Pass
}

fn ipv4(cx: &mut Cx, src_mac: EthernetAddress, frame: &[u8], payload: &[u8]) -> Verdict {
    let Ok(ip) = Ipv4Packet::new_checked(payload) else { return Verdict::Pass };
    if !ip.verify_checksum() || ip.more_frags() || ip.frag_offset() != 0 {
        return Verdict::Pass;
    }
    let (src, dst) = (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()));
    let ours = cx.net.is_ours(dst);
    match ip.next_header() {
        IpProtocol::Tcp if ours => tcp(cx, src_mac, frame, src, dst, ip.payload()),
        IpProtocol::Udp => udp(cx, frame, src, dst, ours, ip.payload()),
        IpProtocol::Icmp if !ours => {
            // Broadcast pings are not answered (Linux: icmp_echo_ignore_broadcasts).
            let is_echo = smoltcp::wire::Icmpv4Packet::new_checked(ip.payload())
                .is_ok_and(|p| p.msg_type() == smoltcp::wire::Icmpv4Message::EchoRequest);
            if is_echo {
                cx.stats.icmp_suppressed += 1;
                return Verdict::Drop;
            }
            Verdict::Pass
        }
        IpProtocol::Tcp | IpProtocol::Icmp => Verdict::Pass,
        // An unknown protocol draws "protocol unreachable": keep those few.
        _ if ours => icmp_error_allowed(cx),
        _ => Verdict::Pass,
    }
}

/// Whether smoltcp may answer this packet with an ICMP error (token bucket).
fn icmp_error_allowed(cx: &mut Cx) -> Verdict {
    if cx.guard.icmp_errors.take(cx.net.now) {
        return Verdict::Pass;
    }
    cx.stats.icmp_suppressed += 1;
    Verdict::Drop
}

#[cfg(feature = "ipv6")]
fn ipv6(cx: &mut Cx, src_mac: EthernetAddress, frame: &[u8], payload: &[u8]) -> Verdict {
    let Ok(ip) = Ipv6Packet::new_checked(payload) else { return Verdict::Pass };
    let (src, dst) = (IpAddress::Ipv6(ip.src_addr()), IpAddress::Ipv6(ip.dst_addr()));
    let ours = cx.net.is_ours(dst);
    match ip.next_header() {
        IpProtocol::Icmpv6 => icmpv6(cx, ip.src_addr(), ip.dst_addr(), ip.payload()),
        IpProtocol::Tcp if ours => tcp(cx, src_mac, frame, src, dst, ip.payload()),
        IpProtocol::Udp => udp(cx, frame, src, dst, ours, ip.payload()),
        // Hop-by-hop options carry MLD; smoltcp needs those.
        IpProtocol::HopByHop => Verdict::Pass,
        // Anything else to a multicast group would draw an ICMPv6 error
        // from smoltcp, which RFC 4443 §2.4(e) forbids.
        _ if ip.dst_addr().is_multicast() => {
            cx.stats.icmp_suppressed += 1;
            Verdict::Drop
        }
        // An unknown next header draws "parameter problem": keep those few.
        _ if ours => icmp_error_allowed(cx),
        _ => Verdict::Pass,
    }
}

#[cfg(feature = "ipv6")]
fn icmpv6(cx: &mut Cx, src: Ipv6Address, dst: Ipv6Address, payload: &[u8]) -> Verdict {
    let Ok(icmp) = Icmpv6Packet::new_checked(payload) else { return Verdict::Pass };
    if !icmp.verify_checksum(&src, &dst) {
        return Verdict::Pass;
    }
    match icmp.msg_type() {
        Icmpv6Message::EchoRequest if dst.is_multicast() => {
            cx.stats.icmp_suppressed += 1;
            Verdict::Drop
        }
        Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => {
            let lladdr = match NdiscRepr::parse(&icmp) {
                Ok(NdiscRepr::NeighborSolicit { lladdr, .. }) => lladdr,
                Ok(NdiscRepr::NeighborAdvert { lladdr, .. }) => lladdr,
                _ => None,
            };
            // smoltcp fills its cache from the IP source of either, when it
            // carries a link-layer address.
            match lladdr.map(|l| l.as_bytes().len() == 6).and(lladdr) {
                Some(l) if IpAddress::Ipv6(src).is_unicast() && l.as_bytes().len() == 6 => {
                    let mac = EthernetAddress::from_bytes(l.as_bytes());
                    if !mac.is_unicast() {
                        return Verdict::Pass;
                    }
                    neighbour_seen(cx, IpAddress::Ipv6(src), mac)
                }
                _ => Verdict::Pass,
            }
        }
        _ => Verdict::Pass,
    }
}

fn udp(cx: &mut Cx, frame: &[u8], src: IpAddress, dst: IpAddress, ours: bool, payload: &[u8]) -> Verdict {
    let Ok(udp) = UdpPacket::new_checked(payload) else { return Verdict::Pass };
    let now = cx.net.now;
    if udp.dst_port() != cx.net.config.port {
        if udp.dst_port() == DHCP_CLIENT_PORT {
            return Verdict::Pass;
        }
        if !ours {
            // To a group or broadcast: smoltcp could only answer with an error.
            cx.stats.icmp_suppressed += 1;
            return Verdict::Drop;
        }
        // A closed port draws "port unreachable": keep those few.
        return icmp_error_allowed(cx);
    }
    let sport = udp.src_port();
    let plausible = ours
        && src.is_unicast()
        && !is_loopback(src)
        && !cx.net.is_ours(src)
        && !ECHO_STYLE_PORTS.contains(&sport)
        && sport != cx.net.config.port
        && udp.len() as usize > smoltcp::wire::UDP_HEADER_LEN;
    if !plausible {
        cx.stats.udp_filtered += 1;
        if cx.events.allow(now) {
            debug!("udp from {}:{} to {} not answered (policy)", src, sport, dst);
        }
        return Verdict::Drop;
    }
    if !udp.verify_checksum(&src, &dst) {
        return Verdict::Pass; // smoltcp drops it
    }
    if !cx.guard.udp.take(now) {
        cx.stats.udp_rate_limited += 1;
        return Verdict::Drop;
    }
    let Some(hop) = cx.net.next_hop(src) else {
        cx.stats.udp_filtered += 1;
        return Verdict::Drop; // no route back: smoltcp would hold the reply forever
    };
    if cx.guard.neighbours.lookup(hop, now).is_some() {
        return Verdict::Pass;
    }
    // Resolve first, answer after: hold the datagram, probe the neighbour.
    let wait = Wait::Neighbour { hop, deadline: now + RESOLVE_WITHIN, next_probe: now + PROBE_EVERY };
    if cx.guard.park(frame, wait) {
        let _ = cx.guard.replies.push(Reply::Probe(hop));
    } else {
        cx.stats.udp_unresolved += 1;
    }
    Verdict::Drop
}

fn is_loopback(ip: IpAddress) -> bool {
    match ip {
        IpAddress::Ipv4(a) => a.is_loopback(),
        #[cfg(feature = "ipv6")]
        IpAddress::Ipv6(a) => a.is_loopback(),
    }
}

fn tcp(cx: &mut Cx, src_mac: EthernetAddress, frame: &[u8], src: IpAddress, dst: IpAddress, payload: &[u8]) -> Verdict {
    let Ok(seg) = TcpPacket::new_checked(payload) else { return Verdict::Pass };
    if seg.dst_port() != cx.net.config.port {
        return Verdict::Pass;
    }
    let now = cx.net.now;
    let remote = IpEndpoint::new(src, seg.src_port());
    let slot =
        cx.slots.iter().position(|s| !s.is_free() && s.remote == Some(remote) && s.local.is_none_or(|l| l.addr == dst));
    let seq = seg.seq_number().0 as u32;
    let plain = !seg.syn() && !seg.rst();
    // Segments the guard acts on must be intact (smoltcp drops the others);
    // data and ACKs pass without a second pass over up to 64 KiB of payload:
    // at worst a corrupted one moves `peer_nxt`, which an RST must still hit exactly.
    if !plain && !seg.verify_checksum(&src, &dst) {
        return Verdict::Pass;
    }
    match (slot, seg.syn(), seg.ack(), seg.rst()) {
        (Some(i), _, _, true) => {
            let flow = &mut cx.slots[i].flow;
            if !flow.known || seq == flow.rcv_nxt || seq == flow.peer_nxt {
                return Verdict::Pass;
            }
            cx.stats.rst_ignored += 1;
            if seq.wrapping_sub(flow.rcv_nxt) < flow.rcv_wnd.max(1) && flow.may_reply(now, CHALLENGE_EVERY) {
                cx.stats.challenge_acks += 1;
                let _ = cx.guard.replies.push(Reply::ChallengeAck(i));
            }
            if cx.events.allow(now) {
                debug!("{}: RST at {} ignored (expected {})", remote, seq, flow.rcv_nxt);
            }
            Verdict::Drop
        }
        (Some(i), true, false, false) => {
            let handshake = cx.slots[i].state == SlotState::Handshake;
            let flow = &mut cx.slots[i].flow;
            if handshake && flow.synack.sent {
                if flow.may_reply(now, SYNACK_EVERY) {
                    cx.stats.synack_resent += 1;
                    let _ = cx.guard.replies.push(Reply::SynAck(i));
                }
            } else if !handshake && flow.known && flow.may_reply(now, CHALLENGE_EVERY) {
                cx.stats.challenge_acks += 1;
                let _ = cx.guard.replies.push(Reply::ChallengeAck(i));
            }
            Verdict::Drop
        }
        (None, true, false, false) => new_syn(cx, src_mac, frame, remote, dst, seq),
        (Some(i), false, true, false) => {
            // The ACK that completes a handshake: the server must see the slot
            // open before the next SYN, or it would take it for a half-open one.
            if cx.slots[i].state == SlotState::Handshake {
                cx.changed = true;
            }
            let flow = &mut cx.slots[i].flow;
            if flow.known && seq == flow.peer_nxt {
                let len = seg.payload().len() as u32 + seg.fin() as u32;
                flow.peer_nxt = seq.wrapping_add(len);
            }
            Verdict::Pass
        }
        _ => Verdict::Pass,
    }
}

/// A SYN for a new connection: let it through to a listener, make room for
/// it, or let smoltcp refuse it.
fn new_syn(
    cx: &mut Cx,
    src_mac: EthernetAddress,
    frame: &[u8],
    remote: IpEndpoint,
    dst: IpAddress,
    seq: u32,
) -> Verdict {
    let net = cx.net;
    let now = net.now;
    let local = IpEndpoint::new(dst, net.config.port);
    if let Some(max) = net.config.max_per_host {
        let held =
            cx.slots.iter().filter(|s| s.is_serving() && s.remote.is_some_and(|r| r.addr == remote.addr)).count();
        if held >= max {
            cx.stats.refused += 1;
            if cx.events.allow(now) {
                warn!("refused {}: it already holds {} connections", remote, held);
            }
            let _ = cx.guard.replies.push(Reply::Refuse { mac: src_mac, local, remote, ack: seq.wrapping_add(1) });
            return Verdict::Drop;
        }
    }
    if cx.listeners > 0 {
        cx.listeners -= 1;
        cx.changed = true;
        return Verdict::Pass;
    }
    if cx.guard.make_room.is_none() {
        if let Some(victim) = victim(cx.slots, &net.config, now) {
            if cx.guard.park(frame, Wait::Room) {
                cx.guard.make_room = Some(victim);
                return Verdict::Drop;
            }
        }
    }
    cx.stats.refused += 1;
    if cx.events.allow(now) {
        warn!("refused {}: all {} slots busy", remote, net.config.backlog);
    }
    Verdict::Pass
}

/// The slot that gives way to a new client when none listens: the oldest
/// half-open handshake, unless it is younger than [`HANDSHAKE_GRACE`]; else, while fewer than the backlog are served, the
/// oldest connection finishing its close; else the open connection silent
/// longest, if silent long enough.
pub(crate) fn victim(slots: &[Slot], config: &EchoConfig, now: Instant) -> Option<usize> {
    let oldest =
        |state: SlotState| (0..slots.len()).filter(|&i| slots[i].state == state).min_by_key(|&i| slots[i].since);
    if let Some(i) = oldest(SlotState::Handshake).filter(|&i| now - slots[i].since.min(now) >= HANDSHAKE_GRACE) {
        return Some(i);
    }
    let serving = slots.iter().filter(|s| s.is_serving()).count();
    if serving < config.backlog {
        return oldest(SlotState::Closing);
    }
    let limit = config.evict_silent_after?;
    (0..slots.len())
        .filter(|&i| slots[i].state == SlotState::Open)
        .min_by_key(|&i| slots[i].last_progress)
        .filter(|&i| now - slots[i].last_progress.min(now) >= limit)
}

/// Learns from a frame smoltcp sends; says how to cap its window if the
/// connection's share of [`EchoConfig::rx_window_budget`] is smaller.
fn learn(cx: &mut Cx, frame: &[u8]) -> Option<WindowCap> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, dst, proto, tcp, ip_header) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let header = usize::from(ip.header_len());
            (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()), ip.next_header(), ip.payload(), header)
        }
        #[cfg(feature = "ipv6")]
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            // smoltcp sends no extension headers.
            (IpAddress::Ipv6(ip.src_addr()), IpAddress::Ipv6(ip.dst_addr()), ip.next_header(), ip.payload(), 40)
        }
        _ => return None,
    };
    if proto == IpProtocol::Udp {
        if UdpPacket::new_checked(tcp).is_ok_and(|u| u.src_port() == cx.net.config.port) {
            cx.guard.udp_sent += 1;
        }
        return None;
    }
    if proto != IpProtocol::Tcp {
        return None;
    }
    let seg = TcpPacket::new_checked(tcp).ok()?;
    if seg.src_port() != cx.net.config.port {
        return None;
    }
    let share = cx.net.config.rx_window_budget.map(|budget| {
        // Counted before this segment's slot is borrowed; a handshake whose
        // SYN-ACK this is counts already (it is serving).
        let serving = cx.slots.iter().filter(|s| s.is_serving()).count().max(1);
        (budget / serving).max(MIN_WINDOW_SHARE)
    });
    let remote = IpEndpoint::new(dst, seg.dst_port());
    let slot = cx
        .slots
        .iter_mut()
        .find(|s| !s.is_free() && s.remote == Some(remote) && s.local.is_none_or(|l| l.addr == src))?;
    let flow = &mut slot.flow;
    if seg.rst() {
        *flow = Flow::NONE;
        return None;
    }
    let seq = seg.seq_number().0 as u32;
    let len = seg.payload().len() as u32 + seg.syn() as u32 + seg.fin() as u32;
    let end = seq.wrapping_add(len);
    let first = !flow.known;
    if first || (end.wrapping_sub(flow.snd_nxt) as i32) > 0 {
        flow.snd_nxt = end;
    }
    flow.known = true;
    flow.peer_mac = eth.dst_addr();
    if seg.syn() && seg.ack() {
        let caps = ChecksumCapabilities::ignored();
        if let Ok(repr) = TcpRepr::parse(&seg, &src, &dst, &caps) {
            flow.wshift = repr.window_scale.unwrap_or(0);
            flow.synack = SynAck {
                sent: true,
                seq,
                ack: seg.ack_number().0 as u32,
                window: repr.window_len,
                wscale: repr.window_scale,
                mss: repr.max_seg_size,
                sack: repr.sack_permitted,
                timestamp: repr.timestamp,
            };
        }
    } else {
        flow.synack = SynAck::NONE;
    }
    let mut cap = None;
    if seg.ack() {
        flow.rcv_nxt = seg.ack_number().0 as u32;
        // Never behind what we acknowledge; never ahead of the peer's data
        // (a stale estimate just falls back to `rcv_nxt`).
        if first || (flow.rcv_nxt.wrapping_sub(flow.peer_nxt) as i32) > 0 {
            flow.peer_nxt = flow.rcv_nxt;
        }
        // A SYN's window is never scaled (RFC 7323 §2.2).
        let shift = if seg.syn() { 0 } else { flow.wshift };
        let mut window = seg.window_len();
        if let Some(share) = share {
            // Rounded up: never below the one full segment the share promises.
            let limit = u16::try_from(share.div_ceil(1 << shift)).unwrap_or(u16::MAX);
            if window > limit {
                window = limit;
                cap = Some(WindowCap { tcp_at: ETHERNET_HEADER_LEN + ip_header, window });
            }
        }
        // A SYN-ACK the guard sends again (`flush`) carries the capped window too.
        if seg.syn() {
            flow.synack.window = window;
        }
        flow.rcv_wnd = (window as u32).checked_shl(shift.into()).unwrap_or(u32::MAX);
    }
    flow.tsecr = timestamp_echo(&seg);
    cap
}

/// A smaller window for a segment smoltcp is sending.
struct WindowCap {
    /// Where the TCP header starts in the frame.
    tcp_at: usize,
    window: u16,
}

impl WindowCap {
    /// Writes the window, and updates the checksum if `checksummed`
    /// (incrementally, RFC 1624 eqn. 3: only the window changed).
    fn apply(&self, frame: &mut [u8], checksummed: bool) {
        let Some(tcp) = frame.get_mut(self.tcp_at..) else { return };
        let Ok(mut seg) = TcpPacket::new_checked(tcp) else { return };
        let old = seg.window_len();
        seg.set_window_len(self.window);
        if checksummed {
            let mut sum = u32::from(!seg.checksum()) + u32::from(!old) + u32::from(self.window);
            sum = (sum & 0xffff) + (sum >> 16);
            sum = (sum & 0xffff) + (sum >> 16);
            seg.set_checksum(!(sum as u16));
        }
    }
}

/// The TSecr of a segment's timestamp option, if it has one.
fn timestamp_echo(seg: &TcpPacket<&[u8]>) -> Option<u32> {
    let mut options = seg.options();
    while !options.is_empty() {
        let (rest, option) = smoltcp::wire::TcpOption::parse(options).ok()?;
        match option {
            smoltcp::wire::TcpOption::EndOfList => return None,
            smoltcp::wire::TcpOption::TimeStamp { tsecr, .. } => return Some(tsecr),
            _ => options = rest,
        }
    }
    None
}

/// Sends what the guard decided to send on its own during the last frame.
pub(crate) fn flush<D: Device + ?Sized>(guard: &mut Guard, slots: &[Slot], net: &Net, device: &mut D) {
    let caps = device.capabilities().checksum;
    while let Some(reply) = guard.replies.pop() {
        let Some(token) = device.transmit(net.now) else {
            guard.replies.clear();
            return;
        };
        match reply {
            Reply::ChallengeAck(i) | Reply::SynAck(i) => {
                let slot = &slots[i];
                let (Some(remote), Some(local)) = (slot.remote, slot.local) else { continue };
                let flow = &slot.flow;
                let ts = flow.tsecr.map(|tsecr| TcpTimestampRepr { tsval: tcp_timestamps::tsval(), tsecr });
                let synack = flow.synack;
                let repr = match reply {
                    Reply::SynAck(_) if synack.sent => TcpRepr {
                        src_port: local.port,
                        dst_port: remote.port,
                        control: TcpControl::Syn,
                        seq_number: TcpSeqNumber(synack.seq as i32),
                        ack_number: Some(TcpSeqNumber(synack.ack as i32)),
                        window_len: synack.window,
                        window_scale: synack.wscale,
                        max_seg_size: synack.mss,
                        sack_permitted: synack.sack,
                        sack_ranges: [None; 3],
                        timestamp: synack.timestamp.map(|t| TcpTimestampRepr { tsval: tcp_timestamps::tsval(), ..t }),
                        payload: &[],
                    },
                    _ => {
                        let window = flow.rcv_wnd.checked_shr(flow.wshift.into()).unwrap_or(0).min(u16::MAX as u32);
                        segment(local, remote, TcpControl::None, flow.snd_nxt, flow.rcv_nxt, window as u16, ts)
                    }
                };
                send_tcp(token, net.mac, flow.peer_mac, local.addr, remote.addr, &repr, &caps);
            }
            Reply::Refuse { mac, local, remote, ack } => {
                let repr = segment(local, remote, TcpControl::Rst, 0, ack, 0, None);
                send_tcp(token, net.mac, mac, local.addr, remote.addr, &repr, &caps);
            }
            Reply::Probe(hop) => probe(token, net, hop, &caps),
        }
    }
}

/// A segment without options or payload, as the guard sends them.
fn segment(
    local: IpEndpoint,
    remote: IpEndpoint,
    control: TcpControl,
    seq: u32,
    ack: u32,
    window: u16,
    timestamp: Option<TcpTimestampRepr>,
) -> TcpRepr<'static> {
    TcpRepr {
        src_port: local.port,
        dst_port: remote.port,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: Some(TcpSeqNumber(ack as i32)),
        window_len: window,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp,
        payload: &[],
    }
}

fn send_tcp<T: TxToken>(
    token: T,
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: IpAddress,
    dst: IpAddress,
    tcp: &TcpRepr,
    caps: &ChecksumCapabilities,
) {
    let ip_len = match (src, dst) {
        (IpAddress::Ipv4(_), IpAddress::Ipv4(_)) => 20,
        #[cfg(feature = "ipv6")]
        (IpAddress::Ipv6(_), IpAddress::Ipv6(_)) => 40,
        #[allow(unreachable_patterns)]
        _ => return,
    };
    let len = EthernetFrame::<&[u8]>::header_len() + ip_len + tcp.buffer_len();
    token.consume(len, |buf| {
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        let ethertype = if ip_len == 20 { EthernetProtocol::Ipv4 } else { EthernetProtocol::Ipv6 };
        EthernetRepr { src_addr: src_mac, dst_addr: dst_mac, ethertype }.emit(&mut eth);
        let ip_buf = eth.payload_mut();
        match (src, dst) {
            (IpAddress::Ipv4(s), IpAddress::Ipv4(d)) => {
                let repr = Ipv4Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: IpProtocol::Tcp,
                    payload_len: tcp.buffer_len(),
                    hop_limit: 64,
                };
                let mut ip = Ipv4Packet::new_unchecked(&mut ip_buf[..]);
                repr.emit(&mut ip, caps);
            }
            #[cfg(feature = "ipv6")]
            (IpAddress::Ipv6(s), IpAddress::Ipv6(d)) => {
                let repr = Ipv6Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: IpProtocol::Tcp,
                    payload_len: tcp.buffer_len(),
                    hop_limit: 64,
                };
                let mut ip = Ipv6Packet::new_unchecked(&mut ip_buf[..]);
                repr.emit(&mut ip);
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
        let mut seg = TcpPacket::new_unchecked(&mut ip_buf[ip_len..]);
        tcp.emit(&mut seg, &src, &dst, caps);
    })
}

/// Asks who has `hop`: an ARP request, or a neighbour solicitation.
fn probe<T: TxToken>(token: T, net: &Net, hop: IpAddress, _caps: &ChecksumCapabilities) {
    let Some(src) = net.source_for(hop) else { return };
    match (src, hop) {
        (IpAddress::Ipv4(src), IpAddress::Ipv4(target)) => {
            let arp = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: net.mac,
                source_protocol_addr: src,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: target,
            };
            let len = EthernetFrame::<&[u8]>::header_len() + arp.buffer_len();
            token.consume(len, |buf| {
                let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
                EthernetRepr {
                    src_addr: net.mac,
                    dst_addr: EthernetAddress::BROADCAST,
                    ethertype: EthernetProtocol::Arp,
                }
                .emit(&mut eth);
                arp.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
            });
        }
        #[cfg(feature = "ipv6")]
        (IpAddress::Ipv6(src), IpAddress::Ipv6(target)) => {
            let t = target.octets();
            let group =
                Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | t[13] as u16, u16::from_be_bytes([t[14], t[15]]));
            let icmp =
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr: target, lladdr: Some(net.mac.into()) });
            let ip = Ipv6Repr {
                src_addr: src,
                dst_addr: group,
                next_header: IpProtocol::Icmpv6,
                payload_len: icmp.buffer_len(),
                hop_limit: 255,
            };
            let g = group.octets();
            let dst_mac = EthernetAddress([0x33, 0x33, g[12], g[13], g[14], g[15]]);
            let len = EthernetFrame::<&[u8]>::header_len() + ip.buffer_len() + icmp.buffer_len();
            token.consume(len, |buf| {
                let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
                EthernetRepr { src_addr: net.mac, dst_addr: dst_mac, ethertype: EthernetProtocol::Ipv6 }.emit(&mut eth);
                let mut packet = Ipv6Packet::new_unchecked(eth.payload_mut());
                ip.emit(&mut packet);
                let mut payload = Icmpv6Packet::new_unchecked(packet.payload_mut());
                icmp.emit(&src, &group, &mut payload, _caps);
            });
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Tells the peer of a connection we are about to drop that it is gone: an
/// RST at our next sequence number (smoltcp would not send one for a socket
/// that listens again at once).
pub(crate) fn reset_peer<D: Device + ?Sized>(slot: &Slot, net: &Net, device: &mut D) {
    let (Some(remote), Some(local), true) = (slot.remote, slot.local, slot.flow.known) else { return };
    let caps = device.capabilities().checksum;
    let Some(token) = device.transmit(net.now) else { return };
    let flow = &slot.flow;
    let repr = segment(local, remote, TcpControl::Rst, flow.snd_nxt, flow.rcv_nxt, 0, None);
    send_tcp(token, net.mac, flow.peer_mac, local.addr, remote.addr, &repr, &caps);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP frame as smoltcp emits it, checksum filled in.
    fn segment_frame(window: u16, payload: &[u8]) -> ([u8; 1100], Ipv4Address, Ipv4Address) {
        let (src, dst) = (Ipv4Address::new(192, 168, 69, 1), Ipv4Address::new(192, 168, 69, 100));
        let tcp = TcpRepr {
            src_port: 12345,
            dst_port: 40000,
            control: TcpControl::Psh,
            seq_number: TcpSeqNumber(0x1234_5678),
            ack_number: Some(TcpSeqNumber(0x0bad_cafe)),
            window_len: window,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut frame = [0u8; 1100];
        let caps = ChecksumCapabilities::default();
        let end = ETHERNET_HEADER_LEN + 20 + tcp.buffer_len();
        let mut ipp = Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..end]);
        ip.emit(&mut ipp, &caps);
        tcp.emit(&mut TcpPacket::new_unchecked(ipp.payload_mut()), &src.into(), &dst.into(), &caps);
        (frame, src, dst)
    }

    #[test]
    fn a_capped_window_keeps_the_checksum_valid() {
        let mut payload = [0u8; 1000];
        payload.iter_mut().enumerate().for_each(|(i, b)| *b = (i * 7) as u8);
        for window in [0u16, 1, 1460, 8192, 0x8000, 0xfffe, 0xffff] {
            for cap in [0u16, 1, 1752, 0x7fff, 0xffff] {
                for len in [0, 1, 7, 1000] {
                    let (mut frame, src, dst) = segment_frame(window, &payload[..len]);
                    WindowCap { tcp_at: ETHERNET_HEADER_LEN + 20, window: cap }.apply(&mut frame, true);
                    let seg = TcpPacket::new_checked(&frame[ETHERNET_HEADER_LEN + 20..ETHERNET_HEADER_LEN + 40 + len])
                        .unwrap();
                    assert_eq!(seg.window_len(), cap);
                    assert!(seg.verify_checksum(&src.into(), &dst.into()), "window {window} -> {cap}, {len} B");
                }
            }
        }
    }

    #[test]
    fn a_checksum_left_to_the_device_stays_untouched() {
        let (mut frame, ..) = segment_frame(8192, b"x");
        TcpPacket::new_unchecked(&mut frame[ETHERNET_HEADER_LEN + 20..]).set_checksum(0);
        WindowCap { tcp_at: ETHERNET_HEADER_LEN + 20, window: 1460 }.apply(&mut frame, false);
        let seg = TcpPacket::new_checked(&frame[ETHERNET_HEADER_LEN + 20..ETHERNET_HEADER_LEN + 41]).unwrap();
        assert_eq!((seg.window_len(), seg.checksum()), (1460, 0));
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let mut b = Bucket::new(10);
        let t0 = Instant::from_secs(1);
        assert_eq!((0..20).filter(|_| b.take(t0)).count(), 10);
        assert!(!b.take(t0 + Duration::from_millis(50)));
        assert!(b.take(t0 + Duration::from_millis(100)));
        // A long pause earns one burst, not more.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| b.take(later)).count(), 10);
        // Rate 0 is unlimited; a huge rate cannot overflow.
        assert!((0..1000).all(|_| Bucket::new(0).take(t0)));
        let mut huge = Bucket::new(u32::MAX);
        assert!(huge.take(t0) && huge.take(t0 + Duration::from_secs(5)));
    }

    fn slot(state: SlotState, since_ms: i64, progress_ms: i64) -> Slot {
        Slot {
            state,
            since: Instant::from_millis(since_ms),
            last_progress: Instant::from_millis(progress_ms),
            ..Slot::EMPTY
        }
    }

    #[test]
    fn the_oldest_half_open_handshake_gives_way_once_past_its_grace() {
        let config = EchoConfig { backlog: 2, ..EchoConfig::DEFAULT };
        let slots = [slot(SlotState::Handshake, 100, 0), slot(SlotState::Handshake, 90, 0)];
        assert_eq!(victim(&slots, &config, Instant::from_millis(105)), None);
        assert_eq!(victim(&slots, &config, Instant::from_millis(110)), Some(1));
    }

    #[test]
    fn a_closing_connection_gives_way_only_while_the_backlog_has_room() {
        let config = EchoConfig { backlog: 2, evict_silent_after: None, ..EchoConfig::DEFAULT };
        let now = Instant::from_secs(100);
        let closing =
            [slot(SlotState::Open, 0, 99_000), slot(SlotState::Closing, 50, 0), slot(SlotState::Closing, 10, 0)];
        assert_eq!(victim(&closing, &config, now), Some(2));
        let full = [slot(SlotState::Open, 0, 0), slot(SlotState::Open, 0, 0), slot(SlotState::Closing, 10, 0)];
        assert_eq!(victim(&full, &config, now), None);
    }

    #[test]
    fn a_silent_connection_gives_way_only_after_the_threshold() {
        let config = EchoConfig { backlog: 2, ..EchoConfig::DEFAULT };
        let slots = [slot(SlotState::Open, 0, 5_000), slot(SlotState::Open, 0, 2_000)];
        assert_eq!(victim(&slots, &config, Instant::from_millis(31_999)), None);
        assert_eq!(victim(&slots, &config, Instant::from_millis(32_000)), Some(1));
        let never = EchoConfig { evict_silent_after: None, ..config };
        assert_eq!(victim(&slots, &never, Instant::from_secs(1000)), None);
    }
}
