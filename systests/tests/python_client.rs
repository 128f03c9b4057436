//! The tutorial's client (ported to Python 3, tools/tcpclient.py) against the
//! server, with its output checked here in Rust (`systests::checks::tutorial_client`,
//! which the `hil` runner shares).

use systests::checks::{self, Clock};
use systests::{Target, SERVER};

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn the_tutorial_client_prints_stamped_replies() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        checks::tutorial_client(server.ns().command("python3"), SERVER, Clock::host())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
