//! `cargo xtask size`: builds every board image and prints how much flash and
//! static RAM it takes, read from the ELF's section headers. With
//! `--features-cost`, also what each of the board's Cargo features adds on
//! top of the bare image (`--no-default-features`: the TCP echo alone).
//!
//! Only allocated sections count (debug info and `.defmt` are never flashed):
//! read-only ones (vector table, code, constants) and the load image of
//! `.data` are flash; `.data`, `.bss` and `.uninit` are RAM. The stack is not
//! a section and is not counted.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use object::{elf, Object, ObjectSection, SectionFlags, SectionKind};

use crate::util::{cargo, root, sh};

/// Every board binary (package and binary share the name).
const BOARDS: &[&str] = &["mps2-an386", "nucleo-f429zi"];
const THUMB: &str = "thumbv7em-none-eabihf";
/// Used when the workspace defines it; it is tuned for image size.
const FIRMWARE_PROFILE: &str = "firmware";

/// Command-line arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Measure the ELFs already built instead of building them first.
    #[arg(long)]
    no_build: bool,
    /// Print the table in Markdown (for the README).
    #[arg(long)]
    markdown: bool,
    /// Exit successfully even when a board fails to build or to be measured.
    #[arg(long)]
    keep_going: bool,
    /// Cargo profile [default: `firmware` if the workspace defines it, else `release`].
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Also build each board bare (`--no-default-features`), with each of its
    /// features alone and with all of them, and print what each one costs.
    #[arg(long, conflicts_with = "no_build")]
    features_cost: bool,
    /// Also list the N largest symbols of each image (demangled, with their
    /// sizes) and the bytes of each crate (`cargo bloat` for the firmware).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Only this board (repeatable) [default: all].
    #[arg(long = "board", short = 'p', value_name = "NAME")]
    boards: Vec<String>,
    /// Passed on to `cargo build`, e.g. `-- --config 'profile.release.opt-level="z"'`.
    #[arg(last = true, value_name = "CARGO_ARGS")]
    cargo_args: Vec<String>,
}

/// Bytes an image takes, by kind of section.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sizes {
    /// Executable sections.
    code: u64,
    /// Read-only data, the vector table included.
    rodata: u64,
    /// Initialised writable data: in flash (its initial values) and in RAM.
    data: u64,
    /// Zeroed or uninitialised RAM (`.bss`, `.uninit`).
    bss: u64,
}

impl Sizes {
    fn flash(&self) -> u64 {
        self.code + self.rodata + self.data
    }

    fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let boards: Vec<&str> = if args.boards.is_empty() {
        BOARDS.to_vec()
    } else {
        for b in &args.boards {
            if !BOARDS.contains(&b.as_str()) {
                bail!("unknown board {b:?}; the boards are {}", BOARDS.join(", "));
            }
        }
        args.boards.iter().map(String::as_str).collect()
    };
    let profile = match &args.profile {
        Some(p) => p.clone(),
        None => default_profile()?,
    };

    let features = if args.features_cost { board_features(&boards)? } else { Vec::new() };

    let mut rows = Vec::new();
    let mut costs = Vec::new();
    for (i, board) in boards.iter().copied().enumerate() {
        if let Some((defaults, all)) = features.get(i) {
            // The default image is built last so that it is the ELF left in place.
            let mut variants = vec![Variant::Bare];
            variants.extend(all.iter().cloned().map(Variant::Only));
            variants.extend([Variant::All(all.clone()), Variant::Default(defaults.clone())]);
            for variant in variants {
                let result = measure_board(board, &profile, &variant, &args);
                report_failure(board, &variant, &result);
                if let Variant::Default(_) = variant {
                    // Same build as the plain table's row: measured once.
                    rows.push((board, result.as_ref().copied().map_err(Failure::again)));
                }
                costs.push(CostRow { board, variant, result });
            }
        } else {
            let result = measure_board(board, &profile, &Variant::Plain, &args);
            report_failure(board, &Variant::Plain, &result);
            rows.push((board, result));
        }
    }

