//! Backlog 5: five clients are served at once, a sixth is refused with RST,
//! and a slot frees up when a client leaves.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use systests::client::{expect_echo, round_trip};
use systests::{Running, Target};

const SLOTS: usize = 5;

#[test]
#[ignore = "needs root and network namespaces: run by `cargo xtask test`"]
fn five_are_served_the_sixth_is_refused_until_one_leaves() {
    for target in Target::stamp_targets() {
        let name = target.name();
        let server = target.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mode = target.mode();
        let mut clients: Vec<TcpStream> = (0..SLOTS)
            .map(|i| server.connect().unwrap_or_else(|e| panic!("{name}: client {i} not accepted: {e}")))
            .collect();

        // Interleaved: everyone sends before anyone reads, so all five are
        // open and owed a reply at the same time.
        let exchange = |clients: &mut [TcpStream], round: usize| {
            for (i, c) in clients.iter_mut().enumerate() {
                let payload = format!("client {i} round {round}");
                io::Write::write_all(c, payload.as_bytes()).unwrap_or_else(|e| panic!("{name}: client {i}: {e}"));
            }
            for (i, c) in clients.iter_mut().enumerate() {
                let payload = format!("client {i} round {round}");
                expect_echo(c, mode, payload.as_bytes()).unwrap_or_else(|e| panic!("{name}: client {i}: {e}"));
            }
        };
        exchange(&mut clients, 0);
        exchange(&mut clients, 1);

        expect_refused(&server, "sixth client while five are connected");
        // The refusal did not disturb the five.
        exchange(&mut clients, 2);

        // One leaves; its slot must be taken by a newcomer shortly after.
        drop(clients.remove(0));
        let mut newcomer = server
            .connect_within(Duration::from_secs(3))
            .unwrap_or_else(|e| panic!("{name}: no slot freed after a client left: {e}"));
        round_trip(&mut newcomer, mode, b"newcomer").unwrap_or_else(|e| panic!("{name}: newcomer: {e}"));
        clients.push(newcomer);
        exchange(&mut clients, 3);
        // Full again.
        expect_refused(&server, "sixth client after the newcomer took the free slot");
    }
}

fn expect_refused(server: &Running, what: &str) {
    let name = server.target().name();
    match server.connect() {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        Err(e) => panic!("{name}: {what}: expected ECONNREFUSED (RST), got {e}"),
        Ok(_) => panic!("{name}: {what}: was accepted, expected ECONNREFUSED"),
    }
}
