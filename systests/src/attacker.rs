//! A hostile (or merely unlucky) host on the TAP's link, built from raw
//! frames: forged TCP segments, UDP datagrams, ARP and neighbour
//! advertisements written on the TAP's host side ([`PacketSocket`]), and what
//! the device sends back read from the same side ([`Capture`]).
//!
//! Frames are made and parsed with `smoltcp::wire`. [`Wire`] puts the two
//! sockets together, answers ARP for the fake hosts it plays, and keeps the
//! frames a caller has not asked for yet; [`RawPeer`] is a TCP client played
//! by hand on top of it (a handshake whose SYN-ACK is "lost", a close whose
//! last ACK never comes).

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use smoltcp::wire::{
    ArpOperation, ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Packet, Icmpv6Packet, IpAddress, IpProtocol,
    Ipv4Packet, Ipv6Packet, TcpOption, TcpPacket, TcpSeqNumber, UdpPacket,
};

use crate::capture::{Capture, Captured};
use crate::packet::PacketSocket;
use crate::{Netns, DEVICE_IP, DEVICE_MAC, TAP};

/// An Ethernet address.
pub type Mac = [u8; 6];

/// TCP flag bits, as in the header's flags byte.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: Mac = [0xff; 6];

const ETH_HEADER: usize = 14;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const TCP_HEADER: usize = 20;
const UDP_HEADER: usize = 8;

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The device's MAC ([`DEVICE_MAC`]).
pub fn device_mac() -> Mac {
    parse_mac(DEVICE_MAC).expect("DEVICE_MAC is a MAC address")
}

/// The MAC of interface `ifname` in `ns`.
pub fn interface_mac(ns: &Netns, ifname: &str) -> io::Result<Mac> {
    let out = ns.ip(&["-o", "link", "show", "dev", ifname])?;
    out.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .and_then(parse_mac)
        .ok_or_else(|| io::Error::other(format!("no link/ether address for {ifname} in {out:?}")))
}

/// The Ethernet multicast address for IPv4 group `ip`.
pub fn multicast_mac_v4(ip: Ipv4Addr) -> Mac {
    let o = ip.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// The Ethernet multicast address for IPv6 group `ip`.
pub fn multicast_mac_v6(ip: Ipv6Addr) -> Mac {
    let o = ip.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// A locally administered unicast MAC made from `n`.
pub fn fake_mac(n: u32) -> Mac {
    let b = n.to_be_bytes();
    [0x02, 0x66, b[0], b[1], b[2], b[3]]
}

// ---- building frames ----

/// An Ethernet frame around `payload`.
pub fn ethernet(dst: Mac, src: Mac, ethertype: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; ETH_HEADER + payload.len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    frame.set_dst_addr(smoltcp::wire::EthernetAddress(dst));
    frame.set_src_addr(smoltcp::wire::EthernetAddress(src));
    frame.set_ethertype(ethertype);
    frame.payload_mut().copy_from_slice(payload);
    buf
}

/// An IP packet (IPv4 or IPv6, after the addresses) around `payload`,
/// with its Ethernet header.
pub fn ip_frame(src_mac: Mac, dst_mac: Mac, src: IpAddr, dst: IpAddr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut buf = vec![0u8; IPV4_HEADER + payload.len()];
            let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
            p.set_version(4);
            p.set_header_len(IPV4_HEADER as u8);
            p.set_dscp(0);
            p.set_ecn(0);
            p.set_total_len((IPV4_HEADER + payload.len()) as u16);
            p.set_ident(0x4242);
            p.clear_flags();
            p.set_dont_frag(true);
            p.set_frag_offset(0);
            p.set_hop_limit(64);
            p.set_next_header(proto);
            p.set_src_addr(s);
            p.set_dst_addr(d);
            p.fill_checksum();
            p.payload_mut().copy_from_slice(payload);
            ethernet(dst_mac, src_mac, EthernetProtocol::Ipv4, &buf)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut buf = vec![0u8; IPV6_HEADER + payload.len()];
            let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
            p.set_version(6);
            p.set_traffic_class(0);
            p.set_flow_label(0);
            p.set_payload_len(payload.len() as u16);
            p.set_next_header(proto);
            p.set_hop_limit(if proto == IpProtocol::Icmpv6 { 255 } else { 64 });
            p.set_src_addr(s);
            p.set_dst_addr(d);
            p.payload_mut().copy_from_slice(payload);
            ethernet(dst_mac, src_mac, EthernetProtocol::Ipv6, &buf)
        }
        _ => panic!("mixed address families: {src} to {dst}"),
    }
}

