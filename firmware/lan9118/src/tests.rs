//! Driver behaviour against the chip model in `fake.rs`.

use std::vec::Vec;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketSet};
use smoltcp::phy::{Device, RxToken as _, TxToken as _};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, HardwareAddress,
    IpCidr, Ipv4Address,
};

use crate::fake::{Fake, TX_FIFO_BYTES};
use crate::regs::*;
use crate::{Config, Error, Lan9118, Stats, MTU};

const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

fn up() -> (Lan9118<Fake>, Fake) {
    let fake = Fake::new();
    let eth = Lan9118::new(fake.clone(), &Config { mac: MAC }).expect("init");
    (eth, fake)
}

/// Frame of `len` bytes whose content depends on position and `seed`.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

fn recv(eth: &mut Lan9118<Fake>) -> Option<Vec<u8>> {
    let (rx, _tx) = eth.receive(Instant::ZERO)?;
    Some(rx.consume(|f| f.to_vec()))
}

fn send(eth: &mut Lan9118<Fake>, frame: &[u8]) -> bool {
    match eth.transmit(Instant::ZERO) {
        Some(tx) => {
            tx.consume(frame.len(), |buf| buf.copy_from_slice(frame));
            true
        }
        None => false,
    }
}

#[test]
fn init_programs_mac_phy_and_enables_both_paths() {
    let (eth, fake) = up();
    let s = fake.state();
    assert_eq!(s.mac_addr, MAC, "ADDRL/ADDRH byte order");
    assert_eq!(eth.mac_address(), MAC);
    assert_eq!(eth.id_rev(), 0x0118_0001);
    let cr = s.mac_cr;
    assert!(cr & MAC_CR_TXEN != 0 && cr & MAC_CR_RXEN != 0, "MAC_CR {cr:#x}");
    assert!(cr & MAC_CR_PRMS == 0, "promiscuous mode left on");
    assert!(s.tx_cfg & TX_CFG_TX_ON != 0);
    assert_eq!(s.phy_resets, 1);
    assert!(s.bmcr & BMCR_AN_ENABLE != 0);
    assert_eq!(s.anar & (AN_100_FULL | AN_10_HALF), AN_100_FULL | AN_10_HALF);
    assert_eq!(s.int_en, 0, "no interrupts until the board asks");
}

#[test]
fn wrong_chip_or_dead_bus_is_an_error() {
    let fake = Fake::new();
    fake.state().id_rev = 0x9218_0000;
    let err = Lan9118::new(fake, &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::UnknownChip { id_rev: 0x9218_0000 }));
    assert!(std::format!("{}", err.unwrap()).contains("0x92180000"));

    let fake = Fake::new();
    fake.state().byte_test = 0xffff_ffff;
    let err = Lan9118::new(fake, &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::NotResponding { byte_test: 0xffff_ffff }));

    let fake = Fake::new();
    fake.state().id_rev = 0x9220_0003; // the MPS2's real part
    assert!(Lan9118::new(fake, &Config { mac: MAC }).is_ok());
}

#[test]
fn stuck_reset_times_out() {
    let fake = Fake::new();
    fake.state().srst_sticks = true;
    let err = Lan9118::new(fake, &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::ResetTimeout));
}

#[test]
fn multicast_mac_is_refused() {
    let err = Lan9118::new(Fake::new(), &Config { mac: [0x01, 0, 0x5e, 0, 0, 1] }).err();
    assert_eq!(err, Some(Error::InvalidMac));
}

#[test]
fn received_frames_of_every_padding_come_out_whole_without_crc() {
    let (mut eth, fake) = up();
    for len in [14, 60, 61, 62, 63, 64, 65, 1513, 1514] {
        fake.state().receive(&pattern(len, len as u8), 0);
    }
    for len in [14, 60, 61, 62, 63, 64, 65, 1513, 1514] {
        assert_eq!(recv(&mut eth).as_deref(), Some(&pattern(len, len as u8)[..]), "length {len}");
    }
    assert_eq!(recv(&mut eth), None);
    let s = fake.state();
    assert!(s.rx_data.is_empty() && s.rx_status.is_empty(), "FIFOs read exactly");
    assert_eq!(s.int_sts & INT_RXE, 0, "never read past a frame");
    assert_eq!(eth.stats().rx_frames, 9);
}

