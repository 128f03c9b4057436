//! dnsmasq as the test network's DHCP server, bound to the TAP's host side.
//!
//! DHCP only (`--port=0` turns DNS off), no configuration file, lease file
//! in a private temporary directory, logging to its own output: it cannot
//! meet a system dnsmasq or answer anything outside the test namespace.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use netlab::plan::NETMASK;

use crate::daemon::{self, Daemon};
use crate::{Netns, TAP};

/// First address the server leases.
pub const RANGE_START: Ipv4Addr = netlab::plan::subnet_host(50);
/// Last address the server leases.
pub const RANGE_END: Ipv4Addr = netlab::plan::subnet_host(60);
/// Lease time: dnsmasq's minimum, 2 minutes.
pub const LEASE_SECS: u32 = 120;

/// What the server hands out beyond an address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Option 42: the NTP server.
    pub ntp_server: Option<Ipv4Addr>,
    /// Options 58 and 59 (T1, T2): renew after this many seconds, rebind
    /// after twice that. Without it clients renew after half the lease (60 s).
    pub renew_secs: Option<u32>,
}

/// One line of dnsmasq's lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Unix time the lease expires.
    pub expires: u64,
    /// Client MAC address.
    pub mac: String,
    /// Leased address.
    pub ip: Ipv4Addr,
}

/// A running dnsmasq; stopped on drop.
#[derive(Debug)]
pub struct Dnsmasq {
    daemon: Daemon,
}

impl Dnsmasq {
    /// Starts dnsmasq on [`TAP`] in `ns`, which must already exist with its
    /// host address ([`Netns::add_tap`]), and waits until it has bound it.
    pub fn start(ns: &Netns, options: Options) -> io::Result<Self> {
        daemon::require("dnsmasq", "dnsmasq")?;
        let dir = Daemon::make_dir(ns, "dnsmasq")?;
        let mut cmd = ns.command("dnsmasq");
        cmd.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--log-facility=-",
            "--log-dhcp",
            // Offer at once instead of pinging the address first.
            "--no-ping",
            "--bind-interfaces",
        ])
        .arg(format!("--interface={TAP}"))
        .arg(format!("--dhcp-range={RANGE_START},{RANGE_END},{NETMASK},{LEASE_SECS}"))
        .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()));
        if let Some(ntp) = options.ntp_server {
            cmd.arg(format!("--dhcp-option=option:ntp-server,{ntp}"));
        }
        if let Some(t1) = options.renew_secs {
            cmd.arg(format!("--dhcp-option=option:T1,{t1}")).arg(format!("--dhcp-option=option:T2,{}", 2 * t1));
        }
        let mut daemon = Daemon::spawn("dnsmasq", dir, cmd)?;
        daemon.wait_for_log("sockets bound exclusively to interface", Duration::from_secs(5))?;
        Ok(Dnsmasq { daemon })
    }

    /// dnsmasq's lease file.
    pub fn lease_file(&self) -> std::path::PathBuf {
        self.daemon.dir().join("leases")
    }

    /// The leases dnsmasq has recorded (its lease file).
    pub fn leases(&self) -> Vec<Lease> {
        // dnsmasq rewrites the file in place (truncate, then write): a read in
        // between sees it empty. An empty read is retried for up to 0.5 s.
        for _ in 0..25 {
            let leases = self.read_leases();
            if !leases.is_empty() {
                return leases;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.read_leases()
    }

    fn read_leases(&self) -> Vec<Lease> {
        let text = std::fs::read_to_string(self.lease_file()).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                Some(Lease {
                    expires: fields.next()?.parse().ok()?,
                    mac: fields.next()?.to_string(),
                    ip: fields.next()?.parse().ok()?,
                })
            })
            .collect()
    }

    /// How many DHCPACKs dnsmasq has sent for `ip` (the first one, then one
    /// per renewal).
    pub fn acks_for(&self, ip: Ipv4Addr) -> usize {
        let needle = format!("DHCPACK({TAP}) {ip} ");
        self.log().lines().filter(|l| l.contains(&needle)).count()
    }

    /// dnsmasq's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Fails, with dnsmasq's output, if it has exited.
    pub fn check_running(&mut self) -> io::Result<()> {
        self.daemon.check_running()
    }
}
