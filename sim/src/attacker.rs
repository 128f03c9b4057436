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

use std::collections::VecDeque;

use echo_core::NetConfig;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::time::Duration;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv4Message,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpAddress, IpEndpoint, IpProtocol, Ipv4Address,
    Ipv4Packet, Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, NdiscNeighborFlags, NdiscRepr, TcpControl, TcpPacket,
    TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

use crate::link::LinkEnd;
use crate::world::World;

/// The server's MAC address.
pub const SERVER_MAC: EthernetAddress = NetConfig::DEFAULT.mac;
/// The sim client's MAC address (set in `world.rs`).
pub const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
/// The echo port.
pub const ECHO_PORT: u16 = echo_core::DEFAULT_PORT;

/// The Ethernet address IPv4 multicast `addr` maps to.
pub fn multicast_mac_v4(addr: Ipv4Address) -> EthernetAddress {
    let b = addr.octets();
    EthernetAddress([0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]])
}

/// The Ethernet address IPv6 multicast `addr` maps to.
pub fn multicast_mac_v6(addr: Ipv6Address) -> EthernetAddress {
    let b = addr.octets();
    EthernetAddress([0x33, 0x33, b[12], b[13], b[14], b[15]])
}

/// The solicited-node multicast address of `addr` (ff02::1:ffXX:XXXX).
pub fn solicited_node(addr: Ipv6Address) -> Ipv6Address {
    let b = addr.octets();
    Ipv6Address::new(0xff02, 0, 0, 0, 0, 1, u16::from_be_bytes([0xff, b[13]]), u16::from_be_bytes([b[14], b[15]]))
}

fn ethernet(src: EthernetAddress, dst: EthernetAddress, ethertype: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let eth = EthernetRepr { src_addr: src, dst_addr: dst, ethertype };
    let mut buf = vec![0; eth.buffer_len() + payload.len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf);
    eth.emit(&mut frame);
    frame.payload_mut().copy_from_slice(payload);
    buf
}

/// An Ethernet frame carrying one IP packet with `payload` (already a valid
/// TCP/UDP/ICMP message for these addresses, or anything for other protocols).
pub fn ip_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: IpAddress,
    dst: IpAddress,
    protocol: IpProtocol,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    match (src, dst) {
        (IpAddress::Ipv4(src_addr), IpAddress::Ipv4(dst_addr)) => {
            let ip = Ipv4Repr { src_addr, dst_addr, next_header: protocol, payload_len: payload.len(), hop_limit };
            let mut buf = vec![0; ip.buffer_len() + payload.len()];
            let mut packet = Ipv4Packet::new_unchecked(&mut buf);
            ip.emit(&mut packet, &ChecksumCapabilities::default());
            packet.payload_mut().copy_from_slice(payload);
            ethernet(src_mac, dst_mac, EthernetProtocol::Ipv4, &buf)
        }
        (IpAddress::Ipv6(src_addr), IpAddress::Ipv6(dst_addr)) => {
            let ip = Ipv6Repr { src_addr, dst_addr, next_header: protocol, payload_len: payload.len(), hop_limit };
            let mut buf = vec![0; ip.buffer_len() + payload.len()];
            let mut packet = Ipv6Packet::new_unchecked(&mut buf);
            ip.emit(&mut packet);
            packet.payload_mut().copy_from_slice(payload);
            ethernet(src_mac, dst_mac, EthernetProtocol::Ipv6, &buf)
        }
        _ => panic!("mixed address families: {src} -> {dst}"),
    }
}

