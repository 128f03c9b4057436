//! The lab network in one place, for host-sim, xtask and the system tests:
//!
//! - [`plan`]: the addresses (device, host side of the TAP, port, MAC, MTU),
//!   taken from echo-core's defaults;
//! - [`Netns`]: a network namespace removed (with what runs in it) on drop;
//! - [`tap::setup`]: the one place a TAP gets its owner, host addresses, MTU
//!   and link state;
//! - [`ip()`]: the `ip` command with errors that name the command, its exit
//!   status and its stderr;
//! - [`ChildGuard`]: a child process stopped (TERM, then KILL) and reaped on drop;
//! - [`frames`]: raw Ethernet frames crafted and parsed with `smoltcp::wire`,
//!   for the tests that play a host by hand (the simulation's and the TAP's).

#![warn(missing_docs)]

pub mod cmd;
pub mod frames;
pub mod netns;
pub mod plan;
pub mod process;
pub mod tap;

pub use cmd::{ip, run_checked, CommandError};
pub use netns::Netns;
pub use process::{wait_timeout, ChildGuard};
