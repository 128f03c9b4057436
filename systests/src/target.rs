//! The thing under test: something that serves the echo at 192.168.69.1:12345
//! behind `tap0` inside a test namespace.

use std::fs::File;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use netlab::ChildGuard;

use crate::client::read_to_eof;
use crate::{bins, Netns, DEVICE_MAC, SERVER, TAP};

/// Socket timeouts for test clients: generous, but every wait is bounded.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server sends back (host-sim's `--mode`).
pub use echo_core::Mode;

/// A way of running the echo server.
#[derive(Debug, Clone)]
pub enum Target {
    /// `host-sim`, which creates `tap0` itself (it runs as root).
    HostSim {
        /// `--mode`.
        mode: Mode,
        /// Further command-line arguments.
        extra_args: Vec<String>,
    },
    /// The mps2-an386 firmware in `qemu-system-arm` (LAN9118 on `tap0`).
    ///
    /// Extension point: the firmware is developed separately; tests include
    /// this target only when `MPS2_ELF` is set (see [`Target::stamp_targets`]).
    /// The QEMU binary can be overridden with `QEMU_SYSTEM_ARM`.
    Qemu {
        /// The firmware ELF.
        elf: PathBuf,
    },
}

impl Target {
    /// `host-sim` in `mode` with default arguments.
    pub fn host_sim(mode: Mode) -> Self {
        Target::HostSim { mode, extra_args: Vec::new() }
    }

    /// The QEMU target, if `MPS2_ELF` is set.
    pub fn qemu_from_env() -> Option<Self> {
        bins::mps2_elf().map(|elf| Target::Qemu { elf })
    }

    /// Every available target that serves the tutorial's stamped echo:
    /// host-sim always, QEMU when `MPS2_ELF` is set.
    pub fn stamp_targets() -> Vec<Self> {
        std::iter::once(Target::host_sim(Mode::Stamp)).chain(Target::qemu_from_env()).collect()
    }

    /// The reply format this target uses.
    pub fn mode(&self) -> Mode {
        match self {
            Target::HostSim { mode, .. } => *mode,
            Target::Qemu { .. } => Mode::Stamp,
        }
    }

    /// Short name for messages and log files.
    pub fn name(&self) -> &'static str {
        match self {
            Target::HostSim { .. } => "host-sim",
            Target::Qemu { .. } => "qemu",
        }
    }

    /// Starts the target in a fresh namespace; see [`Target::start_in`].
    pub fn start(&self) -> io::Result<Running> {
        self.start_in(crate::netns::fresh()?)
    }

    /// Starts the target inside `ns` and waits until the echo port accepts
    /// (and closes cleanly) from inside the namespace.
    pub fn start_in(&self, ns: Netns) -> io::Result<Running> {
        let mut running = self.spawn_in(ns)?;
        let patience = match self {
            Target::HostSim { .. } => Duration::from_secs(10),
            Target::Qemu { .. } => Duration::from_secs(30),
        };
        running.wait_accepting(SERVER, patience)?;
        Ok(running)
    }

    /// Starts the target inside `ns` without waiting for it: for targets that
    /// do not serve at [`SERVER`] at once (DHCP). Follow with
    /// [`Running::wait_for_log`] or [`Running::wait_accepting`].
    pub fn spawn_in(&self, ns: Netns) -> io::Result<Running> {
        let dir = std::env::temp_dir().join("echo-systests");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("{}-{}.log", ns.name(), self.name()));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let mut cmd = match self {
            Target::HostSim { mode, extra_args } => {
                let mut cmd = ns.command(bins::host_sim()?);
                cmd.args(["--tap", TAP, "--mode", mode.name()]).args(extra_args);
                if std::env::var_os("RUST_LOG").is_none() {
                    cmd.env("RUST_LOG", "info");
                }
                cmd
            }
            Target::Qemu { elf } => {
                // QEMU only opens the TAP; the namespace side is ours to set up.
                ns.add_tap(&crate::netns::lab_tap())?;
                let qemu = std::env::var_os("QEMU_SYSTEM_ARM").unwrap_or_else(|| "qemu-system-arm".into());
                let mut cmd = ns.command(qemu);
                // As `cargo xtask qemu` runs it: semihosting for a build with
                // that feature, exit when the firmware resets, and the host's
                // wall clock written into RAM for a build without (seconds
                // and their complement at 0x203F_FFF0; mps2-an386's clock.rs).
                let secs =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let time = u64::from(secs as u32) | u64::from(!(secs as u32)) << 32;
                cmd.args(["-M", "mps2-an386", "-nographic", "-semihosting-config", "enable=on,target=native"])
                    .args(["-no-reboot", "-device"])
                    .arg(format!("loader,addr=0x203ffff0,data={time:#x},data-len=8"))
                    .arg("-kernel")
                    .arg(elf)
                    .arg("-nic")
                    .arg(format!("tap,ifname={TAP},script=no,downscript=no,model=lan9118,mac={DEVICE_MAC}"));
                cmd
            }
        };
        let child = ChildGuard::spawn(self.name(), cmd.stdin(Stdio::null()).stdout(out).stderr(err))?;
        Ok(Running { child, log, target: self.clone(), ns })
    }
}

