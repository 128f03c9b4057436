//! host-sim's closing statistics: on SIGINT/SIGTERM it logs
//! `stopping: N accepted, N refused, N closed, N reset, N timed out, N B in, N B out`.

/// The counters of host-sim's `stopping:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopStats {
    /// Connections accepted (handshake completed).
    pub accepted: u64,
    /// Connection attempts refused (no free slot).
    pub refused: u64,
    /// Connections closed cleanly.
    pub closed: u64,
    /// Connections reset by the peer or lost to TCP timeouts.
    pub reset: u64,
    /// Connections reset by the server after the idle timeout.
    pub timed_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Bytes sent back.
    pub bytes_out: u64,
}

impl StopStats {
    /// Finds and parses the last `stopping:` line in host-sim's output.
    pub fn from_log(log: &str) -> Result<Self, String> {
        let line = log.lines().rfind(|l| l.contains("stopping:")).ok_or("no `stopping:` line in the log")?;
        Self::parse(line)
    }

    /// Parses one `stopping:` line (anything before `stopping:` is ignored).
    pub fn parse(line: &str) -> Result<Self, String> {
        let (_, counts) = line.split_once("stopping:").ok_or_else(|| format!("not a `stopping:` line: {line:?}"))?;
        let labels = ["accepted", "refused", "closed", "reset", "timed out", "B in", "B out"];
        let parts: Vec<&str> = counts.split(',').map(str::trim).collect();
        if parts.len() != labels.len() {
            return Err(format!("expected {} counters in {line:?}", labels.len()));
        }
        let mut values = [0u64; 7];
        for ((value, part), label) in values.iter_mut().zip(&parts).zip(labels) {
            let number = part
                .strip_suffix(label)
                .map(str::trim)
                .ok_or_else(|| format!("expected `N {label}`, found {part:?} in {line:?}"))?;
            *value = number.parse().map_err(|_| format!("`{number}` is not a count in {line:?}"))?;
        }
        let [accepted, refused, closed, reset, timed_out, bytes_in, bytes_out] = values;
        Ok(StopStats { accepted, refused, closed, reset, timed_out, bytes_in, bytes_out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_sims_line() {
        let line = "[2026-01-01T00:00:00Z INFO ] stopping: 2101 accepted, 7 refused, 1900 closed, 200 reset, 1 timed out, 30 B in, 40 B out";
        assert_eq!(
            StopStats::parse(line),
            Ok(StopStats {
                accepted: 2101,
                refused: 7,
                closed: 1900,
                reset: 200,
                timed_out: 1,
                bytes_in: 30,
                bytes_out: 40
            })
        );
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(StopStats::parse("stopping: 1 accepted, 2 refused").is_err());
        assert!(StopStats::parse("stopping: x accepted, 0 refused, 0 closed, 0 reset, 0 timed out, 0 B in, 0 B out")
            .is_err());
        assert!(StopStats::from_log("nothing here").is_err());
    }
}
