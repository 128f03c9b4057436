//! A hostile (or merely unlucky) host on the TAP's link, built from raw
//! frames: forged TCP segments, UDP datagrams, ARP and neighbour
//! advertisements written on the TAP's host side ([`PacketSocket`]), and what
//! the device sends back read from the same side ([`Capture`]).
//!
//! Frames are made and parsed by [`netlab::frames`] (shared with the
//! simulation's attacker). [`Wire`] puts the two sockets together, answers
//! ARP for the fake hosts it plays, and keeps the frames a caller has not
//! asked for yet; [`RawPeer`] is a TCP client played by hand on top of it (a
//! handshake whose SYN-ACK is "lost", a close whose last ACK never comes).

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::thread;
use std::time::{Duration, Instant};

use netlab::frames::{arp_frame, seq_le, seq_lt, tcp_frame, Frame, Kind, Segment};
use smoltcp::wire::{ArpOperation, EthernetAddress, IpEndpoint};

use crate::capture::{Capture, Captured};
use crate::packet::PacketSocket;
use crate::{Netns, DEVICE_IP, DEVICE_MAC, TAP};

/// The device's MAC ([`DEVICE_MAC`]).
pub fn device_mac() -> EthernetAddress {
    DEVICE_MAC.parse().expect("DEVICE_MAC is a MAC address")
}

/// The MAC of interface `ifname` in `ns`.
pub fn interface_mac(ns: &Netns, ifname: &str) -> io::Result<EthernetAddress> {
    let out = ns.ip(&["-o", "link", "show", "dev", ifname])?;
    out.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .and_then(|mac| mac.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no link/ether address for {ifname} in {out:?}")))
}

/// A locally administered unicast MAC made from `n`, for the fake hosts a
/// test plays.
pub fn fake_mac(n: u32) -> EthernetAddress {
    let b = n.to_be_bytes();
    EthernetAddress([0x02, 0x66, b[0], b[1], b[2], b[3]])
}

/// A frame the device sent, parsed, and when it was read: the tests time
/// the device's answers (SYN-ACK retransmissions, handshake timeouts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// When the capture read it.
    pub at: Instant,
    /// The frame.
    pub frame: Frame,
}

/// A [`Seen`] reads as its frame, so predicates and matches need not say `.frame`.
impl Deref for Seen {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.frame
    }
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
    pub host_mac: EthernetAddress,
    /// The device's MAC.
    pub device_mac: EthernetAddress,
    fakes: Vec<(Ipv4Addr, EthernetAddress)>,
    backlog: VecDeque<Seen>,
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
    pub fn impersonate(&mut self, ip: Ipv4Addr, mac: EthernetAddress) -> io::Result<()> {
        self.fakes.push((ip, mac));
        let request = EthernetAddress([0; 6]);
        self.send(&arp_frame(ArpOperation::Request, EthernetAddress::BROADCAST, mac, ip, request, DEVICE_IP))
    }

    /// Reads frames until `deadline`, keeping them for later callers.
    fn absorb_until(&mut self, deadline: Instant) -> io::Result<()> {
        while let Some(f) = self.read_until(deadline)? {
            self.keep(f);
        }
        Ok(())
    }

    fn keep(&mut self, f: Seen) {
        if self.backlog.len() >= BACKLOG {
            self.backlog.pop_front();
        }
        self.backlog.push_back(f);
    }

    /// The next parsed frame from the device, answering ARP for fake hosts.
    fn read_until(&mut self, deadline: Instant) -> io::Result<Option<Seen>> {
        loop {
            let Some(Captured { at, frame }) = self.rx.next_until(deadline)? else { return Ok(None) };
            let Some(frame) = Frame::parse(&frame) else { continue };
            if let Kind::Arp { op: ArpOperation::Request, sender_mac, sender_ip, target_ip } = frame.kind {
                if let Some(&(ip, mac)) = self.fakes.iter().find(|(ip, _)| *ip == target_ip) {
                    let reply = arp_frame(ArpOperation::Reply, sender_mac, mac, ip, sender_mac, sender_ip);
                    self.send(&reply)?;
                }
            }
            return Ok(Some(Seen { at, frame }));
        }
    }

    /// The first frame (kept earlier or arriving within `limit`) for which
    /// `pred` holds; it is taken, others are kept.
    pub fn expect(&mut self, limit: Duration, mut pred: impl FnMut(&Seen) -> bool) -> io::Result<Option<Seen>> {
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
    pub fn collect(&mut self, window: Duration, mut pred: impl FnMut(&Seen) -> bool) -> io::Result<Vec<Seen>> {
        let deadline = Instant::now() + window;
        self.absorb_until(deadline)?;
        let (taken, kept): (Vec<Seen>, Vec<Seen>) = self.backlog.drain(..).partition(|f| pred(f));
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

/// A TCP client played by hand from a fake host (or any address), through
/// a [`Wire`].
#[derive(Debug, Clone)]
pub struct RawPeer {
    /// Our MAC.
    pub mac: EthernetAddress,
    /// Our address and port.
    pub local: IpEndpoint,
    /// The device's.
    pub remote: IpEndpoint,
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
    pub fn new(mac: EthernetAddress, local: SocketAddr, remote: SocketAddr, isn: u32) -> Self {
        RawPeer {
            mac,
            local: local.into(),
            remote: remote.into(),
            isn,
            snd_nxt: isn,
            irs: None,
            rcv_nxt: 0,
            fin_at: None,
        }
    }

    /// `seg` (from us to the device) in a frame from our MAC to the device's.
    pub fn frame(&self, wire: &Wire, seg: &Segment) -> Vec<u8> {
        tcp_frame(self.mac, wire.device_mac, seg)
    }

    /// Sends our SYN (again, if called again).
    pub fn send_syn(&mut self, wire: &mut Wire) -> io::Result<()> {
        let f = self.frame(wire, &Segment::syn(self.local, self.remote, self.isn));
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
        Ok(wire.expect(limit, |f| f.tcp_between(remote, local).is_some_and(&mut pred))?.and_then(|f| f.tcp().cloned()))
    }

    /// Waits for the device's SYN-ACK to our SYN and records its ISN.
    pub fn expect_syn_ack(&mut self, wire: &mut Wire, limit: Duration) -> Result<Segment, String> {
        let want = self.isn.wrapping_add(1);
        let s = self
            .expect(wire, limit, |s| s.is_syn_ack() || s.rst)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: no SYN-ACK within {limit:?}", self.local))?;
        if s.rst || s.ack != Some(want) {
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

    /// A bare ACK of what we have received (not a FIN), at our next
    /// sequence number: what [`RawPeer::send_ack`] sends, or a test sends later.
    pub fn ack(&self) -> Segment {
        Segment::new(self.local, self.remote, self.snd_nxt).with_ack(self.rcv_nxt)
    }

    /// Sends [`RawPeer::ack`].
    pub fn send_ack(&mut self, wire: &mut Wire) -> io::Result<()> {
        let f = self.frame(wire, &self.ack());
        wire.send(&f)
    }

    /// Sends `data` (and our FIN after it if `fin`).
    pub fn send_data(&mut self, wire: &mut Wire, data: &[u8], fin: bool) -> io::Result<()> {
        let f = self.frame(wire, &Segment { psh: true, fin, ..self.ack().with_payload(data) });
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
            if s.rst {
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
            if s.fin && end == self.rcv_nxt {
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
        let f = self.frame(wire, &Segment::rst(self.local, self.remote, self.snd_nxt));
        wire.send(&f)
    }
}
