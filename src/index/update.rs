//! In-place update of an index generation. When a re-index finds that only
//! a few trials changed, the new generation starts as a copy of the live
//! one's segments — hard links, since tantivy never writes to a segment file
//! and replaces `meta.json` by renaming a new file over it — and only the
//! documents of changed trials are deleted and added. Writing the whole
//! index is most of a build; this costs in proportion to the change.
//!
//! The result equals a full build of the same files:
//!
//! * Which documents change is decided on the link groups recomputed over
//!   every record's keys. A group is kept when its records are exactly those
//!   of one group of the live generation, all from unchanged files; every
//!   other live group's document is deleted and every other new group is
//!   merged and added. A changed file can join or split groups of unchanged
//!   files (a page now matching a registry record by title and sponsor), and
//!   those groups are replaced too.
//! * Derived ids made unique (`merge::make_ids_unique`) depend on every trial
//!   sharing the derived id. When a changed trial is among them, the update
//!   is declined and the whole index written, which is rare and exact.
//! * BM25 statistics (document count, document frequencies, field lengths)
//!   count a deleted document until its segment is merged. The deleted
//!   documents of the base segment are indexed again into a small side index
//!   ([`DELETED`]) whose statistics the searcher subtracts, so scores,
//!   snippets and spelling suggestions are those of a fresh index.
//! * A segment with deletions is never merged: tantivy then only estimates
//!   the merged field lengths from the lossy per-document norms, and scores
//!   drift in the fourth digit.
//!
//! Layout: the base segment (the one a full write produced, with its
//! deletions) and a few delta segments holding the documents added since,
//! kept free of deletions: each update adds one, they are merged once there
//! are more than [`MAX_DELTA_SEGMENTS`], and when one of a delta segment's
//! documents is replaced that segment is written again (it is small). When
//! deleted plus delta documents pass [`COMPACT_PERCENT`] of the index, the
//! update is declined and the whole index written from the record cache,
//! which drops the deletions.

use super::build::{
    abort_after, read_ids, BuildOptions, FillCounter, GroupIds, WriteStats, Written,
};
use super::schema::{build_schema, stored_trial, to_document, Fields};
use super::{analyzer, Meta, DELETED};
use crate::error::{Error, Result};
use crate::merge::{self, merge_group, LinkKeys};
use crate::trial::Trial;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use tantivy::collector::DocSetCollector;
use tantivy::index::SegmentId;
use tantivy::indexer::NoMergePolicy;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Index, IndexWriter, ReloadPolicy, Term};

/// When the base segment's deleted documents plus the delta segments'
/// documents would pass this share of the index (percent), the whole index
/// is written instead. Bounds the wasted space, the side index and the
/// delta (rewritten when touched); a full write every 10% of churn costs
/// a few percent of a build per update, amortized.
pub const COMPACT_PERCENT: usize = 10;

/// Writer memory of an update: the documents added are at most
/// [`COMPACT_PERCENT`] of the index, written by one thread.
const WRITER_MEMORY: usize = 128 << 20;
/// Delta segments (one per update) an index may have before they are
/// merged into one: a query pays a little for each segment, an update for
/// each merge (measured in BENCHMARKS.md).
const MAX_DELTA_SEGMENTS: usize = 3;
/// Segments the deleted-documents index may have before they are merged.
const MAX_DELETED_SEGMENTS: usize = 4;
/// Writer memory of the deleted-documents index (tantivy's minimum is 15 MB).
const DELETED_WRITER_MEMORY: usize = 16 << 20;

/// What an in-place update works from.
pub(super) struct Input<'a> {
    /// The live generation.
    pub live: &'a Path,
    /// The new generation, holding its record cache already.
    pub gen_dir: &'a Path,
    /// The live generation's records' link keys, in its manifest order.
    pub old_keys: &'a [LinkKeys],
    /// The live generation's build summary.
    pub old_meta: &'a Meta,
    /// [`merge::groups`] of the new generation's records' link keys.
    pub groups: &'a [Vec<usize>],
    /// For each record of the new generation, its index in the live one when
    /// it came unchanged from the cache.
    pub carried: &'a [Option<usize>],
    /// Reads a record of the new generation.
    pub load: &'a (dyn Fn(usize) -> Result<Trial> + Sync),
    /// The build's options.
    pub opts: &'a BuildOptions,
}