#[test]
fn error_and_oversized_frames_are_discarded_and_counted() {
    let (mut eth, fake) = up();
    {
        let mut s = fake.state();
        s.receive(&pattern(100, 1), RX_STS_ES | 0x2); // CRC error
        s.receive(&pattern(2000, 2), 0); // longer than any buffer
        s.receive(&pattern(10, 3), 0); // runt
        s.receive(&pattern(70, 4), 0);
    }
    assert_eq!(recv(&mut eth), Some(pattern(70, 4)));
    assert_eq!(eth.stats().rx_errors, 3);
    assert_eq!(eth.stats().rx_frames, 1);
    assert!(fake.state().rx_data.is_empty());
    assert_eq!(fake.state().int_sts & INT_RXE, 0);
}

#[test]
fn status_without_data_resets_the_receiver_and_recovers() {
    let (mut eth, fake) = up();
    {
        let mut s = fake.state();
        s.receive(&pattern(64, 1), 0);
        s.rx_data.clear(); // the data went missing: FIFOs disagree
    }
    assert_eq!(recv(&mut eth), None);
    let stats = eth.stats();
    assert_eq!(stats.rx_recoveries, 1);
    assert_eq!(fake.state().rx_dumps, 2, "once at start, once to recover");
    assert!(fake.state().mac_cr & MAC_CR_RXEN != 0, "receiver back on");

    fake.state().receive(&pattern(80, 9), 0);
    assert_eq!(recv(&mut eth), Some(pattern(80, 9)));
}

#[test]
fn receiver_error_flag_triggers_recovery() {
    let (mut eth, fake) = up();
    {
        let mut s = fake.state();
        s.receive(&pattern(64, 1), 0);
        s.int_sts |= INT_RXE;
    }
    assert_eq!(recv(&mut eth), None, "frames in a suspect FIFO are dropped");
    assert_eq!(eth.stats().rx_recoveries, 1);
    assert_eq!(fake.state().int_sts & INT_RXE, 0, "flag cleared");
    fake.state().receive(&pattern(64, 2), 0);
    assert_eq!(recv(&mut eth), Some(pattern(64, 2)));
}

#[test]
fn dropped_frame_counter_is_read_and_accumulated() {
    let (mut eth, fake) = up();
    {
        let mut s = fake.state();
        s.rx_drop = 5;
        s.int_sts |= INT_RXDF;
    }
    assert_eq!(recv(&mut eth), None);
    assert_eq!(eth.stats().rx_dropped, 5);
    assert_eq!(fake.state().int_sts & INT_RXDF, 0);
}

#[test]
fn transmitted_frames_carry_correct_commands_and_bytes() {
    let (mut eth, fake) = up();
    let lens = [1, 2, 3, 4, 5, 42, 60, 61, 1513, MTU];
    for (i, len) in lens.iter().enumerate() {
        assert!(send(&mut eth, &pattern(*len, i as u8)));
    }
    let s = fake.state();
    assert_eq!(s.tx_protocol_errors, 0);
    assert_eq!(s.sent.len(), lens.len());
    for (i, len) in lens.iter().enumerate() {
        assert_eq!(s.sent[i], pattern(*len, i as u8), "length {len}");
    }
    assert_eq!(eth.stats().tx_frames, lens.len() as u32);
}

#[test]
fn tx_status_is_drained_and_errors_counted() {
    let (mut eth, fake) = up();
    assert!(send(&mut eth, &pattern(60, 0)));
    fake.state().tx_fail_next = true;
    assert!(send(&mut eth, &pattern(60, 1)));
    assert!(send(&mut eth, &pattern(60, 2)));
    // Statuses wait while the driver knows of enough TX space; they are
    // drained before the CPU sleeps.
    assert!(!eth.ack_rx_interrupt());
    assert!(fake.state().tx_status.is_empty());
    assert_eq!(eth.stats().tx_errors, 1);
    // Tags differ from frame to frame.
    let mut tags = Vec::new();
    for _ in 0..2 {
        send(&mut eth, &pattern(60, 0));
        tags.push(fake.state().tx_status.pop_front().unwrap() >> 16);
    }
    assert_ne!(tags[0], tags[1]);
}

#[test]
fn full_tx_fifo_gives_back_pressure_then_drops() {
    let (mut eth, fake) = up();
    fake.state().tdfree = 100;
    assert!(eth.transmit(Instant::ZERO).is_none(), "no token without room for a full frame");

    // A token handed out with a received frame finds the FIFO full: dropped, counted.
    fake.state().tdfree = TX_FIFO_BYTES;
    fake.state().receive(&pattern(60, 0), 0);
    let (_rx, tx) = eth.receive(Instant::ZERO).unwrap();
    fake.state().tdfree = 100;
    tx.consume(200, |b| b.fill(0));
    assert!(fake.state().sent.is_empty());
    assert_eq!(eth.stats().tx_dropped, 1);

    fake.state().tdfree = TX_FIFO_BYTES;
    assert!(send(&mut eth, &pattern(200, 0)));
    assert_eq!(fake.state().sent.len(), 1);
}

