//! Splitting a stamped reply stream back into `(stamp, chunk)` pairs with
//! echo-core's [`StampDecoder`], for payloads that contain no `[` (so a
//! stamp can only start a chunk).

use echo_core::protocol::{Event, StampDecoder};

/// One echoed chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echoed {
    /// The ctime text between the brackets.
    pub ctime: String,
    /// The chunk that followed the stamp.
    pub chunk: Vec<u8>,
}

/// Parses `stream` as `[<ctime>] <chunk>` repeated. Fails on anything that is
/// not exactly that: a missing or malformed stamp, an empty or oversized chunk.
pub fn parse(stream: &[u8]) -> Result<Vec<Echoed>, String> {
    let mut out: Vec<Echoed> = Vec::new();
    let mut decoder = StampDecoder::new();
    let mut rest = stream;
    while let Some(event) = decoder.decode(&mut rest) {
        match event {
            Ok(Event::Stamp(stamp)) => out.push(Echoed { ctime: stamp.ctime().to_owned(), chunk: Vec::new() }),
            // The decoder yields payload only after a stamp.
            Ok(Event::Payload(p)) => out.last_mut().map(|e| e.chunk.extend_from_slice(p)).unwrap_or_default(),
            Err(e) => {
                let at = stream.len() - rest.len();
                return Err(format!("after {at} bytes of {}: {e}", stream.len()));
            }
        }
    }
    decoder.finish().map_err(|e| format!("at the end, {} bytes: {e}", stream.len()))?;
    Ok(out)
}

/// The chunks of a parsed stream, concatenated.
pub fn payload(echoed: &[Echoed]) -> Vec<u8> {
    echoed.iter().flat_map(|e| e.chunk.iter().copied()).collect()
}