/// Whether the update was done.
pub(super) enum Outcome {
    /// The new generation holds the updated index.
    Done(Box<Written>),
    /// Not done, and why: the whole index is to be written.
    Declined(&'static str),
}

/// Update the live generation's index into `gen_dir`, or decline.
pub(super) fn in_place(inp: &Input, phase: &dyn Fn(&str)) -> Result<Outcome> {
    use Outcome::Declined;
    let Some(old_ids) = read_ids(inp.live) else {
        return Ok(Declined("the live generation lists no trial ids"));
    };
    let Some(fill) = FillCounter::from_counts(&inp.old_meta.fill_counts, inp.old_meta.trials)
    else {
        return Ok(Declined("the live generation has no fill counts"));
    };
    let old_groups = merge::groups(inp.old_keys);
    if old_groups.len() != old_ids.len() || old_ids.len() != inp.old_meta.trials {
        return Ok(Declined(
            "the live generation's trial ids do not match its records",
        ));
    }
    let mut group_of = vec![usize::MAX; inp.old_keys.len()];
    for (og, g) in old_groups.iter().enumerate() {
        for &r in g {
            group_of[r] = og;
        }
    }

    // Keep a group when it is exactly one live group of unchanged records.
    let mut kept = vec![false; old_groups.len()];
    let mut ids: Vec<Option<GroupIds>> = vec![None; inp.groups.len()];
    let mut changed = Vec::new();
    for (gi, g) in inp.groups.iter().enumerate() {
        match same_group(g, inp.carried, &group_of, &old_groups) {
            Some(og) if !kept[og] => {
                kept[og] = true;
                ids[gi] = Some(old_ids[og].clone());
            }
            _ => changed.push(gi),
        }
    }
    let removed: Vec<usize> = (0..old_groups.len()).filter(|&og| !kept[og]).collect();
    let size = inp.groups.len().max(old_groups.len()).max(1);
    if (changed.len() + removed.len()) * 100 > size * COMPACT_PERCENT {
        return Ok(Declined("too many trials changed"));
    }

    let added: Vec<Trial> = changed
        .par_iter()
        .map(|&gi| {
            let members = inp.groups[gi]
                .iter()
                .map(|&i| (inp.load)(i))
                .collect::<Result<Vec<_>>>()?;
            Ok(merge_group(members))
        })
        .collect::<Result<_>>()?;
    for (&gi, t) in changed.iter().zip(&added) {
        ids[gi] = Some(GroupIds {
            merged: t.id.clone(),
            renamed: None,
        });
    }
    let ids: Vec<GroupIds> = ids.into_iter().flatten().collect();
    if ids.len() != inp.groups.len() {
        return Ok(Declined("a trial got no id"));
    }
    // Renaming follows the order of every trial sharing a derived id; only
    // when no changed trial shares one are the kept trials' ids still right.
    if shares_derived_id(&ids, &changed) || shares_derived_id(&old_ids, &removed) {
        return Ok(Declined(
            "a changed trial shares its derived id with another",
        ));
    }
    phase("merge changed trials");

    let (schema, fields) = build_schema();
    let settings = inp.opts.index_settings();
    let live = Index::open_in_dir(inp.live)?;
    let live_settings = live.settings();
    if live.schema() != schema
        || live_settings.docstore_compression != settings.docstore_compression
        || live_settings.docstore_blocksize != settings.docstore_blocksize
    {
        return Ok(Declined("the live index has another layout or doc store"));
    }
    let reader = live
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let searcher = reader.searcher();
    // The documents to delete, found by id: each id must name exactly one
    // live document, or deleting by it would take others along.
    let mut gone: Vec<(SegmentId, Trial)> = Vec::with_capacity(removed.len());
    for &og in &removed {
        let id = old_ids[og].indexed();
        let hits = searcher.search(
            &TermQuery::new(id_term(&fields, id), IndexRecordOption::Basic),
            &DocSetCollector,
        )?;
        let mut hits = hits.into_iter();
        let (Some(addr), None) = (hits.next(), hits.next()) else {
            return Ok(Declined("a trial id does not name exactly one document"));
        };
        let t = stored_trial(&searcher, &fields, addr)?;
        if t.id != id {
            return Ok(Declined("a trial id does not name exactly one document"));
        }
        gone.push((searcher.segment_reader(addr.segment_ord).segment_id(), t));
    }

    // The base segment keeps its deletions (tracked by the deleted-documents
    // index); the other segments make up the delta, which has none.
    let metas = live.searchable_segment_metas()?;
    let Some(base) = metas.iter().max_by_key(|m| m.max_doc()) else {
        return Ok(Declined("the live index is empty"));
    };
    let base_id = base.id();
    let old_deleted_index = open_deleted(inp.live)?;
    let tracked = old_deleted_index.as_ref().map_or(Ok(0), count_docs)?;
    let delta_clean = metas.iter().all(|m| m.id() == base_id || !m.has_deletes());
    if !delta_clean || tracked != u64::from(base.num_deleted_docs()) {
        return Ok(Declined("the live index has deletions it does not track"));
    }
    let total = inp.groups.len();
    let gone_from_base = gone.iter().filter(|(s, _)| *s == base_id).count();
    let base_deleted = base.num_deleted_docs() as usize + gone_from_base;
    let base_alive = (base.num_docs() as usize).saturating_sub(gone_from_base);
    let delta = total.saturating_sub(base_alive);
    if (base_deleted + delta) * 100 > total.max(1) * COMPACT_PERCENT {
        return Ok(Declined("deleted and delta documents add up: compacting"));
    }
    drop(metas);
    // A replaced document of a delta segment: that segment is written
    // again, its other documents deleted and added back, so that no segment
    // but the base ever has deletions.
    let mut again: Vec<Trial> = Vec::new();
    let touched: HashSet<SegmentId> = gone
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| *s != base_id)
        .collect();
    if !touched.is_empty() {
        let replaced: HashSet<&str> = removed.iter().map(|&og| old_ids[og].indexed()).collect();
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            if !touched.contains(&seg.segment_id()) {
                continue;
            }
            for doc in seg.doc_ids_alive() {
                let t = stored_trial(&searcher, &fields, DocAddress::new(ord as u32, doc))?;
                if !replaced.contains(t.id.as_str()) {
                    if alive_with_id(&searcher, &fields, &t.id)? != 1 {
                        return Ok(Declined("a trial id does not name exactly one document"));
                    }
                    again.push(t);
                }
            }
        }
    }
    drop(searcher);
    drop(reader);

    link_index_files(&live, inp.live, inp.gen_dir)?;
    let index = Index::open_in_dir(inp.gen_dir)?;
    analyzer::register(&index);
    let threads = 1;
    // tantivy refuses less than 15 MB a thread.
    let budget = if inp.opts.writer_memory > 0 {
        inp.opts.writer_memory.max(20 << 20)
    } else {
        WRITER_MEMORY
    };
    let mut writer: IndexWriter = index.writer_with_num_threads(threads, budget)?;
    writer.set_merge_policy(Box::new(NoMergePolicy));
    for &og in &removed {
        writer.delete_term(id_term(&fields, old_ids[og].indexed()));
    }
    for t in &again {
        writer.delete_term(id_term(&fields, &t.id));
    }
    let docs = added
        .par_iter()
        .chain(again.par_iter())
        .map(|t| to_document(&fields, t))
        .collect::<serde_json::Result<Vec<_>>>()?;
    let abort = abort_after();
    for (n, d) in docs.into_iter().enumerate() {
        if abort == Some(n) {
            std::process::abort();
        }
        writer.add_document(d)?;
    }
    writer.commit()?;
    phase("update segments");
    // Segment metas are let go before merging: tantivy keeps the files of
    // every segment whose meta is still held, and merged-away files would
    // stay (and be linked into every later generation).
    let (delta_ids, delta_deletes) = {
        let segments = index.searchable_segment_metas()?;
        let delta: Vec<_> = segments.iter().filter(|m| m.id() != base_id).collect();
        let ids: Vec<SegmentId> = delta.iter().map(|m| m.id()).collect();
        (ids, delta.iter().any(|m| m.has_deletes()))
    };
    if delta_deletes {
        return Err(Error::BadIndex {
            path: inp.gen_dir.to_path_buf(),
            reason: "an in-place update left deletions in a delta segment".into(),
        });
    }
    if delta_ids.len() > MAX_DELTA_SEGMENTS {
        writer.merge(&delta_ids).wait()?;
        writer.garbage_collect_files().wait()?;
    }
    writer.wait_merging_threads()?;
    phase("merge delta segments");

    if base_deleted > 0 {
        let dir = inp.gen_dir.join(DELETED);
        fs::create_dir(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let deleted = match &old_deleted_index {
            Some(old) => {
                link_index_files(old, &inp.live.join(DELETED), &dir)?;
                Index::open_in_dir(&dir)?
            }
            None => Index::builder()
                .schema(schema.clone())
                .settings(settings)
                .create_in_dir(&dir)?,
        };
        if gone_from_base > 0 {
            analyzer::register(&deleted);
            let mut w: IndexWriter = deleted.writer_with_num_threads(1, DELETED_WRITER_MEMORY)?;
            w.set_merge_policy(Box::new(NoMergePolicy));
            for (_, t) in gone.iter().filter(|(s, _)| *s == base_id) {
                w.add_document(to_document(&fields, t)?)?;
            }
            w.commit()?;
            // A segment per update until there are a few: a query looks each
            // term up in every one, and merging costs this update its fsyncs.
            // The side index never has deletions, so merging it is exact.
            let ids = deleted.searchable_segment_ids()?;
            if ids.len() > MAX_DELETED_SEGMENTS {
                w.merge(&ids).wait()?;
                w.garbage_collect_files().wait()?;
            }
            w.wait_merging_threads()?;
        }
        phase("deleted-documents index");
    }

    // The update must leave exactly the trials of a full build, and the side
    // index exactly the deleted documents still in the segments.
    let deleted = open_deleted(inp.gen_dir)?;
    super::check_deleted(&index, deleted.as_ref()).map_err(|reason| Error::BadIndex {
        path: inp.gen_dir.to_path_buf(),
        reason,
    })?;
    let alive: u64 = index
        .searchable_segment_metas()?
        .iter()
        .map(|m| u64::from(m.num_docs()))
        .sum();
    if alive != inp.groups.len() as u64 {
        return Err(Error::BadIndex {
            path: inp.gen_dir.to_path_buf(),
            reason: format!(
                "an in-place update left {alive} documents for {} trials",
                inp.groups.len()
            ),
        });
    }

    let mut stats = WriteStats {
        per_format: inp.old_meta.trials_per_format.clone(),
        fill,
    };
    for (_, t) in &gone {
        stats.remove(t);
    }
    for t in &added {
        stats.add(t);
    }
    Ok(Outcome::Done(Box::new(Written {
        ids,
        stats,
        in_place: Some((removed.len(), added.len())),
    })))
}

