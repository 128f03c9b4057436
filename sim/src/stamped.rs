//! Splitting a stamped reply stream back into `(stamp, chunk)` pairs, for
//! payloads that contain no `[` (so a stamp can only start a chunk).

use echo_core::{CHUNK, STAMP_LEN};

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
    let mut out = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        let stamp = stream.get(i..i + STAMP_LEN).ok_or_else(|| format!("truncated stamp at {i}"))?;
        if stamp[0] != b'[' || &stamp[STAMP_LEN - 2..] != b"] " {
            return Err(format!("no stamp at offset {i}: {:?}", String::from_utf8_lossy(stamp)));
        }
        let ctime = String::from_utf8(stamp[1..STAMP_LEN - 2].to_vec()).map_err(|e| e.to_string())?;
        let start = i + STAMP_LEN;
        let end = stream[start..].iter().position(|&b| b == b'[').map_or(stream.len(), |p| start + p);
        let chunk = stream[start..end].to_vec();
        if chunk.is_empty() || chunk.len() > CHUNK {
            return Err(format!("chunk of {} bytes at offset {start}", chunk.len()));
        }
        out.push(Echoed { ctime, chunk });
        i = end;
    }
    Ok(out)
}

/// The chunks of a parsed stream, concatenated.
pub fn payload(echoed: &[Echoed]) -> Vec<u8> {
    echoed.iter().flat_map(|e| e.chunk.iter().copied()).collect()
}