    if let Some(n) = args.top {
        for board in boards.iter().copied() {
            let elf = elf_path(board, &profile);
            match std::fs::read(&elf).map_err(anyhow::Error::from).and_then(|image| symbols(&image)) {
                Ok(syms) => print!("{}", top_report(board, &syms, n)),
                Err(e) => eprintln!("xtask size: {board}: cannot list symbols of {}: {e:#}", elf.display()),
            }
        }
    }

    let table = if args.markdown { markdown(&rows) } else { plain(&rows) };
    print!("{table}");
    if !args.markdown {
        println!("profile: {profile}, target: {THUMB}");
    }
    if args.features_cost {
        println!();
        print!("{}", if args.markdown { cost_markdown(&costs) } else { cost_plain(&costs) });
    }

    let failed: Vec<&str> = boards
        .iter()
        .copied()
        .filter(|b| {
            rows.iter().any(|(board, r)| board == b && r.is_err())
                || costs.iter().any(|c| c.board == *b && c.result.is_err())
        })
        .collect();
    if !failed.is_empty() && !args.keep_going {
        bail!("no size for {} (see above; --keep-going to exit 0 anyway)", failed.join(", "));
    }
    Ok(())
}

/// Why a board has no size: shown in its row.
#[derive(Debug)]
enum Failure {
    Build(anyhow::Error),
    Read(anyhow::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Build(e) => write!(f, "build failed: {e:#}"),
            Failure::Read(e) => write!(f, "cannot measure: {e:#}"),
        }
    }
}

impl Failure {
    fn short(&self) -> &'static str {
        match self {
            Failure::Build(_) => "build failed",
            Failure::Read(_) => "no ELF / unreadable",
        }
    }

    /// The same failure for a second table (the error itself was reported once).
    fn again(&self) -> Failure {
        match self {
            Failure::Build(e) => Failure::Build(anyhow::anyhow!("{e:#}")),
            Failure::Read(e) => Failure::Read(anyhow::anyhow!("{e:#}")),
        }
    }
}

/// Which features an image is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Variant {
    /// Whatever the extra cargo arguments say (the plain table).
    Plain,
    /// The board's default features (named).
    Default(Vec<String>),
    /// `--no-default-features`: the TCP echo alone.
    Bare,
    /// One feature on top of the bare image.
    Only(String),
    /// Every feature (named).
    All(Vec<String>),
}

impl Variant {
    /// Arguments for `cargo build`.
    fn cargo_args(&self) -> Vec<String> {
        match self {
            Variant::Plain | Variant::Default(_) => Vec::new(),
            Variant::Bare => vec!["--no-default-features".into()],
            Variant::Only(f) => vec!["--no-default-features".into(), "--features".into(), f.clone()],
            Variant::All(_) => vec!["--all-features".into()],
        }
    }

    /// The row's name in the cost table.
    fn label(&self) -> String {
        match self {
            Variant::Plain => "as built".into(),
            Variant::Default(f) => format!("default ({})", list(f)),
            Variant::Bare => "bare (no features)".into(),
            Variant::Only(f) => format!("+ {f}"),
            Variant::All(f) => format!("+ all ({})", list(f)),
        }
    }
}

fn list(features: &[String]) -> String {
    if features.is_empty() {
        "none".into()
    } else {
        features.join(", ")
    }
}

fn report_failure(board: &str, variant: &Variant, result: &std::result::Result<Sizes, Failure>) {
    if let Err(e) = result {
        match variant {
            Variant::Plain => eprintln!("xtask size: {board}: {e:#}"),
            v => eprintln!("xtask size: {board}, {}: {e:#}", v.label()),
        }
    }
}