/// A started target. Dropping it stops the target (SIGTERM, then SIGKILL)
/// and removes its namespace. Its output goes to a log file in
/// `$TMPDIR/echo-systests/`, printed if the test is panicking and deleted
/// otherwise (kept if `SYSTESTS_KEEP_LOGS` is set).
#[derive(Debug)]
pub struct Running {
    child: ChildGuard,
    log: PathBuf,
    target: Target,
    // Last: dropped after the child is gone.
    ns: Netns,
}

impl Running {
    /// The namespace the target runs in.
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// What is running.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The target's process id (`ip netns exec` execs the program, so this
    /// is host-sim or QEMU itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails, with the target's output, if it has exited.
    pub fn check_running(&mut self) -> io::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(io::Error::other(format!(
                "{} exited ({status}); its output:\n{}",
                self.target.name(),
                self.log()
            )));
        }
        Ok(())
    }

    /// A client connection from inside the namespace, with read and write
    /// timeouts of [`IO_TIMEOUT`].
    pub fn connect(&self) -> io::Result<TcpStream> {
        self.connect_to(SERVER)
    }

    /// Connects, retrying refusals for up to `window`: a slot is free again
    /// only once the server has seen its previous connection end.
    pub fn connect_within(&self, window: Duration) -> io::Result<TcpStream> {
        let deadline = Instant::now() + window;
        loop {
            match self.connect() {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }

    /// Like [`Running::connect`], to another address of the target (IPv6, a
    /// DHCP lease).
    pub fn connect_to(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = self.ns.connect(addr, IO_TIMEOUT)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(stream)
    }

    /// Waits up to `patience` for a line of the target's output containing
    /// `needle`, and returns that line. Fails early if the target exits.
    pub fn wait_for_log(&mut self, needle: &str, patience: Duration) -> io::Result<String> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return Ok(line.to_string());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited ({status}) before logging {needle:?}; its output:\n{}",
                    self.target.name(),
                    self.log()
                )));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} did not log {needle:?} within {patience:?}; its output:\n{}",
                        self.target.name(),
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the target has printed so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `patience` for the target to exit;
    /// `TimedOut` (after a SIGKILL) if it does not.
    pub fn stop(&mut self, patience: Duration) -> io::Result<ExitStatus> {
        self.child.stop(patience)
    }

    /// Polls until the echo port at `addr` accepts, then closes that probe
    /// connection cleanly (half-close, wait for the server's FIN) so its slot
    /// is free again before the test goes on. Fails early if the target exits.
    pub fn wait_accepting(&mut self, addr: SocketAddr, patience: Duration) -> io::Result<()> {
        let deadline = Instant::now() + patience;
        let mut last_error = None;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited during start-up ({status}); its output:\n{}",
                    self.target.name(),
                    self.log()
                )));
            }
            match self.ns.connect(addr, Duration::from_millis(500)) {
                Ok(probe) => return self.close_probe(probe),
                Err(e) => last_error = Some(e),
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} did not accept on {addr} within {patience:?} (last error: {last_error:?}); its output:\n{}",
                self.target.name(),
                self.log()
            ),
        ))
    }

    fn close_probe(&self, mut probe: TcpStream) -> io::Result<()> {
        probe.shutdown(Shutdown::Write)?;
        match read_to_eof(&mut probe, IO_TIMEOUT) {
            Ok(rest) if rest.is_empty() => Ok(()),
            Ok(rest) => Err(io::Error::other(format!(
                "readiness probe: {} unexpected bytes before the server's FIN; its output:\n{}",
                rest.len(),
                self.log()
            ))),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("readiness probe: after our FIN (no data sent): {e}; its output:\n{}", self.log()),
            )),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Err(e) = self.stop(Duration::from_secs(2)) {
            eprintln!("warning: {e}");
        }
        if thread::panicking() {
            let log = self.log();
            let _ = writeln!(
                io::stderr(),
                "---- {} output ({}) ----\n{log}---- end of {} output ----",
                self.target.name(),
                self.log.display(),
                self.target.name()
            );
        } else if std::env::var_os("SYSTESTS_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
