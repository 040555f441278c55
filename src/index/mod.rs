//! Stage 4, index: where the tantivy index lives on disk and how it is opened.
//!
//! An index directory holds generations: `gen-<n>/` subdirectories, each a
//! complete tantivy index plus `trialsearch.json` (the build's summary), and
//! a `CURRENT` file naming the live one. A build writes a new generation
//! beside the live one and then replaces `CURRENT` with an atomic rename, so
//! a killed build never harms the index people query, and a query that is
//! running while an index is built keeps answering from the previous
//! generation. The previous generation is kept one build longer, so a query
//! that read `CURRENT` just before the swap can still open it.

pub mod abbreviations;
pub mod analysis;
pub mod analyzer;
pub mod build;
pub mod phrases;
pub mod schema;
mod update;

use crate::error::{Error, Result};
// The token type [`analysis`] produces (the build script gives it its own).
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tantivy::tokenizer::Token;

/// The file naming the live generation.
pub const CURRENT: &str = "CURRENT";
/// The build summary inside a generation.
pub const META: &str = "trialsearch.json";
/// The lock file held by a running build.
pub const LOCK: &str = ".lock";
/// Inside a generation updated in place: a small tantivy index holding a
/// copy of every document deleted from the main index but still in its
/// segments, whose statistics are subtracted at query time so that scores
/// equal those of a freshly written index.
pub const DELETED: &str = "deleted";

/// What a build found, saved beside the index for `stats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    /// [`schema::SCHEMA_VERSION`] of the build.
    pub schema_version: u32,
    /// trialsearch version that built it.
    pub built_by: String,
    /// Files looked at.
    pub files_seen: usize,
    /// Files that yielded at least one record.
    pub files_read: usize,
    /// Records read, per format.
    pub records: BTreeMap<String, usize>,
    /// Distinct trials after merging.
    pub trials: usize,
    /// Trials per source format (a trial seen in two formats counts in both).
    pub trials_per_format: BTreeMap<String, usize>,
    /// Per field, the share of trials where it is filled (0..1).
    pub fill_rates: BTreeMap<String, f64>,
    /// Per field, the number of trials where it is filled: what an in-place
    /// update adjusts (the rounded rates cannot be).
    #[serde(default)]
    pub fill_counts: BTreeMap<String, usize>,
    /// Files (or archive entries) skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Warnings about parts of files.
    pub warnings: usize,
    /// Schema, version and reader options of the build: the record cache is
    /// reused only by a build with the same key.
    #[serde(default)]
    pub build_key: String,
    /// The phrases marked with phrase tokens in the stemmed fields
    /// ([`phrases`]); a query uses a phrase token only for these.
    #[serde(default)]
    pub phrases: Vec<String>,
}

/// A skipped file or entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skipped {
    /// Path (and `!entry` for archive entries).
    pub path: String,
    /// Why, one line.
    pub reason: String,
}

/// An index directory.
#[derive(Debug, Clone)]
pub struct IndexDir {
    root: PathBuf,
}

