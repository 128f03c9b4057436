//! What happens when things go wrong: the panic message or the faulting
//! address goes out over defmt, then semihosting ends the QEMU run with an
//! error code so scripts and tests see the failure.

use core::panic::PanicInfo;

use cortex_m_rt::{exception, ExceptionFrame};

/// Exit code of a panic (as Rust's test harness uses).
const PANIC_EXIT: i32 = 101;
/// Exit code of a hard fault.
const FAULT_EXIT: i32 = 102;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(PANIC_EXIT)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault: pc {=u32:#010x}, lr {=u32:#010x}", frame.pc(), frame.lr());
    semihosting::process::exit(FAULT_EXIT)
}
