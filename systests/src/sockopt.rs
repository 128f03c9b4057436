//! Socket options std's `TcpStream` does not offer: fixed (small) kernel
//! buffers, so a client that stops reading stalls after a known amount; a
//! chosen local address (a second host); `SO_LINGER` 0, so closing sends RST
//! instead of FIN.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Connects to `addr` with `SO_SNDBUF` and `SO_RCVBUF` set to `buffer` bytes
/// before the handshake (which turns off the kernel's buffer autotuning and
/// fixes the advertised window). Gives up with `TimedOut` after `timeout`.
///
/// The socket lives in the calling thread's network namespace: call it from
/// inside [`Netns::run`](crate::Netns::run).
pub fn connect_with_buffers(addr: SocketAddr, buffer: usize, timeout: Duration) -> io::Result<TcpStream> {
    let fd = socket_for(addr)?;
    let size = libc::c_int::try_from(buffer).map_err(|_| io::Error::other("buffer size too large"))?;
    set(fd.as_raw_fd(), libc::SO_SNDBUF, &size)?;
    set(fd.as_raw_fd(), libc::SO_RCVBUF, &size)?;
    connect(fd, addr, timeout)
}

/// Connects from `local` (port chosen by the kernel) to `addr`, giving up
/// after `timeout`; read and write timeouts are `timeout` too: a second host
/// on the same namespace (an extra address on the TAP's host side). Call it
/// from inside [`Netns::run`](crate::Netns::run).
pub fn connect_from(local: IpAddr, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let fd = socket_for(addr)?;
    let (storage, len) = sockaddr(SocketAddr::new(local, 0));
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for the call.
    if unsafe { libc::bind(fd.as_raw_fd(), (&raw const storage).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    connect(fd, addr, timeout)
}

/// A fresh TCP socket of `addr`'s family.
fn socket_for(addr: SocketAddr) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A blocking connect(2) of `fd` to `addr` that gives up after `timeout`
/// (SO_SNDTIMEO, which connect reports as EINPROGRESS); then `timeout` as
/// the stream's read and write timeouts.
fn connect(fd: OwnedFd, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    set(fd.as_raw_fd(), libc::SO_SNDTIMEO, &timeval(timeout))?;
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for the call.
    let rc = unsafe { libc::connect(fd.as_raw_fd(), (&raw const storage).cast(), len) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EINPROGRESS) => {
                io::Error::new(io::ErrorKind::TimedOut, format!("connect timed out after {timeout:?}"))
            }
            _ => e,
        });
    }
    let stream = TcpStream::from(fd);
    // Replaces the connect timeout with ordinary I/O timeouts.
    stream.set_write_timeout(Some(timeout))?;
    stream.set_read_timeout(Some(timeout))?;
    Ok(stream)
}

/// Makes closing `stream` abort the connection with RST (`SO_LINGER` on, 0 s),
/// discarding anything unsent or unread.
pub fn set_linger_zero(stream: &TcpStream) -> io::Result<()> {
    set(stream.as_raw_fd(), libc::SO_LINGER, &libc::linger { l_onoff: 1, l_linger: 0 })
}

fn set<T>(fd: RawFd, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size passed.
    let rc = unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, option, (value as *const T).cast(), size_of::<T>() as libc::socklen_t)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn timeval(d: Duration) -> libc::timeval {
    libc::timeval { tv_sec: d.as_secs() as libc::time_t, tv_usec: d.subsec_micros() as libc::suseconds_t }
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
