//! The echo firmware's core: the tutorial's TCP server (port 12345, backlog 5,
//! every chunk answered with `[<ctime>] <chunk>`) as a `no_std`, allocation-free,
//! sans-IO state machine over [smoltcp].
//!
//! The caller owns the device, the clock and the memory:
//!
//! ```ignore
//! let mut server = EchoServer::new(&NetConfig::DEFAULT, &EchoConfig::DEFAULT, &mut device, now, storage)?;
//! server.set_unix_time(now, unix_ms);           // once the wall time is known
//! loop {
//!     let sleep = server.poll(clock.now(), &mut device);
//!     wait_for_frame_or(sleep);
//! }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Must come first: the logging macros are textually scoped.
#[macro_use]
mod fmt;

mod config;
pub mod ctime;
#[cfg(feature = "dhcp")]
pub mod dhcp;
mod events;
mod guard;
mod neighbours;
pub mod protocol;
mod server;
mod services;
pub mod slot;
#[cfg(feature = "sntp")]
pub mod sntp;
mod stamp;
mod stats;
mod storage;
mod tcp_echo;
mod tcp_timestamps;
#[cfg(feature = "udp")]
mod udp_echo;

pub use config::HOST_IPV4;
#[cfg(feature = "ipv6")]
pub use config::HOST_IPV6;
pub use config::{EchoConfig, NetConfig};
pub use protocol::{Mode, CHUNK, DEFAULT_BACKLOG, DEFAULT_PORT, STAMP_LEN};
pub use server::EchoServer;
pub use services::{ServiceConfig, ServiceMemory};
pub use slot::SlotState;
pub use stamp::WallClock;
pub use stats::Stats;
pub use storage::{InitError, Slot, Storage, EXTRA_SOCKETS};
#[cfg(feature = "udp")]
pub use udp_echo::UdpStorage;

/// The smoltcp this crate is built on, so callers use the same version.
pub use smoltcp;
