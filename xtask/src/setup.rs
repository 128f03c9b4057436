//! Machine preparation for `cargo xtask test`: everything the stages need
//! beyond a stable Rust toolchain is checked and, when missing, installed
//! (printing each step), so a fresh machine needs only the README's two
//! commands. What cannot be installed here ends as [`Piece::Missing`], saying
//! what to install; the stages needing it then skip (or fail under
//! `--require-system`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::SigId;

use crate::util::{cargo, is_root, root, sh};

/// The firmware's target. `rust-toolchain.toml` lists it, but rustup adds it
/// only when it installs the toolchain, not to one already installed.
pub const THUMB: &str = "thumbv7em-none-eabihf";

/// The cargo-fuzz the fuzz stage is run with.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The Debian packages the system tests and the benchmark use, each with a
/// program it installs (found on `PATH` where there is no dpkg to ask).
const PACKAGES: [(&str, &str); 7] = [
    ("qemu-system-arm", "qemu-system-arm"), // boots the MPS2-AN386 firmware
    ("iproute2", "ip"),                     // namespaces, veths, TAPs
    ("python3", "python3"),                 // the tutorial's client
    ("dnsmasq", "dnsmasq"),                 // a real DHCP server in a namespace
    ("chrony", "chronyd"),                  // a real NTP server in a namespace
    ("faketime", "faketime"),               // chronyd with a shifted clock
    ("procps", "sysctl"),                   // sysctl in the bench namespaces; kill in the lifecycle tests
];

/// Debian's hook that `invoke-rc.d` and `deb-systemd-invoke` ask before
/// starting a service; exit status 101 means "not now".
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// What this run's stages need beyond the host toolchain.
pub struct Needs {
    /// The thumb target (the firmware stages).
    pub thumb: bool,
    /// Debian packages for the system tests and the benchmark (empty: none needed).
    pub packages: Vec<&'static str>,
    /// A nightly toolchain and cargo-fuzz (the fuzz stage).
    pub fuzz: bool,
}

impl Needs {
    /// From `cargo xtask test`'s flags: QEMU only when the firmware is built,
    /// no packages without the system stages, no nightly without fuzzing.
    pub fn new(firmware: bool, system: bool, fuzz: bool) -> Self {
        let packages = PACKAGES
            .iter()
            .map(|&(package, _)| package)
            .filter(|&p| system && (firmware || p != "qemu-system-arm"))
            .collect();
        Needs { thumb: firmware, packages, fuzz }
    }
}

/// Whether each piece is there once setup is done.
pub struct Machine {
    /// rustfmt (the format stage).
    pub rustfmt: Piece,
    /// clippy (the clippy stages).
    pub clippy: Piece,
    /// The thumb target's standard library (the firmware stages).
    pub thumb: Piece,
    /// The Debian packages (the system tests and the benchmark smoke run).
    pub packages: Piece,
    /// Nightly and cargo-fuzz (the fuzz stage).
    pub fuzz: Piece,
}

/// One piece of the machine.
#[derive(Debug, PartialEq)]
pub enum Piece {
    /// There, or not needed by this run.
    Ready,
    /// Missing and not installed here: why, and what to install.
    Missing(String),
    /// Installing it failed: the stages needing it fail.
    Broken(String),
}

impl Piece {
    /// True when the stages needing it can run.
    pub fn is_ready(&self) -> bool {
        *self == Piece::Ready
    }

    /// `self` if it is not ready, else `other`: the first reason a stage
    /// needing both cannot run.
    pub fn and<'a>(&'a self, other: &'a Piece) -> &'a Piece {
        if self.is_ready() {
            other
        } else {
            self
        }
    }
}

/// How pieces may be installed on this machine.
struct Allowed {
    /// False under `--no-setup`.
    install: bool,
    /// rustup is there (targets, components, nightly).
    rustup: bool,
    /// Under `--require-system` a missing piece fails its stages.
    required: bool,
}

