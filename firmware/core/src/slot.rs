//! The per-connection state machine, kept pure so it can be tested on its own:
//! given what the slot last was and what its TCP socket says now, decide what
//! the server does next.

use smoltcp::socket::tcp::State as Tcp;

/// Where one connection slot stands, from the echo service's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotState {
    /// Waiting for a client (the socket listens, or is mid-handshake).
    Listening,
    /// A client is connected; its data is echoed.
    Open,
    /// The peer half-closed and everything it sent has been echoed; our FIN is
    /// queued behind the replies and we wait for the peer to acknowledge it.
    Closing,
}

/// What the server must do for a slot this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Wait,
    /// The handshake completed: log the client, then echo.
    Accept,
    /// Echo whatever arrived.
    Echo,
    /// The peer is done and nothing is owed: close our side (FIN after the replies).
    Close,
    /// The connection is over: put the socket back to listening.
    /// `clean` is false when it ended without our FIN being acknowledged
    /// (reset by the peer, timed out).
    Relisten {
        /// The close handshake completed.
        clean: bool,
    },
}

/// The transition function. `owed` is true while the receive buffer still
/// holds bytes that have not been echoed yet.
pub fn next(prev: SlotState, tcp: Tcp, owed: bool) -> (SlotState, Step) {
    use SlotState::*;
    match tcp {
        // TIME-WAIT only happens if we closed first, which we never do; treat
        // it as done rather than holding the slot for 2*MSL.
        Tcp::Closed | Tcp::TimeWait => match prev {
            // A handshake that never completed, or the very first poll.
            Listening => (Listening, Step::Relisten { clean: true }),
            Open => (Listening, Step::Relisten { clean: false }),
            Closing => (Listening, Step::Relisten { clean: true }),
        },
        Tcp::Listen | Tcp::SynReceived | Tcp::SynSent => (prev, Step::Wait),
        _ => match prev {
            Listening => (Open, Step::Accept),
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
        // Fresh socket: closed, so it starts listening.
        assert_eq!(next(Listening, Tcp::Closed, false), (Listening, Step::Relisten { clean: true }));
        assert_eq!(next(Listening, Tcp::Listen, false), (Listening, Step::Wait));
        assert_eq!(next(Listening, Tcp::SynReceived, false), (Listening, Step::Wait));
        // Handshake done.
        assert_eq!(next(Listening, Tcp::Established, true), (Open, Step::Accept));
        assert_eq!(next(Open, Tcp::Established, true), (Open, Step::Echo));
        // Peer sent FIN while data is still owed: keep echoing.
        assert_eq!(next(Open, Tcp::CloseWait, true), (Open, Step::Echo));
        // All echoed: close.
        assert_eq!(next(Open, Tcp::CloseWait, false), (Closing, Step::Close));
        assert_eq!(next(Closing, Tcp::LastAck, false), (Closing, Step::Wait));
        assert_eq!(next(Closing, Tcp::Closed, false), (Listening, Step::Relisten { clean: true }));
    }

    #[test]
    fn reset_or_timeout_while_open_is_unclean() {
        assert_eq!(next(Open, Tcp::Closed, true), (Listening, Step::Relisten { clean: false }));
        assert_eq!(next(Open, Tcp::Closed, false), (Listening, Step::Relisten { clean: false }));
    }

    #[test]
    fn established_without_owed_data_just_echoes() {
        assert_eq!(next(Open, Tcp::Established, false), (Open, Step::Echo));
    }

    #[test]
    fn time_wait_frees_the_slot() {
        assert_eq!(next(Closing, Tcp::TimeWait, false), (Listening, Step::Relisten { clean: true }));
    }

    #[test]
    fn a_connection_closed_before_we_saw_it_open_is_still_accepted() {
        // Data and FIN can arrive in the same poll as the handshake's last ACK.
        assert_eq!(next(Listening, Tcp::CloseWait, true), (Open, Step::Accept));
    }
}
