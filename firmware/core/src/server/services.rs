//! The optional services — UDP echo, DHCP, SNTP — and the one place that
//! knows which of them this build has: a caller hands over one block of
//! memory ([`ServiceResources`]) and one [`ServiceConfig`], the server calls
//! one hook per poll. Boards, host-sim and the simulation all come this way.

#[cfg(feature = "udp")]
use smoltcp::socket::udp::{self, PacketMetadata};
#[cfg(any(feature = "dhcp", feature = "sntp"))]
use smoltcp::time::Duration;
use smoltcp::time::Instant;
#[cfg(feature = "sntp")]
use smoltcp::wire::IpAddress;

use super::EchoServer;
use crate::storage::InitError;

/// Which services run and how. The fields are those of the services this
/// build's features include; start from [`ServiceConfig::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Answer UDP datagrams on the echo port (`udp` feature).
    #[cfg(feature = "udp")]
    pub udp_echo: bool,
    /// Take the IPv4 address from DHCP (`dhcp` feature); otherwise the static
    /// [`NetConfig::ipv4`](crate::NetConfig::ipv4) from the start.
    #[cfg(feature = "dhcp")]
    pub dhcp: bool,
    /// Without a DHCP answer this long after the first poll, use the static
    /// address (and keep asking).
    #[cfg(feature = "dhcp")]
    pub dhcp_fallback: Duration,
    /// Keep the wall clock set by SNTP (`sntp` feature).
    #[cfg(feature = "sntp")]
    pub sntp: bool,
    /// SNTP server; `None` takes the one the DHCP lease names (option 42).
    #[cfg(feature = "sntp")]
    pub sntp_server: Option<IpAddress>,
    /// How often SNTP re-syncs once it has the time.
    #[cfg(feature = "sntp")]
    pub sntp_resync: Duration,
}

impl ServiceConfig {
    /// Every service this build has; DHCP falls back to the static address
    /// after 10 s (a DHCP server answers within a second or two; much longer
    /// and a board without one seems dead); SNTP asks the server the DHCP
    /// lease names and re-syncs hourly: the stamps show whole seconds, and a
    /// crystal's 50 ppm drift is 0.18 s an hour, while public NTP pools ask
    /// clients not to query often.
    pub const DEFAULT: ServiceConfig = ServiceConfig {
        #[cfg(feature = "udp")]
        udp_echo: true,
        #[cfg(feature = "dhcp")]
        dhcp: true,
        #[cfg(feature = "dhcp")]
        dhcp_fallback: Duration::from_secs(10),
        #[cfg(feature = "sntp")]
        sntp: true,
        #[cfg(feature = "sntp")]
        sntp_server: None,
        #[cfg(feature = "sntp")]
        sntp_resync: Duration::from_secs(3600),
    };
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The DHCP server's last answer is kept whole (its options are read from
/// it): room for the largest one smoltcp invites (option 57) on a 1500-byte
/// IP MTU, 1500 − 60 (IPv4 header with options) − 8 (UDP). A smaller buffer
/// would leave a longer answer uncopied and its options unread.
#[cfg(feature = "dhcp")]
const DHCP_BYTES: usize = 1500 - 60 - 8;
/// SNTP: one 48-byte exchange at a time, two packets of room each way.
#[cfg(feature = "sntp")]
const SNTP_PACKETS: usize = 2;
#[cfg(feature = "sntp")]
const SNTP_BYTES: usize = SNTP_PACKETS * crate::sntp::PACKET_LEN;

/// Buffers for one UDP socket: `N` datagrams of `B` bytes in all, each way.
#[cfg(feature = "udp")]
struct UdpBuffers<const N: usize, const B: usize> {
    rx_meta: [PacketMetadata; N],
    rx: [u8; B],
    tx_meta: [PacketMetadata; N],
    tx: [u8; B],
}

#[cfg(feature = "udp")]
impl<const N: usize, const B: usize> UdpBuffers<N, B> {
    const fn new() -> Self {
        UdpBuffers { rx_meta: [PacketMetadata::EMPTY; N], rx: [0; B], tx_meta: [PacketMetadata::EMPTY; N], tx: [0; B] }
    }

    fn socket(&mut self) -> udp::Socket<'_> {
        udp::Socket::new(
            udp::PacketBuffer::new(&mut self.rx_meta[..], &mut self.rx[..]),
            udp::PacketBuffer::new(&mut self.tx_meta[..], &mut self.tx[..]),
        )
    }
}