/// Each board's default features and all its features, in `boards` order,
/// from `cargo metadata`.
fn board_features(boards: &[&str]) -> Result<Vec<(Vec<String>, Vec<String>)>> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    boards.iter().map(|b| features_of(&meta, b)).collect()
}

/// `(default, all)` features of `package` in `cargo metadata` output.
fn features_of(meta: &serde_json::Value, package: &str) -> Result<(Vec<String>, Vec<String>)> {
    let packages = meta["packages"].as_array().context("cargo metadata: no packages")?;
    let pkg = packages
        .iter()
        .find(|p| p["name"] == package)
        .with_context(|| format!("cargo metadata does not list {package}"))?;
    let table =
        pkg["features"].as_object().with_context(|| format!("cargo metadata: {package} has no features table"))?;
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_owned)).collect()
    };
    let defaults = table.get("default").map(names).unwrap_or_default();
    let all = table.keys().filter(|k| *k != "default").cloned().collect();
    Ok((defaults, all))
}

fn measure_board(board: &str, profile: &str, variant: &Variant, args: &Args) -> std::result::Result<Sizes, Failure> {
    if !args.no_build {
        let mut c = cargo();
        c.args(["build", "-p", board, "--target", THUMB, "--profile", profile])
            .args(variant.cargo_args())
            .args(&args.cargo_args);
        sh(&mut c).map_err(Failure::Build)?;
    }
    let elf = elf_path(board, profile);
    let image = std::fs::read(&elf).with_context(|| format!("cannot read {}", elf.display())).map_err(Failure::Read)?;
    sizes(&image).with_context(|| elf.display().to_string()).map_err(Failure::Read)
}

/// `firmware` when the root Cargo.toml has `[profile.firmware]`, else `release`.
fn default_profile() -> Result<String> {
    let manifest = root().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let defined = text.lines().any(|l| l.trim() == format!("[profile.{FIRMWARE_PROFILE}]"));
    Ok(if defined { FIRMWARE_PROFILE } else { "release" }.to_owned())
}

/// Where cargo puts the board's ELF: CARGO_TARGET_DIR (relative to the
/// workspace) or target/, then the target triple and the profile's directory.
fn elf_path(board: &str, profile: &str) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .or_else(|| std::env::var_os("CARGO_BUILD_TARGET_DIR"))
        .map_or_else(|| root().join("target"), |d| root().join(d));
    let dir = match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    target_dir.join(THUMB).join(dir).join(board)
}

/// Adds up the allocated sections of an ELF image.
fn sizes(image: &[u8]) -> Result<Sizes> {
    let file = object::File::parse(image).context("not an object file")?;
    if file.format() != object::BinaryFormat::Elf {
        bail!("not an ELF file");
    }
    let mut sizes = Sizes::default();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags } = section.flags() else {
            bail!("section without ELF flags");
        };
        if sh_flags & u64::from(elf::SHF_ALLOC) == 0 {
            continue; // debug info, symbols, .defmt: never loaded
        }
        let size = section.size();
        let slot = if matches!(section.kind(), SectionKind::UninitializedData | SectionKind::UninitializedTls) {
            &mut sizes.bss // SHT_NOBITS: RAM only, nothing in the image
        } else if sh_flags & u64::from(elf::SHF_WRITE) != 0 {
            &mut sizes.data
        } else if sh_flags & u64::from(elf::SHF_EXECINSTR) != 0 {
            &mut sizes.code
        } else {
            &mut sizes.rodata
        };
        *slot += size;
    }
    Ok(sizes)
}

/// One symbol that takes flash: its demangled name and size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Symbol {
    name: String,
    size: u64,
}

