//! What the device sends, read on the TAP's host side: an `AF_PACKET` socket
//! with `ETH_P_ALL` bound to the interface sees every frame the device
//! writes, including those the host kernel then drops (another MAC, an
//! address it does not own), which no ordinary socket would show.

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// `PACKET_IGNORE_OUTGOING` (Linux 4.20): leave out frames the host sends.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// Receive buffer asked for: room for a flood's worth of answers.
const RCVBUF: libc::c_int = 16 << 20;

/// A frame the device sent, and when it was read.
#[derive(Debug, Clone)]
pub struct Captured {
    /// When this socket read it (soon after the device wrote it).
    pub at: Instant,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// A receive-only packet socket on one interface, keeping the frames that
/// come in from the far side (the device), not those the host sends.
#[derive(Debug)]
pub struct Capture {
    fd: OwnedFd,
}

impl Capture {
    /// Opens a capture on interface `ifname` of the calling thread's network
    /// namespace: call it from inside [`Netns::run`](crate::Netns::run). Only
    /// frames that arrive after this call are seen. Needs root.
    pub fn open(ifname: &str) -> io::Result<Self> {
        let name = CString::new(ifname).map_err(|_| io::Error::other("interface name contains NUL"))?;
        // SAFETY: `name` is a valid C string for the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("no interface {ifname}")));
        }
        let all = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, all) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh socket nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Best effort: without them, outgoing frames are filtered below and
        // a smaller buffer may drop frames during floods.
        let _ = setsockopt(&fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
        if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            let _ = setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
        }
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let rc = unsafe {
            libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), size_of::<libc::sockaddr_ll>() as libc::socklen_t)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Capture { fd })
    }

    /// The next frame from the device, waiting until `deadline` at most.
    pub fn next_until(&self, deadline: Instant) -> io::Result<Option<Captured>> {
        let mut buf = vec![0u8; 65_600];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd for the call.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if rc == 0 {
                return Ok(None);
            }
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut from_len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: `buf` and `from` are valid for writes of the sizes passed.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&raw mut from).cast(),
                    &mut from_len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) {
                    continue;
                }
                return Err(e);
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            return Ok(Some(Captured { at: Instant::now(), frame: buf[..n as usize].to_vec() }));
        }
    }

    /// The next frame from the device within `limit`.
    pub fn next_within(&self, limit: Duration) -> io::Result<Option<Captured>> {
        self.next_until(Instant::now() + limit)
    }

    /// Everything already waiting, without blocking.
    pub fn drain(&self) -> io::Result<Vec<Captured>> {
        let mut out = Vec::new();
        while let Some(c) = self.next_until(Instant::now())? {
            out.push(c);
        }
        Ok(out)
    }
}

fn setsockopt(fd: &OwnedFd, level: libc::c_int, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` is a live c_int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            option,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
