//! A catalogue of malformed Ethernet frames for the device's receive path:
//! every layer's length, offset and checksum fields broken in turn, plus
//! floods of plausible but unsolicited traffic (ARP, SYNs with odd options).
//!
//! Frames that must get past a checksum to reach the code they target carry
//! a correct one. Those that could start a TCP handshake come from the TAP's
//! host side (its IP and MAC), so the host kernel answers the device's SYN-ACK
//! with RST and no slot stays taken. No frame claims the host's IP from
//! another MAC: that would be ARP spoofing, which breaks any stack.

use netlab::frames::multicast_mac_v6;
use smoltcp::wire::checksum::{combine, data};
use smoltcp::wire::Ipv6Address;

use crate::rng::Rng;

/// What is wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Random bytes after an Ethernet destination (ours, broadcast or random).
    RandomBytes,
    /// An Ethernet header (IPv4, ARP or IPv6) and nothing after it.
    TruncatedEthernet,
    /// Part of an IPv4 header.
    TruncatedIpv4,
    /// A whole IPv4 header and part of a TCP header.
    TruncatedTcp,
    /// IPv4 header length below 20 bytes or beyond the packet.
    BadIhl,
    /// IPv4 total length below the header or beyond the frame.
    BadTotalLength,
    /// A TCP SYN to the echo port with a wrong IPv4 header checksum.
    BadIpChecksum,
    /// IPv4 fragments (more-fragments set or an offset), overlapping at random.
    Fragment,
    /// TCP data offset below 5 words or beyond the segment; checksums right.
    BadTcpDataOffset,
    /// TCP SYN with random option bytes (bad kinds and lengths); checksums right.
    GarbageTcpOptions,
    /// A TCP SYN to the echo port with a wrong TCP checksum.
    BadTcpChecksum,
    /// ARP requests for random addresses from random MACs, some for the device.
    ArpFlood,
    /// ARP with random hardware/protocol types, lengths, opcodes, truncation.
    MalformedArp,
    /// A valid TCP SYN to the echo port, sent to another unicast MAC.
    OtherMac,
    /// A valid TCP SYN to the echo port of another IPv4 address, sent to the device's MAC.
    OtherIp,
    /// IPv6 with random lengths and next headers; ICMPv6 (NDP) with right checksums.
    Ipv6Garbage,
    /// UDP to the echo port with a length field below 8 or beyond the datagram.
    UdpBadLength,
    /// ICMPv4 of random type and code (errors quoting garbage); checksums right.
    IcmpGarbage,
    /// 802.1Q-tagged frames with random contents.
    Vlan,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 19] = [
        Kind::RandomBytes,
        Kind::TruncatedEthernet,
        Kind::TruncatedIpv4,
        Kind::TruncatedTcp,
        Kind::BadIhl,
        Kind::BadTotalLength,
        Kind::BadIpChecksum,
        Kind::Fragment,
        Kind::BadTcpDataOffset,
        Kind::GarbageTcpOptions,
        Kind::BadTcpChecksum,
        Kind::ArpFlood,
        Kind::MalformedArp,
        Kind::OtherMac,
        Kind::OtherIp,
        Kind::Ipv6Garbage,
        Kind::UdpBadLength,
        Kind::IcmpGarbage,
        Kind::Vlan,
    ];
}

/// The addresses frames are built around.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// The device's MAC.
    pub device_mac: [u8; 6],
    /// The device's IPv4 address.
    pub device_ip: [u8; 4],
    /// The device's IPv6 address.
    pub device_ip6: [u8; 16],
    /// The TAP's host-side MAC.
    pub host_mac: [u8; 6],
    /// The TAP's host-side IPv4 address.
    pub host_ip: [u8; 4],
    /// The echo port.
    pub port: u16,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const TCP_SYN: u8 = 0x02;
const BROADCAST: [u8; 6] = [0xff; 6];
/// Largest Ethernet frame at the TAP's MTU of 1500.
const MAX_FRAME: usize = 1514;

/// Makes malformed frames of each [`Kind`], reproducibly from a seed.
#[derive(Debug, Clone)]
pub struct Malformed {
    link: Link,
    rng: Rng,
}

