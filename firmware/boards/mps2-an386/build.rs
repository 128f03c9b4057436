//! Puts memory.x where the linker finds it and, for the firmware target only,
//! links with cortex-m-rt's and defmt's scripts (host builds link normally).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("cannot write memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    // Sections need not be page-aligned in the ELF: keeps it small, and is
    // what cortex-m-rt's own templates use.
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    // The linker folds functions (and constants) with identical bytes: the
    // same code monomorphised for different types, equal drop glue (-328 B on
    // the NUCLEO). Nothing here depends on two functions' addresses differing.
    println!("cargo:rustc-link-arg-bins=--icf=all");
}
