//! TCP timestamps (RFC 7323) for the server's sockets. smoltcp asks a plain
//! `fn() -> u32` for each value, so the server publishes its clock here on
//! every poll. Besides better RTT estimates, timestamps let a client's kernel
//! reuse its TIME-WAIT ports quickly (`tcp_tw_reuse`), which matters to
//! clients that open thousands of short connections.

use core::sync::atomic::{AtomicU32, Ordering};

/// Milliseconds, never decreasing (several servers in one process may share it).
static NOW_MS: AtomicU32 = AtomicU32::new(1);

/// Publishes the current time.
pub(crate) fn advance(now_ms: i64) {
    NOW_MS.fetch_max(now_ms as u32, Ordering::Relaxed);
}

/// The generator handed to smoltcp.
pub(crate) fn tsval() -> u32 {
    NOW_MS.load(Ordering::Relaxed)
}
