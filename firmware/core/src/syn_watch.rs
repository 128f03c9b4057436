//! A device wrapper that notes the source of every TCP SYN to our port, so the
//! server can tell afterwards which ones found no free slot (smoltcp answers
//! those with RST on its own and does not say so).

use heapless::Vec;
use smoltcp::phy::{Device, DeviceCapabilities, RxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpEndpoint, IpProtocol, Ipv4Packet, TcpPacket,
};

/// SYN sources remembered per poll; more than this in one poll go uncounted.
pub const SYN_LOG: usize = 16;

/// A SYN seen: who sent it, and to which of (possibly) our addresses.
pub(crate) type Syn = (IpEndpoint, IpAddress);

pub(crate) struct SynWatch<'d, D: ?Sized> {
    pub inner: &'d mut D,
    pub port: u16,
    pub mac: EthernetAddress,
    pub seen: Vec<Syn, SYN_LOG>,
}

pub(crate) struct WatchRx<'s, T> {
    inner: T,
    port: u16,
    mac: EthernetAddress,
    seen: &'s mut Vec<Syn, SYN_LOG>,
}

impl<D: Device + ?Sized> Device for SynWatch<'_, D> {
    type RxToken<'a>
        = WatchRx<'a, D::RxToken<'a>>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, ts: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(ts)?;
        Some((WatchRx { inner: rx, port: self.port, mac: self.mac, seen: &mut self.seen }, tx))
    }

    fn transmit(&mut self, ts: Instant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(ts)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

impl<T: RxToken> RxToken for WatchRx<'_, T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let (port, mac, seen) = (self.port, self.mac, self.seen);
        self.inner.consume(|frame| {
            if let Some(src) = syn_source(frame, port, mac) {
                // Full: the rest of this poll's SYNs go uncounted, nothing worse.
                let _ = seen.push(src);
            }
            f(frame)
        })
    }

    fn meta(&self) -> smoltcp::phy::PacketMeta {
        self.inner.meta()
    }
}

/// The sender and destination of a connection-opening SYN (no ACK) to `port`,
/// if `frame` is one that smoltcp will act on: addressed to `mac` (or
/// broadcast), valid checksums. Anything else is not a SYN here; smoltcp
/// drops it itself. (Whether the destination IP is ours, the server checks.)
fn syn_source(frame: &[u8], port: u16, mac: EthernetAddress) -> Option<Syn> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.dst_addr() != mac && !eth.dst_addr().is_broadcast() {
        return None;
    }
    let (src, dst, tcp_bytes) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 || !ip.verify_checksum()
            {
                return None;
            }
            (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()), ip.payload())
        }
        #[cfg(feature = "ipv6")]
        EthernetProtocol::Ipv6 => {
            let ip = smoltcp::wire::Ipv6Packet::new_checked(eth.payload()).ok()?;
            // Extension headers are rare on a LAN; such SYNs go uncounted.
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            (IpAddress::Ipv6(ip.src_addr()), IpAddress::Ipv6(ip.dst_addr()), ip.payload())
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(tcp_bytes).ok()?;
    let wanted = tcp.syn() && !tcp.ack() && tcp.dst_port() == port && tcp.verify_checksum(&src, &dst);
    wanted.then(|| (IpEndpoint::new(src, tcp.src_port()), dst))
}
