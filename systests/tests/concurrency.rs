//! Backlog 5: five clients are served at once, a sixth is refused with RST,
//! and a slot frees up when a client leaves (the check is
//! `systests::checks::concurrency`, which the `hil` runner shares).

use systests::checks::{self, Clock};
use systests::{Target, SERVER};

const SLOTS: usize = 5;

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn five_are_served_the_sixth_is_refused_until_one_leaves() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        checks::concurrency(server.ns(), SERVER, SLOTS, Clock::host()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
