//! The tests' network namespaces: [`netlab::Netns`] under names unique to the
//! test process, with the TAP every target sits behind.

use std::io;

use netlab::tap::TapSpec;
pub use netlab::Netns;

use crate::TAP;

/// Prefix of every namespace the tests create: `echo-test-<pid>-<n>`.
const PREFIX: &str = "echo-test-";

/// A fresh `echo-test-<pid>-<n>` namespace with its `lo` up (and stale ones
/// of dead test processes removed); removed with what runs in it on drop.
pub fn fresh() -> io::Result<Netns> {
    // SAFETY: geteuid cannot fail and has no side effects.
    if unsafe { libc::geteuid() } != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "system tests need root for network namespaces: run `cargo xtask test` as root",
        ));
    }
    Netns::unique(PREFIX)
}

/// [`TAP`] as the lab plans it (host side v4 and v6, MTU, up), added in `ns`.
pub fn lab_tap() -> TapSpec<'static> {
    TapSpec::lab(TAP)
}
