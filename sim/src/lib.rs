//! A deterministic world for testing the echo core without root, TAPs or
//! wall-clock time (smoltcp's loopback / netsim style, quinn-proto's habit):
//! the server and a client smoltcp stack joined by an in-memory Ethernet
//! link, driven on a virtual clock.

pub mod attacker;
pub mod link;
pub mod stamped;
pub mod world;

pub use link::{Faults, LinkEnd};
pub use world::{Client, ConnId, Memory, World, WorldConfig};
