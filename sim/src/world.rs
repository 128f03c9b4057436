//! The echo server and a client stack on one virtual clock.

use std::collections::VecDeque;

use echo_core::{EchoConfig, EchoServer, Mode, NetConfig, Slot, Stats, Storage, UdpStorage};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv6Address};

use crate::link::{pair, LinkEnd};

/// The client's address, the host side of the TAP in the real setup.
pub const CLIENT_IP: Ipv4Address = echo_core::HOST_IPV4;
/// The server's address (echo-core's default).
pub const SERVER_IP: Ipv4Address = NetConfig::DEFAULT.ipv4.address();
/// The client's IPv6 address.
pub const CLIENT_IP6: Ipv6Address = echo_core::HOST_IPV6;
/// The server's IPv6 address (echo-core's default).
pub const SERVER_IP6: Ipv6Address = match NetConfig::DEFAULT.ipv6 {
    Some(cidr) => cidr.address(),
    None => panic!("echo-core's default configuration has no IPv6 address"),
};
/// The Unix time the server's wall clock is set to at start.
pub const START_UNIX_MS: u64 = 1_795_536_028_000; // Tue Nov 24 16:00:28 2026

/// How to build a world.
#[derive(Debug, Clone, Copy)]
pub struct WorldConfig {
    /// Server backlog (connections served at once); the server gets
    /// [`Storage::slots_needed`] slots for it.
    pub slots: usize,
    /// Server receive buffer per connection.
    pub server_rx: usize,
    /// Server transmit buffer per connection.
    pub server_tx: usize,
    /// Echo settings.
    pub echo: EchoConfig,
    /// Client buffers per connection (both directions).
    pub client_buf: usize,
    /// Link MTU (Ethernet frame size).
    pub mtu: usize,
    /// Ask for a DHCP lease, falling back to the static address after this long.
    pub dhcp_fallback: Option<Duration>,
    /// Take the wall clock from this SNTP server instead of [`START_UNIX_MS`].
    pub sntp_server: Option<IpAddress>,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            slots: 5,
            server_rx: 2048,
            server_tx: 2048,
            echo: EchoConfig::DEFAULT,
            client_buf: 64 * 1024,
            mtu: 1514,
            dhcp_fallback: None,
            sntp_server: None,
        }
    }
}

impl WorldConfig {
    /// The default world in `mode`.
    pub fn with_mode(mode: Mode) -> Self {
        let mut c = Self::default();
        c.echo.mode = mode;
        c
    }
}

/// A client connection, by index into [`Client::conns`].
pub type ConnId = usize;

/// One client connection's pending output and received input.
#[derive(Debug, Default)]
pub struct Conn {
    handle: Option<SocketHandle>,
    /// Bytes queued by the test, not yet accepted by the socket.
    pub outbox: VecDeque<u8>,
    /// Everything received so far.
    pub inbox: Vec<u8>,
    /// Send FIN once the outbox is empty.
    pub close_when_sent: bool,
    /// Stop reading (to exercise backpressure).
    pub paused: bool,
}

/// The client side: a second smoltcp interface with any number of sockets.
pub struct Client {
    iface: Interface,
    sockets: SocketSet<'static>,
    /// The client's end of the link.
    pub link: LinkEnd,
    /// Connections opened so far.
    pub conns: Vec<Conn>,
    next_port: u16,
    buf: usize,
}

