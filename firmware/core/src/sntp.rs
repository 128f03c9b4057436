//! A small SNTP client (RFC 4330) over a smoltcp UDP socket: the wall clock
//! for boards with no RTC. It asks one server, checks the answer belongs to
//! its question, and sets the server's [`WallClock`] from it, again every
//! `resync` interval.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpEndpoint};

use crate::stamp::WallClock;

/// NTP's well-known port.
pub const NTP_PORT: u16 = 123;
/// Our local port for the exchange.
pub const LOCAL_PORT: u16 = 49_123;
/// Size of an SNTP packet without extensions.
pub const PACKET_LEN: usize = 48;
/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// No answer within this long: ask again.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// Retry interval while unsynced.
const RETRY: Duration = Duration::from_secs(5);

/// A 64-bit NTP timestamp: seconds and fraction since 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// Milliseconds since the Unix epoch. NTP seconds wrap in 2036; values in
    /// the lower half of the range are taken as era 1 (2036-2172).
    pub fn to_unix_ms(self) -> u64 {
        let secs = self.0 >> 32;
        let frac_ms = ((self.0 & 0xffff_ffff) * 1000) >> 32;
        let secs = if secs < 1 << 31 { secs + (1 << 32) } else { secs };
        (secs - NTP_UNIX_OFFSET) * 1000 + frac_ms
    }
}

/// Builds a client request whose transmit timestamp is `nonce`; a genuine
/// answer echoes it back as its originate timestamp.
pub fn request(nonce: u64) -> [u8; PACKET_LEN] {
    let mut p = [0u8; PACKET_LEN];
    p[0] = (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
    p[40..48].copy_from_slice(&nonce.to_be_bytes());
    p
}

/// Why an answer was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SntpError {
    /// Shorter than an SNTP packet.
    Short,
    /// Not a server (mode 4) or broadcast (mode 5) answer.
    NotServer,
    /// Kiss-o'-death (stratum 0) or unsynchronised server (stratum ≥ 16, or LI 3).
    Unsynchronised,
    /// Its originate timestamp is not our request's: stale or spoofed.
    NotOurs,
}

/// The useful content of a valid answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Server receive time of our request.
    pub receive: NtpTimestamp,
    /// Server transmit time of the answer.
    pub transmit: NtpTimestamp,
    /// Server stratum.
    pub stratum: u8,
}

/// Validates an answer to the request carrying `nonce`.
pub fn parse(packet: &[u8], nonce: u64) -> Result<Answer, SntpError> {
    if packet.len() < PACKET_LEN {
        return Err(SntpError::Short);
    }
    let (leap, mode, stratum) = (packet[0] >> 6, packet[0] & 7, packet[1]);
    if mode != 4 && mode != 5 {
        return Err(SntpError::NotServer);
    }
    if stratum == 0 || stratum >= 16 || leap == 3 {
        return Err(SntpError::Unsynchronised);
    }
    let ts = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&packet[at..at + 8]);
        u64::from_be_bytes(b)
    };
    if ts(24) != nonce {
        return Err(SntpError::NotOurs);
    }
    Ok(Answer { receive: NtpTimestamp(ts(32)), transmit: NtpTimestamp(ts(40)), stratum })
}

/// Unix milliseconds at the moment the answer arrived: the server's transmit
/// time plus half the round trip the server did not account for.
pub fn unix_ms_at_arrival(answer: &Answer, round_trip: Duration) -> u64 {
    let server_hold = answer.transmit.to_unix_ms().saturating_sub(answer.receive.to_unix_ms());
    let network = round_trip.total_millis().saturating_sub(server_hold);
    answer.transmit.to_unix_ms() + network / 2
}

/// The client's state between polls.
pub(crate) struct SntpClient {
    pub handle: SocketHandle,
    pub server: Option<IpAddress>,
    resync: Duration,
    /// When to ask next; `None`: at the first poll.
    next_query: Option<Instant>,
    outstanding: Option<(Instant, u64)>,
    pub syncs: u64,
}

impl SntpClient {
    pub fn new(handle: SocketHandle, server: Option<IpAddress>, resync: Duration) -> Self {
        SntpClient { handle, server, resync, next_query: None, outstanding: None, syncs: 0 }
    }