impl Malformed {
    /// A generator for the link `link`.
    pub fn new(link: Link, seed: u32) -> Self {
        Malformed { link, rng: Rng::new(seed) }
    }

    /// One frame of kind `kind`, Ethernet header included.
    pub fn frame(&mut self, kind: Kind) -> Vec<u8> {
        let l = self.link;
        match kind {
            Kind::RandomBytes => {
                let dst = match self.rng.range(0..=3) {
                    0 | 1 => l.device_mac,
                    2 => BROADCAST,
                    _ => self.random_mac(),
                };
                let len = self.rng.range(0..=MAX_FRAME - 6);
                let mut f = dst.to_vec();
                f.extend(self.rng.bytes(len));
                f.resize(f.len().max(14), 0);
                f
            }
            Kind::TruncatedEthernet => {
                let ty = [ETH_IPV4, ETH_ARP, ETH_IPV6][self.rng.range(0..=2)];
                ethernet(l.device_mac, l.host_mac, ty, &[])
            }
            Kind::TruncatedIpv4 => {
                let mut h = self.ipv4_header(PROTO_TCP, 0);
                h.truncate(self.rng.range(1..=19));
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &h)
            }
            Kind::TruncatedTcp => {
                let mut tcp = self.tcp(TCP_SYN, 5, &[], &[]);
                tcp.truncate(self.rng.range(0..=19));
                self.ipv4_frame(PROTO_TCP, &tcp)
            }
            Kind::BadIhl => {
                let tcp = self.tcp(TCP_SYN, 5, &[], &[]);
                let mut p = ipv4(l.host_ip, l.device_ip, PROTO_TCP, &tcp);
                let ihl = if self.rng.chance(50) { self.rng.range(0..=4) } else { self.rng.range(6..=15) };
                p[0] = 0x40 | ihl as u8;
                ipv4_checksum(&mut p);
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &p)
            }
            Kind::BadTotalLength => {
                let data = self.rng.bytes(16);
                let tcp = self.tcp(TCP_SYN, 5, &[], &data);
                let mut p = ipv4(l.host_ip, l.device_ip, PROTO_TCP, &tcp);
                let total =
                    if self.rng.chance(50) { self.rng.range(0..=19) } else { p.len() + self.rng.range(1..=2000) };
                p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                ipv4_checksum(&mut p);
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &p)
            }
            Kind::BadIpChecksum => {
                let tcp = self.tcp(TCP_SYN, 5, &[], &[]);
                let mut p = ipv4(l.host_ip, l.device_ip, PROTO_TCP, &tcp);
                p[10] ^= 1 + self.rng.byte() % 255;
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &p)
            }
            Kind::Fragment => {
                let proto = [PROTO_TCP, PROTO_UDP, PROTO_ICMP][self.rng.range(0..=2)];
                let body = self.rng.bytes_upto(1200);
                let mut p = ipv4(l.host_ip, l.device_ip, proto, &body);
                // A few ids, so fragments of one "datagram" meet and overlap.
                p[4..6].copy_from_slice(&(self.rng.range(0..=7) as u16).to_be_bytes());
                let more = self.rng.chance(70);
                let offset = if more && self.rng.chance(50) { 0 } else { self.rng.range(0..=0x1fff) as u16 };
                p[6..8].copy_from_slice(&(u16::from(more) << 13 | offset).to_be_bytes());
                ipv4_checksum(&mut p);
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &p)
            }
            Kind::BadTcpDataOffset => {
                let payload = self.rng.bytes_upto(40);
                let offset = if self.rng.chance(50) { self.rng.range(0..=4) } else { self.rng.range(6..=15) };
                let flags = self.rng.byte();
                let tcp = self.tcp(flags, offset as u8, &[], &payload);
                self.ipv4_frame(PROTO_TCP, &tcp)
            }
            Kind::GarbageTcpOptions => {
                let words = self.rng.range(6..=15);
                let mut options = self.rng.bytes((words - 5) * 4);
                // Known kinds with odd lengths are the interesting garbage.
                for i in (0..options.len()).step_by(3) {
                    if self.rng.chance(50) {
                        options[i] = [0, 1, 2, 3, 4, 5, 8, 30][self.rng.range(0..=7)];
                    }
                }
                let flags = if self.rng.chance(70) { TCP_SYN } else { self.rng.byte() };
                let tcp = self.tcp(flags, words as u8, &options, &[]);
                self.ipv4_frame(PROTO_TCP, &tcp)
            }
            Kind::BadTcpChecksum => {
                let mut tcp = self.tcp(TCP_SYN, 5, &[], &[]);
                tcp[16] ^= 1 + self.rng.byte() % 255;
                self.ipv4_frame(PROTO_TCP, &tcp)
            }
            Kind::ArpFlood => {
                let sender_mac = self.random_mac();
                let sender_ip = self.stranger_ip();
                let target_ip = if self.rng.chance(30) { l.device_ip } else { self.random_ip() };
                let dst = if self.rng.chance(50) { BROADCAST } else { l.device_mac };
                let arp = arp(1, sender_mac, sender_ip, [0; 6], target_ip);
                ethernet(dst, sender_mac, ETH_ARP, &arp)
            }
            Kind::MalformedArp => {
                let sender_mac = self.random_mac();
                let mut a = arp(self.rng.range(0..=4) as u16, sender_mac, self.stranger_ip(), [0; 6], l.device_ip);
                match self.rng.range(0..=3) {
                    0 => a[0..2].copy_from_slice(&(self.rng.next_u32() as u16).to_be_bytes()),
                    1 => a[2..4].copy_from_slice(&(self.rng.next_u32() as u16).to_be_bytes()),
                    2 => {
                        a[4] = self.rng.byte();
                        a[5] = self.rng.byte();
                    }
                    _ => {}
                }
                a.truncate(self.rng.range(0..=a.len()));
                ethernet(BROADCAST, sender_mac, ETH_ARP, &a)
            }
            Kind::OtherMac => {
                let tcp = self.tcp(TCP_SYN, 5, &[], &[]);
                let mut f = self.ipv4_frame(PROTO_TCP, &tcp);
                f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
                f
            }
            Kind::OtherIp => {
                let mut other = l.device_ip;
                other[3] = other[3].wrapping_add(1 + self.rng.byte() % 50);
                let tcp = self.tcp_to(other, TCP_SYN, 5, &[], &[]);
                ethernet(l.device_mac, l.host_mac, ETH_IPV4, &ipv4(l.host_ip, other, PROTO_TCP, &tcp))
            }
            Kind::Ipv6Garbage => self.ipv6_garbage(),
            Kind::UdpBadLength => {
                let data = self.rng.bytes_upto(64);
                let mut udp = Vec::with_capacity(8 + data.len());
                udp.extend((self.rng.range(1024..=65535) as u16).to_be_bytes());
                udp.extend(l.port.to_be_bytes());
                let len =
                    if self.rng.chance(50) { self.rng.range(0..=7) } else { 9 + data.len() + self.rng.range(0..=100) };
                udp.extend((len as u16).to_be_bytes());
                udp.extend([0, 0]); // no checksum: IPv4 allows it, so the length is what gets checked
                udp.extend(data);
                self.ipv4_frame(PROTO_UDP, &udp)
            }
            Kind::IcmpGarbage => {
                let mut icmp = vec![self.rng.byte() % 20, self.rng.byte() % 16, 0, 0];
                icmp.extend(self.rng.bytes(4));
                if self.rng.chance(50) {
                    // An error message quoting a (broken) IPv4 header and a bit more.
                    let mut quoted = ipv4(l.device_ip, self.random_ip(), self.rng.byte(), &self.rng.bytes(8));
                    quoted[0] = 0x40 | (self.rng.byte() & 0x0f);
                    quoted.truncate(self.rng.range(0..=quoted.len()));
                    icmp.extend(quoted);
                } else {
                    icmp.extend(self.rng.bytes_upto(64));
                }
                let sum = checksum(&[&icmp]);
                icmp[2..4].copy_from_slice(&sum.to_be_bytes());
                self.ipv4_frame(PROTO_ICMP, &icmp)
            }
            Kind::Vlan => {
                let mut body = (self.rng.range(0..=4095) as u16).to_be_bytes().to_vec();
                body.extend([ETH_IPV4, ETH_ARP, ETH_IPV6][self.rng.range(0..=2)].to_be_bytes());
                body.extend(self.rng.bytes_upto(100));
                ethernet(l.device_mac, l.host_mac, ETH_VLAN, &body)
            }
        }
    }

    fn ipv6_garbage(&mut self) -> Vec<u8> {
        let l = self.link;
        let dst: [u8; 16] = match self.rng.range(0..=2) {
            0 => l.device_ip6,
            1 => [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            // The device's solicited-node address.
            _ => [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, l.device_ip6[13], l.device_ip6[14], l.device_ip6[15]],
        };
        let mut src = [0u8; 16];
        src[..2].copy_from_slice(&[0xfe, 0x80]);
        self.rng.fill(&mut src[8..]);
        let icmp = self.rng.chance(50);
        let next = if icmp {
            PROTO_ICMPV6
        } else {
            [0, 43, 44, 60, 59, PROTO_TCP, PROTO_UDP, self.rng.byte()][self.rng.range(0..=7)]
        };
        let mut payload = self.rng.bytes_upto(200);
        if icmp && payload.len() >= 4 {
            // NDP (router/neighbour solicitation/advertisement, redirect) or
            // anything else, with a checksum that lets it through.
            payload[0] = if self.rng.chance(70) { 133 + self.rng.range(0..=4) as u8 } else { self.rng.byte() };
            payload[2..4].fill(0);
            let len = (payload.len() as u32).to_be_bytes();
            let sum = checksum(&[&src, &dst, &len, &[0, 0, 0, PROTO_ICMPV6], &payload]);
            payload[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        let declared = if self.rng.chance(70) { payload.len() } else { self.rng.range(0..=65535) };
        let mut p = vec![0x60, 0, 0, 0];
        p.extend((declared as u16).to_be_bytes());
        p.push(next);
        p.push(255); // hop limit 255, as NDP requires
        p.extend(src);
        p.extend(dst);
        p.extend(payload);
        let dst_mac = if dst[0] == 0xff { multicast_mac_v6(Ipv6Address::from(dst)).0 } else { l.device_mac };
        ethernet(dst_mac, self.random_mac(), ETH_IPV6, &p)
    }

    /// An IPv4 frame from the host side to the device carrying `payload`.
    fn ipv4_frame(&mut self, proto: u8, payload: &[u8]) -> Vec<u8> {
        let l = self.link;
        ethernet(l.device_mac, l.host_mac, ETH_IPV4, &ipv4(l.host_ip, l.device_ip, proto, payload))
    }

    fn ipv4_header(&mut self, proto: u8, payload_len: usize) -> Vec<u8> {
        ipv4(self.link.host_ip, self.link.device_ip, proto, &vec![0; payload_len])[..20].to_vec()
    }

    /// A TCP segment from the host side to the echo port, checksum right.
    fn tcp(&mut self, flags: u8, data_offset: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        self.tcp_to(self.link.device_ip, flags, data_offset, options, payload)
    }

    /// Like [`Malformed::tcp`], to address `dst`.
    fn tcp_to(&mut self, dst: [u8; 4], flags: u8, data_offset: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let l = self.link;
        // High ports, away from what the kernel picks (it has no socket here anyway).
        let sport = 20_000 + self.rng.range(0..=9_999) as u16;
        let mut t = Vec::with_capacity(20 + options.len() + payload.len());
        t.extend(sport.to_be_bytes());
        t.extend(l.port.to_be_bytes());
        t.extend(self.rng.next_u32().to_be_bytes());
        t.extend(if flags & 0x10 != 0 { self.rng.next_u32() } else { 0 }.to_be_bytes());
        t.push(data_offset << 4);
        t.push(flags);
        t.extend((self.rng.next_u32() as u16).to_be_bytes());
        t.extend([0, 0, 0, 0]); // checksum, urgent pointer
        t.extend(options);
        t.extend(payload);
        let len = (t.len() as u32).to_be_bytes();
        let sum = checksum(&[&l.host_ip, &dst, &[0, PROTO_TCP], &len[2..], &t]);
        t[16..18].copy_from_slice(&sum.to_be_bytes());
        t
    }

    fn random_mac(&mut self) -> [u8; 6] {
        let mut mac = [0u8; 6];
        self.rng.fill(&mut mac);
        mac[0] = (mac[0] & 0xfe) | 0x02; // unicast, locally administered
        mac
    }

    fn random_ip(&mut self) -> [u8; 4] {
        if self.rng.chance(50) {
            [192, 168, 69, self.rng.byte()]
        } else {
            self.rng.next_u32().to_be_bytes()
        }
    }

    /// A sender address that is neither the device's nor the host's.
    fn stranger_ip(&mut self) -> [u8; 4] {
        loop {
            let ip = self.random_ip();
            if ip != self.link.host_ip && ip != self.link.device_ip {
                return ip;
            }
        }
    }
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend(dst);
    f.extend(src);
    f.extend(ethertype.to_be_bytes());
    f.extend(payload);
    f.truncate(MAX_FRAME);
    f
}

/// An IPv4 packet with a 20-byte header, right lengths and checksum.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend(total.to_be_bytes());
    p.extend([0, 0, 0x40, 0, 64, proto, 0, 0]); // id 0, don't fragment, TTL 64
    p.extend(src);
    p.extend(dst);
    ipv4_checksum(&mut p);
    p.extend(payload);
    p
}

/// The Internet checksum of the concatenation of `parts` (each of even
/// length but the last), summed by smoltcp: these frames are malformed on
/// purpose, so none of smoltcp's packet types would emit them.
fn checksum(parts: &[&[u8]]) -> u16 {
    let sums: Vec<u16> = parts.iter().map(|part| data(part)).collect();
    !combine(&sums)
}

/// Recomputes the checksum of the 20-byte header at the start of `p`.
fn ipv4_checksum(p: &mut [u8]) {
    p[10..12].fill(0);
    let sum = checksum(&[&p[..20]]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
}

fn arp(op: u16, sender_mac: [u8; 6], sender_ip: [u8; 4], target_mac: [u8; 6], target_ip: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 0x08, 0x00, 6, 4];
    a.extend(op.to_be_bytes());
    a.extend(sender_mac);
    a.extend(sender_ip);
    a.extend(target_mac);
    a.extend(target_ip);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: Link = Link {
        device_mac: [2, 0, 0, 0, 0, 1],
        device_ip: [192, 168, 69, 1],
        device_ip6: [0xfd, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        host_mac: [2, 0, 0, 0, 0, 0x64],
        host_ip: [192, 168, 69, 100],
        port: 12345,
    };

    #[test]
    fn checksum_of_a_known_ipv4_header() {
        // The example header from Wikipedia's "IPv4 header checksum".
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
            0x00, 0xc7,
        ];
        ipv4_checksum(&mut h);
        assert_eq!(h[10..12], [0xb8, 0x61]);
        assert_eq!(checksum(&[&h]), 0, "a header with its checksum sums to zero");
    }

    #[test]
    fn a_tcp_segment_verifies() {
        let mut m = Malformed::new(LINK, 1);
        let t = m.tcp(TCP_SYN, 5, &[], b"odd");
        let len = (t.len() as u32).to_be_bytes();
        assert_eq!(checksum(&[&LINK.host_ip, &LINK.device_ip, &[0, PROTO_TCP], &len[2..], &t]), 0);
    }

    #[test]
    fn every_kind_makes_frames_the_kernel_can_send() {
        let mut m = Malformed::new(LINK, 7);
        for _ in 0..50 {
            for kind in Kind::ALL {
                let f = m.frame(kind);
                assert!((14..=MAX_FRAME).contains(&f.len()), "{kind:?}: {} bytes", f.len());
            }
        }
    }
}
