//! host-sim: the firmware's echo core, unchanged, served over a Linux TAP.

mod cli;
mod event_loop;
mod offload;
mod tap_device;
mod tap_setup;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use echo_core::smoltcp::iface::SocketStorage;
use echo_core::smoltcp::phy::{FaultInjector, PcapMode, PcapWriter, Tracer, TracerPacket};
use echo_core::smoltcp::time::{Duration, Instant};
use echo_core::smoltcp::wire::IpAddress;
use echo_core::{EchoConfig, EchoServer, NetConfig, ServiceConfig, ServiceResources, Slot, Storage};

use crate::cli::{Args, ClockArg};
use crate::event_loop::EventLoop;
use crate::tap_device::TapDevice;

fn main() {
    // Every flag is checked here, before the TAP is opened or memory reserved.
    let args = Args::parse_checked();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).format_target(false).init();
    if let Err(e) = run(args) {
        eprintln!("host-sim: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    // Open the TAP and install signal handlers before anything can fail late.
    // Fault injection works on 1500-byte frames, as a wire's faults would.
    let faults = args.drop_pct > 0 || args.corrupt_pct > 0;
    let offload = !args.no_offload && !faults;
    let tap = tap_setup::open(&args.tap, args.host_ip, args.ip6.and(args.host_ip6), args.mtu, offload)?;
    // An existing TAP's host side is not in the flags: a device address it
    // already holds would be answered by the host itself, never reach us.
    let device_ips = [Some(IpAddr::V4(args.ip.address())), args.ip6.map(|c| IpAddr::V6(c.address()))];
    if let Some(taken) = tap_setup::host_side_addresses(&args.tap).into_iter().find(|a| device_ips.contains(&Some(*a)))
    {
        anyhow::bail!(
            "{} already holds {taken} on the host side: give the device another address (--ip, --ip6)",
            args.tap
        );
    }
    let tap = TapDevice::new(tap, args.mtu);
    if tap.offloads() {
        log::info!(
            "TAP offloads on: TCP crosses {} in segments of up to 64 KiB (MTU {} toward the host)",
            args.tap,
            args.mtu
        );
    }
    let mut event_loop = EventLoop::new(tap.as_raw_fd(), std::time::Duration::from_micros(args.busy_poll))?;

    // The middleware stack of smoltcp's examples: faults, then tracing, then
    // capture, so the capture shows what really crossed the TAP.
    let pcap: Box<dyn Write> = match &args.pcap {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create pcap file {}", path.display()))?,
        )),
        None => Box::new(io::sink()),
    };
    let device = PcapWriter::new(tap, pcap, PcapMode::Both);
    let device = Tracer::new(device, if args.verbose { trace_frame } else { |_, _| {} });
    if !faults {
        // Not even a pass-through injector: smoltcp's caps the MTU at 1536.
        return serve(&args, device, &mut event_loop);
    }
    let mut device = FaultInjector::new(device, args.seed);
    device.set_drop_chance(args.drop_pct);
    device.set_corrupt_chance(args.corrupt_pct);
    log::warn!(
        "injecting faults: {}% of frames dropped, {}% corrupted (seed {})",
        args.drop_pct,
        args.corrupt_pct,
        args.seed
    );
    if args.mtu > netlab::plan::IP_MTU {
        log::warn!("fault injection limits frames to 1536 bytes: --mtu {} is not used", args.mtu);
    }
    serve(&args, device, &mut event_loop)
}

fn trace_frame(timestamp: Instant, packet: TracerPacket) {
    log::info!("{timestamp} {packet}");
}

