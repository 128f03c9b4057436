//! DHCPv4 address configuration with a static fallback: the device asks for a
//! lease from its first poll; if no server answers within `fallback_after`, it takes the
//! static address and keeps asking in the background. A later lease replaces
//! the static address; a lost lease brings it back.

use smoltcp::iface::{Interface, SocketHandle};
use smoltcp::socket::dhcpv4;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// DHCP option 42: NTP servers.
const OPTION_NTP_SERVERS: u8 = 42;
/// What we ask the server for: subnet mask, router, DNS, NTP servers.
pub(crate) static PARAMETER_REQUEST_LIST: [u8; 4] = [1, 3, 6, OPTION_NTP_SERVERS];

/// Where the IPv4 address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AddressSource {
    /// Waiting for a DHCP answer, no address yet.
    Pending,
    /// A DHCP lease.
    Dhcp(Ipv4Cidr),
    /// The static address, after no DHCP server answered in time.
    Static(Ipv4Cidr),
}

pub(crate) struct DhcpClient {
    pub handle: SocketHandle,
    static_addr: Ipv4Cidr,
    static_gateway: Option<Ipv4Address>,
    fallback_after: Duration,
    /// `fallback_after` from the first poll.
    fallback_at: Option<Instant>,
    pub source: AddressSource,
    lease: Option<(Ipv4Cidr, Option<Ipv4Address>)>,
}

impl DhcpClient {
    pub fn new(
        handle: SocketHandle,
        static_addr: Ipv4Cidr,
        static_gateway: Option<Ipv4Address>,
        fallback_after: Duration,
    ) -> Self {
        DhcpClient {
            handle,
            static_addr,
            static_gateway,
            fallback_after,
            fallback_at: None,
            source: AddressSource::Pending,
            lease: None,
        }
    }

    /// Applies what the DHCP socket reports; returns an NTP server if the
    /// lease named one.
    pub fn service(&mut self, sock: &mut dhcpv4::Socket, iface: &mut Interface, now: Instant) -> Option<IpAddress> {
        let mut ntp = None;
        match sock.poll() {
            Some(dhcpv4::Event::Configured(config)) => {
                if let Some(packet) = config.packet {
                    ntp = packet
                        .options()
                        .find(|o| o.kind == OPTION_NTP_SERVERS && o.data.len() >= 4)
                        .map(|o| IpAddress::Ipv4(Ipv4Address::new(o.data[0], o.data[1], o.data[2], o.data[3])));
                }
                let lease = (config.address, config.router);
                if self.lease == Some(lease) {
                    // smoltcp reports each renewal; nothing changed.
                    debug!("DHCP lease {} renewed", config.address);
                } else {
                    set_ipv4(iface, config.address, config.router);
                    self.lease = Some(lease);
                    self.source = AddressSource::Dhcp(config.address);
                    info!("DHCP lease {} from {}", config.address, config.server.address);
                    if let Some(router) = config.router {
                        info!("router {}", router);
                    }
                    if let Some(ntp) = ntp {
                        info!("NTP server {} (DHCP option 42)", ntp);
                    }
                }
            }
            // smoltcp also reports this once at start: only a lost lease matters.
            Some(dhcpv4::Event::Deconfigured) if matches!(self.source, AddressSource::Dhcp(_)) => {
                warn!("DHCP lease lost; back to the static address {}", self.static_addr);
                self.use_static(iface);
            }
            Some(dhcpv4::Event::Deconfigured) | None => {}
        }
        let fallback_at = *self.fallback_at.get_or_insert(now + self.fallback_after);
        if self.source == AddressSource::Pending && now >= fallback_at {
            warn!("no DHCP answer; using the static address {} and still asking", self.static_addr);
            self.use_static(iface);
        }
        ntp
    }

    /// The fallback deadline, while it is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.fallback_at.filter(|_| self.source == AddressSource::Pending)
    }

    fn use_static(&mut self, iface: &mut Interface) {
        set_ipv4(iface, self.static_addr, self.static_gateway);
        self.lease = None;
        self.source = AddressSource::Static(self.static_addr);
    }
}

/// Replaces the IPv4 address and default route, leaving IPv6 alone.
pub(crate) fn set_ipv4(iface: &mut Interface, addr: Ipv4Cidr, router: Option<Ipv4Address>) {
    iface.update_ip_addrs(|addrs| {
        addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_)));
        // An IPv4 entry was just removed or was never there: there is room.
        let _ = addrs.insert(0, IpCidr::Ipv4(addr));
    });
    iface.routes_mut().remove_default_ipv4_route();
    if let Some(router) = router {
        let _ = iface.routes_mut().add_default_ipv4_route(router);
    }
}

/// Removes the IPv4 address while waiting for a lease.
pub(crate) fn clear_ipv4(iface: &mut Interface) {
    iface.update_ip_addrs(|addrs| addrs.retain(|a| !matches!(a, IpCidr::Ipv4(_))));
    iface.routes_mut().remove_default_ipv4_route();
}