impl Client {
    fn new(mut link: LinkEnd, now: Instant, buf: usize) -> Self {
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress([0x02, 0, 0, 0, 0, 0x64])));
        config.random_seed = 7;
        let mut iface = Interface::new(config, &mut link, now);
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(CLIENT_IP), 24)).unwrap();
            a.push(IpCidr::new(IpAddress::Ipv6(CLIENT_IP6), 64)).unwrap();
        });
        Client { iface, sockets: SocketSet::new(vec![]), link, conns: vec![], next_port: 40_000, buf }
    }

    /// Opens a connection to the server's IPv4 address and `port`.
    pub fn connect(&mut self, port: u16) -> ConnId {
        self.connect_to(IpAddress::Ipv4(SERVER_IP), port)
    }

    /// Opens a UDP socket on `local_port`; returns its handle.
    pub fn udp_socket(&mut self, local_port: u16) -> SocketHandle {
        let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0; 16 * 2048]);
        let mut sock = udp::Socket::new(buf(), buf());
        sock.bind(local_port).expect("valid port");
        self.sockets.add(sock)
    }

    /// The UDP socket `h`.
    pub fn udp(&mut self, h: SocketHandle) -> &mut udp::Socket<'static> {
        self.sockets.get_mut::<udp::Socket>(h)
    }

    /// Sends one datagram from UDP socket `h` to `to`.
    pub fn send_datagram(&mut self, h: SocketHandle, to: IpEndpoint, data: &[u8]) {
        self.udp(h).send_slice(data, to).expect("client UDP buffer has room");
    }

    /// Opens a connection to `addr`:`port`.
    pub fn connect_to(&mut self, addr: IpAddress, port: u16) -> ConnId {
        let mut sock =
            tcp::Socket::new(tcp::SocketBuffer::new(vec![0; self.buf]), tcp::SocketBuffer::new(vec![0; self.buf]));
        self.next_port += 1;
        sock.connect(self.iface.context(), (addr, port), self.next_port).expect("connect arguments are valid");
        let handle = self.sockets.add(sock);
        self.conns.push(Conn { handle: Some(handle), ..Conn::default() });
        self.conns.len() - 1
    }

    /// The TCP socket of connection `id`.
    pub fn socket(&mut self, id: ConnId) -> &mut tcp::Socket<'static> {
        let h = self.conns[id].handle.expect("connection exists");
        self.sockets.get_mut::<tcp::Socket>(h)
    }

    /// The TCP state of connection `id`.
    pub fn state(&mut self, id: ConnId) -> tcp::State {
        self.socket(id).state()
    }

    /// Queues `data` to send on `id`.
    pub fn send(&mut self, id: ConnId, data: &[u8]) {
        self.conns[id].outbox.extend(data);
    }

    /// Removes finished connections' sockets (their `Conn` entries stay, emptied).
    pub fn forget_finished(&mut self) {
        for conn in self.conns.iter_mut() {
            let Some(h) = conn.handle else { continue };
            let state = self.sockets.get::<tcp::Socket>(h).state();
            if matches!(state, tcp::State::Closed | tcp::State::TimeWait) {
                self.sockets.remove(h);
                *conn = Conn::default();
            }
        }
    }

    fn pump(&mut self) {
        for conn in self.conns.iter_mut() {
            let Some(h) = conn.handle else { continue };
            let sock = self.sockets.get_mut::<tcp::Socket>(h);
            while sock.can_send() && !conn.outbox.is_empty() {
                let (front, _) = conn.outbox.as_slices();
                match sock.send_slice(front) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drop(conn.outbox.drain(..n)),
                }
            }
            if conn.close_when_sent && conn.outbox.is_empty() && sock.may_send() {
                sock.close();
            }
            while !conn.paused && sock.can_recv() {
                let got = sock.recv(|b| (b.len(), b.to_vec())).unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                conn.inbox.extend_from_slice(&got);
            }
        }
    }

    fn poll(&mut self, now: Instant) -> Option<Duration> {
        self.iface.poll(now, &mut self.link, &mut self.sockets);
        self.pump();
        self.iface.poll(now, &mut self.link, &mut self.sockets);
        self.iface.poll_delay(now, &self.sockets)
    }
}

/// Every buffer the server runs in, owned: lets a world borrow its memory
/// instead of leaking it (the fuzz target builds thousands of worlds).
pub struct Memory {
    slots: Vec<Slot>,
    rx: Vec<u8>,
    tx: Vec<u8>,
    dhcp: Vec<u8>,
    udp: [Vec<udp::PacketMetadata>; 4],
    udp_bytes: [Vec<u8>; 4],
}

