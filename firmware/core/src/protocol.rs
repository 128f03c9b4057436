//! The wire protocol, defined once for the server and everyone who talks to
//! it (clients, benchmarks, simulations, system tests): the port and backlog,
//! the echo modes and their names, the chunk size, and the stamp that
//! precedes each echoed chunk, with the one decoder that splits a stamped
//! reply stream back into stamps and payload.
//!
//! A stamped reply is `[<ctime>] <chunk>` repeated: [`STAMP_LEN`] bytes of
//! stamp (C `ctime()` in brackets, then a space), then 1 to [`CHUNK`] payload
//! bytes. Chunk lengths are not on the wire, so [`StampDecoder`] takes a `[`
//! after payload as the next stamp: exact for payloads without `[` (what
//! benchmarks and tests send); a caller that knows its payload holds `[` says
//! so with [`StampDecoder::bracket_is_payload`].

use core::fmt;
use core::str::FromStr;

use crate::ctime::{ctime, CTIME_LEN, MONTHS, WEEKDAYS};

/// The tutorial's port.
pub const DEFAULT_PORT: u16 = 12345;
/// The tutorial's `listen(5)`: five connections at once, the sixth is refused.
pub const DEFAULT_BACKLOG: usize = 5;
/// The tutorial's `BUFSIZ`: the most one read takes, and so one stamped chunk.
pub const CHUNK: usize = 1024;
/// Bytes in a stamp: `[` + ctime + `] `.
pub const STAMP_LEN: usize = CTIME_LEN + 3;

/// How each chunk read from a connection is answered.
///
/// Not `#[non_exhaustive]` on purpose: a new mode must make every `match`
/// over modes in the workspace (servers, clients, tests) fail to compile
/// until it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mode {
    /// `[<ctime>] <chunk>`, as the tutorial's server does.
    #[default]
    Stamp,
    /// The chunk alone: plain echo, for benchmarks.
    Raw,
    /// One stamp per newline-terminated line: a line split across segments
    /// is joined, several lines in one segment get a stamp each. A line longer
    /// than [`CHUNK`] bytes is cut there (each piece stamped, nothing lost); an
    /// unterminated tail is flushed when the peer half-closes.
    Line,
}

impl Mode {
    /// Every mode, in the order command lines list them.
    pub const ALL: [Mode; 3] = [Mode::Stamp, Mode::Raw, Mode::Line];

    /// The mode's name on command lines and in reports: `stamp`, `raw`, `line`.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Stamp => "stamp",
            Mode::Raw => "raw",
            Mode::Line => "line",
        }
    }

    /// Bytes added in front of every echoed chunk.
    pub const fn overhead(self) -> usize {
        match self {
            Mode::Stamp | Mode::Line => STAMP_LEN,
            Mode::Raw => 0,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so width and alignment (`{:<8}`) apply as to a string.
        f.pad(self.name())
    }
}

/// A name that is not one of [`Mode::name`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseModeError;

impl fmt::Display for ParseModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown echo mode (expected ")?;
        for (i, mode) in Mode::ALL.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == Mode::ALL.len() => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{mode}")?;
        }
        f.write_str(")")
    }
}

impl core::error::Error for ParseModeError {}

impl FromStr for Mode {
    type Err = ParseModeError;

    /// Exactly one of the lower-case names [`Mode::name`] gives.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL.into_iter().find(|m| m.name() == s).ok_or(ParseModeError)
    }
}

/// The stamp for Unix time `unix_secs`: `[` + C `ctime()` (UTC) + `] `.
pub fn encode_stamp(unix_secs: u64) -> [u8; STAMP_LEN] {
    stamp_of_ctime(&ctime(unix_secs))
}

/// The stamp around ctime text: `[` + `ctime` + `] `.
pub fn stamp_of_ctime(ctime: &[u8; CTIME_LEN]) -> [u8; STAMP_LEN] {
    let mut out = [b' '; STAMP_LEN];
    out[0] = b'[';
    out[1..=CTIME_LEN].copy_from_slice(ctime);
    out[CTIME_LEN + 1] = b']';
    out
}

