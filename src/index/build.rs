//! Stage 4, build: walk the folders → read every file (in parallel) →
//! sanitize → merge → write a new index generation → swap it in.
//!
//! Files are parsed on all cores with rayon; each file's records keep their
//! order, and files are visited in name order, so two builds of the same
//! folder produce the same index. One `IndexWriter` adds the merged trials in
//! id order and commits once; the segments are then merged into one, which
//! makes queries faster and tie-breaks stable. Every file that yields nothing
//! is reported with one line saying why.

use super::schema::{self, build_schema, to_document};
use super::{analyzer, IndexDir, Meta, Skipped, CURRENT, LOCK, META};
use crate::error::{Error, Result};
use crate::merge::merge;
use crate::normalize::sanitize;
use crate::sources::{read_file, Item, Limits};
use crate::trial::{Format, Trial};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

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
}

/// One file of the corpus as last seen, for incremental rebuilds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path as displayed.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since 1970.
    pub mtime_ns: u128,
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

struct FileResult {
    display: String,
    trials: Vec<Trial>,
    warnings: Vec<String>,
    skipped: Vec<Skipped>,
    manifest: Option<ManifestEntry>,
}

fn read_one(path: &Path, display: &str, limits: &Limits) -> FileResult {
    let mut trials = Vec::new();
    let mut warnings = Vec::new();
    let mut skipped = Vec::new();
    let manifest = fs::metadata(path).ok().map(|m| ManifestEntry {
        path: display.to_string(),
        size: m.len(),
        mtime_ns: m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    });
    // A parser bug must cost one file, never the whole build.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_file(path, display, limits, &mut |item| match item {
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
    FileResult {
        display: display.to_string(),
        trials,
        warnings,
        skipped,
        manifest,
    }
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
fn abort_after() -> Option<usize> {
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
    for f in found {
        match f {
            Found::File(p, d) => files.push((p, d)),
            Found::Skip(s) => {
                on_message(Message::Skip(&s));
                summary.skipped.push(s);
            }
        }
    }
    summary.files_seen = files.len() + summary.skipped.len();

    let bar = progress_bar(opts.progress, files.len() as u64);
    let limits = opts.limits;
    let results: Vec<FileResult> = files
        .par_iter()
        .map(|(p, d)| {
            let r = read_one(p, d, &limits);
            if let Some(b) = &bar {
                b.inc(1);
            }
            r
        })
        .collect();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }

    let mut records: Vec<Trial> = Vec::new();
    let mut manifest = Vec::new();
    for r in results {
        for w in &r.warnings {
            on_message(Message::Warning(&r.display, w));
        }
        summary.warnings += r.warnings.len();
        for s in r.skipped {
            on_message(Message::Skip(&s));
            summary.skipped.push(s);
        }
        if !r.trials.is_empty() {
            summary.files_read += 1;
        }
        for t in &r.trials {
            for s in &t.sources {
                *summary
                    .records
                    .entry(s.format.as_str().to_string())
                    .or_default() += 1;
            }
        }
        records.extend(r.trials);
        manifest.extend(r.manifest);
    }

    let trials = merge(records);
    summary.trials = trials.len();

    // Write the new generation beside the live one.
    let next = generations(&root).last().map(|(n, _)| n + 1).unwrap_or(1);
    let gen_name = format!("gen-{next:06}");
    let gen_dir = root.join(&gen_name);
    fs::create_dir_all(&gen_dir)
        .map_err(|e| Error::io(format!("cannot create {}", gen_dir.display()), e))?;
    write_index(&gen_dir, &trials, opts)?;

    let meta = Meta {
        schema_version: schema::SCHEMA_VERSION,
        built_by: format!("trialsearch {}", env!("CARGO_PKG_VERSION")),
        files_seen: summary.files_seen,
        files_read: summary.files_read,
        records: summary.records.clone(),
        trials: trials.len(),
        trials_per_format: trials_per_format(&trials),
        fill_rates: fill_rates(&trials),
        skipped: summary.skipped.clone(),
        warnings: summary.warnings,
        manifest,
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

fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        File::create(path).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

fn write_index(gen_dir: &Path, trials: &[Trial], opts: &BuildOptions) -> Result<()> {
    let (schema, fields) = build_schema();
    let index = tantivy::Index::create_in_dir(gen_dir, schema)?;
    analyzer::register(&index);
    let budget = if opts.writer_memory > 0 {
        opts.writer_memory
    } else {
        256 << 20
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer: tantivy::IndexWriter =
        index.writer_with_num_threads(threads, budget.max((threads * 20) << 20))?;
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    let abort = abort_after();
    for (n, t) in trials.iter().enumerate() {
        if abort == Some(n) {
            std::process::abort();
        }
        writer.add_document(to_document(&fields, t)?)?;
    }
    writer.commit()?;
    let ids = index.searchable_segment_ids()?;
    if ids.len() > 1 {
        // One segment: faster queries, and doc order = id order for tie-breaks.
        writer.merge(&ids).wait()?;
    }
    writer.wait_merging_threads()?;
    Ok(())
}

fn trials_per_format(trials: &[Trial]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for t in trials {
        let mut formats: Vec<Format> = t.sources.iter().map(|s| s.format).collect();
        formats.sort();
        formats.dedup();
        for f in formats {
            *m.entry(f.as_str().to_string()).or_default() += 1;
        }
    }
    m
}

/// Per field, the share of trials where it is filled: a weak adapter shows
/// up as a low rate.
pub fn fill_rates(trials: &[Trial]) -> BTreeMap<String, f64> {
    type Probe = fn(&Trial) -> bool;
    let probes: [(&str, Probe); 24] = [
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
    let n = trials.len().max(1) as f64;
    probes
        .iter()
        .map(|(name, p)| {
            let filled = trials.iter().filter(|t| p(t)).count() as f64;
            (name.to_string(), (filled / n * 1000.0).round() / 1000.0)
        })
        .collect()
}

fn progress_bar(enabled: bool, len: u64) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} reading {pos}/{len} files [{bar:30}] {per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(s) = style {
        bar.set_style(s);
    }
    Some(bar)
}
