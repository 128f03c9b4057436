//! A device wrapper that notes the source of every TCP SYN to our port, so the
//! server can tell afterwards which ones found no free slot (smoltcp answers
//! those with RST on its own and does not say so).

use heapless::Vec;
use smoltcp::phy::{Device, DeviceCapabilities, RxToken};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpAddress, IpEndpoint, IpProtocol, Ipv4Packet, TcpPacket};

/// SYN sources remembered per poll; more than this in one poll go uncounted.
pub const SYN_LOG: usize = 16;

pub(crate) struct SynWatch<'d, D: ?Sized> {
    pub inner: &'d mut D,
    pub port: u16,
    pub seen: Vec<IpEndpoint, SYN_LOG>,
}

pub(crate) struct WatchRx<'s, T> {
    inner: T,
    port: u16,
    seen: &'s mut Vec<IpEndpoint, SYN_LOG>,
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
        Some((WatchRx { inner: rx, port: self.port, seen: &mut self.seen }, tx))
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
        let (port, seen) = (self.port, self.seen);
        self.inner.consume(|frame| {
            if let Some(src) = syn_source(frame, port) {
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

/// The sender of a connection-opening SYN (no ACK) to `port`, if `frame` is one
/// with a valid checksum. Malformed frames are simply not SYNs; smoltcp will
/// reject them itself.
fn syn_source(frame: &[u8], port: u16) -> Option<IpEndpoint> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, dst, tcp_bytes) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
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
    wanted.then(|| IpEndpoint::new(src, tcp.src_port()))
}
