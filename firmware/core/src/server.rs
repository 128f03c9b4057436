//! The echo server: N TCP sockets listening on one port over a smoltcp
//! interface, driven by `poll(now, device)`.

use core::fmt;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpCidr, IpEndpoint};

use crate::config::{EchoConfig, NetConfig, CHUNK};
use crate::fmt::Printable;
use crate::slot::{self, SlotState, Step};
use crate::stamp::{WallClock, STAMP_LEN};
use crate::stats::Stats;
use crate::syn_watch::SynWatch;

/// Per-connection bookkeeping; the caller provides one per connection slot
/// (`[Slot::EMPTY; N]`), so a board can keep them in a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    handle: Option<SocketHandle>,
    state: SlotState,
    remote: Option<IpEndpoint>,
    last_active: Instant,
    timed_out: bool,
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Slot = Slot {
        handle: None,
        state: SlotState::Listening,
        remote: None,
        last_active: Instant::ZERO,
        timed_out: false,
    };

    /// Where this slot stands.
    pub fn state(&self) -> SlotState {
        self.state
    }

    /// The connected client, while there is one.
    pub fn remote(&self) -> Option<IpEndpoint> {
        self.remote
    }
}

/// Memory the server runs in, all borrowed from the caller (no allocation).
///
/// `slots.len()` is the number of simultaneous connections (the backlog);
/// `rx` and `tx` are split evenly between them.
pub struct Storage<'a> {
    /// smoltcp socket table: at least [`Storage::sockets_needed`] entries.
    pub sockets: &'a mut [SocketStorage<'a>],
    /// One per connection.
    pub slots: &'a mut [Slot],
    /// Receive buffers of all connections, back to back.
    pub rx: &'a mut [u8],
    /// Transmit buffers of all connections, back to back.
    pub tx: &'a mut [u8],
}

impl Storage<'_> {
    /// Socket-table entries needed for `connections` connections.
    pub const fn sockets_needed(connections: usize) -> usize {
        connections
    }
}

/// Why the server could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitError {
    /// `slots` was empty: nothing could ever connect.
    NoSlots,
    /// The socket table is smaller than [`Storage::sockets_needed`].
    TooFewSockets {
        /// Entries required.
        needed: usize,
        /// Entries given.
        given: usize,
    },
    /// A connection's share of `tx` cannot hold one stamp plus one byte, or
    /// its share of `rx` is empty: the connection could never make progress.
    BuffersTooSmall {
        /// Receive bytes per connection.
        rx: usize,
        /// Transmit bytes per connection.
        tx: usize,
    },
    /// Port 0 cannot be listened on.
    InvalidPort,
    /// The MAC address is not a unicast Ethernet address.
    InvalidMac,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InitError::NoSlots => write!(f, "at least one connection slot is needed"),
            InitError::TooFewSockets { needed, given } => {
                write!(f, "socket table has {given} entries, {needed} are needed")
            }
            InitError::BuffersTooSmall { rx, tx } => write!(
                f,
                "per-connection buffers too small (rx {rx} B, tx {tx} B): tx must exceed {STAMP_LEN} B, rx must not be empty"
            ),
            InitError::InvalidPort => write!(f, "port 0 cannot be listened on"),
            InitError::InvalidMac => write!(f, "MAC address must be unicast"),
        }
    }
}

impl core::error::Error for InitError {}

/// The tutorial's server as a sans-IO state machine.
pub struct EchoServer<'a> {
    iface: Interface,
    sockets: SocketSet<'a>,
    slots: &'a mut [Slot],
    config: EchoConfig,
    clock: WallClock,
    stats: Stats,
}

