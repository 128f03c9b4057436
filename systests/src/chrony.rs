//! chronyd as the test network's NTP server, on the host side of the TAP.
//!
//! It serves its local clock (`local stratum 8`, no upstream sources) and
//! never touches the machine's clock (`-x`). Its configuration, pid and drift
//! files live in a private temporary directory and its command socket is
//! off, so it cannot meet a system chronyd. With a fake offset it runs under
//! libfaketime (`faketime`), serving a time the host does not have: that is
//! how a test tells stamps that follow the server from stamps that follow
//! the host.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::sntp::{self, Answer};
use crate::{Netns, HOST_IP};

/// Stratum the server announces; a sync log line naming it proves the
/// answer came from this server.
pub const STRATUM: u8 = 8;

/// A running chronyd; stopped on drop.
#[derive(Debug)]
pub struct Chrony {
    daemon: Daemon,
    first_answer: Answer,
}

impl Chrony {
    /// Starts chronyd in `ns`, serving on port 123 of every address there to
    /// the lab subnet. `fake_offset` is a libfaketime offset such as `+3y`
    /// (365-day years). The namespace must already have the TAP's host
    /// address ([`Netns::add_tap`]): start-up is complete when chronyd
    /// answers an SNTP query there.
    pub fn start(ns: &Netns, fake_offset: Option<&str>) -> io::Result<Self> {
        daemon::require("chronyd", "chrony")?;
        if fake_offset.is_some() {
            daemon::require("faketime", "faketime")?;
        }
        let dir = Daemon::make_dir(ns, "chronyd")?;
        let conf = dir.join("chrony.conf");
        std::fs::write(
            &conf,
            format!(
                "# Serve the local clock to the test network, and nothing else.\n\
                 allow {subnet}\n\
                 local stratum {STRATUM}\n\
                 port 123\n\
                 # No command port, no command socket: nothing shared with a system chronyd.\n\
                 cmdport 0\n\
                 bindcmdaddress /\n\
                 driftfile {}\n\
                 pidfile {}\n",
                dir.join("drift").display(),
                dir.join("chronyd.pid").display(),
                subnet = netlab::plan::subnet(),
            ),
        )?;
        let mut cmd = match fake_offset {
            Some(offset) => {
                let mut c = ns.command("faketime");
                c.args(["-f", offset, "chronyd"]);
                c
            }
            None => ns.command("chronyd"),
        };
        // -x: never adjust the system clock; -d: foreground, log to stderr;
        // -u root: no privilege drop, so the temporary files stay writable.
        cmd.args(["-x", "-d", "-u", "root", "-f"]).arg(&conf);
        let mut daemon = Daemon::spawn("chronyd", dir, cmd)?;
        let server = SocketAddr::from((HOST_IP, 123));
        let first_answer = daemon.wait_until(&format!("SNTP answer at {server}"), Duration::from_secs(10), |_| {
            sntp::query(ns, server, Duration::from_millis(300)).ok()
        })?;
        Ok(Chrony { daemon, first_answer })
    }

    /// The answer that showed chronyd was up: what time it serves.
    pub fn first_answer(&self) -> Answer {
        self.first_answer
    }

    /// chronyd's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}
