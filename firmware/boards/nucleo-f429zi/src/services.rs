//! Switches on the echo core's optional services this build's Cargo features
//! pick (UDP echo, DHCP, SNTP), in the memory `storage` set aside for them.
//! What they do is `echo-core`'s business.

#[cfg(any(feature = "dhcp", feature = "sntp"))]
use echo_core::smoltcp::time::Duration;
use echo_core::smoltcp::time::Instant;
#[cfg(feature = "sntp")]
use echo_core::smoltcp::wire::IpAddress;
use echo_core::{EchoServer, InitError};

use crate::storage;

/// Without a DHCP answer this long, the static 192.168.69.1/24 is used (and
/// DHCP keeps asking).
#[cfg(feature = "dhcp")]
const DHCP_FALLBACK: Duration = Duration::from_secs(10);

/// SNTP server; `None` takes the one the DHCP lease names (option 42). Set it
/// (e.g. `Some(IpAddress::v4(192, 168, 69, 100))`) on a network without DHCP.
#[cfg(feature = "sntp")]
const SNTP_SERVER: Option<IpAddress> = None;
/// How often SNTP re-syncs the wall clock once it has it (SysTick drifts
/// with the crystal, some tens of ppm: well under a second a day).
#[cfg(feature = "sntp")]
const SNTP_RESYNC: Duration = Duration::from_secs(3600);

/// Switches on every service this build has. Call once, at start-up.
pub fn enable(server: &mut EchoServer<'static>, now: Instant, memory: storage::Services) -> Result<(), InitError> {
    #[cfg(feature = "udp")]
    server.enable_udp(memory.udp)?;
    #[cfg(feature = "dhcp")]
    server.enable_dhcp(now, memory.dhcp_packet, DHCP_FALLBACK)?;
    #[cfg(feature = "sntp")]
    {
        server.enable_sntp(now, memory.sntp, SNTP_SERVER, SNTP_RESYNC)?;
        match SNTP_SERVER {
            Some(ntp) => defmt::info!("wall clock: SNTP from {}", ntp),
            None => defmt::info!("wall clock: SNTP from the server the DHCP lease names"),
        }
    }
    // Arguments a build without some services does not need (`let _` reads nothing).
    let _ = (server, now);
    let _ = memory;
    Ok(())
}
