//! Harness for the root-only system tests in `tests/`.
//!
//! Every test builds its own network namespace ([`Netns`]), starts the thing
//! under test inside it ([`Target`]: `host-sim` over a TAP, or the MPS2
//! firmware in QEMU), and talks to it from inside the namespace, so nothing
//! ever leaves the machine and tests can run in parallel.
//!
//! # Running
//!
//! The tests are `#[ignore]`d because they need root (namespaces, TAPs):
//!
//! ```text
//! cargo xtask test                                   # builds everything, sets the paths below, runs them
//! sudo -E cargo test -p systests -- --ignored        # by hand, after `cargo build -p host-sim -p echo-client`
//! ```
//!
//! Binaries are found through environment variables, which `cargo xtask test`
//! sets to absolute paths (see [`bins`]):
//!
//! - `HOST_SIM_BIN`: `host-sim` (else the newest of `$CARGO_TARGET_DIR` or
//!   `<workspace>/target`, `debug` or `release`);
//! - `ECHO_CLIENT_BIN`: `echo-client` (same fallback);
//! - `MPS2_ELF`: the mps2-an386 firmware; the QEMU variants of the tests run
//!   only when it is set (`QEMU_SYSTEM_ARM` overrides the QEMU binary).
//!
//! Each target's output goes to `$TMPDIR/echo-systests/<namespace>-<target>.log`;
//! it is printed when a test fails, and kept if `SYSTESTS_KEEP_LOGS` is set.
//!
//! The end-to-end checks themselves are in [`checks`], shared with [`hil`]:
//! the runner for a device that is already running (a flashed board),
//! `cargo xtask hil` or this crate's `hil` binary, which `tests/hil.rs`
//! points at host-sim and QEMU in test namespaces.
//!
//! `tests/dhcp_ntp.rs` also runs real servers inside the namespace, on the
//! TAP's host side ([`dnsmasq`], [`chrony`], under `faketime` for a clock the
//! host does not have): Debian packages `dnsmasq chrony faketime`. Their
//! files live in `$TMPDIR/echo-systests/<namespace>-<server>/` ([`daemon`]).

#![warn(missing_docs)]

pub mod attacker;
pub mod bins;
pub mod capture;
pub mod checks;
pub mod chrony;
pub mod client;
pub mod counters;
pub mod daemon;
pub mod dnsmasq;
pub mod hil;
pub mod malformed;
pub mod netns;
pub mod packet;
pub mod process;
pub mod rng;
pub mod sntp;
pub mod sockopt;
pub mod stamp;
pub mod stats;
pub mod target;
pub mod udp;

pub use netns::Netns;
pub use target::{Mode, Running, Target};

/// The lab's address plan (device, host side of the TAP in each test
/// namespace, port, MAC), from [`netlab::plan`].
pub use netlab::plan::{DEVICE_IP, DEVICE_IP6, DEVICE_MAC, HOST_IP, HOST_IP6, PORT, SERVER, SERVER6, TAP};
