//! What the guard knows of smoltcp's neighbour cache, which smoltcp does not
//! let anyone read: an entry is made here by the same frames that make one
//! there (ARP aimed at us from an on-link unicast sender; neighbour
//! solicitations and advertisements carrying a link-layer address), and
//! lives a little shorter than smoltcp's 60 s. A UDP reply is only handed to
//! smoltcp when its next hop is known here: smoltcp keeps an unresolved reply
//! at the head of the socket's queue, blocking every later one.

use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress};

/// Entries kept: as many as smoltcp's cache holds (its default).
pub(crate) const CAPACITY: usize = 8;
/// Shorter than smoltcp's `ENTRY_LIFETIME` (60 s), so "known here" implies
/// "known there" unless smoltcp's cache overflowed first.
const LIFETIME: Duration = Duration::from_secs(50);

#[derive(Clone, Copy)]
struct Entry {
    ip: IpAddress,
    mac: EthernetAddress,
    expires: Instant,
}

/// A small mirror of smoltcp's neighbour cache.
pub(crate) struct Neighbours {
    entries: heapless::Vec<Entry, CAPACITY>,
}

impl Neighbours {
    pub(crate) const fn new() -> Self {
        Neighbours { entries: heapless::Vec::new() }
    }

    /// Notes that smoltcp has just filled its cache with `ip` → `mac`.
    pub(crate) fn fill(&mut self, ip: IpAddress, mac: EthernetAddress, now: Instant) {
        let entry = Entry { ip, mac, expires: now + LIFETIME };
        if let Some(e) = self.entries.iter_mut().find(|e| e.ip == ip) {
            *e = entry;
            return;
        }
        if self.entries.is_full() {
            // smoltcp evicts the entry closest to expiry; so do we.
            if let Some(i) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].expires) {
                self.entries.swap_remove(i);
            }
        }
        let _ = self.entries.push(entry);
    }

    /// The MAC of `ip`, if smoltcp can be expected to know it at `now`.
    pub(crate) fn lookup(&self, ip: IpAddress, now: Instant) -> Option<EthernetAddress> {
        self.entries.iter().find(|e| e.ip == ip && e.expires > now).map(|e| e.mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::Ipv4Address;

    fn ip(last: u8) -> IpAddress {
        IpAddress::Ipv4(Ipv4Address::new(192, 168, 69, last))
    }
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 9]);

    #[test]
    fn entries_expire_before_smoltcps() {
        let mut n = Neighbours::new();
        n.fill(ip(100), MAC, Instant::ZERO);
        assert_eq!(n.lookup(ip(100), Instant::from_secs(49)), Some(MAC));
        assert_eq!(n.lookup(ip(100), Instant::from_secs(50)), None);
        assert_eq!(n.lookup(ip(101), Instant::ZERO), None);
    }

    #[test]
    fn a_full_mirror_forgets_the_entry_nearest_expiry() {
        let mut n = Neighbours::new();
        for i in 0..CAPACITY as u8 {
            n.fill(ip(i), MAC, Instant::from_secs(i as i64));
        }
        n.fill(ip(200), MAC, Instant::from_secs(20));
        assert_eq!(n.lookup(ip(0), Instant::from_secs(20)), None);
        assert_eq!(n.lookup(ip(1), Instant::from_secs(20)), Some(MAC));
        assert_eq!(n.lookup(ip(200), Instant::from_secs(20)), Some(MAC));
    }
}
