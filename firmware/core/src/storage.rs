//! What the server is given to run in, and why it may refuse to start.

use core::fmt;

use smoltcp::iface::SocketStorage;

use crate::protocol::STAMP_LEN;
use crate::slot::Slot;

/// Memory the server runs in, all borrowed from the caller (no allocation).
///
/// `slots.len()` is the number of TCP sockets: [`EchoConfig::backlog`](crate::EchoConfig::backlog)
/// serving ones plus spares that finish closes ([`Storage::slots_needed`]);
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
    /// Connection slots for a backlog of `backlog`: as many again as spares,
    /// so that connections finishing their close (waiting for the peer's last
    /// ACK) never keep a new client out. Fewer spares work too: when none is
    /// free, the oldest closing connection is reset to make room.
    pub const fn slots_needed(backlog: usize) -> usize {
        2 * backlog
    }

    /// Socket-table entries needed for `slots` connection slots, plus one
    /// for each optional service (UDP echo, DHCP, SNTP) you will enable.
    pub const fn sockets_needed(slots: usize) -> usize {
        slots + EXTRA_SOCKETS
    }
}

/// Socket-table entries reserved for the optional services.
const EXTRA_SOCKETS: usize = 3;

/// Why the server could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitError {
    /// `slots` was empty or the backlog 0: nothing could ever connect.
    NoSlots,
    /// The backlog is larger than the number of slots given.
    BacklogTooLarge {
        /// [`EchoConfig::backlog`](crate::EchoConfig::backlog).
        backlog: usize,
        /// Slots given.
        slots: usize,
    },
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
    /// The UDP echo would take [`EchoConfig::port`](crate::EchoConfig::port),
    /// which a service also enabled listens on itself: the SNTP client's
    /// local port (49123), or DHCP's client port (68).
    PortTaken,
    /// smoltcp refused to bind the UDP echo socket to [`EchoConfig::port`](crate::EchoConfig::port).
    UdpEchoBind,
    /// smoltcp refused to bind the SNTP client's socket to its local port.
    SntpBind,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InitError::NoSlots => write!(f, "at least one connection slot is needed"),
            InitError::BacklogTooLarge { backlog, slots } => {
                write!(f, "backlog {backlog} needs at least as many slots, {slots} given")
            }
            InitError::TooFewSockets { needed, given } => {
                write!(f, "socket table has {given} entries, {needed} are needed")
            }
            InitError::BuffersTooSmall { rx, tx } => write!(
                f,
                "per-connection buffers too small (rx {rx} B, tx {tx} B): tx must exceed {STAMP_LEN} B, rx must not be empty"
            ),
            InitError::InvalidPort => write!(f, "port 0 cannot be listened on"),
            InitError::InvalidMac => write!(f, "MAC address must be unicast"),
            InitError::PortTaken => write!(f, "the echo port is the SNTP or the DHCP client's: choose another"),
            InitError::UdpEchoBind => write!(f, "UDP echo cannot bind the echo port"),
            InitError::SntpBind => write!(f, "SNTP client cannot bind its local port"),
        }
    }
}

impl core::error::Error for InitError {}