/// Memory for every service this build has (empty without any), owned by
/// the caller like smoltcp's socket storage: a board keeps it in a `static`,
/// a host program may `Box::leak` one. `UDP_DATAGRAMS` datagrams and
/// `UDP_BYTES` bytes are queued each way for the UDP echo; the defaults hold
/// two stamped 1 KiB replies. DHCP and SNTP need fixed sizes, chosen here.
pub struct ServiceResources<const UDP_DATAGRAMS: usize = 4, const UDP_BYTES: usize = 2048> {
    #[cfg(feature = "udp")]
    udp_echo_buffers: UdpBuffers<UDP_DATAGRAMS, UDP_BYTES>,
    #[cfg(feature = "dhcp")]
    dhcp_buffer: [u8; DHCP_BYTES],
    #[cfg(feature = "sntp")]
    sntp_buffers: UdpBuffers<SNTP_PACKETS, SNTP_BYTES>,
}

impl<const UDP_DATAGRAMS: usize, const UDP_BYTES: usize> ServiceResources<UDP_DATAGRAMS, UDP_BYTES> {
    /// Fresh buffers (`const`: usable in a static initialiser). Sizes that
    /// cannot hold one stamped datagram fail to compile.
    pub const fn new() -> Self {
        #[cfg(feature = "udp")]
        const {
            assert!(
                UDP_DATAGRAMS > 0 && UDP_BYTES >= crate::CHUNK + crate::STAMP_LEN,
                "UDP echo needs room for one stamped datagram"
            )
        };
        ServiceResources {
            #[cfg(feature = "udp")]
            udp_echo_buffers: UdpBuffers::new(),
            #[cfg(feature = "dhcp")]
            dhcp_buffer: [0; DHCP_BYTES],
            #[cfg(feature = "sntp")]
            sntp_buffers: UdpBuffers::new(),
        }
    }
}

impl<const UDP_DATAGRAMS: usize, const UDP_BYTES: usize> Default for ServiceResources<UDP_DATAGRAMS, UDP_BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

/// The running services' state inside the server.
pub(super) struct Services {
    /// Socket-table entries not yet taken (the slots' are set aside).
    #[cfg(any(feature = "udp", feature = "dhcp", feature = "sntp"))]
    spare_sockets: usize,
    #[cfg(feature = "udp")]
    udp: Option<crate::udp_echo::UdpEcho>,
    #[cfg(feature = "dhcp")]
    dhcp: Option<crate::dhcp::DhcpClient>,
    #[cfg(feature = "sntp")]
    sntp: Option<crate::sntp::SntpClient>,
}

impl Services {
    /// The earliest time a service has something to do without a frame arriving.
    pub fn next_deadline(&self) -> Option<Instant> {
        let deadlines: [Option<Instant>; _] = [
            #[cfg(feature = "dhcp")]
            self.dhcp.as_ref().and_then(|d| d.next_deadline()),
            #[cfg(feature = "sntp")]
            self.sntp.as_ref().and_then(|s| s.next_deadline()),
            None,
        ];
        deadlines.into_iter().flatten().min()
    }
}

impl<'a> EchoServer<'a> {
    /// Starts the services `config` asks for, in `resources`: UDP echo on
    /// the echo port, DHCP (the address is cleared until a lease comes or the
    /// fallback time passes), SNTP. Each takes one socket-table entry
    /// ([`Storage::sockets_needed`](crate::Storage::sockets_needed) counts them).
    pub fn enable_services<const UDP_DATAGRAMS: usize, const UDP_BYTES: usize>(
        &mut self,
        resources: &'a mut ServiceResources<UDP_DATAGRAMS, UDP_BYTES>,
        config: &ServiceConfig,
    ) -> Result<(), InitError> {
        let ServiceResources {
            #[cfg(feature = "udp")]
            udp_echo_buffers,
            #[cfg(feature = "dhcp")]
            dhcp_buffer,
            #[cfg(feature = "sntp")]
            sntp_buffers,
        } = resources;
        let ServiceConfig {
            #[cfg(feature = "udp")]
            udp_echo,
            #[cfg(feature = "dhcp")]
            dhcp,
            #[cfg(feature = "dhcp")]
            dhcp_fallback,
            #[cfg(feature = "sntp")]
            sntp,
            #[cfg(feature = "sntp")]
            sntp_server,
            #[cfg(feature = "sntp")]
            sntp_resync,
        } = *config;
        #[cfg(feature = "udp")]
        if udp_echo {
            let port = self.config.port;
            #[cfg(feature = "sntp")]
            if sntp && port == crate::sntp::LOCAL_PORT {
                return Err(InitError::PortTaken);
            }
            #[cfg(feature = "dhcp")]
            if dhcp && port == smoltcp::wire::DHCP_CLIENT_PORT {
                return Err(InitError::PortTaken);
            }
            self.reserve_socket()?;
            let mut socket = udp_echo_buffers.socket();
            socket.bind(port).map_err(|_| InitError::UdpEchoBind)?;
            self.services.udp = Some(crate::udp_echo::UdpEcho::new(self.sockets.add(socket)));
            info!("udp echo on port {}", port);
        }
        #[cfg(feature = "dhcp")]
        if dhcp {
            use smoltcp::socket::dhcpv4;
            self.reserve_socket()?;
            let mut socket = dhcpv4::Socket::new();
            socket.set_receive_packet_buffer(dhcp_buffer);
            socket.set_parameter_request_list(&crate::dhcp::PARAMETER_REQUEST_LIST);
            let handle = self.sockets.add(socket);
            crate::dhcp::clear_ipv4(&mut self.iface);
            self.services.dhcp =
                Some(crate::dhcp::DhcpClient::new(handle, self.net.ipv4, self.net.gateway, dhcp_fallback));
            info!("no address until DHCP answers (static {} after {} s)", self.net.ipv4, dhcp_fallback.secs());
        }
        #[cfg(feature = "sntp")]
        if sntp {
            self.reserve_socket()?;
            let mut socket = sntp_buffers.socket();
            socket.bind(crate::sntp::LOCAL_PORT).map_err(|_| InitError::SntpBind)?;
            let handle = self.sockets.add(socket);
            self.services.sntp = Some(crate::sntp::SntpClient::new(handle, sntp_server, sntp_resync));
            match sntp_server {
                Some(server) => info!("wall clock from SNTP server {}", server),
                None => info!("wall clock from the SNTP server the DHCP lease names"),
            }
        }
        Ok(())
    }