/// Builds the server on `device` and runs it until Ctrl-C or SIGTERM.
fn serve<D: echo_core::smoltcp::phy::Device>(args: &Args, mut device: D, event_loop: &mut EventLoop) -> Result<()> {
    let net =
        NetConfig { mac: args.mac, ipv4: args.ip, gateway: args.gateway, ipv6: args.ip6, random_seed: random_seed() };
    let config = EchoConfig {
        port: args.port,
        mode: args.mode,
        idle_timeout: (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout)),
        backlog: args.max_conn,
        handshake_timeout: (args.handshake_timeout > 0).then(|| Duration::from_secs(args.handshake_timeout)),
        max_per_host: (args.max_per_host > 0).then_some(args.max_per_host as usize),
        evict_silent_after: (args.evict_silent > 0).then(|| Duration::from_secs(args.evict_silent)),
        udp_rate: args.udp_rate,
        ..EchoConfig::DEFAULT
    };
    let storage = leak_storage(Storage::slots_needed(args.max_conn), args.buffer);
    let now = event_loop.now();
    let mut server =
        EchoServer::new(&net, &config, &mut device, now, storage).context("cannot start the echo server")?;
    let host_clock = args.clock == ClockArg::Host;
    let services = ServiceConfig {
        udp_echo: !args.no_udp,
        dhcp: args.dhcp,
        dhcp_fallback: Duration::from_secs(args.dhcp_fallback),
        sntp: !host_clock,
        sntp_server: args.ntp_server.map(IpAddress::from),
        sntp_resync: Duration::from_secs(args.ntp_resync),
    };
    // Lives as long as the process, as a board's static does.
    let resources: &'static mut HostServiceResources = Box::leak(Box::new(ServiceResources::new()));
    server.enable_services(resources, &services).context("cannot start UDP echo, DHCP or SNTP")?;
    if host_clock {
        server.set_unix_time(now, unix_ms());
    } else {
        let from = services.sntp_server.map_or("the server a DHCP lease names".to_string(), |a| a.to_string());
        log::info!("wall clock from SNTP ({from}); stamps read 1970 until the first answer");
    }

    let mut last_sync = now;
    while !event_loop.stopped() {
        let now = event_loop.now();
        // Follow the host clock if it is stepped (NTP, suspend).
        if host_clock && now - last_sync >= Duration::from_secs(10) {
            server.set_unix_time(now, unix_ms());
            last_sync = now;
        }
        let delay = server.poll(now, &mut device);
        event_loop.wait(delay)?;
    }
    let s = server.stats();
    log::info!(
        "stopping: {} accepted, {} refused, {} closed, {} reset, {} timed out, {} B in, {} B out",
        s.accepted,
        s.refused,
        s.closed,
        s.resets,
        s.timeouts,
        s.bytes_in,
        s.bytes_out
    );
    log::info!(
        "udp: {} echoed, {} truncated, {} dropped, {} filtered, {} rate-limited, {} unresolved",
        s.udp_datagrams,
        s.udp_truncated,
        s.udp_dropped,
        s.udp_filtered,
        s.udp_rate_limited,
        s.udp_unresolved
    );
    log::info!(
        "guard: {} handshakes dropped, {} evicted, {} RSTs ignored, {} challenge ACKs, {} SYN-ACKs resent, {} neighbour spoofs, {} ICMP suppressed",
        s.handshakes_dropped,
        s.evicted,
        s.rst_ignored,
        s.challenge_acks,
        s.synack_resent,
        s.neighbour_spoofs,
        s.icmp_suppressed
    );
    Ok(())
}

/// Memory for `n` connection slots. It lives as long as the process, as a board's
/// statics do, so it is leaked once at start-up.
fn leak_storage(n: usize, buffer: usize) -> Storage<'static> {
    Storage {
        sockets: Vec::leak((0..Storage::sockets_needed(n)).map(|_| SocketStorage::EMPTY).collect()),
        slots: Vec::leak(vec![Slot::EMPTY; n]),
        rx: leak_buffers(n * buffer),
        tx: leak_buffers(n * buffer),
    }
}

/// `len` zeroed bytes for the connections' rings, on huge pages where the
/// kernel gives them. smoltcp's rings cycle through their whole size however
/// little they hold, so 50 connections streaming touch 50 × 2 × `--buffer`
/// (6.25 MiB at the default, 25 MiB with `--buffer 262144`). On 4 KiB pages
/// the latter is 6400 pages, more than the TLB holds, and every copy into or
/// out of a ring missed it (profiled: the same copies cost 4× more per byte
/// at 50 connections than at 5).
fn leak_buffers(len: usize) -> &'static mut [u8] {
    const HUGE_PAGE: usize = 2 << 20;
    if len < HUGE_PAGE {
        return Vec::leak(vec![0u8; len]);
    }
    // Room to align the start to a huge page; the slack is never touched,
    // so it costs address space only.
    let map_len = len + HUGE_PAGE;
    // SAFETY: an anonymous private mapping; no existing memory is affected.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Vec::leak(vec![0u8; len]);
    }
    let start = (base as usize).next_multiple_of(HUGE_PAGE) as *mut u8;
    // SAFETY: `start..start + len` lies inside the mapping just made, which is
    // never unmapped, and no other reference to it exists. Anonymous memory
    // reads as zero until written, as `vec![0; len]` would.
    unsafe {
        // Advice only: without THP the pages are simply 4 KiB ones.
        libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE);
        std::slice::from_raw_parts_mut(start, len)
    }
}

/// UDP datagrams host-sim queues each way: a burst from a fast host
/// overruns a board's four.
const UDP_DATAGRAMS: usize = 16;
/// The services' memory on the host: [`UDP_DATAGRAMS`] full-size stamped
/// replies each way (1024 B of payload and the stamp).
type HostServiceResources =
    ServiceResources<UDP_DATAGRAMS, { UDP_DATAGRAMS * (echo_core::CHUNK + echo_core::STAMP_LEN) }>;

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A different seed every run, so TCP sequence numbers differ across restarts.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(unix_ms() ^ u64::from(std::process::id()))
}
