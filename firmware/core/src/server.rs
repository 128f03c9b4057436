//! The echo server: N TCP sockets listening on one port (and the optional
//! services, see [`services`]) over a smoltcp interface, driven by
//! `poll(now, device)`.

pub(crate) mod services;

use core::cell::RefCell;

use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{tcp, Socket};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::config::{EchoConfig, NetConfig};
use crate::events::Events;
use crate::guard::{self, Cx, Flow, Guard, Guarded, Net};
use crate::protocol::STAMP_LEN;
use crate::slot::{self, Slot, SlotState, Step};
use crate::stamp::WallClock;
use crate::stats::Stats;
use crate::storage::{InitError, Storage};
use crate::tcp_echo::echo;
use crate::tcp_timestamps;

/// The tutorial's server as a sans-IO state machine.
pub struct EchoServer<'a> {
    iface: Interface,
    sockets: SocketSet<'a>,
    slots: &'a mut [Slot],
    /// Buffers of the slots whose socket is not made yet.
    unborn: Unborn<'a>,
    services: services::Services,
    net: NetConfig,
    config: EchoConfig,
    clock: WallClock,
    stats: Stats,
    guard: Guard,
    events: Events,
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
        let Storage { sockets, slots, rx, tx } = storage;
        let n = slots.len();
        if n == 0 || config.backlog == 0 {
            return Err(InitError::NoSlots);
        }
        if config.backlog > n {
            return Err(InitError::BacklogTooLarge { backlog: config.backlog, slots: n });
        }
        if sockets.len() < n {
            return Err(InitError::TooFewSockets { needed: n, given: sockets.len() });
        }
        let (rx_each, tx_each) = (rx.len() / n, tx.len() / n);
        if rx_each == 0 || tx_each <= STAMP_LEN {
            return Err(InitError::BuffersTooSmall { rx: rx_each, tx: tx_each });
        }
        if config.port == 0 {
            return Err(InitError::InvalidPort);
        }
        if !net.mac.is_unicast() {
            return Err(InitError::InvalidMac);
        }

        let spare_sockets = sockets.len() - n;
        let set = SocketSet::new(sockets);
        // A slot's socket is made when the slot is first needed (see
        // `Unborn`): smoltcp's `SocketSet::add` scans the table from the
        // start, so adding thousands up front takes seconds, and every socket
        // in the set costs every poll.
        slots.fill(Slot::EMPTY);
        let unborn =
            Unborn { rx, tx, rx_each, tx_each, left: n, timeout: config.peer_timeout, keep_alive: config.keep_alive };

        let mut server = EchoServer {
            iface: interface(net, device, now),
            sockets: set,
            slots,
            unborn,
            services: services::Services::new(spare_sockets),
            net: *net,
            config: *config,
            clock: WallClock::UNSET,
            stats: Stats::default(),
            guard: Guard::new(config.udp_rate, device.capabilities().checksum.tcp.tx()),
            events: Events::new(),
        };
        server.service(now);
        info!(
            "waiting for connection on {}:{} (backlog {}, {} spare slots for closing connections)",
            net.ipv4.address(),
            config.port,
            config.backlog,
            n - config.backlog
        );
        Ok(server)
    }

    /// Does all pending work at `now`: takes frames from `device`, echoes what
    /// arrived, sends the replies. Returns how long the caller may sleep before
    /// the next call, unless a frame arrives first (`None`: until a frame arrives).
    pub fn poll<D: Device + ?Sized>(&mut self, now: Instant, device: &mut D) -> Option<Duration> {
        tcp_timestamps::advance(now.total_millis());
        let net = self.net_now(now);
        self.iface.poll_maintenance(now);
        self.guard.tick(now, &mut self.stats, &mut self.events);
        guard::flush(&mut self.guard, prefix(self.slots, self.slots.len() - self.unborn.left), &net, device);
        // One frame at a time, so the slots are looked at again between a
        // SYN that took a listener and the next one, and room can be made.
        let mut listeners = self.listeners();
        loop {
            let (result, mut changed) = self
                .guarded(&net, listeners, device, |iface, dev, sockets| iface.poll_ingress_single(now, dev, sockets));
            if result == PollIngressSingleResult::None {
                break;
            }
            guard::flush(&mut self.guard, prefix(self.slots, self.slots.len() - self.unborn.left), &net, device);
            if let Some(victim) = self.guard.make_room {
                self.make_room(victim, &net, device);
                self.guard.room_made();
                changed = true;
            }
            if changed {
                self.service(now);
                listeners = self.listeners();
            }
        }
        self.poll_services(now);
        self.service(now);
        // Send the replies now rather than on the next wake-up. Each call sends
        // at most one packet per socket: repeat until nothing is left to send.
        loop {
            let (result, _) =
                self.guarded(&net, listeners, device, |iface, dev, sockets| iface.poll_egress(now, dev, sockets));
            if result != PollResult::SocketStateChanged {
                break;
            }
        }
        self.events.summarise(now, &self.stats);
        self.next_wake(now)
    }

    /// Runs `f` on the interface with the device behind the guard; returns
    /// its result and whether a frame may have changed a slot.
    fn guarded<D: Device + ?Sized, R>(
        &mut self,
        net: &Net,
        listeners: usize,
        device: &mut D,
        f: impl FnOnce(&mut Interface, &mut Guarded<'_, '_, D>, &mut SocketSet<'a>) -> R,
    ) -> (R, bool) {
        let made = self.made();
        let cell = RefCell::new(Cx {
            guard: &mut self.guard,
            slots: prefix_mut(self.slots, made),
            stats: &mut self.stats,
            events: &mut self.events,
            net,
            listeners,
            changed: false,
        });
        let result = f(&mut self.iface, &mut Guarded { inner: device, cx: &cell }, &mut self.sockets);
        (result, cell.into_inner().changed)
    }

    /// What the guard needs to know of the interface right now.
    fn net_now(&mut self, now: Instant) -> Net {
        let mut addrs = heapless::Vec::new();
        for cidr in self.iface.ip_addrs() {
            let _ = addrs.push(*cidr);
        }
        let mut gateway = None;
        self.iface.routes_mut().update(|routes| {
            // Without `ipv6` every route is IPv4 and clippy sees a plain map.
            #[allow(clippy::unnecessary_find_map)]
            let gw = routes.iter().find_map(|r| match r.via_router {
                IpAddress::Ipv4(gw) => Some(gw),
                #[cfg(feature = "ipv6")]
                IpAddress::Ipv6(_) => None,
            });
            gateway = gw;
        });
        Net { mac: self.net.mac, addrs, gateway, config: self.config, now }
    }

    /// Slots that have a socket: always the first ones, as sockets are made
    /// in slot order (see [`EchoServer::balance`]); the rest are all
    /// [`Slot::EMPTY`], so the work per poll follows the most connections
    /// held at once, not the slots given.
    fn made(&self) -> usize {
        self.slots.len() - self.unborn.left
    }

    fn listeners(&self) -> usize {
        prefix(self.slots, self.made()).iter().filter(|s| s.state == SlotState::Listening).count()
    }

    /// Resets the connection in slot `victim` so a new client can have it
    /// (the guard chose it; see [`guard::victim`]).
    fn make_room<D: Device + ?Sized>(&mut self, victim: usize, net: &Net, device: &mut D) {
        let Some(slot) = self.slots.get_mut(victim) else { return };
        let Some(handle) = slot.handle else { return };
        if slot.state == SlotState::Handshake {
            self.stats.handshakes_dropped += 1;
        } else {
            self.stats.evicted += 1;
            guard::reset_peer(slot, net, device);
        }
        if let Some(remote) = slot.remote.take() {
            if self.events.allow(net.now) {
                info!("{}: reset to make room for a new client", remote);
            }
        }
        self.sockets.get_mut::<tcp::Socket>(handle).abort();
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

    /// Connections currently open (serving or finishing their close).
    pub fn open_connections(&self) -> usize {
        prefix(self.slots, self.made()).iter().filter(|s| !s.is_free()).count()
    }

    /// The smoltcp interface, e.g. to change addresses at run time.
    pub fn interface_mut(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// The network configuration the server was started with (the static one,
    /// when DHCP is on).
    pub fn net_config(&self) -> &NetConfig {
        &self.net
    }

    /// The echo configuration in force.
    pub fn config(&self) -> &EchoConfig {
        &self.config
    }

    /// Runs every slot's state machine once, keeps `backlog` slots
    /// listening (fewer while connections are served).
    fn service(&mut self, now: Instant) {
        let (config, clock) = (self.config, self.clock);
        let made = self.made();
        for slot in prefix_mut(self.slots, made).iter_mut() {
            let Some(handle) = slot.handle else { continue };
            let sock = self.sockets.get_mut::<tcp::Socket>(handle);
            let (state, step) = slot::next(slot.state, sock.state(), sock.can_recv());
            let freed = matches!(step, Step::Free(_));
            if state != slot.state {
                slot.since = now;
            }
            slot.state = state;
            // Our data newly acknowledged is a sign of life (the peer reads).
            let unacked = sock.send_queue();
            if unacked < slot.unacked {
                slot.last_progress = now;
            }
            match step {
                Step::Wait => {}
                Step::Handshake => {
                    slot.remote = sock.remote_endpoint();
                    slot.local = sock.local_endpoint();
                    slot.flow = Flow::NONE;
                    slot.last_active = now;
                    slot.last_progress = now;
                }
                Step::Abandoned => {
                    slot.remote = None;
                    slot.flow = Flow::NONE;
                }
                Step::Free(ending) => {
                    if let Some(remote) = slot.remote.take() {
                        self.stats.count_ending(ending, remote, slot.timed_out, now - slot.last_active, &config);
                    }
                    slot.local = None;
                    slot.flow = Flow::NONE;
                    slot.timed_out = false;
                    if sock.state() == tcp::State::TimeWait {
                        sock.abort();
                    }
                }
                Step::Accept => {
                    self.stats.accepted += 1;
                    slot.remote = sock.remote_endpoint().or(slot.remote);
                    slot.local = sock.local_endpoint().or(slot.local);
                    slot.last_active = now;
                    slot.last_progress = now;
                    if let Some(remote) = slot.remote {
                        info!("connect from {}", remote);
                    }
                    echo(sock, slot, &config, &clock, now, &mut self.stats, &mut self.events);
                }
                Step::Echo => echo(sock, slot, &config, &clock, now, &mut self.stats, &mut self.events),
                Step::Close => {
                    if let Some(remote) = slot.remote {
                        debug!("{}: peer closed, closing", remote);
                    }
                    sock.close();
                }
            }
            slot.unacked = sock.send_queue();
            if let (SlotState::Open | SlotState::Closing, Some(limit)) = (slot.state, config.idle_timeout) {
                if !slot.timed_out && now - slot.last_active >= limit {
                    // RST goes out with this poll's egress; the slot is freed next poll.
                    sock.abort();
                    slot.timed_out = true;
                }
            }
            if let (SlotState::Handshake, Some(limit)) = (slot.state, config.handshake_timeout) {
                if now - slot.since >= limit {
                    self.stats.handshakes_dropped += 1;
                    if let Some(remote) = slot.remote.take() {
                        if self.events.allow(now) {
                            debug!("{}: handshake not completed, dropped", remote);
                        }
                    }
                    sock.abort();
                }
            }
            if freed {
                // smoltcp keeps "waiting for this neighbour, stay silent for
                // 1 s" with the socket's place in the set, not with the
                // connection: after a peer that never answered ARP, the next
                // client of this slot would get no SYN-ACK for up to a
                // second. Re-adding the socket starts it afresh.
                // (Irrefutable in builds with TCP sockets only.)
                #[allow(irrefutable_let_patterns)]
                if let Socket::Tcp(sock) = self.sockets.remove(handle) {
                    slot.handle = Some(self.sockets.add(sock));
                }
            }
        }
        self.balance();
    }

    /// Keeps as many slots listening as connections may still be accepted:
    /// `backlog` minus those served, as far as free slots allow. Connections
    /// finishing their close are not served: they sit in spare slots.
    ///
    /// At most [`LISTEN_AHEAD`] listen at once: the guard passes one SYN at a
    /// time and the server relistens before the next frame, so more would
    /// only be sockets smoltcp walks through on every poll.
    fn balance(&mut self) {
        let made = self.made();
        let serving = prefix(self.slots, made).iter().filter(|s| s.is_serving()).count();
        let want = self.config.backlog.saturating_sub(serving).min(LISTEN_AHEAD);
        let mut listening = self.listeners();
        for slot in prefix_mut(self.slots, made).iter_mut().rev() {
            if listening <= want {
                break;
            }
            if let (SlotState::Listening, Some(handle)) = (slot.state, slot.handle) {
                self.sockets.get_mut::<tcp::Socket>(handle).abort();
                slot.state = SlotState::Idle;
                listening -= 1;
            }
        }
        for slot in self.slots.iter_mut() {
            if listening >= want {
                break;
            }
            if slot.state != SlotState::Idle || slot.timed_out {
                continue;
            }
            let handle = match slot.handle {
                Some(handle) => handle,
                None => match self.unborn.make(&mut self.sockets) {
                    Some(handle) => *slot.handle.insert(handle),
                    None => continue,
                },
            };
            let sock = self.sockets.get_mut::<tcp::Socket>(handle);
            if sock.state() != tcp::State::Closed {
                continue;
            }
            // smoltcp drops the generator for a peer without timestamps: restore it.
            sock.set_tsval_generator(self.config.tcp_timestamps.then_some(tcp_timestamps::tsval as fn() -> u32));
            match sock.listen(self.config.port) {
                Ok(()) => {
                    slot.state = SlotState::Listening;
                    listening += 1;
                }
                // Unreachable by construction (port checked, socket closed);
                // log rather than panic on the network path.
                Err(e) => error!("slot cannot listen: {:?}", e),
            }
        }
    }

    #[inline(never)] // Inlined into a board's main loop it costs ~1 KB of flash.
    fn next_wake(&mut self, now: Instant) -> Option<Duration> {
        let mut delay = self.iface.poll_delay(now, &self.sockets);
        let mut sooner = |d: Duration| delay = Some(delay.map_or(d, |cur| cur.min(d)));
        // One pass over the slots that have a socket.
        let made = self.slots.len() - self.unborn.left;
        for slot in prefix(self.slots, made) {
            // A timed-out slot relistens on the next poll: come back promptly.
            if slot.timed_out {
                sooner(Duration::from_millis(1));
                continue;
            }
            let due = match (slot.state, self.config.idle_timeout, self.config.handshake_timeout) {
                (SlotState::Open | SlotState::Closing, Some(limit), _) => slot.last_active + limit,
                (SlotState::Handshake, _, Some(limit)) => slot.since + limit,
                _ => continue,
            };
            sooner(if due > now { due - now } else { Duration::ZERO });
        }
        if let Some(at) = self.guard.next_deadline() {
            sooner(if at > now { at - now } else { Duration::ZERO });
        }
        if let Some(at) = self.services.next_deadline() {
            sooner(if at > now { at - now } else { Duration::ZERO });
        }
        delay
    }
}

/// Most slots listening at once (fewer when fewer connections may still be
/// accepted); see [`EchoServer::balance`].
const LISTEN_AHEAD: usize = 8;

/// The buffers of the slots whose socket is not made yet, carved off one
/// socket at a time.
struct Unborn<'a> {
    rx: &'a mut [u8],
    tx: &'a mut [u8],
    rx_each: usize,
    tx_each: usize,
    /// Sockets still to make.
    left: usize,
    timeout: Option<Duration>,
    keep_alive: Option<Duration>,
}

impl<'a> Unborn<'a> {
    /// Makes the next slot's socket and adds it to `set` (`None` once every
    /// slot has one). Out of line: made rarely, and kept out of `poll`.
    #[inline(never)]
    fn make(&mut self, set: &mut SocketSet<'a>) -> Option<smoltcp::iface::SocketHandle> {
        if self.left == 0 {
            return None;
        }
        let (rx, rx_rest) = core::mem::take(&mut self.rx).split_at_mut_checked(self.rx_each)?;
        let (tx, tx_rest) = core::mem::take(&mut self.tx).split_at_mut_checked(self.tx_each)?;
        (self.rx, self.tx) = (rx_rest, tx_rest);
        self.left -= 1;
        let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
        // Both survive the socket's reset between connections.
        socket.set_timeout(self.timeout);
        socket.set_keep_alive(self.keep_alive);
        Some(set.add(socket))
    }
}

/// The first `n` slots (no panic path: `n` is clamped).
fn prefix(slots: &[Slot], n: usize) -> &[Slot] {
    &slots[..n.min(slots.len())]
}

fn prefix_mut(slots: &mut [Slot], n: usize) -> &mut [Slot] {
    let n = n.min(slots.len());
    &mut slots[..n]
}

/// The smoltcp interface with the configured addresses and route.
fn interface<D: Device + ?Sized>(net: &NetConfig, device: &mut D, now: Instant) -> Interface {
    let mut iface_config = Config::new(HardwareAddress::Ethernet(net.mac));
    iface_config.random_seed = net.random_seed;
    let mut iface = Interface::new(iface_config, device, now);
    iface.update_ip_addrs(|addrs| {
        // Capacity covers every address pushed here (see the `ipv6` feature).
        let _ = addrs.push(IpCidr::Ipv4(net.ipv4));
        #[cfg(feature = "ipv6")]
        if let Some(v6) = net.ipv6 {
            let _ = addrs.push(IpCidr::Ipv6(v6));
            let _ = addrs.push(IpCidr::new(smoltcp::wire::IpAddress::Ipv6(net.link_local()), 64));
        }
    });
    if let Some(gw) = net.gateway {
        // Only fails when the route table is full, and it is empty here.
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
    }
    iface
}
