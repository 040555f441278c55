//! Build script: compile the vocabulary's keys, and link the binaries with
//! packed relative relocations on Linux/glibc.
//!
//! Vocabulary keys. `data/synonyms.txt` is matched against queries by
//! analyzed key ("Mesenchymal Stem Cells" → "mesenchym stem cell"). Analyzing
//! its ~360 wordings at the first query of every process was a quarter of
//! a one-shot query's instructions, so the keys are computed here, with the
//! crate's own analysis module (`src/index/analysis.rs`, included as is, so
//! build-time and query-time keys cannot differ), and written to
//! `$OUT_DIR/vocab_keys.rs` as a sorted table.
//!
//! Relocations: a one-shot `trialsearch query` spent ~15% of its time in the
//! dynamic loader applying relative relocations (`_dl_relocate_object`) of
//! this position-independent executable. `-z pack-relative-relocs` (DT_RELR,
//! binutils 2.38+, glibc 2.36+) packs them so the loader applies them in a
//! fraction of the time. Older GNU ld ignores the unknown `-z` option with a
//! warning; other platforms are left alone. (Linking without PIE would save
//! ~140 more page faults a query, ~3%, at the price of ASLR: not taken.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The shape of tantivy's token, for the analysis module.
#[allow(dead_code)]
pub struct Token {
    pub offset_from: usize,
    pub offset_to: usize,
    pub position: usize,
    pub text: String,
    pub position_length: usize,
}

#[allow(dead_code)]
#[path = "src/index/analysis.rs"]
mod analysis;

/// The wordings of a vocabulary in the `data/synonyms.txt` format: groups
/// `a | b | c` and one-way rules `a => b | c`, `#` comments.
fn wordings(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in src.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (from, to) = match line.split_once("=>") {
            Some((f, t)) => (Some(f), t),
            None => (None, line),
        };
        out.extend(from.map(str::trim).filter(|t| !t.is_empty()));
        out.extend(to.split('|').map(str::trim).filter(|t| !t.is_empty()));
    }
    out
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=data/synonyms.txt");
    println!("cargo:rerun-if-changed=src/index/analysis.rs");

    let vocab = match std::fs::read_to_string("data/synonyms.txt") {
        Ok(v) => v,
        Err(e) => panic!("build.rs: cannot read data/synonyms.txt: {e}"),
    };
    let keys: BTreeMap<&str, String> = wordings(&vocab)
        .into_iter()
        .map(|w| (w, analysis::vocab_key(w)))
        .collect();
    let mut out = String::from(
        "/// Every wording of `data/synonyms.txt` and its key, sorted by wording.\n\
         pub static BUILTIN_KEYS: &[(&str, &str)] = &[\n",
    );
    for (w, k) in &keys {
        let _ = writeln!(out, "    ({w:?}, {k:?}),");
    }
    out.push_str("];\n");
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let path = std::path::Path::new(&dir).join("vocab_keys.rs");
    if let Err(e) = std::fs::write(&path, out) {
        panic!("build.rs: cannot write {}: {e}", path.display());
    }

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
