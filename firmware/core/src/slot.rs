//! One connection slot: its bookkeeping ([`Slot`]) and its state machine
//! ([`next`]), the latter kept pure so it can be tested on its own: given what
//! the slot last was and what its TCP socket says now, decide what the server
//! does next.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::State as Tcp;
use smoltcp::time::Instant;
use smoltcp::wire::IpEndpoint;

use crate::guard::Flow;

/// Per-connection bookkeeping; the caller provides one per connection slot
/// (`[Slot::EMPTY; N]`), so a board can keep them in a `static`.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub(crate) handle: Option<SocketHandle>,
    pub(crate) state: SlotState,
    pub(crate) remote: Option<IpEndpoint>,
    /// Our address and port of the connection (which of our addresses the client chose).
    pub(crate) local: Option<IpEndpoint>,
    /// Last chunk received (the idle timeout runs from here).
    pub(crate) last_active: Instant,
    /// Last sign of life: a chunk received or our data newly acknowledged.
    pub(crate) last_progress: Instant,
    /// When the slot entered its current state.
    pub(crate) since: Instant,
    /// Bytes of ours not yet acknowledged, at the last poll.
    pub(crate) unacked: usize,
    pub(crate) timed_out: bool,
    /// What the guard learned of the connection from the frames we sent.
    pub(crate) flow: Flow,
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Slot = Slot {
        handle: None,
        state: SlotState::Idle,
        remote: None,
        local: None,
        last_active: Instant::ZERO,
        last_progress: Instant::ZERO,
        since: Instant::ZERO,
        unacked: 0,
        timed_out: false,
        flow: Flow::NONE,
    };

    /// Where this slot stands.
    pub fn state(&self) -> SlotState {
        self.state
    }

    /// The connected client, while there is one.
    pub fn remote(&self) -> Option<IpEndpoint> {
        self.remote
    }

    /// Whether the slot holds no connection (listening or spare).
    pub fn is_free(&self) -> bool {
        matches!(self.state, SlotState::Listening | SlotState::Idle)
    }

    /// Whether the slot counts against the backlog (handshaking or open).
    pub(crate) fn is_serving(&self) -> bool {
        matches!(self.state, SlotState::Handshake | SlotState::Open)
    }
}

/// Where one connection slot stands, from the echo service's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotState {
    /// A spare: its socket neither listens nor holds a connection (every
    /// serving slot is taken, or enough others listen).
    Idle,
    /// Waiting for a client: the socket listens.
    Listening,
    /// A client's SYN was answered; waiting for its ACK. The slot is taken.
    Handshake,
    /// A client is connected; its data is echoed.
    Open,
    /// The peer half-closed and everything it sent has been echoed; our FIN is
    /// queued behind the replies and we wait for the peer to acknowledge it.
    Closing,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// No connection was there (first poll, or nothing happened).
    Nothing,
    /// The close handshake completed.
    Closed,
    /// Reset by the peer, or dropped by TCP's timeout.
    Reset,
    /// Ended straight from the handshake: in smoltcp an RST during the
    /// handshake returns the socket to LISTEN, so CLOSED here means either the
    /// handshake timed out or the connection was established and reset within
    /// one poll. The server tells the two apart by the time elapsed.
    FromHandshake,
}

/// What the server must do for a slot this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Wait,
    /// A SYN was answered: note the client.
    Handshake,
    /// The handshake was abandoned and the socket listens again: forget the client.
    Abandoned,
    /// The handshake completed: log the client, then echo.
    Accept,
    /// Echo whatever arrived.
    Echo,
    /// The peer is done and nothing is owed: close our side (FIN after the replies).
    Close,
    /// The connection is over: free the socket (the server decides whether it
    /// listens again or waits as a spare).
    Free(Ending),
}

