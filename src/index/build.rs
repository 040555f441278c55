//! Stage 4, build: walk the folders → read the files (in parallel) →
//! sanitize → spill records to disk → link → merge → write a new index
//! generation → swap it in.
//!
//! How it scales. Files are parsed on all cores with rayon, a bounded batch
//! of files at a time ([`BATCH_FILES`]), so the parsed corpus never sits in
//! memory: each record is written, as one zstd frame of JSON (with a shared
//! dictionary, [`RECORDS_DICT`]), to `records.zst` in
//! the new generation, and only its link keys (ids, title keys, sponsor key:
//! [`LinkKeys`], ~100 bytes) and its byte range stay in memory. Linking then
//! runs over the keys alone ([`merge::groups`]). Singletons — the vast
//! majority of a registry download — are read back from the spill file in id
//! order and go straight to the writer; only records of multi-record groups
//! are loaded together and merged ([`merge::merge_group`]). Peak memory is
//! therefore O(keys + largest batch + multi-record groups + writer budget),
//! not O(corpus); the result is identical to [`merge::merge`] over all
//! records in memory (tested).
//!
//! Streaming. Reading and writing in phases leaves a core idle at every
//! phase boundary, and the write phase read every record back (pread,
//! zstd, JSON) only to index it. A full build therefore bets that every
//! record is a trial of its own — true of a registry download, where each
//! NCT id comes once — and writes each record's document while the files
//! are still being read: the rayon worker that parsed a record parses its
//! cache JSON back (exactly what the read-back would give) and hands the
//! document to the one index writer, whose threads tokenize while the
//! other files are parsed. A [`LinkWatch`] sees each record's link keys as
//! it comes and loses the bet at the first record that could link to one
//! before it, or shares its id; after the reads, [`merge::groups`] must
//! also find only one-record groups. A lost bet costs the work written so
//! far: the writer is dropped uncommitted and the index written again from
//! the spill file as below, so the result never depends on the bet (tested
//! both ways). Memory stays bounded as in the phased build: the writer's
//! budget and queue (at most [`MOST_QUEUED`] documents), one batch of
//! parsed files, the keys, and the watch's
//! key hashes (~16 bytes a key, ~32 MB for 500,000 studies); it does not
//! grow with the corpus otherwise, so 500,000 studies (8 GB) stream like
//! 10,000. On M (10,000 API studies) the streaming build is ~5% faster than
//! the phased one of the same binary and peaks at ~130 MB instead of
//! ~235 MB (BENCHMARKS.md). Incremental builds (with a live record cache)
//! keep the phased path, which the in-place update needs.
//!
//! Incremental. The spill file doubles as a per-file record cache:
//! `manifest.jsonl.zst` lists every file with its size, mtime, blake3 hash, its
//! records' link keys, where its records are and what reading it reported.
//! A later build re-reads only files whose size or mtime changed and whose
//! hash differs. The records of the others stay where they are: record packs
//! are immutable, so the new generation hard-links the live one's packs
//! (`records.gen-NNNNNN.zst`) and its own `records.zst` holds only the
//! records it read (see `Cache` for when packs are copied together). When
//! nothing changed at all the live generation is kept ("index is up to
//! date"). `--full` ignores the cache.
//!
//! When few trials changed (under 10% of the index since it was last
//! written whole), the index itself is not written again either: the new
//! generation starts from the live one's segments and only the changed
//! trials' documents are replaced (`update.rs`, which says how the result
//! stays equal to a full build). On M (10,000 studies) a re-index after 1
//! or 10 changed files costs about 3% of a full build (BENCHMARKS.md). Each
//! generation stores its trials' ids by link group ([`IDS`]) and the fill
//! counts, which is what the next update needs of it.
//!
//! Order and determinism: files are visited in name order and each file's
//! records keep their order; the phased build adds documents in id order,
//! the streaming one as the files are read, and the segments are merged
//! into one (into groups of at most 120,000 documents for registry-sized
//! builds, whose single merge needed gigabytes), so two builds of the same
//! folder hold the same documents, statistics and answers. The order of
//! documents inside the index was never fixed (the writer's threads take
//! documents as they come: two builds of M by the same binary differ in
//! their doc store bytes); results are ordered by score, then id, and only
//! equal scores at the cut of a top-k can depend on it. An index updated in place has other segments and document
//! order but answers every query identically (scores included; ties are
//! broken by id). Every file that yields nothing is reported with one line
//! saying why.

use super::phrases::PhraseSet;
use super::schema::{self, build_schema, document_with_record, to_document, Fields};
use super::update;
use super::{analyzer, IndexDir, Meta, Skipped, CURRENT, LOCK, META};
use crate::error::{Error, Result};
use crate::merge::{self, merge_group, LinkKeys, LinkWatch};
use crate::normalize::sanitize;
use crate::sources::{read_file, read_source, FileReport, Item, Limits, SkipReason};
use crate::trial::{Format, Trial};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, UNIX_EPOCH};

/// Files parsed per batch. Bounds the parsed records held in memory at once
/// while giving every core plenty of files to work on.
pub const BATCH_FILES: usize = 256;
/// Documents converted per batch before they go to the writer.
const BATCH_DOCS: usize = 1024;
/// The spilled records inside a generation: one zstd frame per record (its
/// JSON), so one record can be read back alone and the cache costs a
/// fraction of the raw corpus.
pub const RECORDS: &str = "records.zst";
/// The per-file manifest inside a generation: JSON lines, zstd-compressed.
pub const MANIFEST: &str = "manifest.jsonl.zst";
/// The ids of every trial of a generation, by link group (see `GroupIds`):
/// zstd-compressed JSON.
pub const IDS: &str = "ids.json.zst";
/// zstd level of the cache: the fastest, since it is written on every build.
pub const CACHE_LEVEL: i32 = 1;
/// The zstd dictionary of the record cache, trained on real records by
/// `examples/traindict.rs`. A record is a frame of its own (so it can be
/// read back alone), and a lone frame of a few KB has little history to
/// match: level 1 packed a record ~2x. Field names, status and phase words
/// and the boilerplate of eligibility criteria recur in every record; with
/// them as a dictionary the same frames pack ~3.5x on real records the
/// dictionary never saw (BENCHMARKS.md), which leaves the index room for a
/// doc store that is faster to read.
static RECORDS_DICT: &[u8] = include_bytes!("../../data/records.dict");

/// Options of one build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Files and folders to index.
    pub paths: Vec<PathBuf>,
    /// Follow symbolic links (off: links are reported and skipped).
    pub follow_links: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Safety limits for the readers.
    pub limits: Limits,
    /// Memory budget of the index writer, in bytes (0: default).
    pub writer_memory: usize,
    /// Indexing threads of the writer (0: one per core, at most 4).
    pub writer_threads: usize,
    /// Ignore the previous generation's record cache: re-read every file.
    pub full: bool,
    /// Doc store compressor: "lz4" (default), "zstd" (level 3), "zstd:N",
    /// "none".
    pub docstore: String,
    /// Doc store block size in bytes (0: the default, [`DOCSTORE_BLOCK`]).
    pub docstore_block: usize,
    /// Print the time of each phase on stderr.
    pub timings: bool,
    /// Keep the writer's segments as they are (for measuring the merge).
    pub no_final_merge: bool,
    /// Never write documents while the files are read (see the module
    /// docs): read everything first, then write, as an incremental build
    /// does.
    pub no_stream: bool,
}

/// Default doc store block size, for the default compressor, lz4. A
/// one-shot query loads ~10 documents, each costing one block
/// decompression, and nothing is cached between processes, so the store's
/// format is a query cost: with zstd-3 and 16 KiB blocks, loading ten hits
/// was a quarter of a one-shot M query's instructions, and tantivy makes a
/// zstd context per block read (three `cpuid` traps to the hypervisor in a
/// VM, ~20 µs a block). lz4 needs no context and decompresses 32 KiB in a
/// few µs: "breast cancer" on M 14.7M → 13.3M instructions. Its index is
/// larger (store 27 → 37 MB on M); the record cache's zstd dictionary
/// ([`RECORDS_DICT`]) pays for that, keeping index and cache under half the
/// raw JSON (BENCHMARKS.md). 32 KiB rather than lz4's usual 16: 7% smaller
/// for ~0.8M more instructions a query.
pub const DOCSTORE_BLOCK: usize = 32 << 10;

impl BuildOptions {
    /// Apply the tuning knobs of the environment, for benchmarks:
    /// `TRIALSEARCH_WRITER_THREADS`, `TRIALSEARCH_WRITER_MB`,
    /// `TRIALSEARCH_DOCSTORE` (zstd, zstd:N, lz4, none),
    /// `TRIALSEARCH_DOCSTORE_BLOCK` (bytes), `TRIALSEARCH_NO_FINAL_MERGE=1` and
    /// `TRIALSEARCH_TIMINGS=1`, `TRIALSEARCH_NO_STREAM=1`.
    /// Unparsable values are ignored.
    pub fn tune_from_env(&mut self) {
        let var = |k: &str| std::env::var(k).ok();
        if let Some(n) = var("TRIALSEARCH_WRITER_THREADS").and_then(|v| v.parse().ok()) {
            self.writer_threads = n;
        }
        if let Some(n) = var("TRIALSEARCH_WRITER_MB").and_then(|v| v.parse::<usize>().ok()) {
            self.writer_memory = n << 20;
        }
        if let Some(v) = var("TRIALSEARCH_DOCSTORE") {
            self.docstore = v;
        }
        if let Some(n) = var("TRIALSEARCH_DOCSTORE_BLOCK").and_then(|v| v.parse().ok()) {
            self.docstore_block = n;
        }
        self.timings |= var("TRIALSEARCH_TIMINGS").is_some_and(|v| v == "1");
        self.no_final_merge |= var("TRIALSEARCH_NO_FINAL_MERGE").is_some_and(|v| v == "1");
        self.no_stream |= var("TRIALSEARCH_NO_STREAM").is_some_and(|v| v == "1");
    }

