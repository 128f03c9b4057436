//! Child processes that cannot outlive their owner: a [`ChildGuard`] stops its
//! child (SIGTERM by pid, then SIGKILL) and reaps it when dropped.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::command_line;

/// How long a dropped guard lets its child handle SIGTERM before SIGKILL.
const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// A spawned child, stopped and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    what: String,
    child: Child,
    exited: Option<ExitStatus>,
    grace: Duration,
}

impl ChildGuard {
    /// Spawns `cmd` (its stdio as the caller set it); `what` names it in errors.
    pub fn spawn(what: &str, cmd: &mut Command) -> io::Result<Self> {
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {what} (`{}`): {e}", command_line(cmd))))?;
        Ok(ChildGuard { what: what.to_owned(), child, exited: None, grace: DEFAULT_GRACE })
    }

    /// How long [`Drop`] waits after SIGTERM before SIGKILL (2 s unless set).
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// What the child is, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, to take its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Its exit status if it has exited (remembered once seen).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait()?;
        }
        Ok(self.exited)
    }

    /// Waits up to `timeout` for the child to exit; `None` if it still runs.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            self.exited = wait_timeout(&mut self.child, timeout)?;
        }
        Ok(self.exited)
    }

    /// Sends SIGTERM and waits up to `patience` for the child to exit;
    /// `TimedOut` (after a SIGKILL) if it does not.
    pub fn stop(&mut self, patience: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        // SAFETY: plain syscall on our own child, which has not been reaped
        // (so its pid cannot have been reused).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        if let Some(status) = self.wait_timeout(patience)? {
            return Ok(status);
        }
        // Already exited between the two calls is fine too.
        let _ = self.child.kill();
        self.exited = Some(self.child.wait()?);
        Err(io::Error::new(io::ErrorKind::TimedOut, format!("{} ignored SIGTERM for {patience:?}", self.what)))
    }

    /// Kills the child at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        let _ = self.child.kill();
        let status = self.child.wait()?;
        self.exited = Some(status);
        Ok(status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Err(e) = self.stop(self.grace) {
            if e.kind() != io::ErrorKind::TimedOut {
                eprintln!("netlab: warning: stopping {}: {e}", self.what);
            }
        }
    }
}

/// Waits up to `timeout` for `child` to exit; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn alive(pid: u32) -> bool {
        // A reaped child has no /proc entry; a zombie would still have one.
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn drop_stops_and_reaps_a_child_that_handles_sigterm() {
        let guard = ChildGuard::spawn("sleeper", Command::new("sleep").arg("30")).unwrap();
        let pid = guard.id();
        let t = Instant::now();
        drop(guard);
        assert!(!alive(pid), "sleep {pid} survived its guard");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn stop_kills_a_child_that_ignores_sigterm_and_says_so() {
        // The shell ignores TERM; `exec sleep` would not, so it waits in a loop.
        let mut guard = ChildGuard::spawn(
            "stubborn",
            Command::new("sh")
                .args(["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"])
                .stdout(std::process::Stdio::piped()),
        )
        .unwrap();
        let mut ready = [0u8; 6];
        std::io::Read::read_exact(guard.child_mut().stdout.as_mut().unwrap(), &mut ready).unwrap();
        let err = guard.stop(Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("stubborn ignored SIGTERM"), "{err}");
        assert!(guard.try_wait().unwrap().is_some());
    }

    #[test]
    fn a_child_that_cannot_start_is_named_in_the_error() {
        let err = ChildGuard::spawn("the helper", &mut Command::new("netlab-no-such-program")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().starts_with("cannot start the helper (`netlab-no-such-program`)"), "{err}");
    }
}