/// A TCP segment in an Ethernet frame, checksums right. `ack` is written
/// whatever the flags say (the ACK flag decides whether it counts).
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; TCP_HEADER + payload.len()];
    let mut t = TcpPacket::new_unchecked(&mut buf[..]);
    t.set_src_port(src.port());
    t.set_dst_port(dst.port());
    t.set_seq_number(TcpSeqNumber(seq as i32));
    t.set_ack_number(TcpSeqNumber(ack as i32));
    t.set_header_len(TCP_HEADER as u8);
    t.clear_flags();
    t.set_fin(flags & FIN != 0);
    t.set_syn(flags & SYN != 0);
    t.set_rst(flags & RST != 0);
    t.set_psh(flags & PSH != 0);
    t.set_ack(flags & ACK != 0);
    t.set_window_len(64_000);
    t.set_urgent_at(0);
    t.payload_mut().copy_from_slice(payload);
    t.fill_checksum(&IpAddress::from(src.ip()), &IpAddress::from(dst.ip()));
    ip_frame(src_mac, dst_mac, src.ip(), dst.ip(), IpProtocol::Tcp, &buf)
}

/// A UDP datagram in an Ethernet frame, checksums right.
pub fn udp_frame(src_mac: Mac, dst_mac: Mac, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; UDP_HEADER + payload.len()];
    let mut u = UdpPacket::new_unchecked(&mut buf[..]);
    u.set_src_port(src.port());
    u.set_dst_port(dst.port());
    u.set_len((UDP_HEADER + payload.len()) as u16);
    u.payload_mut().copy_from_slice(payload);
    u.fill_checksum(&IpAddress::from(src.ip()), &IpAddress::from(dst.ip()));
    ip_frame(src_mac, dst_mac, src.ip(), dst.ip(), IpProtocol::Udp, &buf)
}

/// An ARP frame (`op` 1 = request, 2 = reply) sent to `eth_dst`.
pub fn arp_frame(eth_dst: Mac, op: u16, sender: (Mac, Ipv4Addr), target: (Mac, Ipv4Addr)) -> Vec<u8> {
    let mut buf = vec![0u8; 28];
    let mut a = ArpPacket::new_unchecked(&mut buf[..]);
    a.set_hardware_type(smoltcp::wire::ArpHardware::Ethernet);
    a.set_protocol_type(EthernetProtocol::Ipv4);
    a.set_hardware_len(6);
    a.set_protocol_len(4);
    a.set_operation(ArpOperation::from(op));
    a.set_source_hardware_addr(&sender.0);
    a.set_source_protocol_addr(&sender.1.octets());
    a.set_target_hardware_addr(&target.0);
    a.set_target_protocol_addr(&target.1.octets());
    ethernet(eth_dst, sender.0, EthernetProtocol::Arp, &buf)
}

/// An ICMPv4 echo request.
pub fn ping_v4(src_mac: Mac, dst_mac: Mac, src: Ipv4Addr, dst: Ipv4Addr, ident: u16, seq: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 8 + 16];
    let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
    p.set_msg_type(smoltcp::wire::Icmpv4Message::EchoRequest);
    p.set_msg_code(0);
    p.set_echo_ident(ident);
    p.set_echo_seq_no(seq);
    p.data_mut().copy_from_slice(b"hostile-test-pin");
    p.fill_checksum();
    ip_frame(src_mac, dst_mac, src.into(), dst.into(), IpProtocol::Icmp, &buf)
}