/// The sized symbols of an ELF image that are in flash (code, constants,
/// `.data`'s load image), largest first.
fn symbols(image: &[u8]) -> Result<Vec<Symbol>> {
    use object::ObjectSymbol;
    let file = object::File::parse(image).context("not an object file")?;
    let mut flash = std::collections::HashSet::new();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags } = section.flags() else { continue };
        let nobits = matches!(section.kind(), SectionKind::UninitializedData | SectionKind::UninitializedTls);
        if sh_flags & u64::from(elf::SHF_ALLOC) != 0 && !nobits {
            flash.insert(section.index());
        }
    }
    let mut out: Vec<Symbol> = file
        .symbols()
        .filter(|s| s.size() > 0 && s.section_index().is_some_and(|i| flash.contains(&i)))
        .filter_map(|s| Some(Symbol { name: demangle(s.name().ok()?), size: s.size() }))
        .collect();
    out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// Demangles a legacy Rust symbol (`_ZN…E`, the default mangling) without its
/// hash, and approximately a v0 one (`_R…`, the precompiled `core` and
/// `compiler_builtins`): its path's identifiers joined by `::`, generic
/// arguments left out. Anything else (C symbols, local labels) is returned as is.
fn demangle(raw: &str) -> String {
    if let Some(v0) = raw.strip_prefix("_R") {
        return demangle_v0(v0).unwrap_or_else(|| raw.to_owned());
    }
    let Some(mut rest) = raw.strip_prefix("_ZN") else { return raw.to_owned() };
    let mut parts: Vec<String> = Vec::new();
    while !rest.starts_with('E') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(len) = rest[..digits].parse::<usize>() else { return raw.to_owned() };
        let Some(ident) = rest.get(digits..digits + len) else { return raw.to_owned() };
        parts.push(ident.to_owned());
        rest = &rest[digits + len..];
        if rest.is_empty() {
            return raw.to_owned();
        }
    }
    let is_hash = |p: &str| p.len() == 17 && p.starts_with('h') && p[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if parts.last().is_some_and(|p| is_hash(p)) {
        parts.pop();
    }
    parts.iter().map(|p| unescape(p)).collect::<Vec<_>>().join("::")
}

