//! Bad input on the wire: the server neither panics nor wedges, and serves
//! the next client normally.

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::wire::{ArpOperation, EthernetAddress, Ipv4Address};
use echo_core::Mode;
use echo_sim::World;
use netlab::frames::arp_frame;

const PORT: u16 = echo_core::DEFAULT_PORT;
const SECOND: Duration = Duration::from_secs(1);

/// Real frames a client sends in a whole session: ARP, SYN, ACK, data, FIN.
fn real_client_frames() -> Vec<Vec<u8>> {
    let mut w = World::with_mode(Mode::Stamp);
    w.server_link.recorded = Some(vec![]);
    let c = w.client.connect(PORT);
    w.client.send(c, b"hello, world");
    w.client.conns[c].close_when_sent = true;
    assert!(w.run_until(SECOND * 5, |w| matches!(w.client.state(c), State::TimeWait | State::Closed)));
    w.server_link.recorded.take().unwrap()
}

/// After the abuse, a fresh client still gets a correct echo.
fn still_serves(w: &mut World) {
    w.run_for(SECOND * 2);
    let c = w.client.connect(PORT);
    w.client.send(c, b"still alive");
    assert!(
        w.run_until(SECOND * 5, |w| w.client.conns[c].inbox.ends_with(b"still alive")),
        "server wedged: {:?}",
        String::from_utf8_lossy(&w.client.conns[c].inbox)
    );
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn every_byte_of_every_real_frame_mutated() {
    let frames = real_client_frames();
    assert!(frames.len() >= 4, "capture too small: {}", frames.len());
    let mut w = World::with_mode(Mode::Stamp);
    let mut injected = 0;
    for frame in &frames {
        for at in 0..frame.len() {
            for value in [0x00, 0xff, frame[at] ^ 0x01, frame[at].wrapping_add(0x80)] {
                let mut bad = frame.clone();
                bad[at] = value;
                w.server_link.inject(bad);
                injected += 1;
            }
            w.step();
        }
    }
    assert!(injected > 500);
    still_serves(&mut w);
}

#[test]
fn truncated_and_padded_frames() {
    let frames = real_client_frames();
    let mut w = World::with_mode(Mode::Stamp);
    for frame in &frames {
        for len in 0..frame.len() {
            w.server_link.inject(frame[..len].to_vec());
        }
        let mut long = frame.clone();
        long.extend(std::iter::repeat_n(0xAA, 3000));
        w.server_link.inject(long);
        w.step();
    }
    still_serves(&mut w);
}

#[test]
fn random_garbage_frames() {
    let mut w = World::with_mode(Mode::Raw);
    let mut x = 0x1234_5678_9abc_def0u64;
    for i in 0..20_000 {
        let len = (xorshift(&mut x) % 1600) as usize;
        let mut frame: Vec<u8> = (0..len).map(|_| xorshift(&mut x) as u8).collect();
        // Half of them addressed to the server as IPv4 so they get past the first checks.
        if i % 2 == 0 && frame.len() >= 14 {
            frame[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
            frame[12..14].copy_from_slice(&[0x08, 0x00]);
            if frame.len() > 14 {
                frame[14] = 0x45;
            }
        }
        w.server_link.inject(frame);
        if i % 100 == 0 {
            w.step();
        }
    }
    still_serves(&mut w);
}

#[test]
fn an_arp_flood_and_frames_for_other_hosts() {
    let mut w = World::with_mode(Mode::Stamp);
    for i in 0..5000u32 {
        let sender = Ipv4Address::from_bits(0xC0A8_4500 | (i % 250 + 2)); // 192.168.69.x
        let target =
            if i % 3 == 0 { Ipv4Address::new(192, 168, 69, 1) } else { Ipv4Address::from_bits(0x0A00_0000 | i) };
        let mac = EthernetAddress([0x02, 0x11, 0, 0, (i >> 8) as u8, i as u8]);
        let op = if i % 2 == 0 { ArpOperation::Request } else { ArpOperation::Reply };
        let broadcast = EthernetAddress::BROADCAST;
        w.server_link.inject(arp_frame(op, broadcast, mac, sender, broadcast, target));
        if i % 50 == 0 {
            w.step();
        }
    }
    // Unicast frames for another MAC are ignored outright.
    for frame in real_client_frames() {
        let mut other = frame.clone();
        other[..6].copy_from_slice(&[0x02, 0x99, 0x99, 0x99, 0x99, 0x99]);
        w.server_link.inject(other);
    }
    w.step();
    // The client's own ARP entry may have been overwritten by the flood's
    // 192.168.69.100 entries; it must recover through normal ARP.
    still_serves(&mut w);
}