/// The live group a new group is, when its records are all carried over
/// and are exactly that group's records.
fn same_group(
    g: &[usize],
    carried: &[Option<usize>],
    group_of: &[usize],
    old_groups: &[Vec<usize>],
) -> Option<usize> {
    let first = (*carried.get(*g.first()?)?)?;
    let og = *group_of.get(first)?;
    if old_groups.get(og)?.len() != g.len() {
        return None;
    }
    for &r in g {
        let old = (*carried.get(r)?)?;
        if group_of.get(old) != Some(&og) {
            return None;
        }
    }
    Some(og)
}

/// Whether one of the trials `which` has a derived (`TS-`) id that another
/// trial of `ids` has too.
fn shares_derived_id(ids: &[GroupIds], which: &[usize]) -> bool {
    let wanted: HashSet<&str> = which
        .iter()
        .filter_map(|&i| ids.get(i))
        .map(|g| g.merged.as_str())
        .filter(|id| id.starts_with("TS-"))
        .collect();
    if wanted.is_empty() {
        return false;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for g in ids {
        if wanted.contains(g.merged.as_str()) {
            let n = seen.entry(g.merged.as_str()).or_default();
            *n += 1;
            if *n > 1 {
                return true;
            }
        }
    }
    false
}

/// The term a document is found and deleted by: its own id, as
/// `schema::to_document` indexes it.
fn id_term(fields: &Fields, id: &str) -> Term {
    Term::from_field_text(fields.id_exact, &id.to_lowercase())
}

/// Live documents a trial id names.
fn alive_with_id(searcher: &tantivy::Searcher, fields: &Fields, id: &str) -> Result<usize> {
    let q = TermQuery::new(id_term(fields, id), IndexRecordOption::Basic);
    Ok(searcher.search(&q, &tantivy::collector::Count)?)
}

/// The deleted-documents index of a generation, if it has one.
pub(super) fn open_deleted(gen_dir: &Path) -> Result<Option<Index>> {
    let dir = gen_dir.join(DELETED);
    if !dir.is_dir() {
        return Ok(None);
    }
    Ok(Some(Index::open_in_dir(&dir)?))
}

fn count_docs(index: &Index) -> Result<u64> {
    Ok(index
        .searchable_segment_metas()?
        .iter()
        .map(|m| u64::from(m.num_docs()))
        .sum())
}

/// Hard-link the files of `index` (in `from`) into `to`, or copy them where
/// the file system has no hard links. Linking is safe because tantivy never
/// writes to an existing file: segments are immutable, deletions go to new
/// files, and `meta.json` and `.managed.json` are replaced by renaming. Only
/// the files of the index's segments are linked, not leftovers of a killed
/// writer; lock files are tantivy's own per directory.
fn link_index_files(index: &Index, from: &Path, to: &Path) -> Result<()> {
    let mut names: Vec<std::path::PathBuf> = vec!["meta.json".into(), ".managed.json".into()];
    // Every file a segment may have; those it does not have are skipped.
    names.extend(index.load_metas()?.list_segment_files());
    for name in names {
        let (src, dest) = (from.join(&name), to.join(&name));
        if !src.is_file() {
            continue;
        }
        if fs::hard_link(&src, &dest).is_err() {
            fs::copy(&src, &dest)
                .map_err(|err| Error::io(format!("copying {}", src.display()), err))?;
        }
    }
    Ok(())
}
