//! Where the programs under test are.
//!
//! `cargo xtask test` builds them and passes absolute paths in `HOST_SIM_BIN`,
//! `ECHO_CLIENT_BIN` and `MPS2_ELF`. Without those, the binaries are looked
//! up in `$CARGO_TARGET_DIR` and `<workspace>/target`, `debug` and `release`,
//! and the most recently built one wins (a warning is printed if it is older
//! than its sources, since that usually means a forgotten `cargo build`).

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("systests is inside the workspace").to_path_buf()
}

/// The `host-sim` binary.
pub fn host_sim() -> io::Result<PathBuf> {
    find("HOST_SIM_BIN", "host-sim", &["host-sim", "firmware/core"])
}

/// The `echo-client` binary.
pub fn echo_client() -> io::Result<PathBuf> {
    find("ECHO_CLIENT_BIN", "echo-client", &["echo-client"])
}

/// The mps2-an386 firmware ELF, if `MPS2_ELF` names one.
pub fn mps2_elf() -> Option<PathBuf> {
    std::env::var_os("MPS2_ELF").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The Python 3 port of the tutorial's client.
pub fn python_client() -> PathBuf {
    workspace_root().join("tools/tcpclient.py")
}

/// `var` if set (it must name an existing file), else the newest build of
/// `name`; `sources` (crate dirs) are only used for the staleness warning.
fn find(var: &str, name: &str, sources: &[&str]) -> io::Result<PathBuf> {
    if let Some(path) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, format!("{var}={} does not exist", path.display())))
        };
    }
    let root = workspace_root();
    let mut dirs = vec![root.join("target")];
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.insert(0, root.join(dir)); // join keeps an absolute path as is
    }
    let newest = dirs
        .iter()
        .flat_map(|d| ["debug", "release"].map(|profile| d.join(profile).join(name)))
        .filter_map(|p| Some((modified(&p)?, p)))
        .max();
    let Some((built, path)) = newest else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{name} not found: run `cargo xtask test`, or `cargo build -p {name}`, or set {var}"),
        ));
    };
    let newest_source = sources.iter().filter_map(|s| newest_in(&root.join(s))).max();
    if newest_source.is_some_and(|src| src > built) {
        eprintln!("warning: {} is older than its sources; rebuild it (`cargo build -p {name}`)", path.display());
    }
    Ok(path)
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().ok().filter(|m| m.is_file()).and_then(|m| m.modified().ok())
}

/// The newest modification time of any file below `dir`.
fn newest_in(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() { newest_in(&path) } else { modified(&path) };
        newest = newest.max(time);
    }
    newest
}