/// Checks each piece this run needs and, when `install`, installs what is
/// missing and can be installed here, printing every step. Never fails: a
/// failed install makes its piece [`Piece::Broken`].
pub fn prepare(needs: &Needs, install: bool, required: bool) -> Machine {
    let how = if install { "install what is missing (--no-setup: check only)" } else { "check only (--no-setup)" };
    eprintln!("\n==> machine setup: {how}");
    let allowed = Allowed { install, rustup: succeeds(Command::new("rustup").arg("--version")), required };
    if !allowed.rustup {
        eprintln!("  rustup: not found, so no targets, components or toolchains can be added");
    }
    Machine {
        rustfmt: component(&allowed, "rustfmt", "fmt", "the format stage"),
        clippy: component(&allowed, "clippy", "clippy", "the clippy stages"),
        thumb: if needs.thumb { thumb(&allowed) } else { not_needed(&format!("target {THUMB}"), "--no-firmware") },
        packages: if needs.packages.is_empty() {
            not_needed("Debian packages", "--no-system")
        } else {
            packages(&allowed, &needs.packages, "the system tests and the benchmark smoke run")
        },
        fuzz: if needs.fuzz { fuzz(&allowed) } else { not_needed("nightly and cargo-fuzz", "--fuzz-secs 0") },
    }
}

fn not_needed(what: &str, flag: &str) -> Piece {
    eprintln!("  {what}: not needed ({flag})");
    Piece::Ready
}

/// A rustup component, checked by running it through cargo.
fn component(allowed: &Allowed, name: &str, subcommand: &str, stages: &str) -> Piece {
    let present = || succeeds(cargo().args([subcommand, "--version"]));
    let command = format!("rustup component add {name}");
    ensure(allowed, name, stages, &present, &command, || sh(Command::new("rustup").args(["component", "add", name])))
}

/// The thumb target: its standard library in the sysroot of the rustc cargo
/// uses (works with or without rustup).
fn thumb(allowed: &Allowed) -> Piece {
    let present = || sysroot().is_some_and(|s| s.join("lib/rustlib").join(THUMB).is_dir());
    let command = format!("rustup target add {THUMB}");
    let stages = "the thumb clippy and firmware image stages (and QEMU in the system tests)";
    ensure(allowed, &format!("target {THUMB}"), stages, &present, &command, || {
        sh(Command::new("rustup").args(["target", "add", THUMB]))
    })
}

