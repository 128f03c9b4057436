//! Sleeping until the TAP has a frame, smoltcp's next deadline passes, or a
//! signal asks us to stop: one poll(2) on the TAP and a signal self-pipe, so an
//! idle server uses no CPU.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};
use echo_core::smoltcp::time::{Duration, Instant};

/// The process's wait-and-wake machinery.
pub struct EventLoop {
    tap_fd: RawFd,
    signals: UnixStream,
    start: std::time::Instant,
    stopped: bool,
}

impl EventLoop {
    /// Watches `tap_fd`; SIGINT and SIGTERM end the loop.
    pub fn new(tap_fd: RawFd) -> Result<Self> {
        let (signals, notify) = UnixStream::pair().context("cannot create the signal pipe")?;
        signals.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(sig, notify.try_clone()?)
                .context("cannot install signal handler")?;
        }
        Ok(EventLoop { tap_fd, signals, start: std::time::Instant::now(), stopped: false })
    }

    /// Monotonic time since start, in smoltcp's type.
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as i64)
    }

    /// True once a stop signal arrived.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Sleeps until a frame arrives, `delay` passes (`None`: no deadline) or a signal comes.
    pub fn wait(&mut self, delay: Option<Duration>) -> Result<()> {
        let timeout = match delay {
            None => -1,
            // Round up: waking early would just spin.
            Some(d) => d.total_micros().div_ceil(1000).min(i32::MAX as u64) as i32,
        };
        if timeout == 0 {
            return Ok(());
        }
        let mut fds = [
            libc::pollfd { fd: self.tap_fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: self.signals.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: `fds` is a valid array of two initialised pollfd for the call's duration.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e).context("poll(2) on the TAP failed");
            }
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