/// Why bytes are not a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampError {
    /// Not `[Www Mmm dd hh:mm:ss yyyy] ` character by character (letter,
    /// digit, space-or-digit, punctuation).
    Shape,
    /// Not a weekday name C's `ctime()` writes.
    Weekday,
    /// Not a month name C's `ctime()` writes.
    Month,
    /// Day 0, above 31, or padded with `0` (ctime pads with a space).
    Day,
    /// Hour, minute or second out of range (a leap second, `:60`, passes).
    Time,
}

impl StampError {
    /// What is wrong, in a few words.
    pub const fn as_str(self) -> &'static str {
        match self {
            StampError::Shape => "not shaped like [Www Mmm dd hh:mm:ss yyyy]",
            StampError::Weekday => "unknown weekday",
            StampError::Month => "unknown month",
            StampError::Day => "day out of range or padded with 0",
            StampError::Time => "time out of range",
        }
    }
}

impl fmt::Display for StampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shape of a stamp: `a` letter, `d` digit, `_` digit or space, anything else literal.
const SHAPE: &[u8; STAMP_LEN] = b"[aaa aaa _d dd:dd:dd dddd] ";

/// Whether `byte` may stand at offset `at` of a stamp.
fn fits_shape(at: usize, byte: u8) -> bool {
    match SHAPE.get(at) {
        Some(b'a') => byte.is_ascii_alphabetic(),
        Some(b'd') => byte.is_ascii_digit(),
        Some(b'_') => byte == b' ' || byte.is_ascii_digit(),
        Some(&literal) => byte == literal,
        None => false,
    }
}

/// Checks that `stamp` is one `[<ctime>] ` as the server writes it: shape,
/// names and field ranges (not that the weekday matches the date).
pub fn check_stamp(stamp: &[u8; STAMP_LEN]) -> Result<(), StampError> {
    if !stamp.iter().enumerate().all(|(at, &b)| fits_shape(at, b)) {
        return Err(StampError::Shape);
    }
    if !WEEKDAYS.iter().any(|w| w[..] == stamp[1..4]) {
        return Err(StampError::Weekday);
    }
    if !MONTHS.iter().any(|m| m[..] == stamp[5..8]) {
        return Err(StampError::Month);
    }
    // The shape guarantees digits (or the day's padding space) here.
    let digit = |at: usize| stamp[at].wrapping_sub(b'0');
    let two = |at: usize| digit(at) * 10 + digit(at + 1);
    let day = match stamp[9] {
        b' ' => digit(10),
        b'0' => return Err(StampError::Day),
        _ => two(9),
    };
    if !(1..=31).contains(&day) {
        return Err(StampError::Day);
    }
    if two(12) > 23 || two(15) > 59 || two(18) > 60 {
        return Err(StampError::Time);
    }
    Ok(())
}

/// A stamp received intact and checked by [`check_stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp([u8; STAMP_LEN]);

impl Stamp {
    /// The whole stamp, `[Www Mmm dd hh:mm:ss yyyy] `.
    pub fn as_bytes(&self) -> &[u8; STAMP_LEN] {
        &self.0
    }

    /// The ctime text between the brackets, `Www Mmm dd hh:mm:ss yyyy`.
    pub fn ctime(&self) -> &str {
        // A checked stamp is ASCII, so this never falls back.
        self.0.get(1..=CTIME_LEN).and_then(|t| core::str::from_utf8(t).ok()).unwrap_or_default()
    }
}

/// One piece of a decoded stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete, checked stamp: a new chunk begins.
    Stamp(Stamp),
    /// Payload of the current chunk, borrowed from the input (one chunk
    /// may arrive as several of these).
    Payload(&'a [u8]),
}

/// Why a stream is not a stamped reply stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Where a stamp was due came bytes that are not one. Reported at the
    /// first byte that cannot belong to a stamp (or, for a wrong name or
    /// range, once all [`STAMP_LEN`] bytes are in).
    BadStamp {
        /// The bytes received for the stamp: `text[..len]`.
        text: [u8; STAMP_LEN],
        /// How many of `text` were received (the last one is wrong, or
        /// `STAMP_LEN` for a wrong name or range).
        len: usize,
        /// What is wrong.
        why: StampError,
    },
    /// [`CHUNK`] payload bytes followed a stamp and the next byte does not
    /// start a stamp.
    ChunkTooLong,
    /// The stream ended inside a stamp, after `len` of its bytes.
    Truncated {
        /// Stamp bytes received.
        len: usize,
    },
    /// The stream ended right after a stamp: a chunk is never empty.
    EmptyChunk,
}

