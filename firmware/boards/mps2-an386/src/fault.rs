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
    let calls = call_sites::<6>();
    defmt::error!("panic; call sites {:#010x} (addr2line -Cfie <elf> names them)", calls);
    stop(PANIC_EXIT)
}

/// The call instructions of the innermost `N` frames (0 past the last
/// frame found), from the frame-pointer chain: on Thumb, r7 points at a frame
/// record holding the caller's r7, then the return address. Every step is
/// bounds-checked against the stack, so a corrupt chain ends the walk
/// instead of faulting.
#[inline(always)]
fn call_sites<const N: usize>() -> [u32; N] {
    extern "C" {
        // The top of the stack (cortex-m-rt's link script; memory.x sets it).
        static _stack_start: u32;
    }
    let top = core::ptr::addr_of!(_stack_start) as u32;
    let sp = cortex_m::register::msp::read();
    let mut fp: u32;
    // SAFETY: reads a register, touches nothing (`pure`: dropped if unused).
    unsafe { core::arch::asm!("mov {}, r7", out(reg) fp, options(pure, nomem, nostack, preserves_flags)) };
    let mut sites = [0; N];
    for site in sites.iter_mut() {
        if !fp.is_multiple_of(4) || fp < sp || fp > top.saturating_sub(8) {
            break;
        }
        let record = fp as *const u32;
        // SAFETY: `fp..fp + 8` lies inside the live stack (checked above):
        // mapped RAM, read-only access. Plain reads: with logging off
        // (`DEFMT_LOG=off`) the whole walk is dead code and goes.
        let (caller_fp, ret) = unsafe { (record.read(), record.add(1).read()) };
        // The return address has the Thumb bit set; the call (a 2- or 4-byte
        // `bl`/`blx`) ends there, so 2 bytes back is inside it.
        *site = (ret & !1).wrapping_sub(2);
        if caller_fp <= fp {
            break;
        }
        fp = caller_fp;
    }
    sites
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault: pc {=u32:#010x}, lr {=u32:#010x}", frame.pc(), frame.lr());
    stop(FAULT_EXIT)
}