/// An ICMPv6 message of `kind`/`code` with `body` (after the 4-byte header),
/// checksum right.
pub fn icmpv6_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    kind: u8,
    code: u8,
    body: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![kind, code, 0, 0];
    icmp.extend_from_slice(body);
    let len = (icmp.len() as u32).to_be_bytes();
    let sum = checksum(&[&src.octets(), &dst.octets(), &len, &[0, 0, 0, 58], &icmp]);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    ip_frame(src_mac, dst_mac, src.into(), dst.into(), IpProtocol::Icmpv6, &icmp)
}

/// An unsolicited neighbour advertisement from `src`, saying `target` is at
/// `lladdr` (override flag set), to `dst`.
pub fn neighbour_advert(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    lladdr: Mac,
) -> Vec<u8> {
    // Flags: override (0x20) in the first byte of the 4 reserved ones.
    let mut body = vec![0x20, 0, 0, 0];
    body.extend_from_slice(&target.octets());
    // Target link-layer address option.
    body.extend_from_slice(&[2, 1]);
    body.extend_from_slice(&lladdr);
    icmpv6_frame(src_mac, dst_mac, src, dst, 136, 0, &body)
}

/// The Internet checksum of the concatenation of `parts` (each of even
/// length but the last).
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

// ---- reading frames ----

/// A TCP segment seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful with [`ACK`]).
    pub ack: u32,
    /// Flag bits ([`FIN`], [`SYN`], ...).
    pub flags: u8,
    /// Window field, unscaled.
    pub window: u16,
    /// Window scale option (SYN and SYN-ACK only).
    pub wscale: Option<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl Segment {
    /// Whether all of `flags` are set.
    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }

    /// Sequence space taken: payload, plus one each for SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }

    /// The sequence number after this segment.
    pub fn end(&self) -> u32 {
        self.seq.wrapping_add(self.seq_len())
    }

    /// `SYN,ACK seq=.. ack=.. len=..`, for messages.
    pub fn summary(&self) -> String {
        let names = [(SYN, "SYN"), (ACK, "ACK"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH")];
        let flags: Vec<&str> = names.iter().filter(|(f, _)| self.has(*f)).map(|(_, n)| *n).collect();
        format!(
            "{} -> {} {} seq={} ack={} len={}",
            self.src,
            self.dst,
            flags.join(","),
            self.seq,
            self.ack,
            self.payload.len()
        )
    }
}

/// What a frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// TCP.
    Tcp(Segment),
    /// UDP.
    Udp {
        /// Source.
        src: SocketAddr,
        /// Destination.
        dst: SocketAddr,
        /// Payload.
        payload: Vec<u8>,
    },
    /// ICMPv4 (type, code).
    Icmpv4 {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
        /// Type.
        kind: u8,
        /// Code.
        code: u8,
    },
    /// ICMPv6 (type, code); NDP included.
    Icmpv6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
        /// Type.
        kind: u8,
        /// Code.
        code: u8,
    },
    /// ARP.
    Arp {
        /// 1 request, 2 reply.
        op: u16,
        /// Sender's hardware address.
        sender_mac: Mac,
        /// Sender's IPv4 address.
        sender_ip: Ipv4Addr,
        /// Address asked about (request) or answered to (reply).
        target_ip: Ipv4Addr,
    },
    /// Anything else (or unparsable), with its ethertype.
    Other(u16),
}

/// A frame seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// When it was read.
    pub at: Instant,
    /// Ethernet source.
    pub src_mac: Mac,
    /// Ethernet destination.
    pub dst_mac: Mac,
    /// What it carries.
    pub payload: Payload,
}