#[test]
fn transmitter_error_is_recovered() {
    let (mut eth, fake) = up();
    fake.state().int_sts |= INT_TDFO;
    assert_eq!(recv(&mut eth), None);
    assert_eq!(eth.stats().tx_recoveries, 1);
    assert!(fake.state().tx_cfg & TX_CFG_TX_ON != 0, "transmitter back on");
    assert!(send(&mut eth, &pattern(60, 0)));
    assert_eq!(fake.state().sent.len(), 1);
}

#[test]
fn link_state_sets_duplex() {
    let (mut eth, fake) = up();
    let link = eth.poll_link();
    assert!(link.up && link.full_duplex);
    assert!(fake.state().mac_cr & MAC_CR_FDPX != 0);

    fake.state().anlpar = AN_100_HALF | AN_10_HALF | AN_SELECTOR_802_3;
    let link = eth.poll_link();
    assert!(link.up && !link.full_duplex);
    assert_eq!(fake.state().mac_cr & MAC_CR_FDPX, 0, "MAC follows the PHY");
    assert!(fake.state().mac_cr & MAC_CR_RXEN != 0, "duplex change keeps the MAC enabled");

    fake.state().link_up = false;
    assert!(!eth.poll_link().up);
}

#[test]
fn rx_interrupt_ack_reports_waiting_frames() {
    let (mut eth, fake) = up();
    eth.enable_rx_interrupt();
    {
        let s = fake.state();
        assert_eq!(s.int_en, INT_RSFL);
        assert_eq!(s.irq_cfg, IRQ_CFG_IRQ_EN | IRQ_CFG_IRQ_POL | IRQ_CFG_IRQ_TYPE);
    }
    assert!(!eth.ack_rx_interrupt());
    fake.state().receive(&pattern(60, 0), 0);
    assert!(eth.ack_rx_interrupt(), "a frame waits: do not sleep");
    assert_eq!(fake.state().int_sts & INT_RSFL, 0);
    recv(&mut eth).unwrap();
    assert!(!eth.ack_rx_interrupt());
}

/// Register accesses the fake has seen so far.
fn accesses(fake: &Fake) -> u64 {
    fake.state().now
}

#[test]
fn a_burst_of_frames_costs_one_level_read_and_one_status_read_each() {
    let (mut eth, fake) = up();
    let lens = [60, 61, 62, 63, 1514];
    for (i, len) in lens.iter().enumerate() {
        fake.state().receive(&pattern(*len, i as u8), 0);
    }
    let before = accesses(&fake);
    for (i, len) in lens.iter().enumerate() {
        assert_eq!(recv(&mut eth), Some(pattern(*len, i as u8)), "length {len}");
    }
    assert_eq!(recv(&mut eth), None);
    // Data words (frame and CRC) of every frame, one status each, and twice
    // INT_STS + RX_FIFO_INF: once for the burst, once to find the FIFO empty.
    let data: u64 = lens.iter().map(|len| (*len as u64 + 4).div_ceil(4)).sum();
    assert_eq!(accesses(&fake) - before, data + lens.len() as u64 + 4);
    assert_no_violations(&fake);
}

#[test]
fn frames_arriving_during_a_burst_are_found_on_the_next_look() {
    let (mut eth, fake) = up();
    fake.state().receive(&pattern(70, 1), 0);
    fake.state().receive(&pattern(71, 2), 0);
    assert_eq!(recv(&mut eth), Some(pattern(70, 1)));
    // Arrives after the driver read the levels: not in its count yet.
    fake.state().receive(&pattern(72, 3), 0);
    assert_eq!(recv(&mut eth), Some(pattern(71, 2)));
    assert_eq!(recv(&mut eth), Some(pattern(72, 3)));
    assert_eq!(recv(&mut eth), None);
    let s = fake.state();
    assert!(s.rx_data.is_empty() && s.rx_status.is_empty());
    assert_eq!(s.int_sts & INT_RXE, 0, "never read past a frame");
}

#[test]
fn data_missing_behind_a_known_status_is_caught_mid_burst() {
    let (mut eth, fake) = up();
    fake.state().receive(&pattern(64, 1), 0);
    fake.state().receive(&pattern(64, 2), 0);
    assert!(eth.rx_waiting());
    {
        // The second frame's data vanishes after the levels were read: the
        // byte count read with them no longer covers it.
        let mut s = fake.state();
        let keep = s.rx_data.len() / 2;
        s.rx_data.truncate(keep);
    }
    assert_eq!(recv(&mut eth), Some(pattern(64, 1)));
    fake.state().rx_status.pop_front();
    fake.state().rx_status.push_back(((200 + 4) << RX_STS_LEN_SHIFT) as u32);
    assert_eq!(recv(&mut eth), None, "a status longer than the data known: out of step");
    assert_eq!(eth.stats().rx_recoveries, 1);
    fake.state().receive(&pattern(90, 5), 0);
    assert_eq!(recv(&mut eth), Some(pattern(90, 5)));
}