/// A C++ compiler, then nightly, then cargo-fuzz (installed with the stable
/// cargo, but only once there is a nightly to run it with: it takes minutes
/// to build).
fn fuzz(allowed: &Allowed) -> Piece {
    const STAGES: &str = "the fuzz stage";
    // libfuzzer-sys compiles libFuzzer (C++) with the `cc` crate: `$CXX`, else `c++`.
    let compiler = std::env::var_os("CXX").unwrap_or_else(|| "c++".into());
    if succeeds(Command::new(&compiler).arg("--version")) {
        eprintln!("  C++ compiler ({}): already there", compiler.to_string_lossy());
    } else {
        let cxx = packages(allowed, &["g++"], STAGES);
        if !cxx.is_ready() {
            return cxx;
        }
    }
    let command = format!("cargo install cargo-fuzz --version {CARGO_FUZZ_VERSION} --locked");
    let cargo_fuzz_present = || succeeds(cargo().args(["fuzz", "--version"]));
    let nightly = ensure(
        allowed,
        "nightly toolchain",
        STAGES,
        &|| succeeds(Command::new("cargo").args(["+nightly", "--version"])),
        "rustup toolchain install nightly --profile minimal",
        || sh(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"])),
    );
    if !nightly.is_ready() {
        if !cargo_fuzz_present() {
            eprintln!("  cargo-fuzz: missing too; once there is a nightly: `{command}`");
        }
        return nightly;
    }
    // A plain cargo install: rustup is not needed for it.
    let allowed = Allowed { rustup: true, ..*allowed };
    ensure(&allowed, "cargo-fuzz", STAGES, &cargo_fuzz_present, &command, || {
        sh(cargo().args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"]))
    })
}

/// Checks one piece; if it is missing, installs it with `install` when
/// allowed (then checks again), else says what to run.
fn ensure(
    allowed: &Allowed,
    what: &str,
    stages: &str,
    present: &dyn Fn() -> bool,
    command: &str,
    install: impl FnOnce() -> Result<()>,
) -> Piece {
    if present() {
        eprintln!("  {what}: already there");
        return Piece::Ready;
    }
    let blocker = (!allowed.rustup).then_some("no rustup");
    if let Err(why) = plan(allowed.install, blocker, command) {
        return missing(allowed, format!("{what} missing; {why}"), stages);
    }
    eprintln!("  {what}: missing; installing");
    match install() {
        Ok(()) if present() => {
            eprintln!("  {what}: installed");
            Piece::Ready
        }
        Ok(()) => broken(format!("{what} still missing after `{command}`")),
        Err(e) => broken(format!("cannot install {what}: {e:#}")),
    }
}

/// The Debian packages: only the missing ones are installed, as root with
/// apt-get, without starting their services.
fn packages(allowed: &Allowed, wanted: &[&'static str], stages: &str) -> Piece {
    let absent = missing_packages(wanted);
    if absent.is_empty() {
        eprintln!("  Debian packages {}: already installed", wanted.join(" "));
        return Piece::Ready;
    }
    let root = is_root();
    let command = apt_command(&absent, root);
    let names = absent.join(" ");
    if let Err(why) = plan(allowed.install, apt_blocker(root, on_path("apt-get")), &command) {
        return missing(allowed, format!("Debian packages {names} missing; {why}"), stages);
    }
    eprintln!("  Debian packages {names}: missing; installing them without starting their services");
    if let Err(e) = apt_install(&absent) {
        return broken(format!("cannot install {names}: {e:#}"));
    }
    match missing_packages(wanted) {
        still if still.is_empty() => {
            eprintln!("  Debian packages {names}: installed");
            Piece::Ready
        }
        still => broken(format!("{} still missing after `{command}`", still.join(" "))),
    }
}

/// Prints, once, what is missing and what that does to which stages.
fn missing(allowed: &Allowed, why: String, stages: &str) -> Piece {
    let effect = if allowed.required { "failed (--require-system)" } else { "skipped" };
    eprintln!("  {why} — {stages}: {effect}");
    Piece::Missing(why)
}

/// Prints why an install failed; the stages needing the piece then fail.
fn broken(why: String) -> Piece {
    eprintln!("  {why}");
    Piece::Broken(why)
}

/// Whether a missing piece is installed here: `Ok` to install it, else why
/// not, with the command that would.
fn plan(install: bool, blocker: Option<&str>, command: &str) -> Result<(), String> {
    match (install, blocker) {
        (false, _) => Err(format!("--no-setup, so not installed: run `{command}`")),
        (true, Some(blocker)) => Err(format!("{blocker}, so not installed: run `{command}`")),
        (true, None) => Ok(()),
    }
}

/// Why apt-get cannot be used here, if it cannot.
fn apt_blocker(root: bool, apt: bool) -> Option<&'static str> {
    match (root, apt) {
        (_, false) => Some("no apt-get (these are Debian names: install the equivalents)"),
        (false, true) => Some("not root"),
        (true, true) => None,
    }
}

/// The install command as the user would type it.
fn apt_command(missing: &[&str], root: bool) -> String {
    let sudo = if root { "" } else { "sudo " };
    format!("{sudo}apt-get install -y --no-install-recommends {}", missing.join(" "))
}

/// The packages of `wanted` not installed: asked of dpkg where there is one,
/// else judged by their programs on `PATH`.
fn missing_packages(wanted: &[&'static str]) -> Vec<&'static str> {
    let query = Command::new("dpkg-query").args(["-W", "-f=${Package}\\t${Status}\\n"]).args(wanted).output();
    match query {
        // Exit status 1 only means some are unknown to dpkg: the output still counts.
        Ok(out) if out.status.code().is_some_and(|c| c <= 1) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let installed = installed_packages(&stdout);
            wanted.iter().copied().filter(|p| !installed.contains(p)).collect()
        }
        _ => {
            let program = |p| PACKAGES.iter().find(|&&(name, _)| name == p).map_or(p, |&(_, prog)| prog);
            wanted.iter().copied().filter(|&p| !on_path(program(p))).collect()
        }
    }
}

/// Names whose dpkg status is `installed` in `dpkg-query -W -f='${Package}\t${Status}\n'`
/// output (`install ok installed`; not `deinstall ok config-files`, `unknown ok not-installed`, ...).
fn installed_packages(dpkg_output: &str) -> Vec<&str> {
    dpkg_output
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, status)| status.split_whitespace().last() == Some("installed"))
        .map(|(name, _)| name.split(':').next().unwrap_or(name)) // drop any ":arch"
        .collect()
}

/// `apt-get update`, then `apt-get install` of `missing`, with service starts denied.
fn apt_install(missing: &[&str]) -> Result<()> {
    let apt = |args: &[&str]| {
        let mut c = Command::new("apt-get");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    let guard = NoServiceStarts::new(missing)?;
    let result = sh(&mut apt(&["update", "-qq"])).and_then(|()| match guard.interrupted() {
        true => Ok(()), // stopped below
        false => {
            // apt-get -y removes what conflicts without asking (chrony
            // replaces systemd-timesyncd; Debian's qemu-system-arm replaces a
            // newer qemu-utils from elsewhere): say so before it happens.
            let simulated = apt(&["install", "-s", "--no-install-recommends"]).args(missing).output();
            if let Ok(out) = simulated {
                let stdout = String::from_utf8_lossy(&out.stdout);
                let removed = removals(&stdout);
                if !removed.is_empty() {
                    println!("  apt-get will remove, to resolve conflicts: {}", removed.join(", "));
                }
            }
            sh(apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(missing))
        }
    });
    let interrupted = guard.interrupted();
    drop(guard);
    if interrupted {
        // Held back until policy-rc.d was put back; now stop as asked.
        eprintln!("xtask: interrupted ({POLICY_RC_D} is as it was)");
        std::process::exit(130);
    }
    result
}

/// The packages an `apt-get install -s` run would remove (its `Remv` lines).
fn removals(simulation: &str) -> Vec<&str> {
    simulation.lines().filter_map(|l| l.strip_prefix("Remv ")?.split_whitespace().next()).collect()
}

/// While it lives, `POLICY_RC_D` denies every service start, so installing
/// dnsmasq or chrony does not start host services (the tests run their own,
/// inside namespaces). Dropping it puts back whatever was there. Ctrl-C, TERM
/// and HUP are held until then (apt-get still gets them and stops).
struct NoServiceStarts {
    before: Before,
    held: Vec<SigId>,
    interrupted: Arc<AtomicBool>,
    released: Arc<AtomicBool>,
}

/// What `POLICY_RC_D` was before.
enum Before {
    /// One that already denies these services: left alone.
    Denying,
    /// Another one: its contents and mode, written back afterwards.
    Other(Vec<u8>, fs::Permissions),
    /// None: ours is removed afterwards.
    Absent,
}

impl NoServiceStarts {
    fn new(services: &[&str]) -> Result<Self> {
        let path = Path::new(POLICY_RC_D);
        let before = match fs::read(path) {
            Ok(_) if denies(path, services) => Before::Denying,
            Ok(old) => Before::Other(old, fs::metadata(path)?.permissions()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Before::Absent,
            Err(e) => return Err(e).with_context(|| format!("cannot read {POLICY_RC_D}")),
        };
        let mut guard = NoServiceStarts {
            before,
            held: Vec::new(),
            interrupted: Arc::new(AtomicBool::new(false)),
            released: Arc::new(AtomicBool::new(false)),
        };
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Once released, the signal acts as if never caught; until then it only sets the flag.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&guard.released))?;
            guard.held.push(signal_hook::flag::register(sig, Arc::clone(&guard.interrupted))?);
        }
        match guard.before {
            Before::Denying => eprintln!("  {POLICY_RC_D} already denies service starts: kept as it is"),
            _ => {
                eprintln!("  {POLICY_RC_D}: denying service starts until the install is done");
                fs::write(
                    path,
                    "#!/bin/sh\n# cargo xtask test: no service starts while it installs packages.\nexit 101\n",
                )
                .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o755)))
                .with_context(|| format!("cannot write {POLICY_RC_D}"))?;
            }
        }
        Ok(guard)
    }

    /// True if a signal arrived while held.
    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