impl Frame {
    /// Parses a captured frame; checksums are not verified (TAP offloads
    /// leave some for the kernel to fill).
    pub fn parse(captured: &Captured) -> Option<Frame> {
        let eth = EthernetFrame::new_checked(&captured.frame[..]).ok()?;
        let payload = match eth.ethertype() {
            EthernetProtocol::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
                let (src, dst) = (IpAddr::V4(ip.src_addr()), IpAddr::V4(ip.dst_addr()));
                match ip.next_header() {
                    IpProtocol::Icmp => {
                        let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                        Payload::Icmpv4 {
                            src: ip.src_addr(),
                            dst: ip.dst_addr(),
                            kind: icmp.msg_type().into(),
                            code: icmp.msg_code(),
                        }
                    }
                    proto => transport(proto, src, dst, ip.payload())?,
                }
            }
            EthernetProtocol::Ipv6 => {
                let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
                let (src, dst) = (IpAddr::V6(ip.src_addr()), IpAddr::V6(ip.dst_addr()));
                match ip.next_header() {
                    IpProtocol::Icmpv6 => {
                        let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
                        Payload::Icmpv6 {
                            src: ip.src_addr(),
                            dst: ip.dst_addr(),
                            kind: icmp.msg_type().into(),
                            code: icmp.msg_code(),
                        }
                    }
                    proto => transport(proto, src, dst, ip.payload())?,
                }
            }
            EthernetProtocol::Arp => {
                let arp = ArpPacket::new_checked(eth.payload()).ok()?;
                let mac = arp.source_hardware_addr();
                let sip = arp.source_protocol_addr();
                let tip = arp.target_protocol_addr();
                if mac.len() != 6 || sip.len() != 4 || tip.len() != 4 {
                    return None;
                }
                Payload::Arp {
                    op: u16::from(arp.operation()),
                    sender_mac: mac.try_into().ok()?,
                    sender_ip: Ipv4Addr::new(sip[0], sip[1], sip[2], sip[3]),
                    target_ip: Ipv4Addr::new(tip[0], tip[1], tip[2], tip[3]),
                }
            }
            other => Payload::Other(other.into()),
        };
        Some(Frame { at: captured.at, src_mac: eth.src_addr().0, dst_mac: eth.dst_addr().0, payload })
    }

    /// The TCP segment, if this is one.
    pub fn tcp(&self) -> Option<&Segment> {
        match &self.payload {
            Payload::Tcp(s) => Some(s),
            _ => None,
        }
    }
}

fn transport(proto: IpProtocol, src: IpAddr, dst: IpAddr, data: &[u8]) -> Option<Payload> {
    Some(match proto {
        IpProtocol::Tcp => {
            let t = TcpPacket::new_checked(data).ok()?;
            let mut wscale = None;
            let mut options = t.options();
            while !options.is_empty() {
                let Ok((rest, option)) = TcpOption::parse(options) else { break };
                match option {
                    TcpOption::EndOfList => break,
                    TcpOption::WindowScale(s) => wscale = Some(s),
                    _ => {}
                }
                options = rest;
            }
            let flags = u8::from(t.fin())
                | u8::from(t.syn()) << 1
                | u8::from(t.rst()) << 2
                | u8::from(t.psh()) << 3
                | u8::from(t.ack()) << 4;
            Payload::Tcp(Segment {
                src: SocketAddr::new(src, t.src_port()),
                dst: SocketAddr::new(dst, t.dst_port()),
                seq: t.seq_number().0 as u32,
                ack: t.ack_number().0 as u32,
                flags,
                window: t.window_len(),
                wscale,
                payload: t.payload().to_vec(),
            })
        }
        IpProtocol::Udp => {
            let u = UdpPacket::new_checked(data).ok()?;
            Payload::Udp {
                src: SocketAddr::new(src, u.src_port()),
                dst: SocketAddr::new(dst, u.dst_port()),
                payload: u.payload().to_vec(),
            }
        }
        _ => Payload::Other(0),
    })
}