#[test]
fn tx_space_is_read_again_only_when_the_known_space_runs_out() {
    let (mut eth, fake) = up();
    // 4608 bytes free: full frames take 1524 (data and commands) each, so
    // three fit before the driver must ask again.
    let reads_of_tx_inf = |fake: &Fake| fake.state().tx_fifo_inf_reads;
    let start = reads_of_tx_inf(&fake);
    for i in 0..3 {
        assert!(send(&mut eth, &pattern(MTU, i)));
    }
    assert_eq!(reads_of_tx_inf(&fake) - start, 1);
    assert!(send(&mut eth, &pattern(MTU, 3)));
    assert_eq!(reads_of_tx_inf(&fake) - start, 2);
    // That second read drained the statuses of the frames before it.
    assert_eq!(fake.state().tx_status.len(), 1);
    assert_eq!(fake.state().sent.len(), 4);
    assert_eq!(fake.state().tx_protocol_errors, 0);
}

#[test]
fn a_transmitter_recovery_forgets_the_known_space() {
    let (mut eth, fake) = up();
    assert!(send(&mut eth, &pattern(60, 0)));
    fake.state().int_sts |= INT_TDFO;
    assert_eq!(recv(&mut eth), None);
    assert_eq!(eth.stats().tx_recoveries, 1);
    // After the dump the driver asks again before writing.
    fake.state().tdfree = 100;
    assert!(eth.transmit(Instant::ZERO).is_none());
}

#[test]
fn rx_waiting_reads_the_chip_only_when_no_frame_is_known() {
    let (mut eth, fake) = up();
    assert!(!eth.rx_waiting());
    fake.state().receive(&pattern(60, 0), 0);
    fake.state().receive(&pattern(60, 1), 0);
    assert!(eth.rx_waiting());
    let before = accesses(&fake);
    assert!(eth.rx_waiting(), "known from the last look");
    assert!(eth.ack_rx_interrupt(), "known: do not sleep");
    assert_eq!(accesses(&fake), before, "no register access");
    assert_eq!(recv(&mut eth), Some(pattern(60, 0)));
    assert_eq!(recv(&mut eth), Some(pattern(60, 1)));
    assert!(!eth.rx_waiting());
}

#[test]
fn capabilities_match_the_chip() {
    let (eth, _) = up();
    let caps = eth.capabilities();
    assert_eq!(caps.max_transmission_unit, 1514);
    assert!(matches!(caps.max_burst_size, Some(n) if (1..=7).contains(&n)));
}

/// A real smoltcp interface over the driver answers an ARP request.
#[test]
fn smoltcp_interface_answers_arp_over_the_driver() {
    let (mut eth, fake) = up();
    let me = Ipv4Address::new(192, 168, 69, 1);
    let host_mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x64]);
    let host_ip = Ipv4Address::new(192, 168, 69, 100);
    let mut iface =
        Interface::new(IfaceConfig::new(HardwareAddress::Ethernet(EthernetAddress(MAC))), &mut eth, Instant::ZERO);
    iface.update_ip_addrs(|a| a.push(IpCidr::new(me.into(), 24)).unwrap());
    let mut storage: [smoltcp::iface::SocketStorage; 1] = Default::default();
    let mut sockets = SocketSet::new(&mut storage[..]);

    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: host_mac,
        source_protocol_addr: host_ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: me,
    };
    let eth_repr =
        EthernetRepr { src_addr: host_mac, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Arp };
    let mut frame = std::vec![0u8; eth_repr.buffer_len() + arp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    eth_repr.emit(&mut f);
    arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    fake.state().receive(&frame, 0);

    iface.poll(Instant::from_millis(1), &mut eth, &mut sockets);

    let s = fake.state();
    assert_eq!(s.sent.len(), 1, "one ARP reply");
    let reply = EthernetFrame::new_checked(&s.sent[0][..]).unwrap();
    assert_eq!(reply.dst_addr(), host_mac);
    assert_eq!(reply.src_addr(), EthernetAddress(MAC));
    let repr = ArpRepr::parse(&ArpPacket::new_checked(reply.payload()).unwrap()).unwrap();
    let ArpRepr::EthernetIpv4 { operation, target_protocol_addr, .. } = repr else {
        panic!("not an IPv4 ARP packet: {repr:?}")
    };
    assert_eq!(operation, ArpOperation::Reply);
    assert_eq!(target_protocol_addr, host_ip);
    assert_eq!(eth.stats(), Stats { rx_frames: 1, tx_frames: 1, ..Stats::default() });
}

