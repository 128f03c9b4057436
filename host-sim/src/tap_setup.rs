//! Opening the TAP: use it as it is when it exists, create and address it when
//! it does not and we may, and otherwise say exactly which commands fix it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;

use anyhow::{bail, Context, Result};
use netlab::tap::{manual_setup_hint, Device, TapSpec};
use smoltcp::wire::{Ipv4Cidr, Ipv6Cidr};
use tun_tap::{Iface, Mode};

/// An open TAP: plain frames (tun-tap), or frames behind a virtio-net header
/// with the kernel's segmentation and checksum offloads on.
pub enum Tap {
    /// One Ethernet frame per read or write.
    Plain(Iface),
    /// A [`crate::offload::VnetHdr`] then a frame of up to 64 KiB per read or write.
    Offload(File),
}

impl Tap {
    /// Reads one frame (with its header, for `Offload`); `WouldBlock` when none waits.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Tap::Plain(iface) => iface.recv(buf),
            Tap::Offload(file) => (&*file).read(buf),
        }
    }

    /// Writes one frame (with its header, for `Offload`).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Tap::Plain(iface) => iface.send(buf),
            Tap::Offload(file) => (&*file).write(buf),
        }
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Tap::Plain(iface) => iface.as_raw_fd(),
            Tap::Offload(file) => file.as_raw_fd(),
        }
    }
}

/// Opens `name` as a TAP, with offloads if `offload` and the kernel allows;
/// creates and addresses it (host side `host_ip`, and `host_ip6` if given)
/// when missing.
pub fn open(name: &str, host_ip: Ipv4Cidr, host_ip6: Option<Ipv6Cidr>, mtu: usize, offload: bool) -> Result<Tap> {
    let existing = netlab::tap::state(name);
    let existed = existing.is_some();
    if existing.as_ref().is_some_and(|s| !s.is_tap) {
        bail!("`{name}` exists but is not a TAP device; pick another name with --tap, or remove it");
    }
    check_tun_device(name, host_ip)?;
    let plain = || Iface::without_packet_info(name, Mode::Tap).map(Tap::Plain);
    let opened = if offload {
        open_offload(name).or_else(|e| match e {
            OffloadError::Refused(why) => {
                log::warn!("the kernel refused TAP offloads ({why}); falling back to one frame per syscall");
                plain()
            }
            OffloadError::Open(e) => Err(e),
        })
    } else {
        plain()
    };
    let tap = match opened {
        Ok(tap) => tap,
        Err(e) => return Err(explain_open_error(name, existed, host_ip, e)),
    };
    if let Some(state) = existing {
        check_usable(name, &state, host_ip, mtu);
    } else {
        let v6 = host_ip6.map(|a| format!(" and {a}")).unwrap_or_default();
        log::info!("created {name}; host side {host_ip}{v6}");
        configure(name, host_ip, host_ip6, mtu)
            .with_context(|| format!("created {name} but could not configure it"))?;
    }
    if let Tap::Plain(iface) = &tap {
        iface.set_non_blocking().context("cannot make the TAP non-blocking")?;
    }
    Ok(tap)
}

/// Why [`open_offload`] failed: the TAP could not be opened at all, or it
/// could but the kernel would not do offloads on it.
enum OffloadError {
    Open(io::Error),
    Refused(io::Error),
}