/// `a < b` in sequence space.
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

// ---- the link ----

/// Frames kept for later callers at most (older ones are forgotten).
const BACKLOG: usize = 50_000;

/// The TAP's host side as an attacker sees it: raw frames out, the device's
/// frames in. Fake hosts registered with [`Wire::impersonate`] answer the
/// device's ARP requests whenever frames are read.
#[derive(Debug)]
pub struct Wire {
    tx: PacketSocket,
    rx: Capture,
    /// The TAP host side's MAC (the kernel's).
    pub host_mac: Mac,
    /// The device's MAC.
    pub device_mac: Mac,
    fakes: Vec<(Ipv4Addr, Mac)>,
    backlog: VecDeque<Frame>,
    /// Frames sent so far.
    pub sent: u64,
}

impl Wire {
    /// Opens both sockets on [`TAP`] in `ns`; only frames the device sends
    /// from now on are seen.
    pub fn open(ns: &Netns) -> io::Result<Wire> {
        let (tx, rx) = ns.run(|| Ok::<_, io::Error>((PacketSocket::open(TAP)?, Capture::open(TAP)?)))??;
        Ok(Wire {
            tx,
            rx,
            host_mac: interface_mac(ns, TAP)?,
            device_mac: device_mac(),
            fakes: Vec::new(),
            backlog: VecDeque::new(),
            sent: 0,
        })
    }

    /// Sends one frame; a full queue (ENOBUFS) is waited out, briefly.
    pub fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match self.tx.send(frame) {
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && Instant::now() < deadline => {
                    thread::sleep(Duration::from_micros(200));
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
            }
        }
    }

    /// Sends `frames`, `per_ms` at most per millisecond, so that the TAP's
    /// queue toward the device (500 frames) does not overflow; answers ARP
    /// and keeps what the device says meanwhile.
    pub fn send_paced(&mut self, frames: impl IntoIterator<Item = Vec<u8>>, per_ms: usize) -> io::Result<usize> {
        let start = Instant::now();
        let mut n = 0;
        for frame in frames {
            self.send(&frame)?;
            n += 1;
            if n % per_ms.max(1) == 0 {
                let due = start + Duration::from_millis((n / per_ms.max(1)) as u64);
                self.absorb_until(due)?;
            }
        }
        Ok(n)
    }

    /// Plays host `ip` at `mac`: tells the device (an ARP request for its
    /// address, which smoltcp learns the asker from) and answers its ARP
    /// requests for `ip` from now on.
    pub fn impersonate(&mut self, ip: Ipv4Addr, mac: Mac) -> io::Result<()> {
        self.fakes.push((ip, mac));
        self.send(&arp_frame(BROADCAST_MAC, 1, (mac, ip), ([0; 6], DEVICE_IP)))
    }

    /// Reads frames until `deadline`, keeping them for later callers.
    fn absorb_until(&mut self, deadline: Instant) -> io::Result<()> {
        while let Some(f) = self.read_until(deadline)? {
            self.keep(f);
        }
        Ok(())
    }

    fn keep(&mut self, f: Frame) {
        if self.backlog.len() >= BACKLOG {
            self.backlog.pop_front();
        }
        self.backlog.push_back(f);
    }

    /// The next parsed frame from the device, answering ARP for fake hosts.
    fn read_until(&mut self, deadline: Instant) -> io::Result<Option<Frame>> {
        loop {
            let Some(c) = self.rx.next_until(deadline)? else { return Ok(None) };
            let Some(f) = Frame::parse(&c) else { continue };
            if let Payload::Arp { op: 1, sender_mac, sender_ip, target_ip } = f.payload {
                if let Some(&(ip, mac)) = self.fakes.iter().find(|(ip, _)| *ip == target_ip) {
                    let reply = arp_frame(sender_mac, 2, (mac, ip), (sender_mac, sender_ip));
                    self.send(&reply)?;
                }
            }
            return Ok(Some(f));
        }
    }

    /// The first frame (kept earlier or arriving within `limit`) for which
    /// `pred` holds; it is taken, others are kept.
    pub fn expect(&mut self, limit: Duration, mut pred: impl FnMut(&Frame) -> bool) -> io::Result<Option<Frame>> {
        if let Some(i) = self.backlog.iter().position(&mut pred) {
            return Ok(self.backlog.remove(i));
        }
        let deadline = Instant::now() + limit;
        while let Some(f) = self.read_until(deadline)? {
            if pred(&f) {
                return Ok(Some(f));
            }
            self.keep(f);
        }
        Ok(None)
    }

    /// Every frame (kept earlier or arriving within `window`) for which
    /// `pred` holds; they are taken, others are kept.
    pub fn collect(&mut self, window: Duration, mut pred: impl FnMut(&Frame) -> bool) -> io::Result<Vec<Frame>> {
        let deadline = Instant::now() + window;
        self.absorb_until(deadline)?;
        let (taken, kept): (Vec<Frame>, Vec<Frame>) = self.backlog.drain(..).partition(|f| pred(f));
        self.backlog = kept.into();
        Ok(taken)
    }

    /// Forgets every frame seen so far (after reading what is queued).
    pub fn clear(&mut self) -> io::Result<()> {
        self.absorb_until(Instant::now())?;
        self.backlog.clear();
        Ok(())
    }
}

