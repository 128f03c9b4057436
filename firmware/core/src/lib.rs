//! The echo firmware's core: the tutorial's TCP server (port 12345, backlog 5,
//! every chunk answered with `[<ctime>] <chunk>`) as a `no_std`, allocation-free,
//! sans-IO state machine over [smoltcp].
//!
//! The caller owns the device, the clock and the memory. A port is: a
//! smoltcp [`Device`](smoltcp::phy::Device) for the board's MAC, a monotonic
//! clock, the memory (in `static`s on a board), and a loop around
//! [`EchoServer::poll`]. Here the whole of one, over a wire nobody else is on:
//!
//! ```
//! use echo_core::smoltcp::iface::SocketStorage;
//! use echo_core::smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
//! use echo_core::smoltcp::time::{Duration, Instant};
//! use echo_core::{EchoConfig, EchoServer, InitError, NetConfig, ServiceConfig, ServiceResources, Slot, Storage};
//!
//! /// The board's Ethernet MAC: frames in and out. This one receives nothing
//! /// and counts what it is given to send.
//! struct Wire {
//!     sent: usize,
//! }
//! struct Rx;
//! struct Tx<'a>(&'a mut usize);
//!
//! impl RxToken for Rx {
//!     fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
//!         f(&[])
//!     }
//! }
//! impl TxToken for Tx<'_> {
//!     fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
//!         let mut frame = [0; 1514]; // a MAC's transmit buffer
//!         *self.0 += 1;
//!         f(&mut frame[..len])
//!     }
//! }
//! impl Device for Wire {
//!     type RxToken<'a> = Rx;
//!     type TxToken<'a> = Tx<'a>;
//!     fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_>)> {
//!         None
//!     }
//!     fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
//!         Some(Tx(&mut self.sent))
//!     }
//!     fn capabilities(&self) -> DeviceCapabilities {
//!         let mut caps = DeviceCapabilities::default();
//!         caps.medium = Medium::Ethernet;
//!         caps.max_transmission_unit = 1514; // the largest frame, header included
//!         caps
//!     }
//! }
//!
//! // The memory: on a board, `static`s (see the boards' `memory.rs`).
//! const SLOTS: usize = Storage::slots_needed(echo_core::DEFAULT_BACKLOG);
//! let mut sockets = [SocketStorage::EMPTY; Storage::sockets_needed(SLOTS)];
//! let mut slots = [Slot::EMPTY; SLOTS];
//! let (mut rx, mut tx) = ([0; SLOTS * 2048], [0; SLOTS * 2048]);
//! let mut services: ServiceResources = ServiceResources::new();
//! let storage = Storage { sockets: &mut sockets, slots: &mut slots, rx: &mut rx, tx: &mut tx };
//!
//! let mut wire = Wire { sent: 0 };
//! let mut now = Instant::ZERO; // the board's monotonic clock
//! let mut server = EchoServer::new(&NetConfig::DEFAULT, &EchoConfig::DEFAULT, &mut wire, now, storage)?;
//! // UDP echo, DHCP and SNTP, as far as this build's features include them.
//! server.enable_services(&mut services, &ServiceConfig::DEFAULT)?;
//! server.set_unix_time(now, 1_795_536_028_000); // once the wall time is known (RTC)
//! for _ in 0..5 {
//!     // How long the board may sleep unless a frame arrives (`None`: until one does).
//!     let sleep = server.poll(now, &mut wire);
//!     now += sleep.unwrap_or(Duration::from_secs(1));
//! }
//! assert_eq!(server.open_connections(), 0); // nobody on the wire to connect
//! assert_eq!(server.stats().accepted, 0);
//! # Ok::<(), InitError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Must come first: the logging macros are textually scoped.
#[macro_use]
mod fmt;

pub mod board;
mod config;
pub mod ctime;
#[cfg(feature = "dhcp")]
mod dhcp;
mod events;
mod guard;
mod neighbours;
pub mod protocol;
mod server;
mod slot;
#[cfg(feature = "sntp")]
mod sntp;
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
#[cfg(feature = "dhcp")]
pub use dhcp::AddressSource;
pub use protocol::{Mode, CHUNK, DEFAULT_BACKLOG, DEFAULT_PORT, STAMP_LEN};
pub use server::services::{ServiceConfig, ServiceResources};
pub use server::EchoServer;
pub use slot::{Slot, SlotState};
#[cfg(feature = "sntp")]
pub use sntp::LOCAL_PORT as SNTP_LOCAL_PORT;
pub use stamp::WallClock;
pub use stats::Stats;
pub use storage::{InitError, Storage};

/// The smoltcp this crate is built on, so callers use the same version.
pub use smoltcp;
