//! The Linux kernel as the client (std `TcpStream`): the tutorial's exchange.

use std::net::Shutdown;
use std::time::Duration;

use systests::client::{read_to_eof, round_trip};
use systests::Target;

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn hello_comes_back_stamped_with_the_current_utc_time() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut stream = server.connect().unwrap_or_else(|e| panic!("{name}: connect: {e}"));
        // Two exchanges on one connection: each reply carries its own stamp.
        for payload in [&b"hello"[..], b"second line"] {
            round_trip(&mut stream, target.mode(), payload).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Nothing beyond the replies, and the server closes after our FIN.
        stream.shutdown(Shutdown::Write).expect("shutdown");
        let rest = read_to_eof(&mut stream, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(rest.is_empty(), "{name}: unexpected bytes after the replies: {:?}", String::from_utf8_lossy(&rest));
        // A new connection works after the first closed.
        let mut again = server.connect().unwrap_or_else(|e| panic!("{name}: reconnect: {e}"));
        round_trip(&mut again, target.mode(), b"hello again").unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