/// TCP segments from `remote` to `local`.
pub fn segment_between(f: &Frame, remote: SocketAddr, local: SocketAddr) -> Option<&Segment> {
    f.tcp().filter(|s| s.src == remote && s.dst == local)
}

/// A TCP client played by hand from a fake host (or any address), through
/// a [`Wire`].
#[derive(Debug, Clone)]
pub struct RawPeer {
    /// Our MAC.
    pub mac: Mac,
    /// Our address and port.
    pub local: SocketAddr,
    /// The device's.
    pub remote: SocketAddr,
    /// Our initial sequence number.
    pub isn: u32,
    /// The next sequence number we send.
    pub snd_nxt: u32,
    /// The device's initial sequence number, once its SYN-ACK came.
    pub irs: Option<u32>,
    /// The next sequence number we expect (data only: a FIN is noted, not acknowledged).
    pub rcv_nxt: u32,
    /// Where the device's FIN is, once seen.
    pub fin_at: Option<u32>,
}

impl RawPeer {
    /// A peer at `local` (MAC `mac`) that will talk to `remote`.
    pub fn new(mac: Mac, local: SocketAddr, remote: SocketAddr, isn: u32) -> Self {
        RawPeer { mac, local, remote, isn, snd_nxt: isn, irs: None, rcv_nxt: 0, fin_at: None }
    }

    /// A segment from us to the device.
    pub fn frame(&self, wire: &Wire, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        tcp_frame(self.mac, wire.device_mac, self.local, self.remote, seq, ack, flags, payload)
    }

    /// Sends our SYN (again, if called again).
    pub fn send_syn(&mut self, wire: &mut Wire) -> io::Result<()> {
        let f = self.frame(wire, self.isn, 0, SYN, &[]);
        self.snd_nxt = self.isn.wrapping_add(1);
        wire.send(&f)
    }

    /// Waits up to `limit` for a segment from the device to us matching `pred`.
    pub fn expect(
        &self,
        wire: &mut Wire,
        limit: Duration,
        mut pred: impl FnMut(&Segment) -> bool,
    ) -> io::Result<Option<Segment>> {
        let (remote, local) = (self.remote, self.local);
        Ok(wire
            .expect(limit, |f| segment_between(f, remote, local).is_some_and(&mut pred))?
            .and_then(|f| f.tcp().cloned()))
    }