impl Drop for NoServiceStarts {
    fn drop(&mut self) {
        let path = Path::new(POLICY_RC_D);
        let restored = match &self.before {
            Before::Denying => Ok(()),
            Before::Other(old, mode) => fs::write(path, old).and_then(|()| fs::set_permissions(path, mode.clone())),
            Before::Absent => fs::remove_file(path),
        };
        match restored {
            Ok(()) if !matches!(self.before, Before::Denying) => eprintln!("  {POLICY_RC_D}: put back as it was"),
            Ok(()) => {}
            Err(e) => eprintln!("xtask: warning: cannot put {POLICY_RC_D} back as it was: {e}"),
        }
        self.released.store(true, Ordering::SeqCst);
        for id in self.held.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// True if the policy at `path` denies starting each of `services`, asked
/// as `invoke-rc.d` asks it.
fn denies(path: &Path, services: &[&str]) -> bool {
    services.iter().all(|s| {
        Command::new(path)
            .args([s, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|st| st.code() == Some(101))
    })
}

/// The sysroot of the rustc that cargo runs here (rustup picks the toolchain
/// from `rust-toolchain.toml`, as it does for cargo).
fn sysroot() -> Option<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).args(["--print", "sysroot"]).current_dir(root()).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// True if `program` is an executable on `PATH` (or in the sbin directories,
/// which a non-root `PATH` often lacks).
fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(program).metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Runs `cmd` quietly; true if it started and succeeded.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_installed_packages_count() {
        let out = "chrony\tinstall ok installed\n\
                   dnsmasq\tdeinstall ok config-files\n\
                   faketime\tunknown ok not-installed\n\
                   python3:amd64\thold ok installed\n\
                   qemu-system-arm\tinstall ok half-installed\n";
        assert_eq!(installed_packages(out), ["chrony", "python3"]);
        assert!(installed_packages("").is_empty());
    }

    #[test]
    fn installs_only_with_setup_root_and_apt() {
        let cmd = apt_command(&["chrony", "faketime"], true);
        assert_eq!(cmd, "apt-get install -y --no-install-recommends chrony faketime");
        assert_eq!(plan(true, apt_blocker(true, true), &cmd), Ok(()));
        assert_eq!(
            plan(false, apt_blocker(true, true), &cmd),
            Err(format!("--no-setup, so not installed: run `{cmd}`"))
        );
        let user_cmd = apt_command(&["chrony"], false);
        assert_eq!(user_cmd, "sudo apt-get install -y --no-install-recommends chrony");
        assert_eq!(
            plan(true, apt_blocker(false, true), &user_cmd),
            Err(format!("not root, so not installed: run `{user_cmd}`"))
        );
        let no_apt = plan(true, apt_blocker(true, false), &cmd).unwrap_err();
        assert!(no_apt.starts_with("no apt-get") && no_apt.ends_with(&format!("run `{cmd}`")), "{no_apt}");
    }

    #[test]
    fn removals_are_read_from_a_simulated_install() {
        let sim = "NOTE: This is only a simulation!\n\
                   Remv qemu-utils [1:10.0.2+ds-2+deb13u1~bpo12+1]\n\
                   Remv systemd-timesyncd [252.38-1~deb12u1]\n\
                   Inst chrony (4.3-2+deb12u3 Debian:12.12/stable [amd64])\n\
                   Conf chrony (4.3-2+deb12u3 Debian:12.12/stable [amd64])\n";
        assert_eq!(removals(sim), ["qemu-utils", "systemd-timesyncd"]);
        assert!(removals("Inst faketime (0.9.10-2.1 Debian:12.12/stable [amd64])\n").is_empty());
    }

    #[test]
    fn needs_follow_the_flags() {
        let all = Needs::new(true, true, true);
        assert_eq!(all.packages.len(), PACKAGES.len());
        assert!(all.thumb && all.fuzz);
        let host_only = Needs::new(false, true, false);
        assert!(!host_only.packages.contains(&"qemu-system-arm") && host_only.packages.contains(&"dnsmasq"));
        assert!(!host_only.thumb && !host_only.fuzz);
        assert!(Needs::new(true, false, true).packages.is_empty());
    }

    #[test]
    fn a_stage_needing_two_pieces_sees_the_first_missing_one() {
        let missing = Piece::Missing("a".into());
        let broken = Piece::Broken("b".into());
        assert_eq!(Piece::Ready.and(&broken), &broken);
        assert_eq!(missing.and(&broken), &missing);
        assert_eq!(Piece::Ready.and(&Piece::Ready), &Piece::Ready);
    }
}