/// `struct ifreq` as TUNSETIFF reads it: a name, then the flags.
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Opens `name` non-blocking with a virtio-net header on every frame and
/// checksum offload plus TSO for IPv4 and IPv6, as QEMU does for virtio-net.
fn open_offload(name: &str) -> Result<Tap, OffloadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")
        .map_err(OffloadError::Open)?;
    let mut req = IfReq { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
    for (dst, src) in req.name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    req.flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`; `req` has its layout and lives across the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req as *mut IfReq) } < 0 {
        let e = io::Error::last_os_error();
        // EINVAL: a kernel without IFF_VNET_HDR, or a TAP made with other flags.
        return Err(match e.raw_os_error() {
            Some(libc::EINVAL) => OffloadError::Refused(e),
            _ => OffloadError::Open(e),
        });
    }
    let features = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
    // SAFETY: TUNSETOFFLOAD takes its argument by value; no memory is passed.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETOFFLOAD, libc::c_ulong::from(features)) } < 0 {
        return Err(OffloadError::Refused(io::Error::last_os_error()));
    }
    Ok(Tap::Offload(file))
}

/// Opening the clone device is the first step for everyone; a locked-down
/// `/dev/net/tun` (mode 0600) would otherwise look like "TAP owned by another
/// user".
fn check_tun_device(name: &str, host_ip: Ipv4Cidr) -> Result<()> {
    const TUN: &str = "/dev/net/tun";
    match std::fs::OpenOptions::new().read(true).write(true).open(TUN) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            bail!("{TUN} is missing: load the tun module (`sudo modprobe tun`)")
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(TUN).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            let fix = setup_commands(name, host_ip);
            bail!(
                "cannot open {TUN} (mode {mode:04o}; most distributions ship 0666). Run host-sim as root, or let users open it and make {name} once:\n    sudo chmod 0666 {TUN}\n{fix}"
            )
        }
        Err(e) => Err(e).context(format!("cannot open {TUN}")),
    }
}

/// The one-time commands that make a TAP usable without root.
pub fn setup_commands(name: &str, host_ip: Ipv4Cidr) -> String {
    manual_setup_hint(name, &host_ip.to_string())
}

fn explain_open_error(name: &str, existed: bool, host_ip: Ipv4Cidr, e: io::Error) -> anyhow::Error {
    let fix = setup_commands(name, host_ip);
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) if existed => anyhow::anyhow!(
            "no permission to attach to {name}: it belongs to another user. Recreate it for yourself:\n    sudo ip tuntap del {name} mode tap\n{fix}"
        ),
        Some(libc::EPERM) | Some(libc::EACCES) => anyhow::anyhow!(
            "{name} does not exist and creating it needs root (CAP_NET_ADMIN). Either run host-sim as root, or create it once:\n{fix}"
        ),
        Some(libc::EBUSY) => anyhow::anyhow!("{name} is already in use by another process (is host-sim already running?)"),
        Some(libc::ENOENT) if e.kind() == io::ErrorKind::NotFound => {
            anyhow::anyhow!("/dev/net/tun is missing: load the tun module (`sudo modprobe tun`)")
        }
        _ => anyhow::anyhow!("cannot open TAP {name}: {e}"),
    }
}

/// Opening the TAP created it (and it goes when host-sim exits); the rest is
/// what every lab TAP gets.
fn configure(name: &str, host_ip: Ipv4Cidr, host_ip6: Option<Ipv6Cidr>, mtu: usize) -> Result<()> {
    let (host_ip, host_ip6) = (host_ip.to_string(), host_ip6.map(|a| a.to_string()));
    let spec = TapSpec { name, owner: None, host_ip: &host_ip, host_ip6: host_ip6.as_deref(), mtu };
    netlab::tap::setup(None, &spec, Device::Opened)?;
    Ok(())
}

/// The addresses the host side of `name` holds (`ip -o addr show`), IPv4
/// and IPv6; empty if they cannot be read.
pub fn host_side_addresses(name: &str) -> Vec<std::net::IpAddr> {
    let Ok(out) = Command::new("ip").args(["-o", "addr", "show", "dev", name]).output() else {
        return Vec::new();
    };
    // Lines like `5: tap0    inet 192.168.69.100/24 brd ... scope global tap0`.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let mut found = Vec::new();
    while let Some(word) = words.next() {
        if word == "inet" || word == "inet6" {
            if let Some(addr) = words.next().and_then(|a| a.split('/').next()?.parse().ok()) {
                found.push(addr);
            }
        }
    }
    found
}

/// A TAP made by hand may be down or unaddressed: warn with the fix, don't fail
/// (the user may have bridged it on purpose).
fn check_usable(name: &str, state: &netlab::tap::TapState, host_ip: Ipv4Cidr, mtu: usize) {
    if let Some(host_mtu) = state.mtu.filter(|&m| m != mtu) {
        log::warn!(
            "{name} has MTU {host_mtu} on the host side but --mtu is {mtu}; match them with: sudo ip link set {name} mtu {mtu}"
        );
    }
    if !state.up {
        log::warn!("{name} is down; bring it up with: sudo ip link set {name} up");
    }
    if !state.has_ipv4 {
        log::warn!("{name} has no IPv4 address on the host side; add one with: sudo ip addr add {host_ip} dev {name}");
    }
}