    /// The tantivy settings of a build with these options.
    pub(super) fn index_settings(&self) -> tantivy::IndexSettings {
        tantivy::IndexSettings {
            docstore_compression: self.compressor(),
            docstore_blocksize: if self.docstore_block > 0 {
                self.docstore_block
            } else {
                DOCSTORE_BLOCK
            },
            ..Default::default()
        }
    }

    fn compressor(&self) -> tantivy::store::Compressor {
        use tantivy::store::{Compressor, ZstdCompressor};
        match self.docstore.as_str() {
            "none" => Compressor::None,
            z if z.starts_with("zstd") => {
                let level = z
                    .strip_prefix("zstd:")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(3);
                Compressor::Zstd(ZstdCompressor {
                    compression_level: Some(level),
                })
            }
            _ => Compressor::Lz4,
        }
    }
}

/// One file of the corpus as last seen, for incremental rebuilds: how to
/// recognise it unchanged, and everything reading it gave except the
/// records themselves (which are in [`RECORDS`], in manifest order).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ManifestEntry {
    /// Path as displayed.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since 1970.
    pub mtime_ns: u128,
    /// blake3 of the content, hex ("" when the file could not be read).
    #[serde(default)]
    pub hash: String,
    /// The record pack holding its records, a file of the generation's
    /// directory: absent for [`RECORDS`], written by the generation's own
    /// build; else a pack of an earlier generation, linked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// Byte offset of its first record in the pack (absent in manifests of
    /// older builds, whose records follow each other in manifest order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Byte length of each record's frame in its pack.
    #[serde(default)]
    pub lens: Vec<u32>,
    /// Link keys of each record.
    #[serde(default)]
    pub keys: Vec<LinkKeys>,
    /// Records per format.
    #[serde(default)]
    pub formats: BTreeMap<String, usize>,
    /// Warnings reading it gave.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Skips (the file, or entries of an archive) reading it gave.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// What a build did, for the summary the CLI prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildSummary {
    /// The index directory.
    pub index: String,
    /// Files looked at.
    pub files_seen: usize,
    /// Files that gave at least one record.
    pub files_read: usize,
    /// Records per format.
    pub records: BTreeMap<String, usize>,
    /// Trials after merging.
    pub trials: usize,
    /// Skipped files and entries.
    pub skipped: Vec<Skipped>,
    /// Warnings printed.
    pub warnings: usize,
    /// Seconds taken.
    pub seconds: f64,
    /// Files actually read and parsed.
    pub files_parsed: usize,
    /// Files found unchanged, whose records came from the live index's cache.
    pub files_cached: usize,
    /// Nothing changed since the live generation was built; it was kept.
    pub up_to_date: bool,
    /// The live generation's segments were updated (copied, then the
    /// changed trials replaced) instead of the whole index being written.
    pub in_place: bool,
    /// Trials whose documents an in-place update removed.
    pub trials_removed: usize,
    /// Trials whose documents an in-place update added.
    pub trials_added: usize,
    /// The documents were written while the files were read (a full build
    /// whose records are all trials of their own; see the module docs).
    #[serde(skip)]
    pub streamed: bool,
}

/// A message the build wants shown on stderr.
pub enum Message<'a> {
    /// A file or entry skipped.
    Skip(&'a Skipped),
    /// A warning about part of a file.
    Warning(&'a str, &'a str),
}

/// A file found by the walk, or a path that could not be walked.
enum Found {
    File(PathBuf, String),
    Skip(Skipped),
}

/// A path as shown and stored. Control characters (a newline in a file
/// name) are escaped so that every message stays one line.
fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    if !s.chars().any(char::is_control) {
        return s.into_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A FIFO, socket or device is never opened (reading one could block
/// forever or never end); it is reported instead of silently ignored.
fn special_file(path: &Path) -> Found {
    Found::Skip(Skipped {
        path: display_path(path),
        reason: "not a regular file (a FIFO, socket or device); not read".into(),
    })
}

/// Walk the given paths in a stable order. Hidden entries (`.git`, `.DS_Store`)
/// and the index directory itself are not descended into.
fn walk(opts: &BuildOptions, index_root: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let index_abs = fs::canonicalize(index_root).ok();
    for root in &opts.paths {
        let md = fs::metadata(root).map_err(|e| Error::Input {
            path: root.clone(),
            reason: crate::sources::io_reason(&e),
        })?;
        if md.is_file() {
            out.push(Found::File(root.clone(), display_path(root)));
            continue;
        }
        if !md.is_dir() {
            out.push(special_file(root));
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(opts.follow_links)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
                let is_index = index_abs.as_ref().is_some_and(|ix| {
                    e.file_type().is_dir() && fs::canonicalize(e.path()).ok().as_ref() == Some(ix)
                });
                !hidden && !is_index
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    out.push(Found::File(e.path().to_path_buf(), display_path(e.path())));
                }
                Ok(e) if e.path_is_symlink() && !opts.follow_links => {
                    out.push(Found::Skip(Skipped {
                        path: display_path(e.path()),
                        reason: "symbolic link not followed (use --follow)".into(),
                    }))
                }
                Ok(e) if !e.file_type().is_dir() => out.push(special_file(e.path())),
                Ok(_) => {}
                Err(e) => {
                    let path = e
                        .path()
                        .map(display_path)
                        .unwrap_or_else(|| display_path(root));
                    let reason = if e.loop_ancestor().is_some() {
                        "symbolic link loop; not followed again".to_string()
                    } else if let Some(io) = e.io_error() {
                        crate::sources::io_reason(io)
                    } else {
                        e.to_string()
                    };
                    out.push(Found::Skip(Skipped { path, reason }));
                }
            }
        }
    }
    Ok(out)
}

/// One file's records, read and parsed into memory.
struct ParsedFile {
    trials: Vec<Trial>,
    warnings: Vec<String>,
    skipped: Vec<Skipped>,
}

fn file_stat(path: &Path) -> Option<(u64, u128)> {
    let m = fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some((m.len(), mtime))
}

/// blake3 of a file's content, hex ("" when it cannot be read). Read
/// through a buffer kept per thread: `Hasher::update_reader` zeroes a fresh
/// 64 KiB buffer for every file, 1.2% of an M build's instructions.
fn hash_file(path: &Path) -> String {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut h = blake3::Hasher::new();
    let read = BUF.with(|buf| -> std::io::Result<()> {
        let mut buf = buf.borrow_mut();
        if buf.is_empty() {
            buf.resize(64 << 10, 0);
        }
        let mut f = File::open(path)?;
        loop {
            match f.read(&mut buf[..]) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    h.update(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    });
    match read {
        Ok(()) => h.finalize().to_hex().to_string(),
        Err(_) => String::new(),
    }
}

fn read_one(path: &Path, display: &str, limits: &Limits) -> ParsedFile {
    read_with(display, |emit| read_file(path, display, limits, emit))
}

/// Files up to this size are read into memory once, for both their hash
/// and their records: hashing a file and then parsing it read it twice
/// (two rounds of `read` system calls and copies, ~2.5% of an M build's
/// CPU). Larger files are hashed and parsed as two streams, so that one
/// huge download never sits in memory whole.
const READ_WHOLE_MAX: u64 = 8 << 20;

/// A file's hash and records, reading it once when it is small enough
/// ([`READ_WHOLE_MAX`]). `size` is its size from `stat`; `hash` is known
/// when the cache already hashed it.
fn hash_and_read(
    path: &Path,
    display: &str,
    limits: &Limits,
    size: Option<u64>,
    hash: Option<String>,
) -> (String, ParsedFile) {
    let whole = match size {
        Some(n) if n <= READ_WHOLE_MAX => fs::read(path).ok(),
        _ => None,
    };
    match whole {
        Some(bytes) => {
            let hash = hash.unwrap_or_else(|| blake3::hash(&bytes).to_hex().to_string());
            let p = read_with(display, |emit| {
                read_source(std::io::Cursor::new(&bytes[..]), display, limits, emit)
            });
            (hash, p)
        }
        // Unreadable now: the streams say why, as they always did.
        None => (
            hash.unwrap_or_else(|| hash_file(path)),
            read_one(path, display, limits),
        ),
    }
}

/// Run one file's reader, sanitizing and finalizing its records, and turn
/// what it reports (or a panic) into the file's records, warnings and skips.
fn read_with(
    display: &str,
    read: impl FnOnce(&mut dyn FnMut(Item)) -> std::result::Result<FileReport, SkipReason>,
) -> ParsedFile {
    let mut trials = Vec::new();
    let mut warnings = Vec::new();
    let mut skipped = Vec::new();
    // A parser bug must cost one file, never the whole build.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read(&mut |item| match item {
            Item::Trial(mut t) => {
                for w in sanitize(&mut t) {
                    warnings.push(w);
                }
                t.finalize();
                trials.push(*t);
            }
            Item::Warning(w) => warnings.push(w),
        })
    }));
    match outcome {
        Ok(Ok(report)) => {
            for (entry, reason) in report.skipped_entries {
                skipped.push(Skipped {
                    path: format!("{display}!{entry}"),
                    reason: reason.to_string(),
                });
            }
            if trials.is_empty() && skipped.is_empty() {
                skipped.push(Skipped {
                    path: display.to_string(),
                    reason: "no trial records found in it".into(),
                });
            }
        }
        Ok(Err(reason)) => {
            // One line per bad file: the skip reason says why; warnings about
            // its parts ("record 1: not a study object") would only repeat it.
            warnings.clear();
            skipped.push(Skipped {
                path: display.to_string(),
                reason: reason.to_string(),
            })
        }
        Err(_) => skipped.push(Skipped {
            path: display.to_string(),
            reason: "internal error while reading (please report this file)".into(),
        }),
    }
    ParsedFile {
        trials,
        warnings,
        skipped,
    }
}