impl Memory {
    /// Buffers sized for `config`.
    pub fn new(config: &WorldConfig) -> Self {
        let n = Storage::slots_needed(config.slots);
        let meta = |k| vec![udp::PacketMetadata::EMPTY; k];
        Memory {
            slots: vec![Slot::EMPTY; n],
            rx: vec![0; n * config.server_rx],
            tx: vec![0; n * config.server_tx],
            dhcp: vec![0; 1500],
            udp: [meta(8), meta(8), meta(2), meta(2)],
            udp_bytes: [vec![0; 8 * 1024], vec![0; 8 * 1100], vec![0; 256], vec![0; 256]],
        }
    }

    /// An empty socket table for `config`, to pass beside the memory.
    pub fn socket_table<'a>(config: &WorldConfig) -> Vec<SocketStorage<'a>> {
        (0..Storage::sockets_needed(Storage::slots_needed(config.slots))).map(|_| SocketStorage::EMPTY).collect()
    }
}

/// Server, client and the clock.
pub struct World<'a> {
    /// The system under test.
    pub server: EchoServer<'a>,
    /// The server's end of the link.
    pub server_link: LinkEnd,
    /// The client stack.
    pub client: Client,
    /// Virtual time.
    pub now: Instant,
}

impl World<'static> {
    /// Builds a world in leaked memory (as a board's statics); the server's
    /// wall clock reads [`START_UNIX_MS`] at t=0 unless SNTP is configured.
    pub fn new(config: WorldConfig) -> Self {
        let memory = Box::leak(Box::new(Memory::new(&config)));
        let sockets = Vec::leak(Memory::socket_table(&config));
        World::in_memory(config, memory, sockets)
    }

    /// The default world in `mode`.
    pub fn with_mode(mode: Mode) -> Self {
        Self::new(WorldConfig::with_mode(mode))
    }
}

impl<'a> World<'a> {
    /// Builds a world in borrowed memory.
    pub fn in_memory(config: WorldConfig, memory: &'a mut Memory, sockets: &'a mut [SocketStorage<'a>]) -> Self {
        let (mut server_link, client_link) = pair(config.mtu);
        let now = Instant::ZERO;
        let Memory { slots, rx, tx, dhcp, udp: meta, udp_bytes } = memory;
        let storage = Storage { sockets, slots, rx, tx };
        let echo = EchoConfig { backlog: config.slots, ..config.echo };
        let mut server = EchoServer::new(&NetConfig::DEFAULT, &echo, &mut server_link, now, storage)
            .expect("world configuration is valid");
        let [echo_rx_meta, echo_tx_meta, sntp_rx_meta, sntp_tx_meta] = meta;
        let [echo_rx, echo_tx, sntp_rx, sntp_tx] = udp_bytes;
        if let Some(fallback) = config.dhcp_fallback {
            server.enable_dhcp(now, dhcp, fallback).expect("DHCP storage is valid");
        }
        match config.sntp_server {
            Some(ntp) => server
                .enable_sntp(
                    now,
                    UdpStorage { rx_meta: sntp_rx_meta, rx: sntp_rx, tx_meta: sntp_tx_meta, tx: sntp_tx },
                    Some(ntp),
                    Duration::from_secs(60),
                )
                .expect("SNTP storage is valid"),
            None => server.set_unix_time(now, START_UNIX_MS),
        }
        server
            .enable_udp(UdpStorage { rx_meta: echo_rx_meta, rx: echo_rx, tx_meta: echo_tx_meta, tx: echo_tx })
            .expect("UDP storage is valid");
        let client = Client::new(client_link, now, config.client_buf);
        World { server, server_link, client, now }
    }

    /// Server counters.
    pub fn stats(&self) -> Stats {
        self.server.stats()
    }

    /// Polls both stacks once, then advances the clock: by 1 ms while frames
    /// are in flight, else straight to the earliest deadline (at most 1 s).
    pub fn step(&mut self) {
        let s = self.server.poll(self.now, &mut self.server_link);
        let c = self.client.poll(self.now);
        let busy = self.server_link.pending() > 0 || self.client.link.pending() > 0;
        let advance = if busy {
            Duration::from_millis(1)
        } else {
            [s, c]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(1), Duration::from_secs(1))
        };
        self.now += advance;
    }

    /// Steps until `done` holds or `limit` of virtual time passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut World<'a>) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Steps for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }
}