// --- Bring-up as the real chip needs it (QEMU's model is instant) ----------

fn assert_no_violations(fake: &Fake) {
    let s = fake.state();
    assert!(s.violations.is_empty(), "datasheet rules broken: {:#?}", s.violations);
}

#[test]
fn bring_up_waits_for_byte_test_and_ready_before_touching_the_chip() {
    let fake = Fake::new();
    assert!(!fake.state().ready(), "the model starts as after power-up");
    let eth = Lan9118::new(fake.clone(), &Config { mac: MAC }).expect("init");
    assert_eq!(eth.id_rev(), 0x0118_0001, "ID_REV read once READY");
    assert_no_violations(&fake);
}

#[test]
fn soft_reset_is_waited_for_before_the_chip_is_configured() {
    let (_eth, fake) = up();
    assert_no_violations(&fake);
    let s = fake.state();
    assert_eq!(s.soft_resets, 1);
    // Written after the reset, so they survived it.
    assert_eq!(s.hw_cfg, HW_CFG_TX_FIF_SZ_5K | HW_CFG_MBO);
    assert_eq!(s.afc_cfg, AFC_CFG_DEFAULT);
    assert_eq!(s.gpio_cfg, GPIO_CFG_LEDS);
}

#[test]
fn mac_address_is_programmed_after_the_eeprom_loader_is_done() {
    let (eth, fake) = up();
    let s = fake.state();
    assert_ne!(crate::fake::EEPROM_MAC, MAC);
    assert_eq!(s.mac_addr, MAC, "the loader overwrote the configured address");
    assert_eq!(eth.mac_address(), MAC);
    assert!(s.eeprom_done_at.is_none());
}

#[test]
fn eeprom_loader_that_never_finishes_is_an_error() {
    let fake = Fake::new();
    fake.state().eeprom_accesses = u64::MAX;
    fake.state().eeprom_done_at = Some(u64::MAX);
    let err = Lan9118::new(fake.clone(), &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::EepromTimeout));
}

#[test]
fn soft_reset_timeout_flag_is_an_error() {
    let fake = Fake::new();
    // The PHY sleeps in energy-detect power-down: on a LAN9118 the driver
    // does not wake it, and the chip reports the reset as timed out.
    fake.state().phy_edpd = true;
    let err = Lan9118::new(fake.clone(), &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::ResetTimeout));
    assert_eq!(fake.state().srst_timeouts, 1);
}

#[test]
fn lan9220_phy_is_woken_from_energy_detect_power_down_before_the_soft_reset() {
    let fake = Fake::new();
    {
        let mut s = fake.state();
        s.id_rev = 0x9220_0003; // the real MPS2's part, whose PHY powers up asleep
        s.phy_edpd = true;
    }
    Lan9118::new(fake.clone(), &Config { mac: MAC }).expect("init");
    let s = fake.state();
    assert_eq!((s.soft_resets, s.srst_timeouts), (1, 0));
    assert!(!s.phy_edpd);
    drop(s);
    assert_no_violations(&fake);
}

#[test]
fn chip_that_never_gets_ready_is_an_error() {
    let fake = Fake::new();
    fake.state().ready_at = u64::MAX;
    let err = Lan9118::new(fake.clone(), &Config { mac: MAC }).err();
    assert_eq!(err, Some(Error::NotReady));
    assert_no_violations(&fake);
}

#[test]
fn receiver_recovery_ignores_a_stale_rxstop() {
    let (mut eth, fake) = up();
    {
        let mut s = fake.state();
        // A stop latched earlier (e.g. by a recovery whose wait timed out),
        // and a receiver that takes a while to finish the frame on the wire.
        s.int_sts |= INT_RXSTOP;
        s.rx_stop_accesses = 50;
        s.receive(&pattern(64, 1), 0);
        s.int_sts |= INT_RXE;
    }
    assert_eq!(recv(&mut eth), None);
    assert_eq!(eth.stats().rx_recoveries, 1);
    assert_eq!(eth.stats().timeouts, 0, "the receiver did stop");
    assert_no_violations(&fake);
    fake.state().receive(&pattern(64, 2), 0);
    assert_eq!(recv(&mut eth), Some(pattern(64, 2)));
}