/// A file's contribution to the new generation: its manifest entry and its
/// records' frames, concatenated (none when they stay in a linked pack).
struct FileOut {
    entry: ManifestEntry,
    lines: Vec<u8>,
    parsed: bool,
    /// The manifest line, when it could be written ahead (records left in
    /// a linked pack).
    json: Option<Vec<u8>>,
    /// Statistics of the records it wrote to a [`Stream`].
    streamed: WriteStats,
}

/// A generation's record pack, when linked into a later generation: the
/// generation's own [`RECORDS`] gets the generation's name, so that packs
/// of several generations can sit side by side.
fn linked_pack_name(gen: &Path, pack: &str) -> String {
    if pack != RECORDS {
        return pack.to_string();
    }
    let name = gen
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("records.{name}.zst")
}

/// Whether a file of a generation is a record pack, its own or linked.
fn is_pack(name: &str) -> bool {
    name == RECORDS || (name.starts_with("records.") && name.ends_with(".zst"))
}

/// Record packs a generation may have, its own included.
const MAX_PACKS: usize = 16;

/// Parse a file and serialize its records (runs on a rayon worker); with a
/// [`Stream`], also hand each record to its writer.
fn parse_file(
    path: &Path,
    display: &str,
    limits: &Limits,
    hash: Option<String>,
    stream: Option<&Stream>,
) -> FileOut {
    let stat = file_stat(path);
    let (hash, p) = hash_and_read(path, display, limits, stat.map(|s| s.0), hash);
    let mut entry = ManifestEntry {
        path: display.to_string(),
        size: stat.map(|s| s.0).unwrap_or(0),
        mtime_ns: stat.map(|s| s.1).unwrap_or(0),
        // No stat, no reuse: an unreadable file is read again next time.
        hash: if stat.is_some() { hash } else { String::new() },
        warnings: p.warnings,
        skipped: p.skipped,
        ..Default::default()
    };
    let mut lines = Vec::new();
    let mut streamed = WriteStats::default();
    for t in &p.trials {
        // Serializing a Trial cannot fail (no maps with non-string keys) and
        // compressing in memory neither; if either ever did, losing the
        // record beats a corrupt cache.
        let Some(json) = serde_json::to_string(t).ok() else {
            continue;
        };
        let Some(frame) = compress_frame(json.as_bytes()) else {
            continue;
        };
        let keys = LinkKeys::of(t);
        if let Some(s) = stream {
            s.offer(t, &keys, json, &mut streamed);
        }
        lines.extend_from_slice(&frame);
        entry.lens.push(frame.len() as u32);
        entry.keys.push(keys);
        for s in &t.sources {
            *entry
                .formats
                .entry(s.format.as_str().to_string())
                .or_default() += 1;
        }
    }
    FileOut {
        entry,
        lines,
        parsed: true,
        json: None,
        streamed,
    }
}

/// Compress one record's JSON into a cache frame, with this thread's zstd
/// context. A context is made once per thread, not per record: making one
/// costs ~20 µs on this machine (zstd probes the CPU with `cpuid`, which
/// traps to the hypervisor in a VM), as much as compressing a small record;
/// per record it was 3% of an M build's CPU, and fresh decompression
/// contexts for the read-back another 2% (perf). A reused context gives
/// the same bytes as a fresh one (`ZSTD_compress2` resets the session and
/// keeps the dictionary, and with it the level).
fn compress_frame(json: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static CCTX: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CCTX.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::with_prepared_dictionary(encoder_dict()).ok();
        }
        c.as_mut()?.compress(json).ok()
    })
}

/// [`RECORDS_DICT`] digested for compression, once per process (the
/// threads' contexts reference it).
fn encoder_dict() -> &'static zstd::dict::EncoderDictionary<'static> {
    static D: std::sync::OnceLock<zstd::dict::EncoderDictionary<'static>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| zstd::dict::EncoderDictionary::copy(RECORDS_DICT, CACHE_LEVEL))
}

/// [`RECORDS_DICT`] digested for decompression, once per process.
fn decoder_dict() -> &'static zstd::dict::DecoderDictionary<'static> {
    static D: std::sync::OnceLock<zstd::dict::DecoderDictionary<'static>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| zstd::dict::DecoderDictionary::copy(RECORDS_DICT))
}

/// Decode a frame whose size is not known up front, with the dictionary.
fn decode_stream(frame: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    zstd::stream::read::Decoder::with_prepared_dictionary(frame, decoder_dict())?
        .read_to_end(&mut out)?;
    Ok(out)
}

/// The JSON the record cache holds for each record of one file (what
/// [`compress_frame`] packs): the samples `examples/traindict.rs` trains
/// the cache's dictionary on. Files that yield nothing give nothing.
pub fn cache_json(path: &Path) -> Vec<Vec<u8>> {
    let display = path.display().to_string();
    read_one(path, &display, &Limits::default())
        .trials
        .iter()
        .filter_map(|t| serde_json::to_vec(t).ok())
        .collect()
}

/// Decompress one cache frame (see [`compress_frame`]) with this thread's
/// context. Frames record their size; one that does not, or claims more
/// than a record can be, is decoded by the streaming decoder instead, so a
/// damaged pack never makes a huge allocation.
fn decompress_frame(frame: &[u8]) -> std::io::Result<Vec<u8>> {
    const MOST: usize = 256 << 20;
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    match zstd::bulk::Decompressor::upper_bound(frame) {
        Some(size) if size <= MOST => DCTX.with(|d| {
            let mut d = d.borrow_mut();
            if d.is_none() {
                *d = Some(zstd::bulk::Decompressor::with_prepared_dictionary(
                    decoder_dict(),
                )?);
            }
            match d.as_mut() {
                Some(d) => d.decompress(frame, size),
                None => decode_stream(frame),
            }
        }),
        _ => decode_stream(frame),
    }
}

/// The index writer of a streaming build: documents are written while the
/// files are still read, on the bet that every record is a trial of its own
/// (see the module docs). Shared by the rayon workers that read.
struct Stream {
    index: tantivy::Index,
    writer: tantivy::IndexWriter<Queued>,
    fields: Fields,
    backlog: Arc<Backlog>,
    watch: Mutex<LinkWatch>,
    /// The bet holds: no record so far may link to another or shares its
    /// id, and every record offered was written.
    on: AtomicBool,
    added: AtomicUsize,
    abort: Option<usize>,
}

impl Stream {
    fn start(gen_dir: &Path, opts: &BuildOptions) -> Result<Stream> {
        let (index, writer, fields) = new_writer(gen_dir, opts)?;
        Ok(Stream {
            index,
            writer,
            fields,
            backlog: Arc::default(),
            watch: Mutex::new(LinkWatch::default()),
            on: AtomicBool::new(true),
            added: AtomicUsize::new(0),
            abort: abort_after(),
        })
    }

    /// Write one record as a trial of its own, unless the bet is lost (then
    /// nothing more is written). The document must be the one a read-back
    /// from the cache gives (`load` in [`build`]: the record's JSON parsed
    /// and finalized again). That is the record itself (`finalize` is
    /// idempotent and JSON gives back every string, list and enum) except
    /// for floats, which serde_json parses to the nearest value only
    /// approximately: a record whose ages do not come back exactly is
    /// parsed from its JSON as the read-back does.
    /// `json` is the record's JSON in the cache (`serde_json::to_string(t)`),
    /// which is also its stored record.
    fn offer(&self, t: &Trial, keys: &LinkKeys, json: String, stats: &mut WriteStats) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        let admitted = self.watch.lock().is_ok_and(|mut w| w.admit(keys));
        if !admitted {
            self.on.store(false, Ordering::Relaxed);
            return;
        }
        let reparsed;
        let (t, json) = if round_trips(t.min_age_years) && round_trips(t.max_age_years) {
            (t, json)
        } else {
            // The read-back's record is this JSON parsed, and its stored
            // record that record serialized again.
            let again = serde_json::from_str::<Trial>(&json).and_then(|mut again| {
                again.finalize();
                let json = serde_json::to_string(&again)?;
                Ok((again, json))
            });
            match again {
                Ok((again, json)) => {
                    reparsed = again;
                    (&reparsed, json)
                }
                Err(_) => {
                    self.on.store(false, Ordering::Relaxed);
                    return;
                }
            }
        };
        let d = document_with_record(&self.fields, t, json);
        if self.abort == Some(self.added.fetch_add(1, Ordering::SeqCst)) {
            std::process::abort();
        }
        self.backlog.enter();
        let d = Queued {
            doc: d,
            backlog: Arc::clone(&self.backlog),
        };
        if self.writer.add_document(d).is_err() {
            self.on.store(false, Ordering::Relaxed);
            return;
        }
        stats.add(t);
    }

    /// Once every file is read: whether the bet held (`singletons`: every
    /// link group has one record, and all `records` were written). If not,
    /// the caller drops the stream, its writer's segments never committed,
    /// and clears them.
    fn won(&self, records: usize, singletons: bool) -> bool {
        self.on.load(Ordering::SeqCst) && singletons && self.added.load(Ordering::SeqCst) == records
    }

    /// Commit and merge as [`write_index`] does, once the bet is won.
    fn finish(self, opts: &BuildOptions, phase: &dyn Fn(&str)) -> Result<()> {
        let Stream {
            index,
            writer,
            watch,
            ..
        } = self;
        // The watch's key hashes are not needed any more; the final merge
        // is the build's peak of memory.
        drop(watch);
        release_free_memory();
        phase("add documents");
        finish_writer(&index, writer, opts, phase)
    }
}