impl IndexDir {
    /// The directory (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        IndexDir { root: root.into() }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live generation's directory, if there is one.
    pub fn current(&self) -> Result<PathBuf> {
        let cur = self.root.join(CURRENT);
        // Bytes, not read_to_string: garbage in CURRENT is a damaged index
        // (with the rebuild hint), not an I/O error about UTF-8.
        let name = match std::fs::read(&cur) {
            Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.root.join("meta.json").exists() {
                    return Err(Error::BadIndex {
                        path: self.root.clone(),
                        reason: "it is a bare tantivy index, not one built by this version".into(),
                    });
                }
                return Err(Error::NoIndex {
                    path: self.root.clone(),
                });
            }
            Err(e) => {
                return Err(Error::BadIndex {
                    path: self.root.clone(),
                    reason: format!("{CURRENT} unreadable: {}", crate::sources::io_reason(&e)),
                })
            }
        };
        if !valid_gen_name(&name) {
            let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
            return Err(Error::BadIndex {
                path: self.root.clone(),
                reason: format!("{CURRENT} names '{shown}', which is not a generation"),
            });
        }
        let dir = self.root.join(&name);
        if !dir.is_dir() {
            return Err(Error::BadIndex {
                path: self.root.clone(),
                reason: format!("generation {name} is missing"),
            });
        }
        Ok(dir)
    }

    /// Read the live generation's build summary.
    pub fn meta(&self) -> Result<Meta> {
        let dir = self.current()?;
        read_meta(&dir).map_err(|reason| Error::BadIndex {
            path: self.root.clone(),
            reason,
        })
    }

    /// Open the live generation for searching.
    pub fn open(&self) -> Result<Opened> {
        let dir = self.current()?;
        let bad = |reason: String| Error::BadIndex {
            path: self.root.clone(),
            reason,
        };
        let meta = read_meta(&dir).map_err(bad)?;
        if meta.schema_version != schema::SCHEMA_VERSION {
            return Err(bad(format!(
                "it has layout version {}, this trialsearch reads version {}",
                meta.schema_version,
                schema::SCHEMA_VERSION
            )));
        }
        let index = tantivy::Index::open_in_dir(&dir).map_err(|e| bad(short(&e)))?;
        analyzer::register_for_reading(&index);
        let mut fields =
            schema::Fields::from_schema(&index.schema()).map_err(|e| bad(short(&e)))?;
        // TRIALSEARCH_NO_PHRASE_TOKENS=1 searches every phrase by its
        // words' positions: the same answers, to compare and to measure.
        if std::env::var_os("TRIALSEARCH_NO_PHRASE_TOKENS").is_none_or(|v| v != "1") {
            fields.phrases = std::sync::Arc::new(phrases::PhraseSet::for_lookup(&meta.phrases));
        }
        // Segment files are opened here: a damaged one is a damaged index
        // (with the rebuild hint), not a search engine error.
        // One cached doc store block, not tantivy's 100: a query's hits lie
        // in different blocks, and each block kept is a fresh 32 KiB buffer
        // whose pages fault in (80 of a one-shot query's ~570 page faults
        // for ten hits); with one, two buffers take turns. A walk in
        // document order (export) still reads each block once.
        let open_reader = |ix: &tantivy::Index| -> Result<tantivy::IndexReader> {
            ix.reader_builder()
                .reload_policy(tantivy::ReloadPolicy::Manual)
                .doc_store_cache_num_blocks(1)
                .try_into()
                .map_err(|e: tantivy::TantivyError| bad(short(&e)))
        };
        let reader = open_reader(&index)?;
        let deleted = match update::open_deleted(&dir).map_err(|e| bad(e.to_string()))? {
            Some(d) => {
                check_deleted_layout(&index, &d).map_err(bad)?;
                Some(open_reader(&d)?)
            }
            None => None,
        };
        // Counted from the readers' segments: asking the index for its
        // segment metas would parse meta.json a third time (a tenth of a
        // one-shot query's fixed cost).
        let sum = |r: &tantivy::IndexReader, f: fn(&tantivy::SegmentReader) -> u32| {
            r.searcher()
                .segment_readers()
                .iter()
                .map(|s| u64::from(f(s)))
                .sum::<u64>()
        };
        check_deleted_counts(
            sum(&reader, tantivy::SegmentReader::num_deleted_docs),
            deleted
                .as_ref()
                .map_or(0, |d| sum(d, tantivy::SegmentReader::num_docs)),
        )
        .map_err(bad)?;
        Ok(Opened {
            index,
            reader,
            fields,
            meta,
            deleted,
        })
    }
}

/// The live generation, opened.
pub struct Opened {
    /// The tantivy index.
    pub index: tantivy::Index,
    /// A reader of it (reloaded manually: a generation never changes).
    pub reader: tantivy::IndexReader,
    /// Its fields.
    pub fields: schema::Fields,
    /// The build summary.
    pub meta: Meta,
    /// The documents deleted from `index` but still in its segments, when
    /// it was updated in place (see [`DELETED`]): their statistics are to be
    /// subtracted from the index's.
    pub deleted: Option<tantivy::IndexReader>,
}

/// Scores are only right when the deleted-documents index holds exactly as
/// many documents as the main index has deleted ones, with the same layout.
pub(crate) fn check_deleted(
    index: &tantivy::Index,
    deleted: Option<&tantivy::Index>,
) -> std::result::Result<(), String> {
    let count = |ix: &tantivy::Index, f: fn(&tantivy::SegmentMeta) -> u32| {
        ix.searchable_segment_metas()
            .map(|m| m.iter().map(|s| u64::from(f(s))).sum::<u64>())
            .map_err(|e| short(&e))
    };
    let in_segments = count(index, tantivy::SegmentMeta::num_deleted_docs)?;
    let tracked = match deleted {
        Some(d) => {
            check_deleted_layout(index, d)?;
            count(d, tantivy::SegmentMeta::num_docs)?
        }
        None => 0,
    };
    check_deleted_counts(in_segments, tracked)
}

fn check_deleted_layout(
    index: &tantivy::Index,
    deleted: &tantivy::Index,
) -> std::result::Result<(), String> {
    if deleted.schema() != index.schema() {
        return Err(format!("{DELETED}/ has another layout than the index"));
    }
    Ok(())
}

fn check_deleted_counts(in_segments: u64, tracked: u64) -> std::result::Result<(), String> {
    if in_segments != tracked {
        return Err(format!(
            "it has {in_segments} deleted documents but {DELETED}/ lists {tracked}"
        ));
    }
    Ok(())
}

fn short(e: &tantivy::TantivyError) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn read_meta(dir: &Path) -> std::result::Result<Meta, String> {
    let p = dir.join(META);
    let bytes = std::fs::read(&p).map_err(|e| format!("{META} unreadable: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{META} is corrupt: {e}"))
}

fn valid_gen_name(name: &str) -> bool {
    name.strip_prefix("gen-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}
