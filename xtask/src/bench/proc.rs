//! Child processes with bounded lives: servers stopped when dropped, clients
//! killed when they overrun their time or the user presses Ctrl-C.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use netlab::ChildGuard;

/// How often waits look at the child, the clock and the Ctrl-C flag.
const TICK: Duration = Duration::from_millis(50);

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Turns the first Ctrl-C (or SIGTERM) into a flag the waits check, so the
/// bench unwinds and removes its namespaces; a second one exits at once.
pub fn catch_interrupts() -> Result<()> {
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Order matters: the shutdown check sees the flag as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag))
            .context("cannot install a signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(flag)).context("cannot install a signal handler")?;
    }
    Ok(())
}

/// Fails once Ctrl-C has been pressed.
pub fn check_interrupt() -> Result<()> {
    if INTERRUPTED.get().is_some_and(|f| f.load(Ordering::Relaxed)) {
        bail!("interrupted; cleaning up");
    }
    Ok(())
}

/// Sleeps `d`, waking early (with an error) on Ctrl-C.
pub fn pause(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        check_interrupt()?;
        thread::sleep(TICK.min(end.saturating_duration_since(Instant::now())));
    }
    check_interrupt()
}

/// A long-running server; stopped (TERM, then KILL after 3 s) when dropped.
pub struct Server {
    child: ChildGuard,
    log: PathBuf,
}

impl Server {
    /// Starts `cmd`; its stderr (where the servers log) goes to `log`.
    pub fn spawn(what: &str, cmd: &mut Command, log: &Path) -> Result<Self> {
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = ChildGuard::spawn(what, cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(file))?
            .with_grace(Duration::from_secs(3));
        Ok(Server { child, log: log.to_owned() })
    }

    /// The server's pid (`ip netns exec` execs in place, so it is the program's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails, showing the end of the server's log, if it has exited.
    pub fn ensure_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().with_context(|| format!("waiting for {}", self.child.what()))? {
            bail!("{} exited ({status}); {}", self.child.what(), self.log_tail());
        }
        Ok(())
    }

    /// The last lines of the log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
        format!("last lines of {}:\n  {tail}", self.log.display())
    }
}

/// Runs `cmd` to completion and returns its stdout. It is killed after
/// `timeout` or on Ctrl-C; `tick` runs about every 50 ms meanwhile. A
/// non-zero exit is an error carrying its stderr.
pub fn run_bounded(cmd: &mut Command, timeout: Duration, mut tick: impl FnMut()) -> Result<String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let waited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(anyhow!("waiting for {shown}: {e}")),
        }
        if let Err(e) = check_interrupt() {
            break Err(e);
        }
        if Instant::now() >= deadline {
            break Err(anyhow!("{shown} did not finish within {} s: killed", timeout.as_secs()));
        }
        tick();
        thread::sleep(TICK);
    };
    if waited.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (out, err) = (join(stdout), join(stderr));
    // Ctrl-C reaches the child too: say "interrupted", not "it failed".
    check_interrupt()?;
    let status: ExitStatus = waited.map_err(|e| with_stderr(e, &err))?;
    if !status.success() {
        return Err(with_stderr(anyhow!("{shown} failed ({status})"), &err));
    }
    Ok(out)
}

fn with_stderr(e: anyhow::Error, stderr: &str) -> anyhow::Error {
    match stderr.trim() {
        "" => e,
        s => anyhow!("{e:#}: {s}"),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn join(reader: thread::JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

/// Only one bench at a time: the namespaces have fixed names.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock file `path` (holding our pid); fails if a live process holds it.
    pub fn take(path: &Path) -> Result<Self> {
        if let Ok(pid) = std::fs::read_to_string(path) {
            let pid = pid.trim();
            let me = std::process::id().to_string();
            if pid != me && !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                bail!(
                    "another `cargo xtask bench` is running (pid {pid}, lock {}); wait for it or stop it",
                    path.display()
                );
            }
        }
        std::fs::write(path, std::process::id().to_string())
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(Lock { path: path.to_owned() })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_stdout_and_reports_failures_with_stderr() {
        let out = run_bounded(Command::new("sh").args(["-c", "echo hi"]), Duration::from_secs(10), || {}).unwrap();
        assert_eq!(out, "hi\n");
        let err = run_bounded(Command::new("sh").args(["-c", "echo bad >&2; exit 3"]), Duration::from_secs(10), || {})
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("exit status: 3") && msg.contains("bad"), "{msg}");
    }

    #[test]
    fn kills_a_child_that_overruns() {
        let t = Instant::now();
        let mut ticks = 0;
        let err = run_bounded(Command::new("sleep").arg("30"), Duration::from_millis(300), || ticks += 1).unwrap_err();
        assert!(format!("{err:#}").contains("did not finish"), "{err:#}");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(ticks > 0);
    }
}