/// Most documents a streaming build lets wait for the writer's threads.
/// tantivy queues up to 10,000 documents ahead of them, and the readers,
/// which parse faster than the writer indexes, kept its queue filling for
/// the whole build: waiting documents (~25 KB each) were part of the
/// reads' peak memory, and how full the queue happened to be moved the full
/// L's peak by ~60 MB between runs (with the bound: 949 MB against 1,042 MB,
/// BENCHMARKS.md). A thousand documents are
/// about half a second of the writer's work, enough to keep its threads
/// fed while one of them writes a finished segment.
const MOST_QUEUED: usize = 1_000;

/// A reader waiting for room goes on once the queue is down to this many.
/// Woken for every document taken up, readers slept and woke once a
/// document (twice the context switches of a build without the bound).
const ROOM_AT: usize = MOST_QUEUED / 2;

/// How many documents wait in the writer's queue ([`MOST_QUEUED`]): a
/// reader enters before it adds a document, which leaves once indexed
/// ([`Queued`]). A document being indexed still counts, so the count runs
/// one a writer thread above the documents actually waiting.
#[derive(Default)]
struct Backlog {
    queued: Mutex<usize>,
    room: std::sync::Condvar,
}

impl Backlog {
    /// Wait for room in the queue, then take a place. Waits are bounded:
    /// if the writer's threads ever stopped taking documents, a reader
    /// goes on after two seconds and the writer reports its error to
    /// `add_document`, instead of every reader waiting for ever.
    fn enter(&self) {
        let mut n = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= MOST_QUEUED {
            let (g, waited) = self
                .room
                .wait_timeout(n, std::time::Duration::from_secs(2))
                .unwrap_or_else(|e| e.into_inner());
            n = g;
            if waited.timed_out() {
                break;
            }
        }
        *n += 1;
    }

    fn leave(&self) {
        let mut n = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        if *n == ROOM_AT {
            self.room.notify_all();
        }
    }
}

/// A document in the writer's queue: it leaves the [`Backlog`] when tantivy
/// drops it, once an indexing thread has indexed it (or, unindexed, with
/// the writer).
struct Queued {
    doc: tantivy::TantivyDocument,
    backlog: Arc<Backlog>,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.backlog.leave();
    }
}

impl tantivy::schema::document::Document for Queued {
    type Value<'a> = <tantivy::TantivyDocument as tantivy::schema::document::Document>::Value<'a>;
    type FieldsValuesIter<'a> =
        <tantivy::TantivyDocument as tantivy::schema::document::Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }

    fn into_tantivy_document(mut self) -> tantivy::TantivyDocument {
        std::mem::take(&mut self.doc)
    }
}

/// Whether a float comes back from its JSON as itself.
fn round_trips(v: Option<f64>) -> bool {
    v.is_none_or(|x| {
        serde_json::to_string(&x)
            .ok()
            .and_then(|s| serde_json::from_str::<f64>(&s).ok())
            .is_some_and(|y| y.to_bits() == x.to_bits())
    })
}

/// What an in-place update needs of the live generation after the reads.
struct Previous {
    gen: PathBuf,
    /// Its records' link keys, in manifest order.
    keys: Vec<LinkKeys>,
    meta: Meta,
}

/// The live generation's record cache, for incremental builds.
///
/// Records are not copied from one generation to the next while that can
/// be helped: record packs are immutable once written, so the new
/// generation hard-links the live one's packs and writes only the records
/// of the files it read into a pack of its own. So that packs do not pile
/// up, only the [`MAX_PACKS`]` - 1` largest are linked, and only while at
/// least three quarters of them are live records; the live records of the
/// others (each update's small pack, in turn) are copied into the new pack.
struct Cache {
    /// The live generation's directory.
    gen: PathBuf,
    /// Pack name (in the live generation) → the open file.
    packs: HashMap<String, File>,
    /// The packs to link (the records of the others are copied).
    linked: std::collections::HashSet<String>,
    /// The manifest's entries in order, each with its pack and offset
    /// filled in, and the index of its first record among all the
    /// generation's records.
    entries: Vec<(ManifestEntry, usize)>,
    /// path → index in `entries`.
    by_path: HashMap<String, usize>,
    meta: Meta,
}

impl Cache {
    fn open(gen: &Path, build_key: &str) -> Option<Cache> {
        let meta = read_meta_file(gen)?;
        if meta.build_key != build_key || meta.schema_version != schema::SCHEMA_VERSION {
            return None;
        }
        let mut text = String::new();
        zstd::Decoder::new(File::open(gen.join(MANIFEST)).ok()?)
            .ok()?
            .read_to_string(&mut text)
            .ok()?;
        // Parsing is most of an update's fixed cost on a big corpus: on all
        // cores.
        let parsed: Vec<Option<ManifestEntry>> = text
            .par_lines()
            .map(|l| serde_json::from_str(l).ok())
            .collect();
        drop(text);
        let mut entries = Vec::with_capacity(parsed.len());
        let mut by_path = HashMap::with_capacity(parsed.len());
        let mut packs: HashMap<String, File> = HashMap::new();
        let mut pack_len: HashMap<String, u64> = HashMap::new();
        // Bytes of live records per pack.
        let mut used: HashMap<String, u64> = HashMap::new();
        let mut own_off = 0u64;
        let mut first = 0usize;
        for e in parsed {
            let mut e = e?;
            let bytes: u64 = e.lens.iter().map(|&l| l as u64).sum();
            let pack = e.pack.clone().unwrap_or_else(|| RECORDS.to_string());
            if e.offset.is_none() {
                e.offset = Some(own_off);
                own_off = own_off.checked_add(bytes)?;
            }
            if !packs.contains_key(&pack) {
                // A pack is a plain file of the generation named like one:
                // it is hard-linked into the next generation, which must
                // never write through a link to another of the live files.
                if !is_pack(&pack) || pack.contains(['/', '\\']) || pack.contains("..") {
                    return None;
                }
                let f = File::open(gen.join(&pack)).ok()?;
                pack_len.insert(pack.clone(), f.metadata().ok()?.len());
                packs.insert(pack.clone(), f);
            }
            // Records said to lie past the end of their pack: a damaged
            // manifest, not to be trusted at all.
            if e.offset?.checked_add(bytes)? > *pack_len.get(&pack)? || e.lens.len() != e.keys.len()
            {
                return None;
            }
            *used.entry(pack.clone()).or_default() += bytes;
            e.pack = Some(pack);
            let n = e.keys.len();
            by_path.insert(e.path.clone(), entries.len());
            entries.push((e, first));
            first += n;
        }
        let mut sizes: Vec<(u64, String)> = pack_len
            .iter()
            .filter_map(|(name, &size)| {
                let live = used.get(name).copied().unwrap_or(0);
                (live.saturating_mul(4) >= size.saturating_mul(3)).then(|| (size, name.clone()))
            })
            .collect();
        sizes.sort_by(|a, b| b.cmp(a));
        let linked = sizes
            .into_iter()
            .take(MAX_PACKS - 1)
            .map(|(_, name)| name)
            .collect();
        Some(Cache {
            gen: gen.to_path_buf(),
            packs,
            linked,
            entries,
            by_path,
            meta,
        })
    }

    /// Link the live generation's packs into the new generation's
    /// directory (copy them where hard links fail). Returns their names
    /// there with the open files.
    fn link_packs(&self, gen_dir: &Path) -> Result<Vec<(String, File)>> {
        let mut out = Vec::new();
        for name in &self.linked {
            let (from, linked) = (self.gen.join(name), linked_pack_name(&self.gen, name));
            let to = gen_dir.join(&linked);
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to)
                    .map_err(|e| Error::io(format!("copying {}", from.display()), e))?;
            }
            let f =
                File::open(&to).map_err(|e| Error::io(format!("reading {}", to.display()), e))?;
            out.push((linked, f));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// What an in-place update needs of the live generation once the files
    /// are read: its records' link keys in manifest order. `None` when a
    /// path occurs twice (the same file passed twice): records could then
    /// not be told apart by path.
    fn into_previous(self) -> Option<Previous> {
        if self.by_path.len() != self.entries.len() {
            return None;
        }
        let mut keys = Vec::new();
        for (e, _) in self.entries {
            keys.extend(e.keys);
        }
        Some(Previous {
            gen: self.gen,
            keys,
            meta: self.meta,
        })
    }

    /// The cached output of a file, if it is unchanged: same size and mtime,
    /// or same size and content hash.
    fn reuse(
        &self,
        path: &Path,
        display: &str,
        check_hash: bool,
    ) -> std::result::Result<FileOut, Option<String>> {
        let Some((e, _)) = self.by_path.get(display).map(|&i| &self.entries[i]) else {
            return Err(None);
        };
        let Some((size, mtime)) = file_stat(path) else {
            return Err(None);
        };
        if e.hash.is_empty() || size != e.size {
            return Err(None);
        }
        let mut entry = e.clone();
        if mtime != e.mtime_ns {
            if !check_hash {
                return Err(None);
            }
            let h = hash_file(path);
            if h != e.hash {
                return Err(Some(h));
            }
            entry.mtime_ns = mtime;
        }
        let pack = e.pack.as_deref().unwrap_or(RECORDS);
        if self.linked.contains(pack) && !e.lens.is_empty() {
            entry.pack = Some(linked_pack_name(&self.gen, pack));
            // The manifest line as it will be, serialized here on a worker.
            let json = serde_json::to_vec(&entry).ok();
            return Ok(FileOut {
                entry,
                lines: Vec::new(),
                parsed: false,
                json,
                streamed: WriteStats::default(),
            });
        }
        let len: u64 = e.lens.iter().map(|&l| l as u64).sum();
        let mut lines = vec![0u8; len as usize];
        let file = self.packs.get(pack).ok_or(None)?;
        file.read_exact_at(&mut lines, e.offset.unwrap_or(0))
            .map_err(|_| None)?;
        entry.pack = None;
        entry.offset = None;
        Ok(FileOut {
            entry,
            lines,
            parsed: false,
            json: None,
            streamed: WriteStats::default(),
        })
    }
}

