//! Train the zstd dictionary of the record cache (`data/records.dict`).
//!
//! Stage: a tool of the build stage, run by hand when the record's shape
//! changes. It reads the given files and folders with the indexer's own
//! readers, takes each record's cache JSON (exactly what `records.zst`
//! compresses, see `index::build::cache_json`) and trains a dictionary on
//! them. Before writing, it trains a second dictionary on every other record
//! only and prints how it compresses the records it did not see, against no
//! dictionary: the figure that matters for corpora the dictionary never met.
//!
//! ```text
//! cargo run --release --example traindict -- ../shared/data/ctgov-json \
//!     ../shared/data/ctgov-xml ../shared/data/ctgov-csv ../shared/data/seeds \
//!     --out data/records.dict
//! ```
//!
//! That is how `data/records.dict` was made, from the repository's root
//! (`/work/shared/data`: the 2,291 real records of the ClinicalTrials.gov
//! downloads and page dumps `tests/data` takes its slices from, see
//! `tests/data/ctgov/README.md`). Training is deterministic: the same files
//! named the same way (a record's JSON holds its source path) in the same
//! order give the same bytes.
//!
//! Why a dictionary: each record is its own zstd frame, so one record can be
//! read back alone, and a lone frame of a few KB has no history to match
//! against: level 1 packs a record only ~2x. The field names, status and
//! phase words and boilerplate of eligibility criteria recur in every
//! record, and a dictionary of them brings the same frames to ~3.5x.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::PathBuf;
use trialsearch::index::build::{cache_json, CACHE_LEVEL};

#[derive(Parser, Debug)]
#[command(about = "Train the record cache's zstd dictionary")]
struct Args {
    /// Files and folders of trial records.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the dictionary.
    #[arg(long)]
    out: PathBuf,
    /// Largest dictionary size in bytes.
    #[arg(long, default_value_t = 112_640)]
    max_size: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut files = Vec::new();
    for p in &args.paths {
        for e in walkdir::WalkDir::new(p).sort_by_file_name() {
            let e = e.with_context(|| format!("walking {}", p.display()))?;
            if e.file_type().is_file() {
                files.push(e.into_path());
            }
        }
    }
    let mut samples: Vec<Vec<u8>> = Vec::new();
    for f in &files {
        samples.extend(cache_json(f));
    }
    if samples.len() < 100 {
        bail!("only {} records found: too few to train on", samples.len());
    }
    let raw: usize = samples.iter().map(Vec::len).sum();
    eprintln!(
        "{} files, {} records, {} bytes of JSON",
        files.len(),
        samples.len(),
        raw
    );

    let (train, test): (Vec<_>, Vec<_>) = samples.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let train: Vec<&Vec<u8>> = train.into_iter().map(|(_, s)| s).collect();
    let test: Vec<&Vec<u8>> = test.into_iter().map(|(_, s)| s).collect();
    let half = zstd::dict::from_samples(&train, args.max_size).context("training on half")?;
    let packed = |dict: &[u8]| -> Result<usize> {
        let mut c = zstd::bulk::Compressor::with_dictionary(CACHE_LEVEL, dict)?;
        let mut n = 0;
        for s in &test {
            n += c.compress(s)?.len();
        }
        Ok(n)
    };
    let test_raw: usize = test.iter().map(|s| s.len()).sum();
    let plain = packed(&[])?;
    let with = packed(&half)?;
    eprintln!(
        "held-out half ({} records): level {CACHE_LEVEL} {:.2}x without a dictionary, {:.2}x with one trained on the other half",
        test.len(),
        test_raw as f64 / plain as f64,
        test_raw as f64 / with as f64
    );

    let dict = zstd::dict::from_samples(&samples, args.max_size).context("training")?;
    std::fs::write(&args.out, &dict).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), dict.len());
    Ok(())
}
