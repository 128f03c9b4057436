//! Logging shim: the same macro names log through `defmt` on boards, `log` on
//! the host, or compile to nothing. Must stay the first module so the macros
//! are visible everywhere (the embassy / smoltcp pattern).
#![allow(unused_macros)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("features `defmt` and `log` are mutually exclusive: enable at most one");

macro_rules! log_impl {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::$level!($($arg)+);
        #[cfg(feature = "log")]
        ::log::$level!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            // Evaluate nothing, but keep the arguments "used".
            let _ = || { let _ = ($($arg)+); };
        }
    }};
}

macro_rules! trace { ($($arg:tt)+) => { log_impl!(trace, $($arg)+) }; }
macro_rules! debug { ($($arg:tt)+) => { log_impl!(debug, $($arg)+) }; }
macro_rules! info { ($($arg:tt)+) => { log_impl!(info, $($arg)+) }; }
macro_rules! warn { ($($arg:tt)+) => { log_impl!(warn, $($arg)+) }; }
macro_rules! error { ($($arg:tt)+) => { log_impl!(error, $($arg)+) }; }

/// Bytes shown as escaped ASCII, printable by both `log` (`Display`) and `defmt`.
pub struct Printable<'a>(pub &'a [u8]);

impl core::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0.escape_ascii(), f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Printable<'_> {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=[u8]:a}", self.0)
    }
}