/// A TCP segment in owned form, easy to build and to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// SYN flag.
    pub syn: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// Advertised window (unscaled field value).
    pub window: u16,
    /// Maximum segment size option.
    pub mss: Option<u16>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Segment {
    /// A bare segment from `src_port` to `dst_port` with sequence number `seq`.
    pub fn new(src_port: u16, dst_port: u16, seq: u32) -> Self {
        Segment {
            src_port,
            dst_port,
            seq,
            ack: None,
            syn: false,
            fin: false,
            rst: false,
            window: 64_000,
            mss: None,
            payload: vec![],
        }
    }

    /// A connection-opening SYN (MSS 1460).
    pub fn syn(src_port: u16, dst_port: u16, isn: u32) -> Self {
        Segment { syn: true, mss: Some(1460), ..Segment::new(src_port, dst_port, isn) }
    }

    /// An RST (without ACK) at `seq`.
    pub fn rst(src_port: u16, dst_port: u16, seq: u32) -> Self {
        Segment { rst: true, window: 0, ..Segment::new(src_port, dst_port, seq) }
    }

    /// With the ACK flag and `ack`.
    pub fn with_ack(mut self, ack: u32) -> Self {
        self.ack = Some(ack);
        self
    }

    /// With `payload`.
    pub fn with_payload(mut self, payload: &[u8]) -> Self {
        self.payload = payload.to_vec();
        self
    }

    /// Only the ACK flag set (what RFC 5961 calls a challenge ACK, when sent by the server).
    pub fn is_pure_ack(&self) -> bool {
        self.ack.is_some() && !self.syn && !self.fin && !self.rst && self.payload.is_empty()
    }

    /// SYN and ACK.
    pub fn is_syn_ack(&self) -> bool {
        self.syn && self.ack.is_some()
    }

    /// Sequence space this segment takes.
    pub fn len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.syn) + u32::from(self.fin)
    }

    /// Whether it carries neither data nor SYN/FIN.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The TCP bytes (header with checksum, payload) between `src` and `dst`.
    pub fn to_bytes(&self, src: IpAddress, dst: IpAddress) -> Vec<u8> {
        let control = match (self.syn, self.fin, self.rst) {
            (true, false, false) => TcpControl::Syn,
            (false, true, false) => TcpControl::Fin,
            (false, false, true) => TcpControl::Rst,
            (false, false, false) => TcpControl::None,
            _ => panic!("smoltcp cannot emit this flag combination: {self:?}"),
        };
        let repr = TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            control,
            seq_number: TcpSeqNumber(self.seq as i32),
            ack_number: self.ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: self.window,
            window_scale: None,
            max_seg_size: self.mss,
            sack_permitted: false,
            sack_ranges: [None, None, None],
            timestamp: None,
            payload: &self.payload,
        };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), &src, &dst, &ChecksumCapabilities::default());
        buf
    }
}

/// An Ethernet frame with one TCP segment from `src` to `dst`.
pub fn tcp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: IpAddress,
    dst: IpAddress,
    seg: &Segment,
) -> Vec<u8> {
    ip_frame(src_mac, dst_mac, src, dst, IpProtocol::Tcp, 64, &seg.to_bytes(src, dst))
}

/// An Ethernet frame with one UDP datagram from `src` to `dst`.
pub fn udp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: IpEndpoint,
    dst: IpEndpoint,
    payload: &[u8],
) -> Vec<u8> {
    let repr = UdpRepr { src_port: src.port, dst_port: dst.port };
    let mut buf = vec![0; repr.header_len() + payload.len()];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[..]),
        &src.addr,
        &dst.addr,
        payload.len(),
        |p| p.copy_from_slice(payload),
        &ChecksumCapabilities::default(),
    );
    ip_frame(src_mac, dst_mac, src.addr, dst.addr, IpProtocol::Udp, 64, &buf)
}

/// An Ethernet frame with an ICMP (v4) echo request.
pub fn ping_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Address,
    dst: Ipv4Address,
    seq_no: u16,
) -> Vec<u8> {
    let repr = Icmpv4Repr::EchoRequest { ident: 0x4242, seq_no, data: b"are you there?" };
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), &ChecksumCapabilities::default());
    ip_frame(src_mac, dst_mac, src.into(), dst.into(), IpProtocol::Icmp, 64, &buf)
}

/// An Ethernet frame with an ARP message. `target_mac` is zero in requests.
pub fn arp_frame(
    op: ArpOperation,
    eth_dst: EthernetAddress,
    sender_mac: EthernetAddress,
    sender_ip: Ipv4Address,
    target_mac: EthernetAddress,
    target_ip: Ipv4Address,
) -> Vec<u8> {
    let arp = ArpRepr::EthernetIpv4 {
        operation: op,
        source_hardware_addr: sender_mac,
        source_protocol_addr: sender_ip,
        target_hardware_addr: target_mac,
        target_protocol_addr: target_ip,
    };
    let mut buf = vec![0; arp.buffer_len()];
    arp.emit(&mut ArpPacket::new_unchecked(&mut buf));
    ethernet(sender_mac, eth_dst, EthernetProtocol::Arp, &buf)
}

fn icmpv6_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv6Address,
    dst: Ipv6Address,
    repr: &Icmpv6Repr,
) -> Vec<u8> {
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]), &ChecksumCapabilities::default());
    // Neighbour discovery is only accepted with hop limit 255 (RFC 4861).
    ip_frame(src_mac, dst_mac, src.into(), dst.into(), IpProtocol::Icmpv6, 255, &buf)
}

/// A neighbour advertisement claiming `target` is at `lladdr`, sent from
/// `src` (smoltcp maps the *source* address) with `flags`.
pub fn neighbour_advert_frame(
    eth_src: EthernetAddress,
    eth_dst: EthernetAddress,
    src: Ipv6Address,
    dst: Ipv6Address,
    target: Ipv6Address,
    lladdr: EthernetAddress,
    flags: NdiscNeighborFlags,
) -> Vec<u8> {
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert { flags, target_addr: target, lladdr: Some(lladdr.into()) });
    icmpv6_frame(eth_src, eth_dst, src, dst, &repr)
}