/// The identifiers of a v0 symbol in order: `<len><ident>` runs, skipping
/// disambiguators and back-references (`s…_`, `B…_`) and one-letter tags.
fn demangle_v0(mut rest: &str) -> Option<String> {
    let mut parts = Vec::new();
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let len: usize = rest[..digits].parse().ok()?;
            let mut start = digits;
            if rest[start..].starts_with('_') {
                start += 1; // separates a length from an identifier starting with a digit or `_`
            }
            parts.push(rest.get(start..start + len)?.to_owned());
            rest = &rest[start + len..];
        } else if (c == 's' || c == 'B')
            && rest[1..].bytes().take_while(u8::is_ascii_alphanumeric).count() < rest.len() - 1
            && rest[1..].trim_start_matches(|ch: char| ch.is_ascii_alphanumeric()).starts_with('_')
        {
            let skip = 1 + rest[1..].bytes().take_while(u8::is_ascii_alphanumeric).count() + 1;
            rest = &rest[skip..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    (!parts.is_empty()).then(|| parts.join("::"))
}

/// `_$LT$impl$u20$Foo$GT$` -> `<impl Foo>`, `..` -> `::`.
fn unescape(ident: &str) -> String {
    let ident = if ident.starts_with("_$") { &ident[1..] } else { ident };
    let mut out = String::new();
    let mut rest = ident;
    while let Some(c) = rest.chars().next() {
        if c == '$' {
            if let Some(end) = rest[1..].find('$') {
                let code = &rest[1..1 + end];
                let decoded = match code {
                    "SP" => Some('@'),
                    "BP" => Some('*'),
                    "RF" => Some('&'),
                    "LT" => Some('<'),
                    "GT" => Some('>'),
                    "LP" => Some('('),
                    "RP" => Some(')'),
                    "C" => Some(','),
                    _ => code.strip_prefix('u').and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32),
                };
                if let Some(d) = decoded {
                    out.push(d);
                    rest = &rest[end + 2..];
                    continue;
                }
            }
        } else if let Some(r) = rest.strip_prefix("..") {
            out.push_str("::");
            rest = r;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The crate a demangled symbol belongs to: the first path segment of the
/// name, or of the type in `<Type as Trait>::f` / `<Type>::f` (so a trait
/// impl counts for the type's crate). `core::fmt` is its own group (the
/// formatting machinery a `Display`/`Debug` pulls in); C and assembler
/// symbols are grouped by their prefix where it names a crate.
fn crate_of(name: &str) -> String {
    fn strip(mut n: &str) -> &str {
        n = n.trim_start_matches(['<', '&', '*']);
        for prefix in ["mut ", "const ", "dyn "] {
            n = n.strip_prefix(prefix).unwrap_or(n);
        }
        n.trim_start_matches(['<', '&', '*'])
    }
    let mut n = strip(name);
    // `<T as Trait>::f` with a generic `T`: the trait's crate.
    if let Some((ty, tr)) = n.split_once(" as ") {
        if !ty.contains("::") {
            n = strip(tr);
        }
    }
    if let Some(first) = n.split("::").next().filter(|_| n.contains("::")) {
        let first = first.split(['<', ' ', '>']).next().unwrap_or(first);
        if first == "core" && n.starts_with("core::fmt") {
            return "core::fmt".into();
        }
        if first.starts_with("impl ") || first.is_empty() {
            return "[other]".into();
        }
        return first.to_owned();
    }
    if name.starts_with("_defmt") || name.starts_with("__defmt") {
        "defmt".into()
    } else if name.starts_with(".L") {
        "[anonymous constants]".into()
    } else if ["memcpy", "memmove", "memset", "memcmp", "__aeabi", "__udiv", "__divi"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        "compiler_builtins".into()
    } else {
        "[unmangled]".into()
    }
}

/// Bytes per crate, largest first.
fn by_crate(symbols: &[Symbol]) -> Vec<(String, u64, usize)> {
    let mut groups: std::collections::BTreeMap<String, (u64, usize)> = Default::default();
    for s in symbols {
        let g = groups.entry(crate_of(&s.name)).or_default();
        g.0 += s.size;
        g.1 += 1;
    }
    let mut out: Vec<(String, u64, usize)> = groups.into_iter().map(|(k, (b, n))| (k, b, n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn top_report(board: &str, symbols: &[Symbol], n: usize) -> String {
    let total: u64 = symbols.iter().map(|s| s.size).sum();
    let mut out = format!("{board}: {} in {} sized symbols; the {n} largest:\n", human(total), symbols.len());
    let mut lines = vec![vec!["bytes".to_owned(), "symbol".to_owned()]];
    lines.extend(symbols.iter().take(n).map(|s| vec![s.size.to_string(), s.name.clone()]));
    out.push_str(&crate::table::aligned(&lines, 2));
    out.push_str(&format!("{board}: by crate:\n"));
    let mut lines = vec![vec!["bytes".to_owned(), "share".to_owned(), "symbols".to_owned(), "crate".to_owned()]];
    for (name, bytes, count) in by_crate(symbols) {
        let share = if total == 0 { 0.0 } else { bytes as f64 * 100.0 / total as f64 };
        lines.push(vec![bytes.to_string(), format!("{share:.1}%"), count.to_string(), name]);
    }
    out.push_str(&crate::table::aligned(&lines, 2));
    out.push('\n');
    out
}

/// `42 328 B (41.3 KiB)`.
fn human(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{grouped} B ({:.1} KiB)", bytes as f64 / 1024.0)
}

const HEADER: [&str; 7] =
    ["board", "flash (text+rodata+data)", "static RAM (data+bss)", "code", "rodata", "data", "bss"];

fn cells(sizes: &Sizes) -> [String; 6] {
    [
        human(sizes.flash()),
        human(sizes.ram()),
        sizes.code.to_string(),
        sizes.rodata.to_string(),
        sizes.data.to_string(),
        sizes.bss.to_string(),
    ]
}

type Row<'a> = (&'a str, std::result::Result<Sizes, Failure>);

fn plain(rows: &[Row<'_>]) -> String {
    let mut lines: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for (board, result) in rows {
        let mut line = vec![board.to_string()];
        match result {
            Ok(s) => line.extend(cells(s)),
            Err(f) => line.push(f.short().to_owned()),
        }
        lines.push(line);
    }
    crate::table::aligned(&lines, 1)
}

fn markdown(rows: &[Row<'_>]) -> String {
    let mut out = format!("| {} |\n|---|{}\n", HEADER.join(" | "), "---:|".repeat(HEADER.len() - 1));
    for (board, result) in rows {
        let rest = match result {
            Ok(s) => cells(s).to_vec(),
            Err(f) => {
                let mut v = vec![f.short().to_owned()];
                v.resize(HEADER.len() - 1, String::new());
                v
            }
        };
        out.push_str(&format!("| {board} | {} |\n", rest.join(" | ")));
    }
    out
}

/// One image of the cost table.
struct CostRow<'a> {
    board: &'a str,
    variant: Variant,
    result: std::result::Result<Sizes, Failure>,
}

const COST_HEADER: [&str; 6] = ["board", "features", "flash", "static RAM", "flash vs bare", "RAM vs bare"];

/// `+3 800 B (+3.7 KiB)`, `-12 B (-0.0 KiB)`, `+0 B`.
fn signed(delta: i64) -> String {
    if delta == 0 {
        return "+0 B".into();
    }
    let sign = if delta < 0 { '-' } else { '+' };
    let text = human(delta.unsigned_abs());
    // "3 800 B (3.7 KiB)" -> "+3 800 B (+3.7 KiB)"
    format!("{sign}{}", text.replacen('(', &format!("({sign}"), 1))
}

/// The number cells of each cost row; deltas against the same board's bare image.
fn cost_cells(rows: &[CostRow<'_>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            let mut line = vec![row.board.to_owned(), row.variant.label()];
            match &row.result {
                Ok(s) => {
                    line.extend([human(s.flash()), human(s.ram())]);
                    let bare = rows
                        .iter()
                        .find(|r| r.board == row.board && r.variant == Variant::Bare)
                        .and_then(|r| r.result.as_ref().ok());
                    match bare {
                        Some(_) if row.variant == Variant::Bare => line.extend(["-".into(), "-".into()]),
                        Some(b) => line.extend([
                            signed(s.flash() as i64 - b.flash() as i64),
                            signed(s.ram() as i64 - b.ram() as i64),
                        ]),
                        None => line.extend(["?".into(), "?".into()]),
                    }
                }
                Err(f) => {
                    line.push(f.short().to_owned());
                    line.resize(COST_HEADER.len(), String::new());
                }
            }
            line
        })
        .collect()
}

fn cost_plain(rows: &[CostRow<'_>]) -> String {
    let mut lines = vec![COST_HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    lines.extend(cost_cells(rows));
    let mut out = String::from("Cost of each feature on top of the bare image (--no-default-features):\n");
    out.push_str(&crate::table::aligned(&lines, 2));
    out
}

fn cost_markdown(rows: &[CostRow<'_>]) -> String {
    let mut out = format!("| {} |\n|---|---|{}\n", COST_HEADER.join(" | "), "---:|".repeat(COST_HEADER.len() - 2));
    for line in cost_cells(rows) {
        out.push_str(&format!("| {} |\n", line.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn human_groups_thousands() {
        assert_eq!(human(0), "0 B (0.0 KiB)");
        assert_eq!(human(999), "999 B (1.0 KiB)");
        assert_eq!(human(42328), "42 328 B (41.3 KiB)");
        assert_eq!(human(1_048_576), "1 048 576 B (1024.0 KiB)");
    }

    #[test]
    fn flash_and_ram_share_data() {
        let s = Sizes { code: 100, rodata: 20, data: 8, bss: 1000 };
        assert_eq!((s.flash(), s.ram()), (128, 1008));
    }

    #[test]
    fn elf_paths_follow_cargo_profile_dirs() {
        let p = elf_path("nucleo-f429zi", "dev");
        assert!(p.ends_with(Path::new(THUMB).join("debug").join("nucleo-f429zi")));
        let p = elf_path("nucleo-f429zi", "firmware");
        assert!(p.ends_with(Path::new(THUMB).join("firmware").join("nucleo-f429zi")));
    }

    #[test]
    fn non_elf_is_an_error() {
        assert!(sizes(b"not an elf at all").is_err());
    }

    /// The ELF of the running test binary (host ELF on Linux) has the usual
    /// sections: code, read-only data, and writable data or bss.
    #[cfg(target_os = "linux")]
    #[test]
    fn measures_a_real_elf() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let s = sizes(&exe).unwrap();
        assert!(s.code > 0 && s.rodata > 0 && s.ram() > 0, "{s:?}");
    }

    #[test]
    fn failed_board_rows_say_why() {
        let rows: Vec<Row<'_>> = vec![
            ("a", Err(Failure::Build(anyhow::anyhow!("x")))),
            ("b", Ok(Sizes { code: 1, rodata: 2, data: 3, bss: 4 })),
        ];
        let text = plain(&rows);
        let words: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(words, ["a", "build", "failed"], "{text}");
        let md = markdown(&rows);
        assert!(md.contains("| a | build failed |  |  |  |  |  |"), "{md}");
        assert!(md.contains("| b | 6 B (0.0 KiB) | 7 B (0.0 KiB) | 1 | 2 | 3 | 4 |"), "{md}");
    }

    #[test]
    fn legacy_symbols_are_demangled_without_their_hash() {
        assert_eq!(
            demangle("_ZN7smoltcp6socket3tcp6Socket10send_slice17h127fe135538d152dE"),
            "smoltcp::socket::tcp::Socket::send_slice"
        );
        assert_eq!(
            demangle("_ZN76_$LT$echo_core..guard..GuardTx$LT$T$GT$$u20$as$u20$smoltcp..phy..TxToken$GT$7consume17h72ed9464e7d9f01eE"),
            "<echo_core::guard::GuardTx<T> as smoltcp::phy::TxToken>::consume"
        );
        assert_eq!(demangle("_RNvNtCs7NhdfSRABLd_17compiler_builtins3mem7memmove"), "compiler_builtins::mem::memmove");
        assert_eq!(demangle("_RNvMsa_NtCs7ldSeZOOJos_4core3fmtNtB5_9Formatter3pad"), "core::fmt::Formatter::pad");
        assert_eq!(demangle("memcpy"), "memcpy");
        assert_eq!(demangle("_ZN3foo"), "_ZN3foo", "truncated names stay as they are");
    }

    #[test]
    fn symbols_are_grouped_by_crate() {
        let cases = [
            ("smoltcp::socket::tcp::Socket::send_slice", "smoltcp"),
            ("<echo_core::guard::GuardTx<T> as smoltcp::phy::TxToken>::consume", "echo_core"),
            ("<core::fmt::Formatter>::pad_integral", "core::fmt"),
            ("core::fmt::write", "core::fmt"),
            ("core::panicking::panic_fmt", "core"),
            ("<&T as core::fmt::Debug>::fmt", "core::fmt"),
            ("<&mut stm32_eth::dma::RxRing as core::fmt::Debug>::fmt", "stm32_eth"),
            ("compiler_builtins::mem::memcpy", "compiler_builtins"),
            ("memcpy", "compiler_builtins"),
            ("__aeabi_memcpy", "compiler_builtins"),
            ("_defmt_write", "defmt"),
            ("defmt::export::fmt", "defmt"),
            (".Lanon.658218be.20", "[anonymous constants]"),
            ("__INTERRUPTS", "[unmangled]"),
        ];
        for (name, krate) in cases {
            assert_eq!(crate_of(name), krate, "{name}");
        }
        let s = |name: &str, size| Symbol { name: name.into(), size };
        let syms = [s("smoltcp::a", 10), s("echo_core::b", 30), s("smoltcp::c", 25), s("memcpy", 1)];
        assert_eq!(
            by_crate(&syms),
            [("smoltcp".into(), 35, 2), ("echo_core".into(), 30, 1), ("compiler_builtins".into(), 1, 1)]
        );
        let mut sorted = syms.to_vec();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.size)); // as symbols() returns them
        let report = top_report("board", &sorted, 2);
        assert!(report.contains("66 B (0.1 KiB) in 4 sized symbols"), "{report}");
        let listed: Vec<Vec<&str>> = report.lines().skip(2).take(2).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(listed, [["30", "echo_core::b"], ["25", "smoltcp::c"]], "{report}");
    }

    #[test]
    fn deltas_are_signed() {
        assert_eq!(signed(0), "+0 B");
        assert_eq!(signed(3800), "+3 800 B (+3.7 KiB)");
        assert_eq!(signed(-1024), "-1 024 B (-1.0 KiB)");
    }

    #[test]
    fn variants_build_with_the_right_features() {
        assert!(Variant::Default(vec!["udp".into()]).cargo_args().is_empty());
        assert_eq!(Variant::Bare.cargo_args(), ["--no-default-features"]);
        assert_eq!(Variant::Only("udp".into()).cargo_args(), ["--no-default-features", "--features", "udp"]);
        assert_eq!(Variant::All(vec![]).cargo_args(), ["--all-features"]);
    }

    #[test]
    fn features_come_from_cargo_metadata() {
        let meta = serde_json::json!({"packages": [
            {"name": "other", "features": {}},
            {"name": "board", "features": {"default": ["udp"], "ipv6": ["echo-core/ipv6"], "udp": []}},
        ]});
        let (defaults, all) = features_of(&meta, "board").unwrap();
        assert_eq!(defaults, ["udp"]);
        assert_eq!(all, ["ipv6", "udp"]);
        assert!(features_of(&meta, "missing").is_err());
    }

    #[test]
    fn costs_are_against_the_same_boards_bare_image() {
        let s = |code| Ok(Sizes { code, rodata: 0, data: 0, bss: 10 });
        let rows = vec![
            CostRow { board: "a", variant: Variant::Bare, result: s(1000) },
            CostRow { board: "a", variant: Variant::Only("udp".into()), result: s(1500) },
            CostRow { board: "b", variant: Variant::Bare, result: s(100) },
            CostRow {
                board: "b",
                variant: Variant::Only("udp".into()),
                result: Err(Failure::Build(anyhow::anyhow!("x"))),
            },
            CostRow { board: "b", variant: Variant::All(vec!["udp".into()]), result: s(90) },
        ];
        let cells = cost_cells(&rows);
        assert_eq!(cells[0][4..], ["-", "-"]);
        assert_eq!(cells[1][1..], ["+ udp", "1 500 B (1.5 KiB)", "10 B (0.0 KiB)", "+500 B (+0.5 KiB)", "+0 B"]);
        assert_eq!(cells[3][1..3], ["+ udp", "build failed"]);
        assert_eq!(cells[4][4], "-10 B (-0.0 KiB)");
        let md = cost_markdown(&rows);
        assert!(md.contains("| a | + udp | 1 500 B (1.5 KiB) | 10 B (0.0 KiB) | +500 B (+0.5 KiB) | +0 B |"), "{md}");
        assert_eq!(cost_plain(&rows).lines().count(), 1 + 1 + rows.len());
    }
}
