//! Build script: compile the vocabulary, and link the binaries with
//! packed relative relocations on Linux/glibc.
//!
//! Vocabulary. `data/synonyms.txt` is matched against queries by analyzed
//! key ("Mesenchymal Stem Cells" → "mesenchym stem cell"). Compiling its
//! ~360 wordings into a lookup at the first query of every process was a
//! fifth of a one-shot query's instructions, so it is compiled here, with
//! the crate's own compiler (`src/search/vocab.rs`) and analysis module
//! (`src/index/analysis.rs`), both included as is so build-time and
//! query-time keys cannot differ, and written to `$OUT_DIR/vocab.rs` as
//! static sorted tables.
//!
//! Relocations: a one-shot `trialsearch query` spent ~15% of its time in the
//! dynamic loader applying relative relocations (`_dl_relocate_object`) of
//! this position-independent executable. `-z pack-relative-relocs` (DT_RELR,
//! binutils 2.38+, glibc 2.36+) packs them so the loader applies them in a
//! fraction of the time. Older GNU ld ignores the unknown `-z` option with a
//! warning; other platforms are left alone. (Linking without PIE would save
//! ~140 more page faults a query, ~3%, at the price of ASLR: not taken.)

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

#[allow(dead_code)]
#[path = "src/search/vocab.rs"]
mod vocab;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=data/synonyms.txt");
    println!("cargo:rerun-if-changed=src/index/analysis.rs");
    println!("cargo:rerun-if-changed=src/search/vocab.rs");

    let src = match std::fs::read_to_string("data/synonyms.txt") {
        Ok(v) => v,
        Err(e) => panic!("build.rs: cannot read data/synonyms.txt: {e}"),
    };
    let compiled = vocab::compile(&src, &analysis::vocab_key);
    let mut out = String::from(
        "/// The keys of `data/synonyms.txt` with their expansions, sorted by key.\n\
         static BUILTIN_ENTRIES: &[(&str, &[Expansion])] = &[\n",
    );
    for (key, exps) in &compiled.entries {
        let _ = write!(out, "    ({key:?}, &[");
        for e in exps {
            let _ = write!(
                out,
                "Expansion {{ text: {:?}, key: {:?}, weight: {:?} }}, ",
                e.text, e.key, e.weight
            );
        }
        out.push_str("]),\n");
    }
    out.push_str("];\n/// Every multi-word key the vocabulary names, sorted.\n");
    out.push_str("static BUILTIN_PHRASES: &[&str] = &[\n");
    for p in &compiled.phrases {
        let _ = writeln!(out, "    {p:?},");
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// Longest key in tokens.\nconst BUILTIN_MAX_SPAN: usize = {};",
        compiled.max_span
    );
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let path = std::path::Path::new(&dir).join("vocab.rs");
    if let Err(e) = std::fs::write(&path, out) {
        panic!("build.rs: cannot write {}: {e}", path.display());
    }

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