fn read_meta_file(gen: &Path) -> Option<Meta> {
    serde_json::from_slice(&fs::read(gen.join(META)).ok()?).ok()
}

/// What must match for a cached record to be reused: the layout and the
/// options that change what the readers produce.
fn build_key(opts: &BuildOptions) -> String {
    // The dictionary's digest: frames packed with another dictionary would
    // not decode.
    let dict = blake3::hash(RECORDS_DICT).to_hex();
    // The phrases' digest: segments with phrase tokens of another
    // vocabulary must not be updated in place with this one's.
    let mut phrases = blake3::Hasher::new();
    for k in PhraseSet::builtin().keys() {
        phrases.update(k.as_bytes());
        phrases.update(b"\n");
    }
    let phrases = phrases.finalize().to_hex();
    format!(
        "schema {} {} follow={} {:?} dict={} phrases={}",
        schema::SCHEMA_VERSION,
        env!("CARGO_PKG_VERSION"),
        opts.follow_links,
        opts.limits,
        &dict[..16],
        &phrases[..16]
    )
}

/// Hold the index directory's lock for a build.
pub struct BuildLock {
    _file: File,
}

/// Take the build lock, failing at once if another build holds it.
pub fn lock(dir: &IndexDir) -> Result<BuildLock> {
    fs::create_dir_all(dir.root()).map_err(|e| {
        Error::io(
            format!(
                "cannot create the index folder {} (pass --index DIR to build elsewhere)",
                dir.root().display()
            ),
            e,
        )
    })?;
    let path = dir.root().join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("cannot open the lock file {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(BuildLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Locked {
            path: dir.root().to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("cannot lock {}", path.display()), e))
        }
    }
}

fn generations(root: &Path) -> Vec<(u64, PathBuf)> {
    let mut gens: Vec<(u64, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix("gen-")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    gens.sort();
    gens
}

/// Remove generations other than the live one and the one before it
/// (leftovers of killed builds included). Called with the lock held.
fn clean_generations(root: &Path, keep: &[PathBuf]) {
    for (_, path) in generations(root) {
        if !keep.contains(&path) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Fault injection for tests: with `TRIALSEARCH_ABORT_AFTER=N` set, the
/// process aborts (like `kill -9`) after adding N documents.
pub(super) fn abort_after() -> Option<usize> {
    std::env::var("TRIALSEARCH_ABORT_AFTER").ok()?.parse().ok()
}

/// Build an index of `opts.paths` into `dir`, replacing the live generation
/// only once the new one is complete. `on_message` receives skips and
/// warnings as they happen.
pub fn build(
    dir: &IndexDir,
    opts: &BuildOptions,
    on_message: &mut dyn FnMut(Message),
) -> Result<BuildSummary> {
    let started = Instant::now();
    let _lock = lock(dir)?;
    let root = dir.root().to_path_buf();
    let live = dir.current().ok();
    let mut keep: Vec<PathBuf> = live.iter().cloned().collect();
    clean_generations(&root, &keep);

    let found = walk(opts, &root)?;
    let mut summary = BuildSummary {
        index: display_path(&root),
        ..Default::default()
    };
    let mut files = Vec::new();
    let mut walk_skips = Vec::new();
    for f in found {
        match f {
            Found::File(p, d) => files.push((p, d)),
            Found::Skip(s) => walk_skips.push(s),
        }
    }
    summary.files_seen = files.len() + walk_skips.len();
    let phase = |name: &str| {
        if opts.timings {
            eprintln!(
                "timing: {name} done at {:.3}s",
                started.elapsed().as_secs_f64()
            );
        }
    };
    phase("walk");
    let key = build_key(opts);
    let cache = if opts.full {
        None
    } else {
        live.as_deref().and_then(|g| Cache::open(g, &key))
    };

    if let Some(c) = &cache {
        // "Up to date" only when the live index also opens: a damaged one
        // (truncated segment files, say) is rebuilt from the cache instead.
        if unchanged(c, &files, &walk_skips) && dir.open().is_ok() {
            for s in &c.meta.skipped {
                on_message(Message::Skip(s));
            }
            let m = &c.meta;
            summary.files_read = m.files_read;
            summary.records = m.records.clone();
            summary.trials = m.trials;
            summary.skipped = m.skipped.clone();
            summary.warnings = m.warnings;
            summary.up_to_date = true;
            summary.files_cached = files.len();
            summary.seconds = started.elapsed().as_secs_f64();
            return Ok(summary);
        }
    }
    for s in walk_skips {
        on_message(Message::Skip(&s));
        summary.skipped.push(s);
    }

    // Write the new generation beside the live one.
    let next = generations(&root).last().map(|(n, _)| n + 1).unwrap_or(1);
    let gen_name = format!("gen-{next:06}");
    let gen_dir = root.join(&gen_name);
    fs::create_dir_all(&gen_dir)
        .map_err(|e| Error::io(format!("creating {}", gen_dir.display()), e))?;
    let io =
        |what: &str, p: &Path, e: std::io::Error| Error::io(format!("{what} {}", p.display()), e);
    let rec_path = gen_dir.join(RECORDS);
    let man_path = gen_dir.join(MANIFEST);
    let mut rec_out =
        BufWriter::new(File::create(&rec_path).map_err(|e| io("writing", &rec_path, e))?);
    let mut man_out = BufWriter::new(
        zstd::Encoder::new(
            File::create(&man_path).map_err(|e| io("writing", &man_path, e))?,
            CACHE_LEVEL,
        )
        .map_err(|e| io("writing", &man_path, e))?,
    );

    // Read (or take from the cache) a batch of files at a time, in parallel;
    // keep only link keys and byte ranges in memory.
    let bar = progress_bar(opts.progress, files.len() as u64);
    let limits = opts.limits;
    let mut keys: Vec<LinkKeys> = Vec::new();
    // Where each record is: (pack, byte offset, length). Pack 0 is the new
    // generation's own; the others are linked from the live generation.
    let mut ranges: Vec<(u32, u64, u32)> = Vec::new();
    let mut packs: Vec<(String, Option<File>)> = vec![(RECORDS.to_string(), None)];
    if let Some(c) = &cache {
        packs.extend(
            c.link_packs(&gen_dir)?
                .into_iter()
                .map(|(n, f)| (n, Some(f))),
        );
    }
    let pack_index: HashMap<String, u32> = packs
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.clone(), i as u32))
        .collect();
    let mut pack_used = vec![false; packs.len()];
    let mut offset = 0u64;
    let mut n_records = 0u64;
    // For each record, its index in the live generation when it was taken
    // from the cache unchanged: what an in-place update compares groups by.
    let mut carried: Vec<Option<usize>> = Vec::new();
    // A full build (no cache) writes documents while it reads.
    let stream = match &cache {
        None if !opts.no_stream => Some(Stream::start(&gen_dir, opts)?),
        _ => None,
    };
    let mut streamed = WriteStats::default();
    for batch in files.chunks(BATCH_FILES) {
        let mut outs: Vec<FileOut> = batch
            .par_iter()
            .map(|(p, d)| {
                let hash = match cache.as_ref().map(|c| c.reuse(p, d, true)) {
                    Some(Ok(out)) => return out,
                    Some(Err(h)) => h,
                    None => None,
                };
                parse_file(p, d, &limits, hash, stream.as_ref())
            })
            .collect();
        for out in outs.iter_mut() {
            // Records in a linked pack stay there; the others go to ours.
            let at = match out.entry.pack.as_deref().and_then(|p| pack_index.get(p)) {
                Some(&i) if out.lines.is_empty() && !out.parsed && !out.entry.lens.is_empty() => {
                    (i, out.entry.offset.unwrap_or(0))
                }
                _ => {
                    out.entry.pack = None;
                    out.entry.offset = Some(offset);
                    out.json = None;
                    (0, offset)
                }
            };
            pack_used[at.0 as usize] = true;
            let e = &out.entry;
            for w in &e.warnings {
                on_message(Message::Warning(&e.path, w));
            }
            summary.warnings += e.warnings.len();
            for s in &e.skipped {
                on_message(Message::Skip(s));
                summary.skipped.push(s.clone());
            }
            if !e.keys.is_empty() {
                summary.files_read += 1;
            }
            if out.parsed {
                summary.files_parsed += 1;
            } else {
                summary.files_cached += 1;
            }
            for (f, n) in &e.formats {
                *summary.records.entry(f.clone()).or_default() += n;
            }
            streamed.absorb(std::mem::take(&mut out.streamed));
            let first_cached = match (&cache, out.parsed) {
                (Some(c), false) => c.by_path.get(&e.path).map(|&i| c.entries[i].1),
                _ => None,
            };
            let mut pos = at.1;
            for (j, (k, &len)) in e.keys.iter().zip(&e.lens).enumerate() {
                keys.push(k.clone());
                ranges.push((at.0, pos, len));
                carried.push(first_cached.map(|f| f + j));
                pos += len as u64;
            }
            if at.0 == 0 {
                offset = pos;
            }
            n_records += e.keys.len() as u64;
            rec_out
                .write_all(&out.lines)
                .map_err(|err| io("writing", &rec_path, err))?;
            match &out.json {
                Some(line) => man_out
                    .write_all(line)
                    .map_err(|err| io("writing", &man_path, err))?,
                None => serde_json::to_writer(&mut man_out, e)?,
            }
            man_out
                .write_all(b"\n")
                .map_err(|err| io("writing", &man_path, err))?;
            if let Some(b) = &bar {
                b.inc(1);
                let secs = b.elapsed().as_secs_f64().max(1e-3);
                b.set_message(format!(
                    "{n_records} records, {:.0} records/s",
                    n_records as f64 / secs
                ));
                if b.position() == b.length().unwrap_or(0) {
                    // Writing the index follows and takes longer than
                    // reading: say so instead of a finished bar.
                    b.set_message(format!("{n_records} records read; writing the index"));
                }
            }
        }
    }
    // The same path twice in the walk (overlapping arguments) would map two
    // records to one cached record: no in-place update then.
    let unique_paths = {
        let mut seen = std::collections::HashSet::new();
        files.iter().all(|(_, d)| seen.insert(d.as_str()))
    };
    let previous = cache
        .filter(|_| unique_paths)
        .and_then(Cache::into_previous);
    phase("read");
    let rec_file = rec_out
        .into_inner()
        .map_err(|e| io("writing", &rec_path, e.into_error()))?;
    rec_file
        .sync_all()
        .map_err(|e| io("writing", &rec_path, e))?;
    man_out
        .into_inner()
        .map_err(|e| io("writing", &man_path, e.into_error()))?
        .finish()
        .map_err(|e| io("writing", &man_path, e))?
        .sync_all()
        .map_err(|e| io("writing", &man_path, e))?;
    packs[0].1 = Some(File::open(&rec_path).map_err(|e| io("reading", &rec_path, e))?);
    // A linked pack none of whose records is live any more goes.
    for (i, (name, file)) in packs.iter_mut().enumerate().skip(1) {
        if !pack_used[i] {
            *file = None;
            let p = gen_dir.join(name.as_str());
            fs::remove_file(&p).map_err(|e| io("removing", &p, e))?;
        }
    }
    let load = |i: usize| -> Result<Trial> {
        let (pack, off, len) = ranges[i];
        let (name, file) = &packs[pack as usize];
        let path = gen_dir.join(name);
        let file = file
            .as_ref()
            .ok_or_else(|| io("reading", &path, std::io::ErrorKind::NotFound.into()))?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, off)
            .map_err(|e| io("reading", &path, e))?;
        let json = decompress_frame(&buf).map_err(|e| io("reading", &path, e))?;
        Ok(serde_json::from_slice(&json)?)
    };

    let mut groups = merge::groups(&keys);
    phase("link");

    let mut written = None;
    if let Some(s) = stream {
        let singletons = groups.iter().all(|g| g.len() == 1);
        if s.won(keys.len(), singletons) {
            // One group per record, in record order (see `GroupIds`).
            let ids = keys
                .iter()
                .map(|k| GroupIds {
                    merged: k.id.clone(),
                    renamed: None,
                })
                .collect();
            // Nothing below needs the link keys or groups of a won bet:
            // free them before the final merge, the build's peak of memory
            // on a registry-sized corpus (~1 KB a record at 500,000);
            // `finish` hands the freed pages back.
            keys = Vec::new();
            groups = Vec::new();
            s.finish(opts, &phase)?;
            written = Some(Written {
                ids,
                stats: std::mem::take(&mut streamed),
                in_place: None,
            });
            summary.streamed = true;
        } else {
            drop(s);
            if opts.timings {
                eprintln!("timing: records link or share ids; writing the index again");
            }
            clear_index_files(&gen_dir)?;
        }
    }

    // Update the live generation's segments in place when few trials
    // changed; otherwise (or when that cannot be done exactly) write the
    // index from the records.
    if let Some(prev) = &previous {
        let input = update::Input {
            live: &prev.gen,
            gen_dir: &gen_dir,
            old_keys: &prev.keys,
            old_meta: &prev.meta,
            groups: &groups,
            carried: &carried,
            load: &load,
            opts,
        };
        let why = match update::in_place(&input, &phase) {
            Ok(update::Outcome::Done(w)) => {
                written = Some(*w);
                None
            }
            Ok(update::Outcome::Declined(why)) => Some(why.to_string()),
            Err(e) => Some(format!("failed: {e}")),
        };
        if let Some(why) = why {
            if opts.timings {
                eprintln!("timing: no in-place update ({why}); writing the whole index");
            }
            clear_index_files(&gen_dir)?;
        }
    }
    drop(previous);
    drop(carried);
    let written = match written {
        Some(w) => w,
        None => write_full(&gen_dir, keys, groups, &load, opts, &phase)?,
    };
    if let Some((removed, added)) = written.in_place {
        summary.in_place = true;
        summary.trials_removed = removed;
        summary.trials_added = added;
    }
    summary.trials = written.ids.len();
    write_ids(&gen_dir, &written.ids)?;
    let stats = written.stats;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }

    let meta = Meta {
        schema_version: schema::SCHEMA_VERSION,
        built_by: format!("trialsearch {}", env!("CARGO_PKG_VERSION")),
        files_seen: summary.files_seen,
        files_read: summary.files_read,
        records: summary.records.clone(),
        trials: summary.trials,
        trials_per_format: stats.per_format,
        fill_rates: stats.fill.rates(),
        fill_counts: stats.fill.counts(),
        skipped: summary.skipped.clone(),
        warnings: summary.warnings,
        build_key: key,
        phrases: PhraseSet::builtin().keys().map(String::from).collect(),
    };
    write_file_synced(&gen_dir.join(META), &serde_json::to_vec_pretty(&meta)?)?;

    // The swap: CURRENT is replaced by an atomic rename.
    let tmp = root.join(format!("{CURRENT}.tmp"));
    write_file_synced(&tmp, gen_name.as_bytes())?;
    fs::rename(&tmp, root.join(CURRENT)).map_err(|e| {
        Error::io(
            format!("cannot make {} the live index", gen_dir.display()),
            e,
        )
    })?;
    if let Ok(d) = File::open(&root) {
        let _ = d.sync_all();
    }
    keep.push(gen_dir);
    clean_generations(&root, &keep);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// True when the folder is exactly as the cached generation saw it: the same