    /// Where the IPv4 address currently comes from (`None` without DHCP).
    #[cfg(feature = "dhcp")]
    pub fn address_source(&self) -> Option<crate::dhcp::AddressSource> {
        self.services.dhcp.as_ref().map(|d| d.source)
    }

    /// Successful SNTP syncs so far.
    #[cfg(feature = "sntp")]
    pub fn sntp_syncs(&self) -> u64 {
        self.services.sntp.as_ref().map_or(0, |s| s.syncs)
    }
}

#[cfg(any(feature = "udp", feature = "dhcp", feature = "sntp"))]
impl Services {
    /// None running yet; `spare_sockets` table entries left for them.
    pub fn new(spare_sockets: usize) -> Self {
        Services {
            spare_sockets,
            #[cfg(feature = "udp")]
            udp: None,
            #[cfg(feature = "dhcp")]
            dhcp: None,
            #[cfg(feature = "sntp")]
            sntp: None,
        }
    }
}

#[cfg(any(feature = "udp", feature = "dhcp", feature = "sntp"))]
impl EchoServer<'_> {
    /// Once per poll, after the frames that arrived: DHCP, SNTP, UDP echo.
    #[inline(never)] // Inlined into a board's main loop it costs ~600 B of flash.
    pub(super) fn poll_services(&mut self, now: Instant) {
        #[cfg(feature = "dhcp")]
        if let Some(dhcp) = self.services.dhcp.as_mut() {
            let sock = self.sockets.get_mut::<smoltcp::socket::dhcpv4::Socket>(dhcp.handle);
            let ntp = dhcp.service(sock, &mut self.iface, now);
            #[cfg(feature = "sntp")]
            if let (Some(ntp), Some(sntp)) = (ntp, self.services.sntp.as_mut()) {
                if sntp.server.is_none() {
                    info!("using NTP server {} from the DHCP lease", ntp);
                    sntp.server = Some(ntp);
                }
            }
            #[cfg(not(feature = "sntp"))]
            if let Some(ntp) = ntp {
                debug!("DHCP names NTP server {}, but this build has no SNTP", ntp);
            }
        }
        #[cfg(feature = "sntp")]
        if let Some(sntp) = self.services.sntp.as_mut() {
            let sock = self.sockets.get_mut::<udp::Socket>(sntp.handle);
            sntp.service(sock, now, &mut self.clock, self.net.random_seed);
        }
        #[cfg(feature = "udp")]
        if let Some(echo) = self.services.udp.as_mut() {
            let sock = self.sockets.get_mut::<udp::Socket>(echo.handle);
            echo.unwedge(sock, self.config.port, self.guard.udp_sent, now, &mut self.stats);
            crate::udp_echo::service(sock, self.config.mode, &self.clock, now, &mut self.stats, &mut self.events);
        }
    }

    /// Takes a socket-table entry, or fails if none is left (`SocketSet::add` would panic).
    fn reserve_socket(&mut self) -> Result<(), InitError> {
        let spare = &mut self.services.spare_sockets;
        if *spare == 0 {
            let given = self.sockets.iter().count() + self.unborn.left;
            return Err(InitError::TooFewSockets { needed: given + 1, given });
        }
        *spare -= 1;
        Ok(())
    }
}

/// A build without optional services: no table entries to keep, nothing to
/// do each poll.
#[cfg(not(any(feature = "udp", feature = "dhcp", feature = "sntp")))]
impl Services {
    pub fn new(_spare_sockets: usize) -> Self {
        Services {}
    }
}

#[cfg(not(any(feature = "udp", feature = "dhcp", feature = "sntp")))]
impl EchoServer<'_> {
    pub(super) fn poll_services(&mut self, _now: Instant) {}
}
