//! What the server is given to run in, and why it may refuse to start.

use core::fmt;

use smoltcp::iface::{SocketHandle, SocketStorage};
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

use crate::slot::SlotState;
use crate::stamp::STAMP_LEN;

/// Per-connection bookkeeping; the caller provides one per connection slot
/// (`[Slot::EMPTY; N]`), so a board can keep them in a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub(crate) handle: Option<SocketHandle>,
    pub(crate) state: SlotState,
    pub(crate) remote: Option<IpEndpoint>,
    pub(crate) last_active: Instant,
    pub(crate) timed_out: bool,
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Slot =
        Slot { handle: None, state: SlotState::Listening, remote: None, last_active: Instant::ZERO, timed_out: false };

    /// Where this slot stands.
    pub fn state(&self) -> SlotState {
        self.state
    }

    /// The connected client, while there is one.
    pub fn remote(&self) -> Option<IpEndpoint> {
        self.remote
    }
}

/// Memory the server runs in, all borrowed from the caller (no allocation).
///
/// `slots.len()` is the number of simultaneous connections (the backlog);
/// `rx` and `tx` are split evenly between them.
pub struct Storage<'a> {
    /// smoltcp socket table: at least [`Storage::sockets_needed`] entries.
    pub sockets: &'a mut [SocketStorage<'a>],
    /// One per connection.
    pub slots: &'a mut [Slot],
    /// Receive buffers of all connections, back to back.
    pub rx: &'a mut [u8],
    /// Transmit buffers of all connections, back to back.
    pub tx: &'a mut [u8],
}

impl Storage<'_> {
    /// Socket-table entries needed for `connections` connections, plus one
    /// for each optional service (UDP echo, DHCP, SNTP) you will enable.
    pub const fn sockets_needed(connections: usize) -> usize {
        connections + EXTRA_SOCKETS
    }
}

/// Socket-table entries reserved for the optional services.
pub const EXTRA_SOCKETS: usize = 3;

/// Why the server could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitError {
    /// `slots` was empty: nothing could ever connect.
    NoSlots,
    /// The socket table is smaller than [`Storage::sockets_needed`].
    TooFewSockets {
        /// Entries required.
        needed: usize,
        /// Entries given.
        given: usize,
    },
    /// A connection's share of `tx` cannot hold one stamp plus one byte, or
    /// its share of `rx` is empty: the connection could never make progress.
    BuffersTooSmall {
        /// Receive bytes per connection.
        rx: usize,
        /// Transmit bytes per connection.
        tx: usize,
    },
    /// Port 0 cannot be listened on.
    InvalidPort,
    /// The MAC address is not a unicast Ethernet address.
    InvalidMac,
    /// The UDP buffers cannot hold one stamped datagram.
    UdpBuffersTooSmall,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InitError::NoSlots => write!(f, "at least one connection slot is needed"),
            InitError::TooFewSockets { needed, given } => {
                write!(f, "socket table has {given} entries, {needed} are needed")
            }
            InitError::BuffersTooSmall { rx, tx } => write!(
                f,
                "per-connection buffers too small (rx {rx} B, tx {tx} B): tx must exceed {STAMP_LEN} B, rx must not be empty"
            ),
            InitError::InvalidPort => write!(f, "port 0 cannot be listened on"),
            InitError::InvalidMac => write!(f, "MAC address must be unicast"),
            InitError::UdpBuffersTooSmall => {
                write!(f, "UDP buffers must hold at least one stamped datagram and its metadata")
            }
        }
    }
}

impl core::error::Error for InitError {}
