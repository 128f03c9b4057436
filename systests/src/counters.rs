//! Every counter of host-sim's shutdown summary, by its `echo_core::Stats`
//! name. On SIGINT/SIGTERM host-sim logs three lines:
//!
//! ```text
//! stopping: N accepted, N refused, N closed, N reset, N timed out, N B in, N B out
//! udp: N echoed, N truncated, N dropped, N filtered, N rate-limited, N unresolved
//! guard: N handshakes dropped, N evicted, N RSTs ignored, N challenge ACKs, N SYN-ACKs resent, N neighbour spoofs, N ICMP suppressed
//! ```

/// Each `Stats` field: the summary line it is on and its label there.
const FIELDS: [(&str, &str, &str); 20] = [
    ("accepted", "stopping:", "accepted"),
    ("refused", "stopping:", "refused"),
    ("closed", "stopping:", "closed"),
    ("resets", "stopping:", "reset"),
    ("timeouts", "stopping:", "timed out"),
    ("bytes_in", "stopping:", "B in"),
    ("bytes_out", "stopping:", "B out"),
    ("udp_datagrams", "udp:", "echoed"),
    ("udp_truncated", "udp:", "truncated"),
    ("udp_dropped", "udp:", "dropped"),
    ("udp_filtered", "udp:", "filtered"),
    ("udp_rate_limited", "udp:", "rate-limited"),
    ("udp_unresolved", "udp:", "unresolved"),
    ("handshakes_dropped", "guard:", "handshakes dropped"),
    ("evicted", "guard:", "evicted"),
    ("rst_ignored", "guard:", "RSTs ignored"),
    ("challenge_acks", "guard:", "challenge ACKs"),
    ("synack_resent", "guard:", "SYN-ACKs resent"),
    ("neighbour_spoofs", "guard:", "neighbour spoofs"),
    ("icmp_suppressed", "guard:", "ICMP suppressed"),
];

/// Counter `name` (a `Stats` field, e.g. `challenge_acks`) from the summary
/// at the end of host-sim's output `log`.
pub fn counter(log: &str, name: &str) -> Result<u64, String> {
    let &(_, prefix, label) =
        FIELDS.iter().find(|(field, _, _)| *field == name).ok_or_else(|| format!("no counter named `{name}`"))?;
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.iter().rposition(|l| l.contains("stopping:")).ok_or("no `stopping:` line in the log")?;
    let line = lines[start..]
        .iter()
        .find(|l| l.contains(prefix))
        .ok_or_else(|| format!("no `{prefix}` line after `stopping:` in the log"))?;
    let (_, counts) = line.split_once(prefix).expect("contains the prefix");
    for part in counts.split(',').map(str::trim) {
        if let Some((number, rest)) = part.split_once(' ') {
            if rest == label {
                return number.parse().map_err(|_| format!("`{number}` is not a count in {line:?}"));
            }
        }
    }
    Err(format!("no `N {label}` in {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[x INFO ] 192.168.69.100:1: closed
[x INFO ] stopping: 3 accepted, 0 refused, 2 closed, 1 reset, 0 timed out, 30 B in, 40 B out
[x INFO ] udp: 5 echoed, 0 truncated, 0 dropped, 7 filtered, 100 rate-limited, 2 unresolved
[x INFO ] guard: 4 handshakes dropped, 5 evicted, 20000 RSTs ignored, 3 challenge ACKs, 1 SYN-ACKs resent, 9 neighbour spoofs, 6 ICMP suppressed
";

    #[test]
    fn reads_every_counter() {
        let expected = [3, 0, 2, 1, 0, 30, 40, 5, 0, 0, 7, 100, 2, 4, 5, 20000, 3, 1, 9, 6];
        for ((name, _, _), value) in FIELDS.iter().zip(expected) {
            assert_eq!(counter(LOG, name), Ok(value), "{name}");
        }
    }

    #[test]
    fn fails_clearly() {
        assert!(counter(LOG, "nonsense").is_err());
        assert!(counter("no summary", "accepted").is_err());
        assert!(counter("stopping: 1 accepted", "evicted").is_err());
    }
}