/// files, each with the same size and mtime, and the same walk skips.
fn unchanged(c: &Cache, files: &[(PathBuf, String)], walk_skips: &[Skipped]) -> bool {
    if files.len() != c.entries.len() {
        return false;
    }
    let same_files = files.iter().zip(&c.entries).all(|((p, d), (e, _))| {
        *d == e.path && !e.hash.is_empty() && file_stat(p) == Some((e.size, e.mtime_ns))
    });
    if !same_files {
        return false;
    }
    // The skips the cached files gave plus those of the walk must be the
    // ones the live generation recorded, in the same order.
    let walk_n = walk_skips.len();
    walk_n <= c.meta.skipped.len() && c.meta.skipped[..walk_n] == *walk_skips
}

/// Where a trial to write comes from.
enum Slot {
    /// A record alone in its group, still in the spill file.
    Single(usize),
    /// A merged group.
    Merged(Box<Trial>),
}

/// The ids of one trial (one link group) of a generation, stored in
/// [`IDS`] in the order of [`merge::groups`] over the manifest's keys, so
/// the next build can tell which documents to replace without reading
/// them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct GroupIds {
    /// The id the merged trial got.
    #[serde(rename = "m")]
    pub merged: String,
    /// The id it was indexed under when that differs (a derived id another
    /// trial also had, see `merge::make_ids_unique`).
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub renamed: Option<String>,
}

impl GroupIds {
    /// The id of the indexed document.
    pub fn indexed(&self) -> &str {
        self.renamed.as_deref().unwrap_or(&self.merged)
    }
}

fn write_ids(gen_dir: &Path, ids: &[GroupIds]) -> Result<()> {
    let json = serde_json::to_vec(ids)?;
    let packed = zstd::bulk::compress(&json, CACHE_LEVEL)
        .map_err(|e| Error::io(format!("writing {}", gen_dir.join(IDS).display()), e))?;
    write_file_synced(&gen_dir.join(IDS), &packed)
}

/// The live generation's [`IDS`], `None` when it is missing or unreadable
/// (a generation of an older build: then no in-place update).
pub(super) fn read_ids(gen_dir: &Path) -> Option<Vec<GroupIds>> {
    let f = File::open(gen_dir.join(IDS)).ok()?;
    let json = zstd::stream::decode_all(f).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Remove what a declined or failed in-place update left in the new
/// generation (linked segments, the deleted-documents index), keeping the
/// record cache just written and the packs it refers to.
fn clear_index_files(gen_dir: &Path) -> Result<()> {
    let entries = fs::read_dir(gen_dir)
        .map_err(|e| Error::io(format!("reading {}", gen_dir.display()), e))?;
    for e in entries.flatten() {
        let name = e.file_name();
        if name == MANIFEST || is_pack(&name.to_string_lossy()) {
            continue;
        }
        let path = e.path();
        let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        r.map_err(|err| Error::io(format!("removing {}", path.display()), err))?;
    }
    Ok(())
}

/// Per-trial statistics gathered while writing.
#[derive(Default)]
pub(super) struct WriteStats {
    pub per_format: BTreeMap<String, usize>,
    pub fill: FillCounter,
}

impl WriteStats {
    /// Count one trial in.
    pub fn add(&mut self, t: &Trial) {
        self.fill.add(t);
        for f in formats_of(t) {
            *self.per_format.entry(f.as_str().to_string()).or_default() += 1;
        }
    }

    /// Add the counts of another (a file's streamed records).
    fn absorb(&mut self, o: WriteStats) {
        self.fill.n += o.fill.n;
        for (c, x) in self.fill.filled.iter_mut().zip(o.fill.filled) {
            *c += x;
        }
        for (f, n) in o.per_format {
            *self.per_format.entry(f).or_default() += n;
        }
    }

    /// Count one trial out (an in-place update removing it).
    pub fn remove(&mut self, t: &Trial) {
        self.fill.remove(t);
        for f in formats_of(t) {
            if let Some(n) = self.per_format.get_mut(f.as_str()) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_format.remove(f.as_str());
                }
            }
        }
    }
}

