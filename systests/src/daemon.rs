//! A helper server (dnsmasq, chronyd) run in the foreground inside a test
//! namespace, with its files in a private temporary directory. Dropping it
//! stops it (SIGTERM, then SIGKILL) and removes the directory, so nothing
//! outlives the test or touches the host's own configuration.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use netlab::ChildGuard;

use crate::Netns;

/// A running helper server.
#[derive(Debug)]
pub struct Daemon {
    name: &'static str,
    child: ChildGuard,
    dir: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// A fresh directory for `name`'s files in `ns`:
    /// `$TMPDIR/echo-systests/<namespace>-<name>/`.
    pub fn make_dir(ns: &Netns, name: &str) -> io::Result<PathBuf> {
        let dir = std::env::temp_dir().join("echo-systests").join(format!("{}-{name}", ns.name()));
        // Left over from an earlier run with the same pid: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Spawns `cmd` (built with [`Netns::command`]) with its output in
    /// `dir/<name>.log`. `dir` (from [`Daemon::make_dir`]) belongs to the
    /// daemon from now on and is removed on drop.
    pub fn spawn(name: &'static str, dir: PathBuf, mut cmd: Command) -> io::Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let child = ChildGuard::spawn(name, cmd.stdin(Stdio::null()).stdout(out).stderr(err))?;
        Ok(Daemon { name, child, dir, log })
    }

    /// The daemon's private directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything the daemon has printed so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// Fails, with the daemon's output, if it has exited.
    pub fn check_running(&mut self) -> io::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(io::Error::other(format!("{} exited ({status}); its output:\n{}", self.name, self.log())));
        }
        Ok(())
    }

    /// Polls `ready` until it returns `Some`, the daemon exits, or `patience`
    /// runs out; the error then carries `what` and the daemon's output.
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        patience: Duration,
        mut ready: impl FnMut(&Self) -> Option<T>,
    ) -> io::Result<T> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(value) = ready(self) {
                return Ok(value);
            }
            self.check_running()?;
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: no {what} within {patience:?}; its output:\n{}", self.name, self.log()),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a line of output containing `needle` and returns it.
    pub fn wait_for_log(&mut self, needle: &str, patience: Duration) -> io::Result<String> {
        self.wait_until(&format!("{needle:?} in its output"), patience, |d| {
            d.log().lines().find(|l| l.contains(needle)).map(str::to_string)
        })
    }
}

/// Fails with an install hint unless `program` is on `PATH` (or in an sbin
/// directory): `ip netns exec` would only report a missing program as an
/// exit status.
pub fn require(program: &str, debian_package: &str) -> io::Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(program).is_file());
    if found {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "`{program}` not found: install the Debian package {debian_package} (apt-get install {debian_package})"
            ),
        ))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Stopped before its output is shown or its files go.
        let _ = self.child.stop(Duration::from_secs(2));
        if thread::panicking() {
            let _ = writeln!(
                io::stderr(),
                "---- {} output ({}) ----\n{}---- end of {} output ----",
                self.name,
                self.log.display(),
                self.log(),
                self.name
            );
        }
        if thread::panicking() || std::env::var_os("SYSTESTS_KEEP_LOGS").is_some() {
            return; // keep the files for a post-mortem
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
