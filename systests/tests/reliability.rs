//! Reliability under abuse (issue 4): silent clients that hog every slot,
//! more clients than slots, a client that stops reading, connection churn
//! with resets, lossy links, malformed frames, and a TAP name that is not a
//! TAP. host-sim in raw mode, so every echoed byte can be compared exactly.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use systests::client::{close_cleanly, expect_echo, expect_refused_promptly, expect_reset, read_to_eof, round_trip};
use systests::malformed::{Kind, Link, Malformed};
use systests::packet::PacketSocket;
use systests::process::run_piped;
use systests::rng::Rng;
use systests::sockopt::{connect_with_buffers, set_linger_zero};
use systests::stats::StopStats;
use systests::target::IO_TIMEOUT;
use systests::{attacker, bins, Mode, Netns, Running, Target, DEVICE_IP, DEVICE_IP6, HOST_IP, PORT, SERVER, TAP};

/// host-sim's default `--max-conn`.
const SLOTS: usize = 5;

fn start(extra_args: &[&str]) -> Running {
    let target = Target::HostSim { mode: Mode::Raw, extra_args: extra_args.iter().map(|a| a.to_string()).collect() };
    target.start().unwrap_or_else(|e| panic!("host-sim {extra_args:?}: {e}"))
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn idle_hogs_are_reset_and_their_slots_reclaimed() {
    const IDLE: Duration = Duration::from_secs(2);
    // How late after the idle timeout a reset may come.
    const GRACE: Duration = Duration::from_secs(3);
    let server = start(&["--idle-timeout", "2"]);

    let hogs: Vec<(TcpStream, Instant)> = (0..SLOTS)
        .map(|i| (server.connect().unwrap_or_else(|e| panic!("hog {i} not accepted: {e}")), Instant::now()))
        .collect();
    expect_refused_promptly(|| server.connect(), "a sixth client while five silent ones hold every slot");

    for (i, (mut hog, since)) in hogs.into_iter().enumerate() {
        let left = (since + IDLE + GRACE).saturating_duration_since(Instant::now());
        expect_reset(&mut hog, left, &format!("silent hog {i}"));
        let after = since.elapsed();
        // The server starts a slot's clock when it sees the handshake end,
        // about when our connect() returns (a little slack for scheduling).
        assert!(
            after >= IDLE - Duration::from_millis(100),
            "hog {i} was reset after {after:?}, before the {IDLE:?} idle timeout"
        );
    }

    // Every slot is usable again.
    let mut fresh: Vec<TcpStream> = (0..SLOTS)
        .map(|i| {
            server
                .connect_within(Duration::from_secs(1))
                .unwrap_or_else(|e| panic!("new client {i} after the hogs were reset: {e}"))
        })
        .collect();
    for (i, c) in fresh.iter_mut().enumerate() {
        round_trip(c, Mode::Raw, format!("fresh client {i}").as_bytes()).unwrap_or_else(|e| panic!("client {i}: {e}"));
    }

    // Idleness, not age: a client that keeps talking outlives the timeout,
    // the silent ones beside it do not.
    let talking = Instant::now();
    let mut round = 0;
    while talking.elapsed() < IDLE + Duration::from_secs(1) {
        thread::sleep(Duration::from_millis(400));
        round_trip(&mut fresh[0], Mode::Raw, format!("still talking {round}").as_bytes())
            .unwrap_or_else(|e| panic!("a client talking every 400 ms was dropped after {:?}: {e}", talking.elapsed()));
        round += 1;
    }
    for (i, c) in fresh.iter_mut().enumerate().skip(1) {
        expect_reset(c, GRACE, &format!("silent client {i} beside a talking one"));
    }
    round_trip(&mut fresh[0], Mode::Raw, b"last words").expect("the talking client");
}

/// `n` connects started together from inside the namespace: each result and
/// how long it took.
fn concurrent_connects(server: &Running, n: usize) -> Vec<(io::Result<TcpStream>, Duration)> {
    let start = Barrier::new(n);
    server
        .ns()
        .run(|| {
            thread::scope(|s| {
                let attempts: Vec<_> = (0..n)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            let t = Instant::now();
                            let result = TcpStream::connect_timeout(&SERVER, Duration::from_secs(3));
                            (result, t.elapsed())
                        })
                    })
                    .collect();
                attempts.into_iter().map(|a| a.join().expect("connect thread")).collect()
            })
        })
        .expect("enter namespace")
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn eight_clients_on_five_slots_five_served_three_refused_at_once() {
    let server = start(&[]);
    let results = concurrent_connects(&server, 8);
    let summary: Vec<String> =
        results.iter().map(|(r, t)| format!("{:?} in {t:?}", r.as_ref().map(|_| "ok"))).collect();
    let mut served = Vec::new();
    let mut refused = 0;
    for (result, took) in results {
        match result {
            Ok(stream) => served.push(stream),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                assert!(took < Duration::from_secs(1), "a refusal took {took:?}: {summary:?}");
                refused += 1;
            }
            Err(e) => panic!("a connect failed with {e}, expected success or ECONNREFUSED: {summary:?}"),
        }
    }
    assert_eq!((served.len(), refused), (SLOTS, 3), "(accepted, refused) of 8 concurrent connects: {summary:?}");

    // Interleaved, so all five are owed a reply at once.
    for (i, c) in served.iter_mut().enumerate() {
        c.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        c.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        c.write_all(format!("served {i}").as_bytes()).unwrap_or_else(|e| panic!("client {i}: {e}"));
    }
    for (i, c) in served.iter_mut().enumerate() {
        expect_echo(c, Mode::Raw, format!("served {i}").as_bytes()).unwrap_or_else(|e| panic!("client {i}: {e}"));
    }
    for (i, c) in served.iter_mut().enumerate() {
        close_cleanly(c, &format!("client {i}"));
    }
    drop(served);

    let mut again: Vec<TcpStream> = (0..SLOTS)
        .map(|i| {
            server.connect_within(Duration::from_secs(1)).unwrap_or_else(|e| panic!("second wave, client {i}: {e}"))
        })
        .collect();
    for (i, c) in again.iter_mut().enumerate() {
        round_trip(c, Mode::Raw, format!("second wave {i}").as_bytes()).unwrap_or_else(|e| panic!("client {i}: {e}"));
    }
    expect_refused_promptly(|| server.connect(), "a sixth client in the second wave");
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn a_stalled_reader_does_not_hold_up_another_client() {
    const SIZE: usize = 4 << 20;
    // Small fixed kernel buffers: A's writes must block long before 4 MB.
    const KERNEL_BUFFER: usize = 64 * 1024;
    let server = start(&[]);
    let data = Rng::new(3).bytes(SIZE);
    let mut a = server
        .ns()
        .run(|| connect_with_buffers(SERVER, KERNEL_BUFFER, IO_TIMEOUT))
        .expect("enter namespace")
        .expect("client A");
    let writer_end = a.try_clone().expect("clone A");
    // Short, so the writer notices a stop request while blocked.
    writer_end.set_write_timeout(Some(Duration::from_millis(200))).expect("write timeout");
    let sent = AtomicUsize::new(0);
    let stalls = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    let (b_took, sent_total) = thread::scope(|s| {
        // Whatever happens below, the writer stops (or a failure would hang the scope).
        let _stop_writer = SetOnDrop(&stop);
        let writer = s.spawn(|| -> io::Result<()> {
            let mut w = &writer_end;
            while !stop.load(Ordering::Relaxed) {
                let at = sent.load(Ordering::Relaxed);
                if at == SIZE {
                    break;
                }
                match w.write(&data[at..SIZE.min(at + 64 * 1024)]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        sent.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                        stalls.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while stalls.load(Ordering::Relaxed) == 0 && !writer.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(
            stalls.load(Ordering::Relaxed) > 0,
            "A's writes never blocked ({} of {SIZE} bytes sent): the server kept reading although A does not",
            sent.load(Ordering::Relaxed)
        );

        let mut b = server.connect().expect("client B beside the stalled A");
        let t = Instant::now();
        for i in 0..100 {
            let payload = format!("B round trip {i:03} ").repeat(1 + i % 7);
            round_trip(&mut b, Mode::Raw, payload.as_bytes()).unwrap_or_else(|e| panic!("B, round trip {i}: {e}"));
        }
        let b_took = t.elapsed();
        let during = sent.load(Ordering::Relaxed);
        assert!(during < SIZE, "all of A's {SIZE} bytes went through while A did not read: no stall");
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer thread").unwrap_or_else(|e| panic!("A's writes failed instead of stalling: {e}"));
        (b_took, sent.load(Ordering::Relaxed))
    });
    assert!(b_took < Duration::from_secs(5), "B's 100 round trips took {b_took:?} beside the stalled A");

    // Now A reads: everything it managed to send comes back, in order.
    a.shutdown(Shutdown::Write).expect("half-close A");
    let echoed = read_to_eof(&mut a, Duration::from_secs(10)).unwrap_or_else(|e| panic!("A reading its echo: {e}"));
    assert_eq!(echoed.len(), sent_total, "A sent {sent_total} bytes before stopping, got {} back", echoed.len());
    if let Some(i) = echoed.iter().zip(&data).position(|(x, y)| x != y) {
        panic!("A's echo differs from byte {i} on (of {sent_total})");
    }
    eprintln!("stalled reader: A stalled after sending {sent_total} bytes; B's 100 round trips took {b_took:?}");
}

/// Sets a flag when dropped, also while unwinding.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a churn run did.
#[derive(Debug, Default)]
struct Churn {
    cycles: usize,
    bytes: usize,
    resets: usize,
    refusals: usize,
}

/// Which cycles of a churn end with RST, and when.
#[derive(Debug, Clone, Copy)]
struct Resets {
    /// Every `every`th cycle.
    every: usize,
    /// Right after sending; else once the (unread) echo has arrived.
    at_once: bool,
}

/// `threads` × `cycles` connect/send/close cycles from inside the namespace.
/// A cycle that is not reset reads and checks its echo, then closes (FIN).
fn churn(server: &Running, threads: usize, cycles: usize, resets: Resets, seed: u32) -> Churn {
    let results = server
        .ns()
        .run(|| {
            thread::scope(|s| {
                let workers: Vec<_> =
                    (0..threads).map(|t| s.spawn(move || churn_thread(t, cycles, resets, seed))).collect();
                workers.into_iter().map(|w| w.join().expect("churn thread")).collect::<Vec<_>>()
            })
        })
        .expect("enter namespace");
    let mut total = Churn::default();
    for result in results {
        let c = result.unwrap_or_else(|e| panic!("churn: {e}\nhost-sim output:\n{}", server.log()));
        total.cycles += c.cycles;
        total.bytes += c.bytes;
        total.resets += c.resets;
        total.refusals += c.refusals;
    }
    total
}

fn churn_thread(t: usize, cycles: usize, resets: Resets, seed: u32) -> Result<Churn, String> {
    let mut rng = Rng::new(seed.wrapping_add(t as u32));
    let mut done = Churn::default();
    for c in 0..cycles {
        let what = format!("thread {t} cycle {c}");
        let mut payload = format!("{what}: ").into_bytes();
        let len = rng.range(16..=200);
        payload.extend(rng.bytes(len));
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut stream = loop {
            match TcpStream::connect_timeout(&SERVER, IO_TIMEOUT) {
                Ok(s) => break s,
                // Every slot still finishing a close handshake: try again.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                    done.refusals += 1;
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(format!("{what}: connect: {e}")),
            }
        };
        let io = |r: io::Result<()>| r.map_err(|e| format!("{what}: {e}"));
        io(stream.set_read_timeout(Some(IO_TIMEOUT)))?;
        io(stream.set_write_timeout(Some(IO_TIMEOUT)))?;
        io(stream.write_all(&payload))?;
        if c % resets.every == resets.every - 1 {
            if !resets.at_once {
                wait_unread(&mut stream, payload.len()).map_err(|e| format!("{what}: waiting for the echo: {e}"))?;
            }
            io(set_linger_zero(&stream))?;
            drop(stream); // RST mid-stream: the echo is never read
            done.resets += 1;
        } else {
            expect_echo(&mut stream, Mode::Raw, &payload).map_err(|e| format!("{what}: {e}"))?;
            drop(stream); // FIN
        }
        done.cycles += 1;
        done.bytes += payload.len();
    }
    Ok(done)
}

/// Waits until `len` bytes wait to be read, without reading them.
fn wait_unread(stream: &mut TcpStream, len: usize) -> io::Result<()> {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut buf = vec![0u8; len];
    // peek() blocks (up to the read timeout) only while nothing is queued.
    while stream.peek(&mut buf)? < len {
        if Instant::now() >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Waits until host-sim has logged the end of every connection it logged
/// opening (up to `patience`), so its final counters are complete; returns
/// how long that took. A lost final ACK holds a connection until the
/// server's FIN is retransmitted, after smoltcp's RTO of at least 1 s.
fn wait_until_all_ended(server: &Running, patience: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let log = server.log();
        let opened = log.matches("connect from ").count();
        let ended = log
            .lines()
            .filter(|l| {
                l.ends_with(": closed") || l.ends_with(": reset") || l.ends_with(": idle timeout, connection reset")
            })
            .count();
        // The counters are checked afterwards; this only bounds the wait.
        if ended >= opened || t.elapsed() >= patience {
            return t.elapsed();
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Resident memory of process `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn churn_with_resets_keeps_serving_counts_every_connection_and_memory_flat() {
    const THREADS: usize = 4;
    const CYCLES: usize = 500;
    // Mid-stream: the server has surely seen the connection open and echoed
    // (immediate resets: `resets_right_after_the_handshake_are_counted`).
    const RESETS: Resets = Resets { every: 10, at_once: false };
    let mut server = start(&[]);
    let pid = server.pid();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "host-sim", "pid {pid} is not host-sim");

    // A warm-up first, so one-off allocations (log buffers, first use of
    // the socket buffers) are in the baseline.
    let warm = churn(&server, THREADS, 25, RESETS, 1);
    thread::sleep(Duration::from_millis(200));
    let rss_before = vm_rss_kib(pid);
    let t = Instant::now();
    let main = churn(&server, THREADS, CYCLES, RESETS, 2);
    let took = t.elapsed();
    thread::sleep(Duration::from_millis(200));
    let rss_after = vm_rss_kib(pid);

    let mut fresh = server.connect_within(Duration::from_secs(1)).expect("a fresh client after the churn");
    round_trip(&mut fresh, Mode::Raw, b"after the churn").expect("fresh client");
    close_cleanly(&mut fresh, "fresh client");
    let settled = wait_until_all_ended(&server, Duration::from_secs(5));
    let status = server.stop(Duration::from_secs(3)).expect("host-sim stops on SIGTERM");
    assert!(status.success(), "host-sim exit status {status}");
    let stats = StopStats::from_log(&server.log()).unwrap_or_else(|e| panic!("{e}; output:\n{}", server.log()));
    eprintln!(
        "churn: {} cycles ({} reset) in {took:?}, {} refusals retried; all ended {settled:?} after the last; VmRSS {rss_before} -> {rss_after} KiB; {stats:?}",
        main.cycles, main.resets, main.refusals
    );

    assert_eq!(main.cycles, THREADS * CYCLES);
    assert_eq!(
        stats.accepted,
        stats.closed + stats.reset + stats.timed_out,
        "every accepted connection must end as closed, reset or timed out: {stats:?}"
    );
    // Ours, the fresh client and the harness's readiness probe (clean).
    let connections = (warm.cycles + main.cycles + 2) as u64;
    let resets = (warm.resets + main.resets) as u64;
    assert_eq!(
        (stats.accepted, stats.closed, stats.reset, stats.timed_out),
        (connections, connections - resets, resets, 0),
        "(accepted, closed, reset, timed out) after {connections} connections, {resets} of them reset: {stats:?}"
    );
    // Raw mode: every byte sent was echoed, the reset cycles' too.
    let bytes = (warm.bytes + main.bytes + b"after the churn".len()) as u64;
    assert_eq!((stats.bytes_in, stats.bytes_out), (bytes, bytes), "bytes in and out: {stats:?}");
    assert!(
        rss_after <= rss_before + 2048,
        "host-sim's VmRSS grew from {rss_before} KiB to {rss_after} KiB over {} connections",
        main.cycles
    );
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn resets_right_after_the_handshake_are_counted() {
    // Connect, send, RST at once: the handshake's last ACK, the data and the
    // RST often reach the server in one burst. It accepted the connection (a
    // kernel's accept() would return it), so it must count it, as a reset.
    let mut server = start(&[]);
    let done = churn(&server, 4, 50, Resets { every: 1, at_once: true }, 3);
    wait_until_all_ended(&server, Duration::from_secs(3));
    server.stop(Duration::from_secs(3)).expect("host-sim stops on SIGTERM");
    let stats = StopStats::from_log(&server.log()).unwrap_or_else(|e| panic!("{e}; output:\n{}", server.log()));
    let resets = done.resets as u64;
    // Plus the harness's readiness probe, closed cleanly.
    assert_eq!(
        (stats.accepted, stats.reset, stats.closed),
        (resets + 1, resets, 1),
        "(accepted, reset, closed) after {resets} connections reset right after sending: {stats:?}"
    );
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn lossy_corrupting_link_still_echoes_every_byte_exactly() {
    const CLIENTS: usize = 3;
    const SIZE: usize = 200 * 1024;
    let limit = Duration::from_secs(25);
    let server = start(&["--drop-pct", "5", "--corrupt-pct", "1", "--seed", "7"]);
    let t = Instant::now();
    let streams: Vec<TcpStream> = (0..CLIENTS)
        .map(|i| server.connect().unwrap_or_else(|e| panic!("client {i} over the lossy link: {e}")))
        .collect();
    let results: Vec<(Vec<u8>, io::Result<Vec<u8>>)> = thread::scope(|s| {
        let clients: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, mut stream)| {
                s.spawn(move || {
                    let data = Rng::new(100 + i as u32).bytes(SIZE);
                    let mut writer = stream.try_clone().expect("clone");
                    writer.set_write_timeout(Some(limit)).expect("write timeout");
                    let sending = data.clone();
                    // Written while this thread reads: the echo must not wait for the whole write.
                    let sender = thread::spawn(move || {
                        writer.write_all(&sending)?;
                        writer.shutdown(Shutdown::Write)
                    });
                    let received = read_to_eof(&mut stream, limit);
                    let sent = sender.join().expect("sender thread");
                    (data, sent.and(received))
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().expect("client thread")).collect()
    });
    let took = t.elapsed();
    for (i, (data, received)) in results.into_iter().enumerate() {
        let received =
            received.unwrap_or_else(|e| panic!("client {i} after {took:?}: {e}\nhost-sim output:\n{}", server.log()));
        assert_eq!(received.len(), data.len(), "client {i}: echo length");
        if let Some(at) = received.iter().zip(&data).position(|(a, b)| a != b) {
            panic!("client {i}: echo differs from byte {at} on");
        }
    }
    eprintln!("lossy link: {CLIENTS} × {SIZE} bytes echoed exactly in {took:?}");
}

/// The addresses of the namespace's link to the device.
fn host_link(ns: &Netns) -> Link {
    Link {
        device_mac: attacker::device_mac().0,
        device_ip: DEVICE_IP.octets(),
        device_ip6: DEVICE_IP6.octets(),
        host_mac: attacker::interface_mac(ns, TAP).expect("the TAP's host-side MAC").0,
        host_ip: HOST_IP.octets(),
        port: PORT,
    }
}

/// A counter of the TAP's host side, read inside the namespace.
fn tap_counter(ns: &Netns, name: &str) -> u64 {
    let path = format!("/sys/class/net/{TAP}/statistics/{name}");
    let out = netlab::run_checked(ns.command("cat").arg(&path)).expect("read TAP statistics");
    out.trim().parse().unwrap_or_else(|_| panic!("{path}: {out:?}"))
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn malformed_frames_from_the_host_side_are_survived() {
    const FRAMES: usize = 5000;
    let mut server = start(&[]);
    let link = host_link(server.ns());
    let (delivered_before, dropped_before) =
        (tap_counter(server.ns(), "tx_packets"), tap_counter(server.ns(), "tx_dropped"));
    let mut generator = Malformed::new(link, 0x0bad_f00d);
    let (sent, refused) = server
        .ns()
        .run(|| {
            let socket = PacketSocket::open(TAP).expect("AF_PACKET socket on the TAP");
            let (mut sent, mut refused) = (0usize, Vec::new());
            for i in 0..FRAMES {
                let kind = Kind::ALL[i % Kind::ALL.len()];
                match socket.send(&generator.frame(kind)) {
                    Ok(()) => sent += 1,
                    Err(e) => refused.push(format!("{kind:?}: {e}")),
                }
                // Bursts of 100: the TAP queue holds 500 frames; past that
                // the kernel drops them before host-sim sees them.
                if i % 100 == 99 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
            (sent, refused)
        })
        .expect("enter namespace");
    thread::sleep(Duration::from_millis(300));
    let delivered = tap_counter(server.ns(), "tx_packets") - delivered_before;
    let dropped = tap_counter(server.ns(), "tx_dropped") - dropped_before;
    eprintln!(
        "malformed frames: {sent} sent, {} refused by the kernel; host-sim read {delivered} frames \
         (these and the kernel's own), {dropped} were dropped at the TAP queue",
        refused.len()
    );
    assert!(refused.is_empty(), "the kernel refused frames: {refused:?}");
    assert!(
        delivered as usize >= FRAMES * 9 / 10,
        "only {delivered} of {FRAMES} frames reached host-sim ({dropped} dropped)"
    );

    server.check_running().expect("host-sim survived the malformed frames");
    let mut client = server.connect_within(Duration::from_secs(2)).expect("a client after the malformed frames");
    round_trip(&mut client, Mode::Raw, b"still serving after the garbage").expect("echo after the malformed frames");
    close_cleanly(&mut client, "client after the malformed frames");
    server.check_running().expect("host-sim still running");
    let log = server.log();
    assert!(!log.contains("panicked"), "host-sim panicked:\n{log}");
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn syns_the_stack_drops_are_not_counted_as_refused() {
    // SYNs to the echo port that never reach TCP: a broken IPv4 checksum,
    // another MAC, another IP. With every slot free, none is refused.
    const EACH: usize = 20;
    let mut server = start(&[]);
    let mut generator = Malformed::new(host_link(server.ns()), 0x5e1f);
    server
        .ns()
        .run(|| {
            let socket = PacketSocket::open(TAP).expect("AF_PACKET socket on the TAP");
            for kind in [Kind::BadIpChecksum, Kind::OtherMac, Kind::OtherIp] {
                for _ in 0..EACH {
                    socket.send(&generator.frame(kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
                }
            }
        })
        .expect("enter namespace");
    thread::sleep(Duration::from_millis(200));
    let mut client = server.connect().expect("a client: every slot is free");
    round_trip(&mut client, Mode::Raw, b"the slots were free").expect("echo");
    close_cleanly(&mut client, "client");
    wait_until_all_ended(&server, Duration::from_secs(3));
    server.stop(Duration::from_secs(3)).expect("host-sim stops on SIGTERM");
    let log = server.log();
    let stats = StopStats::from_log(&log).unwrap_or_else(|e| panic!("{e}; output:\n{log}"));
    let claims: Vec<&str> = log.lines().filter(|l| l.contains("refused")).take(3).collect();
    assert_eq!(
        stats.refused,
        0,
        "{} of {} SYNs the stack dropped before TCP were counted as refused (e.g. {claims:?}): {stats:?}",
        stats.refused,
        3 * EACH
    );
}

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn a_non_tap_interface_name_is_refused_with_a_clear_message() {
    let ns = systests::netns::fresh().expect("namespace");
    let mut cmd = ns.command(bins::host_sim().expect("host-sim"));
    cmd.args(["--tap", "lo"]).env("RUST_BACKTRACE", "1");
    let out = run_piped(&mut cmd, b"", Duration::from_secs(10)).expect("host-sim --tap lo");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    assert!(out.status.code().is_some_and(|c| c != 0), "expected a non-zero exit, got {}: {text}", out.status);
    assert!(
        text.contains("`lo` exists but is not a TAP device"),
        "message does not say `lo` exists but is not a TAP: {text}"
    );
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!text.contains(bad), "message contains {bad:?}: {text}");
    }
    // And it left lo alone.
    let lo = ns.ip(&["-o", "link", "show", "lo"]).expect("lo still exists");
    assert!(lo.contains("UP"), "lo is no longer up: {lo}");
}
