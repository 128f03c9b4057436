//! Issue 11, item 9: a flood of hostile packets must not flood the log. The
//! server logs through the `log` crate; this binary installs a logger that
//! counts what a host-sim user would see (level info and above), so it has
//! one test only (the logger is per process).

use std::sync::atomic::{AtomicU64, Ordering};

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::wire::{EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv6Address};
use echo_core::Mode;
use echo_sim::attacker::{self, RawHost, CLIENT_MAC, ECHO_PORT as PORT, SERVER_MAC};
use echo_sim::world::{SERVER_IP, SERVER_IP6};
use echo_sim::World;
use netlab::frames::{tcp_frame, udp_frame, Frame, Segment};

/// Counts lines and bytes as env_logger would print them (host-sim's
/// default filter is `info`; a line carries about 30 bytes of time and level).
struct Counting;

static LINES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
const LINE_HEADER: u64 = 30;

impl log::Log for Counting {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            LINES.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(line.len() as u64 + 1 + LINE_HEADER, Ordering::Relaxed);
        }
    }

    fn flush(&self) {}
}

static LOGGER: Counting = Counting;

fn counted() -> (u64, u64) {
    (LINES.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed))
}

#[test]
fn twenty_thousand_hostile_packets_add_little_log() {
    log::set_logger(&LOGGER).expect("no other logger in this binary");
    log::set_max_level(log::LevelFilter::Info);

    let mut w = World::with_mode(Mode::Stamp);
    attacker::tap(&mut w);
    assert!(counted().0 > 0, "the logger sees nothing: the test would prove nothing");

    // A live connection (target of the blind RSTs) and a host that answers ARP
    // (source of the datagrams that are echoed, within the rate limit).
    let c = w.client.connect(PORT);
    w.client.send(c, b"hello\n");
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.conns[c].inbox.ends_with(b"hello\n")));
    w.run_for(Duration::from_secs(1));
    let (client, server) = {
        let s = w.client.socket(c);
        (s.local_endpoint().unwrap(), s.remote_endpoint().unwrap())
    };
    let mut log = vec![];
    log.extend(Frame::parse_all(&attacker::take_server_frames(&mut w)));
    let rcv_nxt = log.iter().rev().find_map(|f| f.tcp_to(client).and_then(|s| s.ack)).expect("server ACKed");
    let host_mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x66]);
    let host_ip = Ipv4Address::new(192, 168, 69, 66);
    let mut host = RawHost::new(host_mac, host_ip, None);
    host.announce(&w.server_link);
    attacker::step_hosts(&mut w, &mut [&mut host], Duration::from_millis(10));

    // 20 000 hostile packets in 5 s: filtered datagrams (broadcast, echo-style
    // source ports, empty), a datagram flood beyond the rate limit (1500/s),
    // SYNs from addresses that never answer, blind RSTs at the live connection.
    let (lines0, bytes0) = counted();
    let before = w.stats();
    let start = w.now;
    let mut rng = 0x1234_5678u64;
    for i in 0..20_000u32 {
        let from = |port| IpEndpoint::new(host_ip.into(), port);
        let to_us = IpEndpoint::new(SERVER_IP.into(), PORT);
        let frame = match i % 8 {
            0 => {
                let bcast = IpEndpoint::new(Ipv4Address::new(192, 168, 69, 255).into(), PORT);
                udp_frame(host_mac, EthernetAddress::BROADCAST, from(5555), bcast, b"anyone?")
            }
            1 => udp_frame(host_mac, SERVER_MAC, from([7, 13, 17, 19, 37][i as usize % 5]), to_us, b"loop"),
            2 => udp_frame(host_mac, SERVER_MAC, from(5555), to_us, b""),
            3..=5 => udp_frame(host_mac, SERVER_MAC, from(20_000 + (i % 1000) as u16), to_us, b"flood"),
            6 => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let src: IpAddress = if i % 16 == 6 {
                    Ipv4Address::new(192, 168, 69, 2 + (i % 90) as u8).into()
                } else {
                    Ipv6Address::new(0xfdaa, 0, 0, 0, 0, 0, 0x5f, i as u16).into()
                };
                let dst: IpAddress = if src.version() == IpAddress::Ipv4(SERVER_IP).version() {
                    SERVER_IP.into()
                } else {
                    SERVER_IP6.into()
                };
                let mac = EthernetAddress([0x02, 0x5f, 0, 0, (i >> 8) as u8, i as u8]);
                let seg = Segment::syn(
                    IpEndpoint::new(src, 1024 + (i % 60_000) as u16),
                    IpEndpoint::new(dst, PORT),
                    rng as u32,
                );
                tcp_frame(mac, SERVER_MAC, &seg)
            }
            _ => {
                let seg = Segment::rst(client, server, rcv_nxt.wrapping_add(1 + i % 1500));
                tcp_frame(CLIENT_MAC, SERVER_MAC, &seg)
            }
        };
        w.server_link.inject(frame);
        if i % 4 == 3 {
            attacker::step_hosts(&mut w, &mut [&mut host], Duration::from_millis(1));
        }
    }
    let elapsed = w.now - start;
    // Let the last summary come out.
    w.run_for(Duration::from_secs(6));
    let (lines, bytes) = counted();
    let (lines, bytes) = (lines - lines0, bytes - bytes0);
    let s = w.stats();
    eprintln!("20 000 hostile packets in {} ms: {lines} log lines, {bytes} bytes; {s:?}", elapsed.total_millis());

    // The packets did reach the guard.
    assert!(s.udp_filtered - before.udp_filtered >= 7000, "{s:?}");
    assert!(s.udp_rate_limited - before.udp_rate_limited >= 1000, "{s:?}");
    assert!(s.rst_ignored - before.rst_ignored >= 2000, "{s:?}");
    assert!(s.handshakes_dropped + s.refused - before.handshakes_dropped - before.refused >= 2000, "{s:?}");
    // ~10 event lines a second plus a summary every 5 s; far below one per packet.
    let secs = (w.now - start).secs() + 1;
    assert!(lines <= 10 * secs + secs / 5 + 10, "{lines} log lines in {secs} s");
    assert!(bytes < 50_000, "{bytes} bytes of log for 20 000 hostile packets");
    // And the live connection survived it all.
    assert_eq!(w.client.state(c), State::Established);
    w.client.send(c, b"still here\n");
    assert!(w.run_until(Duration::from_secs(2), |w| w.client.conns[c].inbox.ends_with(b"still here\n")));
}