impl<'a> EchoServer<'a> {
    /// Builds the interface on `device` and puts every slot to listening.
    pub fn new<D: Device + ?Sized>(
        net: &NetConfig,
        config: &EchoConfig,
        device: &mut D,
        now: Instant,
        storage: Storage<'a>,
    ) -> Result<Self, InitError> {
        let Storage {
            sockets,
            slots,
            rx,
            tx,
        } = storage;
        let n = slots.len();
        if n == 0 {
            return Err(InitError::NoSlots);
        }
        if sockets.len() < Storage::sockets_needed(n) {
            return Err(InitError::TooFewSockets {
                needed: Storage::sockets_needed(n),
                given: sockets.len(),
            });
        }
        let (rx_each, tx_each) = (rx.len() / n, tx.len() / n);
        if rx_each == 0 || tx_each <= STAMP_LEN {
            return Err(InitError::BuffersTooSmall {
                rx: rx_each,
                tx: tx_each,
            });
        }
        if config.port == 0 {
            return Err(InitError::InvalidPort);
        }
        if !net.mac.is_unicast() {
            return Err(InitError::InvalidMac);
        }

        let mut iface_config = Config::new(HardwareAddress::Ethernet(net.mac));
        iface_config.random_seed = net.random_seed;
        let mut iface = Interface::new(iface_config, device, now);
        iface.update_ip_addrs(|addrs| {
            // Capacity is at least one address; this cannot fail.
            let _ = addrs.push(IpCidr::Ipv4(net.ipv4));
        });
        if let Some(gw) = net.gateway {
            // Only fails when the route table is full, and it is empty here.
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }

        let mut set = SocketSet::new(sockets);
        for ((slot, rx), tx) in slots
            .iter_mut()
            .zip(rx.chunks_exact_mut(rx_each))
            .zip(tx.chunks_exact_mut(tx_each))
        {
            let mut socket =
                tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
            // Both survive the socket's reset between connections.
            socket.set_timeout(config.peer_timeout);
            socket.set_keep_alive(config.keep_alive);
            *slot = Slot {
                handle: Some(set.add(socket)),
                ..Slot::EMPTY
            };
        }

        let mut server = EchoServer {
            iface,
            sockets: set,
            slots,
            config: *config,
            clock: WallClock::UNSET,
            stats: Stats::default(),
        };
        server.service(now);
        info!(
            "waiting for connection on {}:{} ({} slots)",
            net.ipv4.address(),
            config.port,
            n
        );
        Ok(server)
    }

    /// Does all pending work at `now`: takes frames from `device`, echoes what
    /// arrived, sends the replies. Returns how long the caller may sleep before
    /// the next call, unless a frame arrives first (`None`: until a frame arrives).
    pub fn poll<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D) -> Option<Duration> {
        let mut watch = SynWatch {
            inner: device,
            port: self.config.port,
            seen: heapless::Vec::new(),
        };
        self.iface.poll(now, &mut watch, &mut self.sockets);
        for syn in watch.seen.iter() {
            self.count_if_refused(*syn);
        }
        self.service(now);
        // Send the replies now rather than on the next wake-up.
        self.iface.poll_egress(now, &mut watch, &mut self.sockets);
        self.next_wake(now)
    }

    /// Sets the wall clock: at monotonic `now` the Unix time is `unix_ms`.
    pub fn set_unix_time(&mut self, now: Instant, unix_ms: u64) {
        self.clock.set(now, unix_ms);
    }

    /// The wall clock the stamps are read from.
    pub fn wall_clock(&self) -> &WallClock {
        &self.clock
    }

    /// Counters since start.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Connection slots, in order.
    pub fn slots(&self) -> &[Slot] {
        self.slots
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state != SlotState::Listening)
            .count()
    }

    /// The smoltcp interface, e.g. to change addresses at run time.
    pub fn interface_mut(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// The echo configuration in force.
    pub fn config(&self) -> &EchoConfig {
        &self.config
    }

    fn count_if_refused(&mut self, syn: IpEndpoint) {
        let taken = self.slots.iter().any(|s| {
            s.handle
                .map(|h| self.sockets.get::<tcp::Socket>(h).remote_endpoint() == Some(syn))
                .unwrap_or(false)
        });
        if !taken {
            self.stats.refused += 1;
            warn!("refused {}: all {} slots busy", syn, self.slots.len());
        }
    }

    /// Runs every slot's state machine once.
    fn service(&mut self, now: Instant) {
        let (config, clock) = (self.config, self.clock);
        for slot in self.slots.iter_mut() {
            let Some(handle) = slot.handle else { continue };
            let sock = self.sockets.get_mut::<tcp::Socket>(handle);
            let (state, step) = slot::next(slot.state, sock.state(), sock.can_recv());
            slot.state = state;
            match step {
                Step::Wait => {}
                Step::Relisten { clean } => {
                    if let Some(remote) = slot.remote.take() {
                        if slot.timed_out {
                            self.stats.timeouts += 1;
                            info!("{}: idle timeout, connection reset", remote);
                        } else if clean {
                            self.stats.closed += 1;
                            info!("{}: closed", remote);
                        } else {
                            self.stats.resets += 1;
                            info!("{}: reset", remote);
                        }
                    }
                    slot.timed_out = false;
                    if sock.state() == tcp::State::TimeWait {
                        sock.abort();
                    }
                    if let Err(e) = sock.listen(config.port) {
                        // Unreachable by construction (port checked, socket closed);
                        // log rather than panic on the network path.
                        error!("slot cannot listen: {:?}", e);
                    }
                }
                Step::Accept => {
                    self.stats.accepted += 1;
                    slot.remote = sock.remote_endpoint();
                    slot.last_active = now;
                    if let Some(remote) = slot.remote {
                        info!("connect from {}", remote);
                    }
                    echo(sock, slot, &config, &clock, now, &mut self.stats);
                }
                Step::Echo => echo(sock, slot, &config, &clock, now, &mut self.stats),
                Step::Close => {
                    if let Some(remote) = slot.remote {
                        debug!("{}: peer closed, closing", remote);
                    }
                    sock.close();
                }
            }
            if let (SlotState::Open | SlotState::Closing, Some(limit)) =
                (slot.state, config.idle_timeout)
            {
                if !slot.timed_out && now - slot.last_active >= limit {
                    // RST goes out with this poll's egress; the slot relistens next poll.
                    sock.abort();
                    slot.timed_out = true;
                }
            }
        }
    }

    fn next_wake(&mut self, now: Instant) -> Option<Duration> {
        let mut delay = self.iface.poll_delay(now, &self.sockets);
        if let Some(limit) = self.config.idle_timeout {
            for slot in self
                .slots
                .iter()
                .filter(|s| s.state != SlotState::Listening && !s.timed_out)
            {
                let due = slot.last_active + limit;
                let wait = if due > now { due - now } else { Duration::ZERO };
                delay = Some(delay.map_or(wait, |d| d.min(wait)));
            }
        }
        // A timed-out slot relistens on the next poll: come back promptly.
        if self.slots.iter().any(|s| s.timed_out) {
            delay = Some(delay.map_or(Duration::from_millis(1), |d| {
                d.min(Duration::from_millis(1))
            }));
        }
        delay
    }
}

