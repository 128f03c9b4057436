//! The call sites of the innermost stack frames on a Cortex-M, for panic
//! handlers that log addresses rather than the panic's message and location.
//!
//! Reading a panic's message or location keeps every panic site's text, path
//! and `core::fmt` arguments in flash (~11 KiB on the boards here); a handful
//! of return addresses name the place just as well, given the ELF that
//! decoding a defmt log needs anyway: `addr2line -Cfie <elf> <addresses>`.
//!
//! Best effort: the walk follows r7 frame records, so a frame whose function
//! kept no record (a leaf, or code built without frame pointers) is skipped;
//! a function that used r7 for something else ends it early. It never
//! faults and never reads outside the stack.
#![no_std]
#![warn(missing_docs)]

/// The call instructions of the innermost `N` frames (0 past the last
/// frame found), from the frame-pointer chain: on Thumb, r7 points at a frame
/// record holding the caller's r7, then the return address. Every step is
/// bounds-checked against the stack, so a corrupt chain ends the walk
/// instead of faulting.
#[cfg(target_os = "none")]
#[inline(always)]
pub fn call_sites<const N: usize>() -> [u32; N] {
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