impl Malformed {
    /// For [`Malformed::BadStamp`]: the bytes received in the stamp's place.
    pub fn stamp_text(&self) -> &[u8] {
        match self {
            Malformed::BadStamp { text, len, .. } => text.get(..*len).unwrap_or(text),
            _ => &[],
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::BadStamp { why, .. } => write!(f, "bad stamp ({why}): \"{}\"", self.stamp_text().escape_ascii()),
            Malformed::ChunkTooLong => write!(f, "more than {CHUNK} payload bytes without a stamp"),
            Malformed::Truncated { len } => write!(f, "stream ended inside a stamp ({len} of {STAMP_LEN} bytes)"),
            Malformed::EmptyChunk => f.write_str("stream ended right after a stamp (no payload)"),
        }
    }
}

impl core::error::Error for Malformed {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting a stamp: bytes so far (kept in `StampDecoder::stamp`).
    Stamp(usize),
    /// After a stamp: payload bytes of this chunk so far.
    Chunk(usize),
    /// Malformed: stays so, whatever comes.
    Failed(Malformed),
}

/// Splits a stamped reply stream, fed in pieces of any size as it arrives,
/// into [`Event`]s. No allocation: a stamp split across pieces is kept in a
/// [`STAMP_LEN`]-byte buffer; payload is handed back as slices of the input.
///
/// The stream must start with a stamp. The byte after a stamp is always
/// payload (chunks are never empty); after that, a `[` starts the next stamp
/// (see [`bracket_is_payload`](Self::bracket_is_payload) for payloads that
/// contain `[`). Once malformed, the decoder reports the same error for good.
///
/// `Copy`, so a caller weighing two readings of an ambiguous `[` can try one
/// on a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampDecoder {
    stamp: [u8; STAMP_LEN],
    state: State,
    literal_bracket: bool,
}

impl Default for StampDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StampDecoder {
    /// A decoder at the start of a stream, expecting a stamp.
    pub const fn new() -> Self {
        StampDecoder { stamp: [0; STAMP_LEN], state: State::Stamp(0), literal_bracket: false }
    }

    /// Decodes the next event from the front of `input`, advancing it past
    /// the bytes used. `None` once `input` is used up (with a stamp begun,
    /// its bytes are kept for the next call). On an error, `input` is left
    /// just past the offending byte (a bad stamp) or at it (a chunk too long).
    pub fn decode<'a>(&mut self, input: &mut &'a [u8]) -> Option<Result<Event<'a>, Malformed>> {
        loop {
            let &first = input.first()?;
            match self.state {
                State::Failed(e) => return Some(Err(e)),
                State::Stamp(have) => return self.stamp_bytes(have, input),
                State::Chunk(n) if n > 0 && first == b'[' && !self.literal_bracket => self.state = State::Stamp(0),
                State::Chunk(CHUNK) => return Some(Err(self.fail(Malformed::ChunkTooLong))),
                State::Chunk(n) => {
                    self.literal_bracket = false;
                    // Up to the chunk's end or the next `[`, whichever is first.
                    let limit = input.len().min(CHUNK - n);
                    let run = input.iter().take(limit).skip(1).position(|&b| b == b'[').map_or(limit, |p| p + 1);
                    let (payload, rest) = input.split_at(run);
                    *input = rest;
                    self.state = State::Chunk(n + run);
                    return Some(Ok(Event::Payload(payload)));
                }
            }
        }
    }

    /// Takes stamp bytes, `have` of them already in.
    fn stamp_bytes<'a>(&mut self, mut have: usize, input: &mut &'a [u8]) -> Option<Result<Event<'a>, Malformed>> {
        while have < STAMP_LEN {
            let Some((&byte, rest)) = input.split_first() else {
                self.state = State::Stamp(have);
                return None;
            };
            *input = rest;
            self.stamp[have] = byte;
            have += 1;
            if !fits_shape(have - 1, byte) {
                let bad = Malformed::BadStamp { text: self.stamp, len: have, why: StampError::Shape };
                return Some(Err(self.fail(bad)));
            }
        }
        if let Err(why) = check_stamp(&self.stamp) {
            let bad = Malformed::BadStamp { text: self.stamp, len: STAMP_LEN, why };
            return Some(Err(self.fail(bad)));
        }
        self.state = State::Chunk(0);
        Some(Ok(Event::Stamp(Stamp(self.stamp))))
    }

    fn fail(&mut self, e: Malformed) -> Malformed {
        self.state = State::Failed(e);
        e
    }

    /// Says that the `[` next in the stream is payload, not a stamp: for a
    /// caller that knows the payload holds one here. Applies to the next
    /// [`decode`](Self::decode) only, and only inside a chunk.
    pub fn bracket_is_payload(&mut self) {
        self.literal_bracket = true;
    }

    /// Payload bytes since the last stamp; `None` while a stamp is being
    /// received or after an error.
    pub fn chunk_len(&self) -> Option<usize> {
        match self.state {
            State::Chunk(n) => Some(n),
            State::Stamp(_) | State::Failed(_) => None,
        }
    }

    /// Decodes all of `input`, as [`Events`].
    pub fn events<'d, 'a>(&'d mut self, input: &'a [u8]) -> Events<'d, 'a> {
        Events { decoder: self, input, failed: false }
    }

    /// Checks that the stream may end here: not inside a stamp, not right
    /// after one, not after an error.
    pub fn finish(&self) -> Result<(), Malformed> {
        match self.state {
            State::Stamp(0) => Ok(()),
            State::Stamp(len) => Err(Malformed::Truncated { len }),
            State::Chunk(0) => Err(Malformed::EmptyChunk),
            State::Chunk(_) => Ok(()),
            State::Failed(e) => Err(e),
        }
    }
}

