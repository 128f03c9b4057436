//! What happens when things go wrong: the panic's call sites (`addr2line`
//! on the ELF names the file and line) or the faulting address go out over
//! defmt, then the run ends. With the `semihosting`
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
fn panic(_: &PanicInfo) -> ! {
    // Not the message nor the location: reading either keeps every panic
    // site's text, path and `core::fmt` arguments in flash (~11 KiB). The
    // call sites of the innermost frames name the place just as well, with
    // the ELF that decoding a defmt log needs anyway:
    // `addr2line -Cfie <elf> <addresses>` (the first frames are core's panic
    // functions; the first frame outside core is the panic site).
    let calls = call_sites::call_sites::<6>();
    defmt::error!("panic; call sites {:#010x} (addr2line -Cfie <elf> names them)", calls);
    stop(PANIC_EXIT)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault: pc {=u32:#010x}, lr {=u32:#010x}", frame.pc(), frame.lr());
    stop(FAULT_EXIT)
}