/// A neighbour solicitation for `target` from `src`, saying `src` is at `lladdr`.
/// Sent to `target`'s solicited-node multicast address.
pub fn neighbour_solicit_frame(
    eth_src: EthernetAddress,
    src: Ipv6Address,
    target: Ipv6Address,
    lladdr: EthernetAddress,
) -> Vec<u8> {
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr: target, lladdr: Some(lladdr.into()) });
    let dst = solicited_node(target);
    icmpv6_frame(eth_src, multicast_mac_v6(dst), src, dst, &repr)
}

/// What a frame on the wire is, parsed leniently (checksums not verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// ARP.
    Arp {
        /// Request or reply.
        op: ArpOperation,
        /// Sender hardware address.
        sender_mac: EthernetAddress,
        /// Sender protocol address.
        sender_ip: Ipv4Address,
        /// Target protocol address.
        target_ip: Ipv4Address,
    },
    /// A TCP segment.
    Tcp {
        /// Source address.
        src: IpAddress,
        /// Destination address.
        dst: IpAddress,
        /// The segment.
        seg: Segment,
    },
    /// A UDP datagram.
    Udp {
        /// Source.
        src: IpEndpoint,
        /// Destination.
        dst: IpEndpoint,
        /// Payload.
        payload: Vec<u8>,
    },
    /// ICMP (v4).
    Icmpv4 {
        /// Source address.
        src: Ipv4Address,
        /// Destination address.
        dst: Ipv4Address,
        /// Message type.
        msg: Icmpv4Message,
        /// Code.
        code: u8,
    },
    /// ICMPv6, neighbour discovery included.
    Icmpv6 {
        /// Source address.
        src: Ipv6Address,
        /// Destination address.
        dst: Ipv6Address,
        /// Message type.
        msg: Icmpv6Message,
        /// Code.
        code: u8,
        /// The target of a neighbour solicitation.
        solicited: Option<Ipv6Address>,
    },
    /// Anything else.
    Other,
}

/// One parsed Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Ethernet source.
    pub src_mac: EthernetAddress,
    /// Ethernet destination.
    pub dst_mac: EthernetAddress,
    /// What it carries.
    pub kind: Kind,
}

impl Frame {
    /// The TCP segment, if this is one.
    pub fn tcp(&self) -> Option<(IpAddress, IpAddress, &Segment)> {
        match &self.kind {
            Kind::Tcp { src, dst, seg } => Some((*src, *dst, seg)),
            _ => None,
        }
    }

    /// The TCP segment, if it goes to `to`.
    pub fn tcp_to(&self, to: IpEndpoint) -> Option<&Segment> {
        self.tcp().and_then(|(_, dst, seg)| (dst == to.addr && seg.dst_port == to.port).then_some(seg))
    }

    /// The IP destination, for IP frames.
    pub fn ip_dst(&self) -> Option<IpAddress> {
        match &self.kind {
            Kind::Tcp { dst, .. } => Some(*dst),
            Kind::Udp { dst, .. } => Some(dst.addr),
            Kind::Icmpv4 { dst, .. } => Some((*dst).into()),
            Kind::Icmpv6 { dst, .. } => Some((*dst).into()),
            _ => None,
        }
    }
}

fn parse_segment(bytes: &[u8]) -> Option<Segment> {
    let tcp = TcpPacket::new_checked(bytes).ok()?;
    let mut mss = None;
    let mut options = tcp.options();
    while !options.is_empty() {
        let Ok((rest, option)) = smoltcp::wire::TcpOption::parse(options) else { break };
        if let smoltcp::wire::TcpOption::MaxSegmentSize(m) = option {
            mss = Some(m);
        }
        if matches!(option, smoltcp::wire::TcpOption::EndOfList) {
            break;
        }
        options = rest;
    }
    Some(Segment {
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        seq: tcp.seq_number().0 as u32,
        ack: tcp.ack().then(|| tcp.ack_number().0 as u32),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        window: tcp.window_len(),
        mss,
        payload: tcp.payload().to_vec(),
    })
}

