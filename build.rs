//! Build script: link the binaries with packed relative relocations on
//! Linux/glibc.
//!
//! Why: a one-shot `trialsearch query` spent ~15% of its time in the dynamic
//! loader applying relative relocations (`_dl_relocate_object`) of this
//! position-independent executable. `-z pack-relative-relocs` (DT_RELR,
//! binutils 2.38+, glibc 2.36+) packs them so the loader applies them in a
//! fraction of the time. Older GNU ld ignores the unknown `-z` option with a
//! warning; other platforms are left alone.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