/// The events of one piece of input ([`StampDecoder::events`]); ends after
/// the first error.
#[derive(Debug)]
pub struct Events<'d, 'a> {
    decoder: &'d mut StampDecoder,
    input: &'a [u8],
    failed: bool,
}

impl<'a> Events<'_, 'a> {
    /// The input not yet decoded (after an error: from where the decoder
    /// stopped, as [`StampDecoder::decode`] leaves it).
    pub fn rest(&self) -> &'a [u8] {
        self.input
    }
}

impl<'a> Iterator for Events<'_, 'a> {
    type Item = Result<Event<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let event = self.decoder.decode(&mut self.input);
        self.failed = matches!(event, Some(Err(_)));
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8; STAMP_LEN] = b"[Tue Nov 24 16:00:28 2026] ";
    const T: &[u8; STAMP_LEN] = b"[Wed Nov  4 09:05:01 2026] ";

    /// What a stream decodes to, piece by piece, merged: stamps and whole
    /// chunks (payload runs of one chunk joined), and the end's verdict.
    #[derive(Debug, PartialEq, Eq)]
    enum Piece {
        Stamp([u8; STAMP_LEN]),
        Chunk([u8; 64], usize),
    }

    /// Decodes `pieces` in order into at most 16 [`Piece`]s (no alloc in
    /// this crate, even in tests).
    fn decode_all(pieces: &[&[u8]]) -> ([Option<Piece>; 16], Result<(), Malformed>) {
        let mut out: [Option<Piece>; 16] = Default::default();
        let mut n = 0;
        let mut dec = StampDecoder::new();
        for piece in pieces {
            for event in dec.events(piece) {
                match event {
                    Ok(Event::Stamp(s)) => {
                        out[n] = Some(Piece::Stamp(*s.as_bytes()));
                        n += 1;
                    }
                    Ok(Event::Payload(p)) => {
                        if let Some(Some(Piece::Chunk(buf, len))) = n.checked_sub(1).map(|i| &mut out[i]) {
                            buf[*len..*len + p.len()].copy_from_slice(p);
                            *len += p.len();
                        } else {
                            let mut buf = [0; 64];
                            buf[..p.len()].copy_from_slice(p);
                            out[n] = Some(Piece::Chunk(buf, p.len()));
                            n += 1;
                        }
                    }
                    Err(e) => return (out, Err(e)),
                }
            }
        }
        (out, dec.finish())
    }

    fn chunk(text: &[u8]) -> Option<Piece> {
        let mut buf = [0; 64];
        buf[..text.len()].copy_from_slice(text);
        Some(Piece::Chunk(buf, text.len()))
    }

    fn concat<const N: usize>(parts: &[&[u8]]) -> ([u8; N], usize) {
        let mut out = [0; N];
        let mut len = 0;
        for p in parts {
            out[len..len + p.len()].copy_from_slice(p);
            len += p.len();
        }
        (out, len)
    }

    #[test]
    fn mode_names_round_trip_and_match_the_command_lines() {
        for mode in Mode::ALL {
            assert_eq!(mode.name().parse::<Mode>(), Ok(mode));
        }
        assert_eq!(Mode::ALL.map(Mode::name), ["stamp", "raw", "line"]);
        assert_eq!("Stamp".parse::<Mode>(), Err(ParseModeError));
        assert_eq!("".parse::<Mode>(), Err(ParseModeError));
        assert_eq!(Mode::default(), Mode::Stamp);
        assert_eq!(Mode::Raw.overhead(), 0);
        assert_eq!(Mode::Line.overhead(), STAMP_LEN);
    }

    #[test]
    fn encoded_stamps_decode() {
        assert_eq!(&encode_stamp(1_795_536_028), S);
        assert_eq!(&encode_stamp(0), b"[Thu Jan  1 00:00:00 1970] ");
        for secs in (0..4_000_000_000u64).step_by(7_777_777) {
            let stamp = encode_stamp(secs);
            assert_eq!(check_stamp(&stamp), Ok(()), "{}", stamp.escape_ascii());
        }
    }

    #[test]
    fn check_stamp_accepts_ctime_and_names_what_is_wrong() {
        assert_eq!(check_stamp(S), Ok(()));
        assert_eq!(check_stamp(T), Ok(()));
        assert_eq!(check_stamp(b"[Thu Jan  1 00:00:00 1970] "), Ok(()));
        for (bad, why) in [
            (b"[Tue Nov 24 16:00:28 2026]x", StampError::Shape),
            (b"(Tue Nov 24 16:00:28 2026) ", StampError::Shape),
            (b"[Tue Nov 24 16-00:28 2026] ", StampError::Shape),
            (b"[Tue Nov 24 16:00:28 20x6] ", StampError::Shape),
            (b"[Tux Nov 24 16:00:28 2026] ", StampError::Weekday),
            (b"[Tue Nox 24 16:00:28 2026] ", StampError::Month),
            (b"[Tue Nov 04 16:00:28 2026] ", StampError::Day),
            (b"[Tue Nov 32 16:00:28 2026] ", StampError::Day),
            (b"[Tue Nov  0 16:00:28 2026] ", StampError::Day),
            (b"[Tue Nov 24 24:00:28 2026] ", StampError::Time),
            (b"[Tue Nov 24 16:60:28 2026] ", StampError::Time),
            (b"[Tue Nov 24 16:00:61 2026] ", StampError::Time),
        ] {
            assert_eq!(check_stamp(bad), Err(why), "{}", bad.escape_ascii());
        }
    }

    /// Three replies, the second with `[` as its first payload byte (which
    /// cannot start a stamp, as chunks are never empty).
    const STREAM: &[&[u8]] = &[S, b"hello", T, b"[x] y", S, b"z"];

    fn expected() -> [Option<Piece>; 16] {
        let mut want: [Option<Piece>; 16] = Default::default();
        want[0] = Some(Piece::Stamp(*S));
        want[1] = chunk(b"hello");
        want[2] = Some(Piece::Stamp(*T));
        want[3] = chunk(b"[x] y");
        want[4] = Some(Piece::Stamp(*S));
        want[5] = chunk(b"z");
        want
    }

    #[test]
    fn every_split_of_a_multi_reply_stream_decodes_the_same() {
        let (stream, len) = concat::<128>(STREAM);
        let stream = &stream[..len];
        // Every way of cutting the stream in up to three pieces.
        for a in 0..=len {
            for b in a..=len {
                let (got, end) = decode_all(&[&stream[..a], &stream[a..b], &stream[b..]]);
                assert_eq!(end, Ok(()), "cut at {a}, {b}");
                assert_eq!(got, expected(), "cut at {a}, {b}");
            }
        }
        // And byte by byte.
        let bytes: [&[u8]; 128] = core::array::from_fn(|i| stream.get(i..i + 1).unwrap_or(&[]));
        assert_eq!(decode_all(&bytes), (expected(), Ok(())));
    }

    #[test]
    fn a_malformed_stamp_is_reported_at_its_first_wrong_byte_at_every_split() {
        let (stream, len) = concat::<64>(&[S, b"ab", b"[Tue Nov 24 1x:00:28 2026] ", b"cd"]);
        let stream = &stream[..len];
        for a in 0..=len {
            let (_, end) = decode_all(&[&stream[..a], &stream[a..]]);
            let Err(Malformed::BadStamp { len: got, why, .. }) = end else { panic!("cut at {a}: {end:?}") };
            assert_eq!((got, why), (14, StampError::Shape), "cut at {a}");
            assert_eq!(end.unwrap_err().stamp_text(), b"[Tue Nov 24 1x");
        }
        // A wrong name is found once the stamp is whole.
        let (_, end) = decode_all(&[&b"[Tue Nox 24 16:00:28 2026] x"[..]]);
        assert!(matches!(end, Err(Malformed::BadStamp { len: STAMP_LEN, why: StampError::Month, .. })), "{end:?}");
    }

    #[test]
    fn the_stream_must_start_with_a_stamp_and_end_after_payload() {
        assert!(matches!(decode_all(&[&b"hello"[..]]).1, Err(Malformed::BadStamp { len: 1, .. })));
        assert_eq!(decode_all(&[]).1, Ok(()));
        assert_eq!(decode_all(&[&S[..10]]).1, Err(Malformed::Truncated { len: 10 }));
        assert_eq!(decode_all(&[&S[..]]).1, Err(Malformed::EmptyChunk));
        assert_eq!(decode_all(&[&S[..], b"a", &S[..3]]).1, Err(Malformed::Truncated { len: 3 }));
    }

    #[test]
    fn a_chunk_ends_at_chunk_bytes() {
        let full = [b'a'; CHUNK];
        let mut dec = StampDecoder::new();
        let mut payload = 0;
        for event in dec.events(S) {
            assert!(matches!(event, Ok(Event::Stamp(_))));
        }
        for piece in full.chunks(100) {
            for event in dec.events(piece) {
                let Ok(Event::Payload(p)) = event else { panic!("{event:?}") };
                payload += p.len();
            }
        }
        assert_eq!((payload, dec.chunk_len()), (CHUNK, Some(CHUNK)));
        // A stamp may follow at once; anything else is one byte too many.
        let mut next = dec;
        assert!(matches!(next.events(S).next(), Some(Ok(Event::Stamp(_)))));
        let mut input = &b"b"[..];
        assert_eq!(dec.decode(&mut input), Some(Err(Malformed::ChunkTooLong)));
        assert_eq!(input, b"b", "the byte that does not fit is not taken");
        assert_eq!(dec.finish(), Err(Malformed::ChunkTooLong), "errors stick");
    }

    #[test]
    fn events_stop_at_the_first_error_and_leave_the_rest() {
        let (stream, len) = concat::<64>(&[S, b"ab", b"[Tue Nov 24 1x:00:28 2026] ", b"cd"]);
        let mut dec = StampDecoder::new();
        let mut events = dec.events(&stream[..len]);
        assert!(matches!(events.next(), Some(Ok(Event::Stamp(_)))));
        assert_eq!(events.next(), Some(Ok(Event::Payload(b"ab"))));
        assert!(matches!(events.next(), Some(Err(Malformed::BadStamp { len: 14, .. }))));
        assert_eq!(events.next(), None);
        assert_eq!(events.rest(), b":00:28 2026] cd", "left just past the bad byte");
    }

    #[test]
    fn a_bracket_said_to_be_payload_is_payload() {
        let (stream, len) = concat::<64>(&[S, b"a[b"]);
        let mut dec = StampDecoder::new();
        let mut input = &stream[..len];
        assert!(matches!(dec.decode(&mut input), Some(Ok(Event::Stamp(_)))));
        assert_eq!(dec.decode(&mut input), Some(Ok(Event::Payload(b"a"))));
        dec.bracket_is_payload();
        assert_eq!(dec.decode(&mut input), Some(Ok(Event::Payload(b"[b"))));
        assert_eq!(dec.finish(), Ok(()));
    }

    #[test]
    fn stamp_text_and_ctime() {
        let mut dec = StampDecoder::new();
        let Some(Ok(Event::Stamp(s))) = dec.events(T).next() else { panic!() };
        assert_eq!(s.ctime(), "Wed Nov  4 09:05:01 2026");
        assert_eq!(s.as_bytes(), T);
    }
}