fn parse_transport(src: IpAddress, dst: IpAddress, protocol: IpProtocol, payload: &[u8]) -> Kind {
    match protocol {
        IpProtocol::Tcp => match parse_segment(payload) {
            Some(seg) => Kind::Tcp { src, dst, seg },
            None => Kind::Other,
        },
        IpProtocol::Udp => match UdpPacket::new_checked(payload) {
            Ok(udp) => Kind::Udp {
                src: IpEndpoint::new(src, udp.src_port()),
                dst: IpEndpoint::new(dst, udp.dst_port()),
                payload: udp.payload().to_vec(),
            },
            Err(_) => Kind::Other,
        },
        IpProtocol::Icmp => match (src, dst, Icmpv4Packet::new_checked(payload)) {
            (IpAddress::Ipv4(src), IpAddress::Ipv4(dst), Ok(icmp)) => {
                Kind::Icmpv4 { src, dst, msg: icmp.msg_type(), code: icmp.msg_code() }
            }
            _ => Kind::Other,
        },
        IpProtocol::Icmpv6 => match (src, dst, Icmpv6Packet::new_checked(payload)) {
            (IpAddress::Ipv6(src), IpAddress::Ipv6(dst), Ok(icmp)) => {
                let solicited = match Icmpv6Repr::parse(&src, &dst, &icmp, &ChecksumCapabilities::ignored()) {
                    Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr, .. })) => Some(target_addr),
                    _ => None,
                };
                Kind::Icmpv6 { src, dst, msg: icmp.msg_type(), code: icmp.msg_code(), solicited }
            }
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// Parses an Ethernet frame; `None` if it is not even Ethernet.
pub fn parse(frame: &[u8]) -> Option<Frame> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let kind = match eth.ethertype() {
        EthernetProtocol::Arp => match ArpPacket::new_checked(eth.payload()).ok().and_then(|p| ArpRepr::parse(&p).ok())
        {
            Some(ArpRepr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_protocol_addr,
                ..
            }) => Kind::Arp {
                op: operation,
                sender_mac: source_hardware_addr,
                sender_ip: source_protocol_addr,
                target_ip: target_protocol_addr,
            },
            _ => Kind::Other,
        },
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(eth.payload()) {
            Ok(ip) => parse_transport(ip.src_addr().into(), ip.dst_addr().into(), ip.next_header(), ip.payload()),
            Err(_) => Kind::Other,
        },
        EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(eth.payload()) {
            Ok(ip) => parse_transport(ip.src_addr().into(), ip.dst_addr().into(), ip.next_header(), ip.payload()),
            Err(_) => Kind::Other,
        },
        _ => Kind::Other,
    };
    Some(Frame { src_mac: eth.src_addr(), dst_mac: eth.dst_addr(), kind })
}

/// Parses every frame, skipping what is not Ethernet.
pub fn parse_all(frames: &[Vec<u8>]) -> Vec<Frame> {
    frames.iter().filter_map(|f| parse(f)).collect()
}

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

    fn send_segment(&self, link: &LinkEnd, conn: &RawConn, seg: &Segment) {
        link.inject(tcp_frame(self.mac, SERVER_MAC, conn.local.addr, conn.remote.addr, seg));
    }

    /// Sends a SYN from `local_port` to `remote`; returns the connection's index.
    pub fn connect(&mut self, link: &LinkEnd, remote: IpEndpoint, local_port: u16, isn: u32) -> usize {
        let conn = RawConn {
            local: IpEndpoint::new(self.ip_for(remote.addr), local_port),
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
        self.send_segment(link, &conn, &Segment::syn(local_port, remote.port, isn));
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
        let seg = Segment { fin: true, ..Segment::new(conn.local.port, conn.remote.port, conn.snd_nxt).with_ack(ack) };
        self.send_segment(link, conn, &seg);
        self.conns[c].snd_nxt = conn.snd_nxt.wrapping_add(1);
    }

    /// Sends an RST at our next sequence number (what an honest peer's abort sends).
    pub fn abort(&mut self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        self.send_segment(link, conn, &Segment::rst(conn.local.port, conn.remote.port, conn.snd_nxt));
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
            let seg = Segment::new(conn.local.port, conn.remote.port, conn.snd_nxt).with_ack(ack).with_payload(chunk);
            self.send_segment(link, conn, &seg);
            self.conns[c].snd_nxt = conn.snd_nxt.wrapping_add(chunk.len() as u32);
        }
        self.conns[c].pending.clear();
    }

    fn ack(&self, link: &LinkEnd, c: usize) {
        let conn = &self.conns[c];
        if let Some(ack) = conn.rcv_nxt {
            self.send_segment(link, conn, &Segment::new(conn.local.port, conn.remote.port, conn.snd_nxt).with_ack(ack));
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
                Kind::Icmpv6 { src, solicited: Some(target), .. }
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
                Kind::Tcp { src, dst, seg } if for_us => {
                    self.inbox.push(frame.clone());
                    let Some(c) = self.conns.iter().position(|k| {
                        k.local.addr == *dst
                            && k.local.port == seg.dst_port
                            && k.remote.addr == *src
                            && k.remote.port == seg.src_port
                    }) else {
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
    let frames = parse_all(&take_server_frames(w));
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