/// The transition function. `owed` is true while the receive buffer still
/// holds bytes that have not been echoed yet.
pub fn next(prev: SlotState, tcp: Tcp, owed: bool) -> (SlotState, Step) {
    use SlotState::*;
    match tcp {
        // TIME-WAIT only happens if we closed first, which we never do; treat
        // it as done rather than holding the slot for 2*MSL.
        Tcp::Closed | Tcp::TimeWait => {
            let ending = match prev {
                Idle => return (Idle, Step::Wait),
                Listening => Ending::Nothing,
                Handshake => Ending::FromHandshake,
                Open => Ending::Reset,
                Closing => Ending::Closed,
            };
            (Idle, Step::Free(ending))
        }
        Tcp::Listen => match prev {
            Handshake => (Listening, Step::Abandoned),
            _ => (Listening, Step::Wait),
        },
        Tcp::SynReceived => match prev {
            Idle | Listening => (Handshake, Step::Handshake),
            _ => (prev, Step::Wait),
        },
        Tcp::SynSent => (prev, Step::Wait),
        _ => match prev {
            Idle | Listening | Handshake => (Open, Step::Accept),
            Open if tcp == Tcp::CloseWait && !owed => (Closing, Step::Close),
            Open => (Open, Step::Echo),
            Closing => (Closing, Step::Wait),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SlotState::*;

    #[test]
    fn a_whole_connection() {
        // A spare stays a spare until the server makes it listen.
        assert_eq!(next(Idle, Tcp::Closed, false), (Idle, Step::Wait));
        assert_eq!(next(Idle, Tcp::Listen, false), (Listening, Step::Wait));
        assert_eq!(next(Listening, Tcp::Listen, false), (Listening, Step::Wait));
        assert_eq!(next(Listening, Tcp::SynReceived, false), (Handshake, Step::Handshake));
        assert_eq!(next(Handshake, Tcp::SynReceived, false), (Handshake, Step::Wait));
        // Handshake done.
        assert_eq!(next(Handshake, Tcp::Established, true), (Open, Step::Accept));
        assert_eq!(next(Open, Tcp::Established, true), (Open, Step::Echo));
        // Peer sent FIN while data is still owed: keep echoing.
        assert_eq!(next(Open, Tcp::CloseWait, true), (Open, Step::Echo));
        // All echoed: close.
        assert_eq!(next(Open, Tcp::CloseWait, false), (Closing, Step::Close));
        assert_eq!(next(Closing, Tcp::LastAck, false), (Closing, Step::Wait));
        assert_eq!(next(Closing, Tcp::Closed, false), (Idle, Step::Free(Ending::Closed)));
    }

    #[test]
    fn reset_or_timeout_while_open_is_a_reset() {
        assert_eq!(next(Open, Tcp::Closed, true), (Idle, Step::Free(Ending::Reset)));
        assert_eq!(next(Open, Tcp::Closed, false), (Idle, Step::Free(Ending::Reset)));
    }

    #[test]
    fn a_connection_reset_within_the_poll_that_completed_it_is_not_lost() {
        // ACK, data and RST in one poll: the slot goes from handshake to closed.
        assert_eq!(next(Handshake, Tcp::Closed, false), (Idle, Step::Free(Ending::FromHandshake)));
    }

    #[test]
    fn an_rst_during_the_handshake_frees_the_slot() {
        assert_eq!(next(Handshake, Tcp::Listen, false), (Listening, Step::Abandoned));
    }

    #[test]
    fn established_without_owed_data_just_echoes() {
        assert_eq!(next(Open, Tcp::Established, false), (Open, Step::Echo));
    }

    #[test]
    fn time_wait_frees_the_slot() {
        assert_eq!(next(Closing, Tcp::TimeWait, false), (Idle, Step::Free(Ending::Closed)));
    }

    #[test]
    fn a_connection_closed_before_we_saw_it_open_is_still_accepted() {
        // Data and FIN can arrive in the same poll as the handshake's last ACK.
        assert_eq!(next(Handshake, Tcp::CloseWait, true), (Open, Step::Accept));
    }
}