    /// Waits for the device's SYN-ACK to our SYN and records its ISN.
    pub fn expect_syn_ack(&mut self, wire: &mut Wire, limit: Duration) -> Result<Segment, String> {
        let want = self.isn.wrapping_add(1);
        let s = self
            .expect(wire, limit, |s| s.has(SYN | ACK) || s.has(RST))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: no SYN-ACK within {limit:?}", self.local))?;
        if s.has(RST) || s.ack != want {
            return Err(format!("{}: expected SYN-ACK with ack {want}, got {}", self.local, s.summary()));
        }
        self.irs = Some(s.seq);
        self.rcv_nxt = s.seq.wrapping_add(1);
        Ok(s)
    }

    /// SYN, SYN-ACK, ACK.
    pub fn connect(&mut self, wire: &mut Wire, limit: Duration) -> Result<(), String> {
        self.send_syn(wire).map_err(|e| e.to_string())?;
        self.expect_syn_ack(wire, limit)?;
        self.send_ack(wire).map_err(|e| e.to_string())
    }

    /// A bare ACK of what we have received (not a FIN).
    pub fn send_ack(&mut self, wire: &mut Wire) -> io::Result<()> {
        let f = self.frame(wire, self.snd_nxt, self.rcv_nxt, ACK, &[]);
        wire.send(&f)
    }

    /// Sends `data` (and our FIN after it if `fin`).
    pub fn send_data(&mut self, wire: &mut Wire, data: &[u8], fin: bool) -> io::Result<()> {
        let flags = ACK | PSH | if fin { FIN } else { 0 };
        let f = self.frame(wire, self.snd_nxt, self.rcv_nxt, flags, data);
        self.snd_nxt = self.snd_nxt.wrapping_add(data.len() as u32 + u32::from(fin));
        wire.send(&f)
    }

    /// Reads the device's data until `at_least` bytes have come (and, with
    /// `until_fin`, its FIN too), acknowledging the data as it comes but
    /// never the FIN: the device's close stays unfinished.
    pub fn receive(
        &mut self,
        wire: &mut Wire,
        at_least: usize,
        until_fin: bool,
        limit: Duration,
    ) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + limit;
        let mut data = Vec::new();
        while data.len() < at_least || (until_fin && self.fin_at.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(s) = self.expect(wire, left, |_| true).map_err(|e| e.to_string())? else {
                return Err(format!(
                    "{}: after {} of {at_least} bytes{}: nothing more within {limit:?}",
                    self.local,
                    data.len(),
                    if until_fin { " and the FIN" } else { "" }
                ));
            };
            if s.has(RST) {
                return Err(format!("{}: reset by the device: {}", self.local, s.summary()));
            }
            // New data in order (or overlapping what we have).
            let end = s.seq.wrapping_add(s.payload.len() as u32);
            if !s.payload.is_empty() && seq_le(s.seq, self.rcv_nxt) && seq_lt(self.rcv_nxt, end) {
                let skip = self.rcv_nxt.wrapping_sub(s.seq) as usize;
                data.extend_from_slice(&s.payload[skip..]);
                self.rcv_nxt = end;
                self.send_ack(wire).map_err(|e| e.to_string())?;
            }
            if s.has(FIN) && end == self.rcv_nxt {
                self.fin_at = Some(end);
            }
        }
        Ok(data)
    }

    /// Acknowledges the device's FIN (finishing its close).
    pub fn ack_fin(&mut self, wire: &mut Wire) -> io::Result<()> {
        if let Some(fin) = self.fin_at {
            self.rcv_nxt = fin.wrapping_add(1);
        }
        self.send_ack(wire)
    }

    /// Aborts: RST at exactly our next sequence number.
    pub fn reset(&mut self, wire: &mut Wire) -> io::Result<()> {
        let f = self.frame(wire, self.snd_nxt, 0, RST, &[]);
        wire.send(&f)
    }
}
