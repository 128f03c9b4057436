//! Sleeping until the TAP has a frame, smoltcp's next deadline passes, or a
//! signal asks us to stop: one poll(2) on the TAP and a signal self-pipe, so an
//! idle server uses no CPU. With `--busy-poll`, the loop first keeps looking
//! at the TAP for a while after a frame, because the next one of a
//! conversation often comes sooner than a sleeping process wakes.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, Result};
use echo_core::smoltcp::time::{Duration, Instant as SmolInstant};

/// The process's wait-and-wake machinery.
pub struct EventLoop {
    tap_fd: RawFd,
    signals: UnixStream,
    start: Instant,
    stopped: bool,
    /// How long to keep looking after a frame (zero: never).
    busy_poll: StdDuration,
    /// Until when the TAP is looked at without sleeping.
    busy_until: Option<Instant>,
}

impl EventLoop {
    /// Watches `tap_fd`, looking at it for `busy_poll` after each frame
    /// before sleeping; SIGINT and SIGTERM end the loop.
    pub fn new(tap_fd: RawFd, busy_poll: StdDuration) -> Result<Self> {
        let (signals, notify) = UnixStream::pair().context("cannot create the signal pipe")?;
        signals.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(sig, notify.try_clone()?)
                .context("cannot install signal handler")?;
        }
        Ok(EventLoop { tap_fd, signals, start: Instant::now(), stopped: false, busy_poll, busy_until: None })
    }

    /// Monotonic time since start, in smoltcp's type.
    pub fn now(&self) -> SmolInstant {
        SmolInstant::from_micros(self.start.elapsed().as_micros() as i64)
    }

    /// True once a stop signal arrived.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Sleeps until a frame arrives, `delay` passes (`None`: no deadline) or a
    /// signal comes; within `busy_poll` of the last frame, looks without sleeping.
    pub fn wait(&mut self, delay: Option<Duration>) -> Result<()> {
        let deadline = delay.map(|d| Instant::now() + StdDuration::from_micros(d.total_micros()));
        let mut fds = [
            libc::pollfd { fd: self.tap_fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: self.signals.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        if let Some(until) = self.busy_until.take() {
            // Never past smoltcp's deadline: lingering must not delay a timer.
            let until = deadline.map_or(until, |d| until.min(d));
            while Instant::now() < until {
                // SAFETY: `fds[0]` is a valid, initialised pollfd for the call's duration.
                if unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) } > 0 {
                    self.busy_until = Some(Instant::now() + self.busy_poll);
                    return Ok(());
                }
                std::hint::spin_loop();
            }
        }
        let timeout = match deadline {
            None => -1,
            // Round up: waking early would just spin.
            Some(d) => {
                d.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        if timeout == 0 {
            return Ok(());
        }
        // SAFETY: `fds` is a valid array of two initialised pollfd for the call's duration.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e).context("poll(2) on the TAP failed");
            }
        }
        if rc > 0 && fds[0].revents != 0 && !self.busy_poll.is_zero() {
            self.busy_until = Some(Instant::now() + self.busy_poll);
        }
        if fds[1].revents != 0 {
            let mut drain = [0u8; 16];
            let _ = self.signals.read(&mut drain);
            log::info!("signal received, shutting down");
            self.stopped = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// CPU time this thread has used.
    fn thread_cpu() -> StdDuration {
        // SAFETY: `usage` is a valid rusage for getrusage to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) }, 0);
        let t = |tv: libc::timeval| StdDuration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
        t(usage.ru_utime) + t(usage.ru_stime)
    }

    /// A loop on one end of a socket pair standing in for the TAP, after one "frame".
    fn after_a_frame(busy_poll: StdDuration) -> (EventLoop, UnixStream, UnixStream) {
        let (tap, mut peer) = UnixStream::pair().unwrap();
        let mut event_loop = EventLoop::new(tap.as_raw_fd(), busy_poll).unwrap();
        peer.write_all(b"f").unwrap();
        event_loop.wait(None).unwrap();
        (&tap).read_exact(&mut [0u8; 1]).unwrap();
        (event_loop, tap, peer)
    }

    #[test]
    fn with_busy_poll_an_idle_loop_still_sleeps() {
        let (mut event_loop, _tap, _peer) = after_a_frame(StdDuration::from_millis(2));
        let (start, cpu) = (Instant::now(), thread_cpu());
        event_loop.wait(Some(Duration::from_millis(40))).unwrap();
        let (took, spent) = (start.elapsed(), thread_cpu() - cpu);
        assert!(took >= StdDuration::from_millis(40), "woke early: {took:?}");
        // 2 ms of looking, then asleep: nowhere near the 40 ms a spin would use.
        assert!(spent < StdDuration::from_millis(20), "spent {spent:?} of CPU in {took:?}");
    }

    #[test]
    fn busy_poll_never_delays_the_next_deadline() {
        let (mut event_loop, _tap, _peer) = after_a_frame(StdDuration::from_millis(10));
        let start = Instant::now();
        event_loop.wait(Some(Duration::from_millis(1))).unwrap();
        let took = start.elapsed();
        assert!(took >= StdDuration::from_millis(1) && took < StdDuration::from_millis(8), "took {took:?}");
    }

    #[test]
    fn a_frame_while_looking_ends_the_wait() {
        let (mut event_loop, _tap, mut peer) = after_a_frame(StdDuration::from_millis(500));
        let sender = std::thread::spawn(move || {
            std::thread::sleep(StdDuration::from_millis(5));
            peer.write_all(b"f").unwrap();
            peer
        });
        let start = Instant::now();
        event_loop.wait(Some(Duration::from_secs(5))).unwrap();
        let took = start.elapsed();
        let _peer = sender.join().unwrap();
        assert!(took < StdDuration::from_millis(400), "took {took:?}");
    }
}