/// Bytes of each message shown in the log.
const LOG_PREVIEW: usize = 48;

/// Drops `n` bytes from the front of the receive buffer. The buffer is a ring:
/// one `recv` call only sees the part up to the wrap, so loop.
fn discard(sock: &mut tcp::Socket, mut n: usize) {
    while n > 0 {
        match sock.recv(|buf| {
            let k = buf.len().min(n);
            (k, k)
        }) {
            Ok(0) | Err(_) => break,
            Ok(k) => n -= k,
        }
    }
}

/// Moves as many whole chunks as the transmit buffer can take, each with its
/// prefix. Bytes leave the receive buffer only after `send_slice` took them.
fn echo(
    sock: &mut tcp::Socket,
    slot: &mut Slot,
    config: &EchoConfig,
    clock: &WallClock,
    now: Instant,
    stats: &mut Stats,
) {
    let overhead = config.mode.overhead();
    let mut chunk = [0u8; CHUNK];
    while sock.can_recv() && sock.may_send() {
        let free = sock.send_capacity() - sock.send_queue();
        if free <= overhead {
            break; // backpressure: the peer must read before we take more
        }
        let want = (free - overhead).min(CHUNK);
        let Ok(n) = sock.peek_slice(&mut chunk[..want]) else {
            break;
        };
        if n == 0 {
            break;
        }
        if overhead > 0 {
            let stamp = clock.stamp(now);
            // Fits: `free` covers the stamp plus `n`.
            let _ = sock.send_slice(&stamp[..overhead]);
            trace!("stamp {}", Printable(&stamp));
        }
        let sent = sock.send_slice(&chunk[..n]).unwrap_or(0);
        // Dequeue exactly what was queued for sending: nothing lost if `sent < n`.
        discard(sock, sent);
        stats.bytes_in += sent as u64;
        stats.bytes_out += (sent + overhead) as u64;
        slot.last_active = now;
        if let Some(remote) = slot.remote {
            if overhead > 0 {
                if sent > LOG_PREVIEW {
                    info!(
                        "{}: {}... ({} B)",
                        remote,
                        Printable(&chunk[..LOG_PREVIEW]),
                        sent
                    );
                } else {
                    info!("{}: {}", remote, Printable(&chunk[..sent]));
                }
            } else {
                trace!("{}: {} bytes", remote, sent);
            }
        }
        if sent < n {
            break;
        }
    }
}
