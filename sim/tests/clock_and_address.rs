//! SNTP wall clock and DHCP fallback, in the simulated world. (The real
//! servers, chrony and dnsmasq, are exercised by the system tests.)

use echo_core::smoltcp::socket::tcp::State;
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::wire::{IpAddress, IpEndpoint};
use echo_core::AddressSource;
use echo_core::{Mode, DEFAULT_PORT};
use echo_sim::stamped::parse;
use echo_sim::world::CLIENT_IP;
use echo_sim::{World, WorldConfig};

const SECOND: Duration = Duration::from_secs(1);
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// The fake NTP server's idea of now at t=0: Sat Jan  1 12:00:00 2050.
const NTP_EPOCH_UNIX: u64 = 2_524_651_200;

fn stamped_hello(w: &mut World) -> String {
    let c = w.client.connect(DEFAULT_PORT);
    w.client.send(c, b"hi");
    assert!(w.run_until(SECOND * 3, |w| w.client.conns[c].inbox.len() >= 29));
    parse(&w.client.conns[c].inbox).unwrap()[0].ctime.clone()
}

/// Answers every SNTP request on the client's port 123 with `NTP_EPOCH_UNIX`
/// plus the virtual time, echoing the request's transmit timestamp.
fn serve_ntp(w: &mut World, h: echo_core::smoltcp::iface::SocketHandle) -> usize {
    let mut answered = 0;
    let now_secs = NTP_EPOCH_UNIX + NTP_UNIX_OFFSET + w.now.secs() as u64;
    while let Ok((req, meta)) = w.client.udp(h).recv() {
        let req = req.to_vec();
        let mut p = [0u8; 48];
        p[0] = (4 << 3) | 4;
        p[1] = 1; // stratum 1
        p[24..32].copy_from_slice(&req[40..48]);
        p[32..40].copy_from_slice(&(now_secs << 32).to_be_bytes());
        p[40..48].copy_from_slice(&(now_secs << 32).to_be_bytes());
        w.client.send_datagram(h, meta.endpoint, &p);
        answered += 1;
    }
    answered
}

#[test]
fn before_sync_stamps_count_from_1970_and_after_it_they_follow_the_server() {
    let config = WorldConfig { sntp_server: Some(IpAddress::Ipv4(CLIENT_IP)), ..WorldConfig::with_mode(Mode::Stamp) };
    let mut w = World::new(config);
    // No NTP answer yet: the honest "unsynced" stamp, seconds since boot as 1970.
    let before = stamped_hello(&mut w);
    assert!(before.ends_with("1970"), "unsynced stamp: {before}");
    assert!(!w.server.wall_clock().is_synced());

    let ntp = w.client.udp_socket(123);
    let mut answered = 0;
    let synced = w.run_until(SECOND * 15, |w| {
        answered += serve_ntp(w, ntp);
        w.server.wall_clock().is_synced()
    });
    assert!(synced && answered >= 1, "never synced");
    let after = stamped_hello(&mut w);
    assert!(after.starts_with("Sat Jan  1 12:00:") && after.ends_with("2050"), "stamp after sync: {after}");
    assert_eq!(w.server.sntp_syncs(), 1);
}

#[test]
fn a_forged_sntp_answer_is_ignored() {
    let config = WorldConfig { sntp_server: Some(IpAddress::Ipv4(CLIENT_IP)), ..WorldConfig::with_mode(Mode::Stamp) };
    let mut w = World::new(config);
    let ntp = w.client.udp_socket(123);
    // Answer with a wrong originate timestamp.
    let forged = w.run_until(SECOND * 10, |w| {
        let mut forged = false;
        while let Ok((_, meta)) = w.client.udp(ntp).recv() {
            let mut p = [0u8; 48];
            p[0] = (4 << 3) | 4;
            p[1] = 1;
            p[40..48].copy_from_slice(&((NTP_EPOCH_UNIX + NTP_UNIX_OFFSET) << 32).to_be_bytes());
            w.client.send_datagram(ntp, IpEndpoint::new(meta.endpoint.addr, meta.endpoint.port), &p);
            forged = true;
        }
        forged
    });
    assert!(forged);
    w.run_for(SECOND * 2);
    assert!(!w.server.wall_clock().is_synced(), "accepted a forged answer");
}

#[test]
fn without_a_dhcp_server_the_static_address_takes_over() {
    let config = WorldConfig { dhcp_fallback: Some(Duration::from_secs(10)), ..WorldConfig::with_mode(Mode::Stamp) };
    let mut w = World::new(config);
    assert_eq!(w.server.address_source(), Some(AddressSource::Pending));
    // Before the fallback the device has no IPv4 address: a connection attempt goes unanswered.
    let early = w.client.connect(DEFAULT_PORT);
    w.run_for(SECOND * 3);
    assert_ne!(w.client.state(early), State::Established);
    w.client.socket(early).abort();
    w.run_for(SECOND * 8);
    assert!(matches!(w.server.address_source(), Some(AddressSource::Static(_))));
    assert_eq!(stamped_hello(&mut w), "Tue Nov 24 16:00:39 2026");
}
