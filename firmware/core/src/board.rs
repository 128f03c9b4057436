//! What a board gives the echo server, and the one loop every board runs on
//! it: start the server with the build's services, then poll, let the board
//! look after itself, feed the watchdog, and sleep until smoltcp's next
//! deadline, the board's next check or a frame. A board crate is then its
//! bring-up, its driver and its clock (the template in the README).

use smoltcp::phy::Device;
use smoltcp::time::{Duration, Instant};

use crate::{EchoConfig, EchoServer, InitError, NetConfig, ServiceConfig, ServiceResources, Storage};

/// A board, as the main loop sees it.
pub trait Board {
    /// The Ethernet MAC as smoltcp's device.
    type Device: Device;

    /// The network identity (addresses, MAC, a per-boot random seed).
    fn net(&self) -> NetConfig;
    /// Milliseconds since 1970 at start-up, if the board knows the wall clock.
    fn wall_clock(&self) -> Option<u64>;
    /// The monotonic clock.
    fn now(&self) -> Instant;
    /// The device the server polls.
    fn device(&mut self) -> &mut Self::Device;
    /// The board's periodic work (link, counters, LEDs); returns the time
    /// until it next wants to run.
    fn check(&mut self, now: Instant, server: &EchoServer) -> Duration;
    /// Restarts the watchdog's countdown, if the board has one.
    fn feed_watchdog(&mut self);
    /// Sleeps for at most `time`; a frame ends the sleep early.
    fn sleep(&mut self, time: Duration);
    /// Reports why start-up failed and ends the run (reset or halt).
    fn fatal(&mut self, what: &str, e: InitError) -> !;

    /// How the echo service behaves (port, mode, backlog, timeouts). A
    /// constant, so the compiler folds it into the code that reads it.
    const ECHO_CONFIG: EchoConfig = EchoConfig::DEFAULT;

    /// How the services this build has behave (e.g. a fixed SNTP server
    /// instead of the one a DHCP lease names).
    const SERVICE_CONFIG: ServiceConfig = ServiceConfig::DEFAULT;
}

/// Starts the echo server on `board` with `storage` and the services this
/// build has (UDP echo, DHCP, SNTP, by Cargo feature), then serves forever.
pub fn run<B: Board>(board: &mut B, storage: Storage<'static>, services: &'static mut ServiceResources) -> ! {
    let mut server = start(board, storage, services);
    loop {
        let now = board.now();
        let wait = server.poll(now, board.device());
        let until_check = board.check(now, &server);
        board.feed_watchdog();
        board.sleep(wait.map_or(until_check, |w| w.min(until_check)));
    }
}

fn start<B: Board>(
    board: &mut B,
    storage: Storage<'static>,
    services: &'static mut ServiceResources,
) -> EchoServer<'static> {
    // Copied out first: once the board's device has been handed to code the
    // compiler cannot see through, it no longer knows the board's fields
    // unchanged, and a constant config (the MPS2's) would not fold (136 B).
    let (net, wall_clock) = (board.net(), board.wall_clock());
    let now = board.now();
    let started = EchoServer::new(&net, &B::ECHO_CONFIG, board.device(), now, storage)
        .and_then(|mut server| server.enable_services(services, &B::SERVICE_CONFIG).map(|()| server));
    let mut server = match started {
        Ok(server) => server,
        Err(e) => board.fatal("echo server", e),
    };
    #[cfg(feature = "ipv6")]
    if let Some(v6) = net.ipv6 {
        info!("IPv6 {} and {}", v6, net.link_local());
    }
    if let Some(unix_ms) = wall_clock {
        server.set_unix_time(now, unix_ms);
    }
    server
}