/// The distinct formats of a trial's sources.
fn formats_of(t: &Trial) -> Vec<Format> {
    let mut formats: Vec<Format> = t.sources.iter().map(|s| s.format).collect();
    formats.sort();
    formats.dedup();
    formats
}

/// What writing the index gave.
pub(super) struct Written {
    /// Ids of every trial, in link-group order (see [`GroupIds`]).
    pub ids: Vec<GroupIds>,
    pub stats: WriteStats,
    /// For an in-place update: trials removed and added.
    pub in_place: Option<(usize, usize)>,
}

/// Write the whole index from the records: merge the multi-record groups,
/// sort by id, make derived ids unique, add every document.
fn write_full(
    gen_dir: &Path,
    mut keys: Vec<LinkKeys>,
    groups: Vec<Vec<usize>>,
    load: &(dyn Fn(usize) -> Result<Trial> + Sync),
    opts: &BuildOptions,
    phase: &dyn Fn(&str),
) -> Result<Written> {
    // (id, first record, group, where the trial comes from)
    let mut order: Vec<(String, usize, usize, Slot)> = Vec::with_capacity(groups.len());
    let mut ids: Vec<GroupIds> = Vec::with_capacity(groups.len());
    for (gi, g) in groups.into_iter().enumerate() {
        let first = g[0];
        if g.len() == 1 {
            let id = std::mem::take(&mut keys[first].id);
            ids.push(GroupIds {
                merged: id.clone(),
                renamed: None,
            });
            order.push((id, first, gi, Slot::Single(first)));
        } else {
            let members = g.iter().map(|&i| load(i)).collect::<Result<Vec<_>>>()?;
            let t = merge_group(members);
            ids.push(GroupIds {
                merged: t.id.clone(),
                renamed: None,
            });
            order.push((t.id.clone(), first, gi, Slot::Merged(Box::new(t))));
        }
    }
    drop(keys);
    order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    // Derived `TS-` ids can collide (two pages, one title, sponsors that
    // disagree): later ones take an id that also covers their source, as
    // `merge::make_ids_unique` does for in-memory merges.
    let mut renamed = false;
    let mut previous = String::new();
    for entry in order.iter_mut() {
        let original = entry.0.clone();
        let dup = original == previous && original.starts_with("TS-");
        previous = original;
        if dup {
            let placeholder = Slot::Single(entry.1);
            let mut t = match std::mem::replace(&mut entry.3, placeholder) {
                Slot::Single(k) => load(k)?,
                Slot::Merged(t) => *t,
            };
            t.id = crate::trial::distinct_derived_id(&t);
            entry.0 = t.id.clone();
            ids[entry.2].renamed = Some(t.id.clone());
            entry.3 = Slot::Merged(Box::new(t));
            renamed = true;
        }
    }
    if renamed {
        order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    phase("merge");
    let slots = order.into_iter().map(|(_, _, _, slot)| slot).collect();
    let stats = write_index(gen_dir, slots, load, opts, phase)?;
    Ok(Written {
        ids,
        stats,
        in_place: None,
    })
}

fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        File::create(path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// A new, empty index in `gen_dir` and its writer, set up as every full
/// build writes.
fn new_writer<D: tantivy::schema::document::Document>(
    gen_dir: &Path,
    opts: &BuildOptions,
) -> Result<(tantivy::Index, tantivy::IndexWriter<D>, Fields)> {
    let (schema, fields) = build_schema();
    let index = tantivy::Index::builder()
        .schema(schema)
        .settings(opts.index_settings())
        .create_in_dir(gen_dir)?;
    analyzer::register(&index);
    let budget = if opts.writer_memory > 0 {
        opts.writer_memory
    } else {
        256 << 20
    };
    let threads = if opts.writer_threads > 0 {
        opts.writer_threads
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
    };
    let writer: tantivy::IndexWriter<D> =
        index.writer_with_num_threads(threads, budget.max((threads * 20) << 20))?;
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    Ok((index, writer, fields))
}

fn write_index(
    gen_dir: &Path,
    order: Vec<Slot>,
    load: &(dyn Fn(usize) -> Result<Trial> + Sync),
    opts: &BuildOptions,
    phase: &dyn Fn(&str),
) -> Result<WriteStats> {
    let (index, writer, fields) = new_writer(gen_dir, opts)?;
    let abort = abort_after();
    let mut stats = WriteStats::default();
    let mut n = 0usize;
    let mut order = order;
    while !order.is_empty() {
        let rest = order.split_off(order.len().min(BATCH_DOCS));
        let batch = std::mem::replace(&mut order, rest);
        // Loading and converting run on all cores; the writer's own threads
        // tokenize and invert.
        let docs: Vec<(Trial, tantivy::TantivyDocument)> = batch
            .into_par_iter()
            .map(|slot| -> Result<_> {
                let t = match slot {
                    Slot::Single(i) => {
                        let mut t = load(i)?;
                        t.finalize();
                        t
                    }
                    Slot::Merged(t) => *t,
                };
                let d = to_document(&fields, &t)?;
                Ok((t, d))
            })
            .collect::<Result<Vec<_>>>()?;
        for (t, d) in docs {
            if abort == Some(n) {
                std::process::abort();
            }
            stats.add(&t);
            writer.add_document(d)?;
            n += 1;
        }
    }
    phase("add documents");
    finish_writer(&index, writer, opts, phase)?;
    Ok(stats)
}

/// Hand the free pages of the heap back to the system. glibc keeps what a
/// program frees for its next allocations, but the final merge allocates
/// mostly large buffers, which it maps afresh: without this, the memory
/// freed before the merge (the link keys of 500,000 records, ~1 KB each)
/// stays resident under the merge's own. Elsewhere a no-op. `index` in
/// the `trialsearch` binary allocates with mimalloc (src/alloc.rs), which
/// returns freed pages by itself; this still matters to what was allocated
/// before the switch, to the C libraries' allocations (zstd) and to
/// programs using the library with the system allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim takes no pointers and only returns memory
    // that is already free to the system; it is safe to call at any time.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// Commit what the writer was given and merge the segments (see below).
fn finish_writer<D: tantivy::schema::document::Document>(
    index: &tantivy::Index,
    mut writer: tantivy::IndexWriter<D>,
    opts: &BuildOptions,
    phase: &dyn Fn(&str),
) -> Result<()> {
    writer.commit()?;
    phase("commit");
    if !opts.no_final_merge {
        // One segment: faster queries (one term dictionary to look up per
        // term, one doc store), and doc order = id order. But a merge's
        // memory grows faster than its size (peak RSS +135 MB merging 100k
        // studies, +1.8 GB merging 500k), so a registry-sized index is
        // merged in groups of at most FINAL_MERGE_DOCS documents.
        for group in merge_groups(&index.searchable_segment_metas()?, FINAL_MERGE_DOCS) {
            writer.merge(&group).wait()?;
        }
        // The merged-away segments' files are left on disk until the next
        // garbage collection, which a build that ends here never reaches.
        writer.garbage_collect_files().wait()?;
    }
    writer.wait_merging_threads()?;
    phase("final merge");
    Ok(())
}

/// Most documents one merge of the final merge takes (see [`write_index`]).
const FINAL_MERGE_DOCS: u32 = 120_000;

/// Consecutive runs of segments of at most `max_docs` documents together,
/// those of two segments or more: what the final merge merges.
fn merge_groups(
    metas: &[tantivy::index::SegmentMeta],
    max_docs: u32,
) -> Vec<Vec<tantivy::index::SegmentId>> {
    let mut groups: Vec<Vec<tantivy::index::SegmentId>> = Vec::new();
    let mut current: Vec<tantivy::index::SegmentId> = Vec::new();
    let mut docs = 0u32;
    for m in metas {
        if !current.is_empty() && docs.saturating_add(m.num_docs()) > max_docs {
            groups.push(std::mem::take(&mut current));
            docs = 0;
        }
        current.push(m.id());
        docs = docs.saturating_add(m.num_docs());
    }
    groups.push(current);
    groups.retain(|g| g.len() > 1);
    groups
}

type Probe = fn(&Trial) -> bool;
/// The fields whose fill rate `stats` shows.
const PROBES: [(&str, Probe); 24] = [
    ("nct_id", |t| t.nct_id.is_some()),
    ("title", |t| t.title.is_some()),
    ("official_title", |t| t.official_title.is_some()),
    ("status", |t| t.status.is_some()),
    ("phases", |t| !t.phases.is_empty()),
    ("study_type", |t| t.study_type.is_some()),
    ("conditions", |t| !t.conditions.is_empty()),
    ("interventions", |t| !t.interventions.is_empty()),
    ("sponsor", |t| t.sponsor.is_some()),
    ("collaborators", |t| !t.collaborators.is_empty()),
    ("enrollment", |t| t.enrollment.is_some()),
    ("sex", |t| t.sex.is_some()),
    ("min_age_years", |t| t.min_age_years.is_some()),
    ("max_age_years", |t| t.max_age_years.is_some()),
    ("healthy_volunteers", |t| t.healthy_volunteers.is_some()),
    ("locations", |t| !t.locations.is_empty()),
    ("countries", |t| !t.countries.is_empty()),
    ("first_posted", |t| t.first_posted.is_some()),
    ("last_updated", |t| t.last_updated.is_some()),
    ("start_date", |t| t.start_date.is_some()),
    ("summary", |t| t.summary.is_some()),
    ("description", |t| t.description.is_some()),
    ("inclusion_criteria", |t| !t.inclusion_criteria.is_empty()),
    ("exclusion_criteria", |t| !t.exclusion_criteria.is_empty()),
];

/// Counts filled fields trial by trial, so fill rates need no list of trials.
#[derive(Default)]
pub struct FillCounter {
    filled: [usize; PROBES.len()],
    n: usize,
}

impl FillCounter {
    /// Count one trial.
    pub fn add(&mut self, t: &Trial) {
        self.n += 1;
        for (c, (_, p)) in self.filled.iter_mut().zip(PROBES.iter()) {
            *c += p(t) as usize;
        }
    }

    /// Count one trial out.
    pub fn remove(&mut self, t: &Trial) {
        self.n = self.n.saturating_sub(1);
        for (c, (_, p)) in self.filled.iter_mut().zip(PROBES.iter()) {
            if p(t) {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Per field, the trials counted where it is filled (kept in the build
    /// summary so an in-place update can adjust the rates exactly).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        PROBES
            .iter()
            .zip(self.filled)
            .map(|((name, _), filled)| (name.to_string(), filled))
            .collect()
    }

    /// A counter of `n` trials with the given [`FillCounter::counts`];
    /// `None` when a field is missing (a summary of an older build).
    pub fn from_counts(counts: &BTreeMap<String, usize>, n: usize) -> Option<FillCounter> {
        let mut c = FillCounter {
            n,
            ..Default::default()
        };
        for (slot, (name, _)) in c.filled.iter_mut().zip(PROBES.iter()) {
            *slot = *counts.get(*name)?;
        }
        Some(c)
    }

    /// Per field, the share of trials counted where it is filled.
    pub fn rates(&self) -> BTreeMap<String, f64> {
        let n = self.n.max(1) as f64;
        PROBES
            .iter()
            .zip(self.filled)
            .map(|((name, _), filled)| {
                (
                    name.to_string(),
                    (filled as f64 / n * 1000.0).round() / 1000.0,
                )
            })
            .collect()
    }
}

fn progress_bar(enabled: bool, len: u64) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} reading {pos}/{len} files [{bar:30}] {msg}, eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(s) = style {
        bar.set_style(s);
    }
    // Keep the spinner turning while the index is written after the reads.
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Request, Searcher};

    fn test_data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
    }

    /// A full backlog holds a reader until the indexing threads have taken
    /// up half of the queue, and then lets it go at once (well before its
    /// two-second bound).
    #[test]
    fn a_full_backlog_waits_for_the_writer() {
        let backlog = Arc::new(Backlog::default());
        let docs: Vec<Queued> = (0..MOST_QUEUED)
            .map(|_| {
                backlog.enter();
                Queued {
                    doc: tantivy::TantivyDocument::default(),
                    backlog: Arc::clone(&backlog),
                }
            })
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = {
            let backlog = Arc::clone(&backlog);
            std::thread::spawn(move || {
                backlog.enter();
                let _ = tx.send(());
            })
        };
        let wait = |ms| rx.recv_timeout(std::time::Duration::from_millis(ms));
        assert!(wait(400).is_err(), "a reader went on with the queue full");
        // The indexing threads are done with documents (and drop them),
        // all but one of those that make room.
        let mut docs = docs;
        while docs.len() > ROOM_AT + 1 {
            let taken = docs
                .pop()
                .map(tantivy::schema::document::Document::into_tantivy_document);
            assert!(taken.is_some());
        }
        assert!(wait(300).is_err(), "a reader went on before there was room");
        docs.pop();
        assert!(
            wait(800).is_ok(),
            "a reader was not woken when there was room"
        );
        reader.join().unwrap();
        drop(docs);
        assert_eq!(*backlog.queued.lock().unwrap(), 1);
    }

    /// Every record the files of `tests/data` hold, as a build reads them.
    fn test_data_records() -> Vec<Trial> {
        let opts = BuildOptions {
            paths: vec![test_data()],
            ..Default::default()
        };
        let mut records = Vec::new();
        for f in walk(&opts, Path::new("/nonexistent")).unwrap() {
            if let Found::File(p, d) = f {
                records.extend(read_one(&p, &d, &opts.limits).trials);
            }
        }
        records
    }

    /// Cache frames decode to the JSON they were made of, and the shared
    /// dictionary packs the records of tests/data (real records) smaller
    /// than frames without it: a dictionary that no longer fits the record's
    /// shape shows here.
    #[test]
    fn cache_frames_round_trip_and_the_dictionary_pays() {
        let mut plain = zstd::bulk::Compressor::new(CACHE_LEVEL).unwrap();
        let (mut raw, mut with, mut without) = (0, 0, 0);
        let records = test_data_records();
        assert!(records.len() > 100, "{} records", records.len());
        for t in &records {
            let json = serde_json::to_vec(t).unwrap();
            let frame = compress_frame(&json).unwrap();
            assert_eq!(decompress_frame(&frame).unwrap(), json);
            // The streaming path, taken by frames that do not say their
            // size, decodes it alike.
            assert_eq!(decode_stream(&frame).unwrap(), json);
            raw += json.len();
            with += frame.len();
            without += plain.compress(&json).unwrap().len();
        }
        let (r_with, r_without) = (raw as f64 / with as f64, raw as f64 / without as f64);
        assert!(
            r_with > 1.3 * r_without,
            "{r_with:.2}x with the dictionary, {r_without:.2}x without"
        );
    }

    /// The streaming build (records spilled, linked by keys, singletons read
    /// back) gives exactly the trials of an in-memory merge of all records.
    #[test]
    fn streaming_build_equals_in_memory_merge() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::new(tmp.path().join("index"));
        let opts = BuildOptions {
            paths: vec![test_data()],
            ..Default::default()
        };
        build(&dir, &opts, &mut |_| {}).unwrap();
        let s = Searcher::open(&dir).unwrap();
        let built = s.all_matching(&Request::default()).unwrap();

        let merged = merge::merge(test_data_records());
        let json = |v: &[Trial]| {
            let mut out: Vec<String> = v
                .iter()
                .map(|t| serde_json::to_string(t).unwrap())
                .collect();
            out.sort();
            out
        };
        assert!(merged.len() > 100);
        assert_eq!(json(&built), json(&merged));
    }

    /// A streaming build gives the index of one that reads everything
    /// first: where every record is a trial of its own (the bet holds) and
    /// where records link (the bet is lost and the index written again).
    #[test]
    fn streaming_build_equals_read_then_write() {
        let data = test_data();
        let ctgov = vec![data.join("ctgov/json"), data.join("ctgov/xml")];
        for (paths, streams) in [(ctgov, true), (vec![data], false)] {
            let tmp = tempfile::tempdir().unwrap();
            let mut built = Vec::new();
            for no_stream in [false, true] {
                let ix = IndexDir::new(tmp.path().join(format!("ix-{no_stream}")));
                let opts = BuildOptions {
                    paths: paths.clone(),
                    no_stream,
                    ..Default::default()
                };
                let summary = build(&ix, &opts, &mut |_| {}).unwrap();
                assert_eq!(summary.streamed, streams && !no_stream, "{paths:?}");
                let s = Searcher::open(&ix).unwrap();
                let mut trials: Vec<String> = s
                    .all_matching(&Request::default())
                    .unwrap()
                    .iter()
                    .map(|t| serde_json::to_string(t).unwrap())
                    .collect();
                trials.sort();
                let gen = ix.current().unwrap();
                let mut meta: serde_json::Value =
                    serde_json::from_slice(&fs::read(gen.join(META)).unwrap()).unwrap();
                meta.as_object_mut().unwrap().remove("index");
                let mut summary = serde_json::to_value(&summary).unwrap();
                for k in ["index", "seconds"] {
                    summary.as_object_mut().unwrap().remove(k);
                }
                let cache = [RECORDS, MANIFEST, IDS].map(|f| fs::read(gen.join(f)).unwrap());
                built.push((trials, meta, summary, cache));
            }
            assert!(built[0].0.len() >= 9);
            assert!(built[0] == built[1], "{paths:?}");
        }
    }

    /// What the streaming build relies on to skip parsing a record back:
    /// a read record with ages that round-trip gives the document of its
    /// cache JSON parsed and finalized again.
    #[test]
    fn a_read_record_is_its_read_back() {
        use tantivy::schema::document::Document;
        let (schema, fields) = build_schema();
        let mut n = 0;
        for t in test_data_records() {
            let mut back: Trial = serde_json::from_slice(&serde_json::to_vec(&t).unwrap()).unwrap();
            back.finalize();
            if round_trips(t.min_age_years) && round_trips(t.max_age_years) {
                let doc = to_document(&fields, &t).unwrap().to_json(&schema);
                let again = to_document(&fields, &back).unwrap().to_json(&schema);
                assert_eq!(doc, again, "{}", t.id);
                n += 1;
            }
        }
        assert!(n > 100);
        // Ages from months or days need not come back exactly.
        assert!(round_trips(Some(45.0)) && !round_trips(Some(f64::NAN)));
    }

    /// An in-place update indexes documents again from their stored records
    /// (the deleted-documents index, a rewritten delta segment): that must
    /// give the very documents indexed first, or the statistics subtracted
    /// would not be those counted.
    #[test]
    fn a_stored_record_gives_back_its_document() {
        use tantivy::schema::document::Document;
        let (schema, fields) = build_schema();
        let trials = merge::merge(test_data_records());
        assert!(trials.len() > 100);
        for t in &trials {
            let doc = to_document(&fields, t).unwrap();
            let stored: Trial = serde_json::from_slice(&serde_json::to_vec(t).unwrap()).unwrap();
            let again = to_document(&fields, &stored).unwrap();
            assert_eq!(doc.to_json(&schema), again.to_json(&schema), "{}", t.id);
        }
        // The comparison covers indexed fields, not only the stored record.
        let doc = to_document(&fields, &trials[0]).unwrap().to_json(&schema);
        assert!(
            doc.contains("\"id_exact\"") && doc.contains("\"spell\""),
            "{doc}"
        );
    }
}
