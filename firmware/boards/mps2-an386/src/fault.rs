//! What happens when things go wrong: the panic message or the faulting
//! address goes out over defmt, then the run ends. With the `semihosting`
//! feature semihosting ends the QEMU run with an error code, so scripts and
//! tests see the failure; without it the core resets (a real board starts
//! over; QEMU, started with `-no-reboot` as `cargo xtask qemu` does, exits).

use core::panic::PanicInfo;

use cortex_m_rt::{exception, ExceptionFrame};

/// Exit code of a panic (as Rust's test harness uses).
const PANIC_EXIT: i32 = 101;
/// Exit code of a hard fault.
const FAULT_EXIT: i32 = 102;

/// Ends the run: the QEMU exit code `code` over semihosting, or a reset.
pub fn stop(code: i32) -> ! {
    #[cfg(feature = "semihosting")]
    {
        semihosting::process::exit(code)
    }
    #[cfg(not(feature = "semihosting"))]
    {
        let _ = code;
        cortex_m::peripheral::SCB::sys_reset()
    }
}

/// Logs why start-up failed and ends the run with exit code 1.
pub fn fatal(what: &str, e: impl defmt::Format) -> ! {
    defmt::error!("{=str} failed: {}", what, e);
    stop(1)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // The message's text and where it was raised, without core::fmt: a
    // message with arguments is logged by its location only (formatting it
    // would link the whole formatting machinery in, ~2 KiB).
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    match info.message().as_str() {
        Some(message) => defmt::error!("panic: {=str} at {=str}:{=u32}", message, file, line),
        None => defmt::error!("panic at {=str}:{=u32} (message with arguments not formatted)", file, line),
    }
    stop(PANIC_EXIT)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault: pc {=u32:#010x}, lr {=u32:#010x}", frame.pc(), frame.lr());
    stop(FAULT_EXIT)
}