    /// Sends a request when one is due, takes an answer when one came.
    pub fn service(&mut self, sock: &mut udp::Socket, now: Instant, clock: &mut WallClock, seed: u64) {
        let Some(server) = self.server else { return };
        while let Ok((data, meta)) = sock.recv() {
            let Some((sent_at, nonce)) = self.outstanding else {
                continue;
            };
            if meta.endpoint != IpEndpoint::new(server, NTP_PORT) {
                continue; // not from our server: ignore
            }
            match parse(data, nonce) {
                Ok(answer) => {
                    let unix_ms = unix_ms_at_arrival(&answer, now - sent_at);
                    clock.set(now, unix_ms);
                    self.syncs += 1;
                    self.outstanding = None;
                    self.next_query = Some(now + self.resync);
                    info!(
                        "clock synced by SNTP from {} (stratum {}, round trip {} ms)",
                        server,
                        answer.stratum,
                        (now - sent_at).total_millis()
                    );
                }
                Err(e) => warn!("SNTP answer from {} ignored: {:?}", server, e),
            }
        }
        if let Some((sent_at, _)) = self.outstanding {
            if now - sent_at >= ANSWER_TIMEOUT {
                debug!("no SNTP answer from {}, will retry", server);
                self.outstanding = None;
                self.next_query = Some(now + RETRY);
            }
        }
        if self.outstanding.is_none() && self.next_query.is_none_or(|at| now >= at) {
            // Unpredictable enough to reject blind spoofing, and never zero.
            let nonce = (seed ^ (now.total_micros() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
            match sock.send_slice(&request(nonce), IpEndpoint::new(server, NTP_PORT)) {
                Ok(()) => self.outstanding = Some((now, nonce)),
                Err(_) => self.next_query = Some(now + RETRY),
            }
        }
    }

    /// When `service` next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.server?;
        match self.outstanding {
            Some((sent_at, _)) => Some(sent_at + ANSWER_TIMEOUT),
            None => self.next_query,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(nonce: u64, stratum: u8, receive: u64, transmit: u64) -> [u8; PACKET_LEN] {
        let mut p = [0u8; PACKET_LEN];
        p[0] = (4 << 3) | 4;
        p[1] = stratum;
        p[24..32].copy_from_slice(&nonce.to_be_bytes());
        p[32..40].copy_from_slice(&receive.to_be_bytes());
        p[40..48].copy_from_slice(&transmit.to_be_bytes());
        p
    }

    const NOV_24_2026: u64 = (1_795_536_028 + NTP_UNIX_OFFSET) << 32;

    #[test]
    fn a_request_is_a_version_4_client_packet_carrying_the_nonce() {
        let r = request(0xdead_beef);
        assert_eq!(r[0], 0x23);
        assert_eq!(u64::from_be_bytes(r[40..48].try_into().unwrap()), 0xdead_beef);
    }

    #[test]
    fn a_valid_answer_gives_the_time() {
        let a = parse(&answer(42, 2, NOV_24_2026, NOV_24_2026 + (1 << 31)), 42).unwrap();
        assert_eq!(a.transmit.to_unix_ms(), 1_795_536_028_500);
        // 540 ms round trip of which the server held 500: 20 ms each way.
        assert_eq!(unix_ms_at_arrival(&a, Duration::from_millis(540)), 1_795_536_028_520);
    }

    #[test]
    fn answers_that_are_not_ours_or_not_trustworthy_are_refused() {
        assert_eq!(parse(&answer(42, 2, 0, 0)[..47], 42), Err(SntpError::Short));
        assert_eq!(parse(&answer(41, 2, 0, 0), 42), Err(SntpError::NotOurs));
        assert_eq!(parse(&answer(42, 0, 0, 0), 42), Err(SntpError::Unsynchronised));
        assert_eq!(parse(&answer(42, 16, 0, 0), 42), Err(SntpError::Unsynchronised));
        let mut client_mode = answer(42, 2, 0, 0);
        client_mode[0] = 0x23;
        assert_eq!(parse(&client_mode, 42), Err(SntpError::NotServer));
    }

    #[test]
    fn the_2036_era_rollover_keeps_counting() {
        // 2036-02-07 06:28:16 UTC is NTP second 2^32, i.e. 0 in era 1.
        assert_eq!(NtpTimestamp(0).to_unix_ms(), ((1u64 << 32) - NTP_UNIX_OFFSET) * 1000);
        assert_eq!(crate::ctime::ctime(NtpTimestamp(5 << 32).to_unix_ms() / 1000), *b"Thu Feb  7 06:28:21 2036");
    }
}
