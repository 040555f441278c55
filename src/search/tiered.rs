//! Stage 5 helper: a free-text query as one pass that also says, for each
//! trial, how well it matched: its tier and the phase or status boosts it
//! meets, besides its topic score.
//!
//! A query of two concepts or more forgives one missing concept, yet trials
//! matching every concept come first, and among them those matching each
//! concept in its own wordings or an equivalent (tier 2 over tier 1 over
//! tier 0); a phase or status named leads each tier. Scoring those tiers as
//! bonus clauses needs the best topic score before the search (one more
//! pass) and evaluates every concept again inside each bonus. Here each
//! concept's wordings are scored once, by one scorer that sees which of them
//! matched: the tier falls out of the matching itself, and the collector
//! ([`super::collector`]) orders hits by (tier, boosts met, topic score), so
//! it can skip scoring a trial that cannot enter the top.

use std::sync::Arc;
use tantivy::query::{BooleanQuery, EnableScoring, Explanation, Occur, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term, TERMINATED};

/// Tie-breaker of the disjunction over a concept's wordings, as
/// `query::concept_query` combines them.
const WORDING_TIE: Score = 0.1;

/// One wording of a concept, in every area it is searched in.
#[derive(Debug)]
pub struct Wording {
    /// The scored query (a disjunction over areas).
    pub query: Box<dyn Query>,
    /// Index of the concept, over the whole query.
    pub concept: usize,
    /// The words typed or an equivalent, not a broader term.
    pub strong: bool,
    /// The per-area queries of `query`, unweighted: what a trial must
    /// contain to match it (see [`MatchSets`]).
    pub leaves: Vec<Box<dyn Query>>,
}

impl Clone for Wording {
    fn clone(&self) -> Self {
        Wording {
            query: self.query.box_clone(),
            concept: self.concept,
            strong: self.strong,
            leaves: clone_all(&self.leaves),
        }
    }
}

/// A required clause: one concept, or several of which any will do (`a OR
/// b`), each scored as the best of its wordings plus a tenth of the others,
/// the concepts of a unit summed.
#[derive(Debug, Clone, Default)]
pub struct Unit {
    /// The wordings of the unit's concepts.
    pub wordings: Vec<Wording>,
}

/// The query. Matches the trials meeting at least `min` units, every
/// `required` clause and no `excluded` one.
#[derive(Debug)]
pub struct Tiered {
    /// Required clauses.
    pub units: Vec<Unit>,
    /// Units a trial must meet.
    pub min: usize,
    /// Whether trials meeting every unit form tiers above the others.
    pub tiers: bool,
    /// Optional clauses that add their score where they match (phrases).
    pub extras: Vec<Box<dyn Query>>,
    /// Phase or status boosts: counted where met, not scored.
    pub constraints: Vec<Box<dyn Query>>,
    /// Clauses every hit must match (age ranges, filters), scored.
    pub required: Vec<Box<dyn Query>>,
    /// Clauses no hit may match.
    pub excluded: Vec<Box<dyn Query>>,
}

fn clone_all(v: &[Box<dyn Query>]) -> Vec<Box<dyn Query>> {
    v.iter().map(|q| q.box_clone()).collect()
}

impl Clone for Tiered {
    fn clone(&self) -> Self {
        Tiered {
            units: self.units.clone(),
            min: self.min,
            tiers: self.tiers,
            extras: clone_all(&self.extras),
            constraints: clone_all(&self.constraints),
            required: clone_all(&self.required),
            excluded: clone_all(&self.excluded),
        }
    }
}

fn weights(v: &[Box<dyn Query>], es: EnableScoring<'_>) -> tantivy::Result<Vec<Box<dyn Weight>>> {
    v.iter().map(|q| q.weight(es)).collect()
}

impl Query for Tiered {
    fn weight(&self, es: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let mut wordings = Vec::new();
        let mut n_concepts = 0;
        for (u, unit) in self.units.iter().enumerate() {
            for w in &unit.wordings {
                n_concepts = n_concepts.max(w.concept + 1);
                wordings.push((w.query.weight(es)?, u, w.concept, w.strong));
            }
        }
        // A relaxed query's matches are also found unscored, unit by unit
        // (see `MatchSets`), from one flat union of each unit's leaves.
        let sets = if self.tiers && self.min.max(1) < self.units.len() {
            let off = EnableScoring::disabled_from_schema(es.schema());
            let units = self
                .units
                .iter()
                .map(|u| {
                    let leaves = u.wordings.iter().flat_map(|w| &w.leaves);
                    BooleanQuery::new(leaves.map(|q| (Occur::Should, q.box_clone())).collect())
                        .weight(off)
                })
                .collect::<tantivy::Result<Vec<_>>>()?;
            Some(Arc::new(SetWeights {
                units,
                required: weights(&self.required, off)?,
                excluded: weights(&self.excluded, off)?,
            }))
        } else {
            None
        };
        Ok(Box::new(TieredWeight {
            wordings,
            sets,
            n_units: self.units.len(),
            n_concepts,
            min: self.min,
            tiers: self.tiers,
            extras: weights(&self.extras, es)?,
            constraints: weights(&self.constraints, es)?,
            required: weights(&self.required, es)?,
            excluded: weights(&self.excluded, es)?,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for u in &self.units {
            for w in &u.wordings {
                w.query.query_terms(visitor);
            }
        }
        for q in self
            .extras
            .iter()
            .chain(&self.constraints)
            .chain(&self.required)
            .chain(&self.excluded)
        {
            q.query_terms(visitor);
        }
    }
}

struct TieredWeight {
    wordings: Vec<(Box<dyn Weight>, usize, usize, bool)>,
    /// What [`TieredScorer::match_sets`] needs (relaxed queries only).
    sets: Option<Arc<SetWeights>>,
    n_units: usize,
    n_concepts: usize,
    min: usize,
    tiers: bool,
    extras: Vec<Box<dyn Weight>>,
    constraints: Vec<Box<dyn Weight>>,
    required: Vec<Box<dyn Weight>>,
    excluded: Vec<Box<dyn Weight>>,
}

fn scorers(
    v: &[Box<dyn Weight>],
    reader: &SegmentReader,
    boost: Score,
) -> tantivy::Result<Vec<Box<dyn Scorer>>> {
    v.iter().map(|w| w.scorer(reader, boost)).collect()
}

impl TieredWeight {
    fn tiered_scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<TieredScorer> {
        let mut wordings = Vec::with_capacity(self.wordings.len());
        for (w, unit, concept, strong) in &self.wordings {
            let s = w.scorer(reader, boost)?;
            // A wording absent from this segment never matches.
            if s.doc() != TERMINATED {
                wordings.push(WordingScorer {
                    s,
                    unit: *unit,
                    concept: *concept,
                    strong: *strong,
                });
            }
        }
        let docs = wordings.iter().map(|w| w.s.doc()).collect();
        let units = wordings.iter().map(|w| w.unit).collect();
        let mut out = TieredScorer {
            wordings,
            docs,
            units,
            min: self.min.max(1),
            tiers: self.tiers,
            extras: scorers(&self.extras, reader, boost)?,
            constraints: scorers(&self.constraints, reader, boost)?,
            required: scorers(&self.required, reader, boost)?,
            excluded: scorers(&self.excluded, reader, 1.0)?,
            doc: TERMINATED,
            at: Vec::new(),
            tier: 0,
            met: 0,
            unit_doc: vec![TERMINATED; self.n_units],
            sorted: Vec::with_capacity(self.n_units),
            hit: vec![0; self.n_units],
            max: vec![0.0; self.n_concepts],
            sum: vec![0.0; self.n_concepts],
            touched: Vec::new(),
            sets: self.sets.clone().map(|w| (w, reader.clone())),
        };
        if out.min <= self.n_units {
            out.find();
        }
        Ok(out)
    }
}

impl Weight for TieredWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(self.tiered_scorer(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut s = self.tiered_scorer(reader, 1.0)?;
        if s.doc() > doc || s.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let mut e = Explanation::new("topic score", s.score());
        e.add_const("tier", s.tier() as Score);
        e.add_const("phase or status boosts met", s.met() as Score);
        Ok(e)
    }
}

struct WordingScorer {
    s: Box<dyn Scorer>,
    unit: usize,
    concept: usize,
    strong: bool,
}

/// Bit of [`TieredScorer::hit`]: the unit matched.
const MATCHED: u8 = 1;
/// Bit of [`TieredScorer::hit`]: the unit matched in its own wordings.
const STRONG: u8 = 2;

/// The scorer: walks the wordings of every unit together, so it knows which
/// units each trial matches. Scores are computed only when asked for.
pub struct TieredScorer {
    wordings: Vec<WordingScorer>,
    /// Each wording's current doc, and its unit, beside the scorers: finding
    /// the next match reads every wording's position for every candidate
    /// trial, which through virtual `doc()` calls was most of `find`, itself
    /// a quarter of a query's time on the 500,000-study L (perf).
    docs: Vec<DocId>,
    units: Vec<usize>,
    min: usize,
    tiers: bool,
    extras: Vec<Box<dyn Scorer>>,
    constraints: Vec<Box<dyn Scorer>>,
    required: Vec<Box<dyn Scorer>>,
    excluded: Vec<Box<dyn Scorer>>,
    doc: DocId,
    /// Wordings positioned on `doc`.
    at: Vec<usize>,
    tier: u8,
    met: u8,
    // Scratch, per unit and per concept.
    unit_doc: Vec<DocId>,
    sorted: Vec<DocId>,
    hit: Vec<u8>,
    max: Vec<Score>,
    sum: Vec<Score>,
    touched: Vec<usize>,
    /// The unscored weights of [`TieredScorer::match_sets`] and the
    /// segment (relaxed queries; opened only when asked for).
    sets: Option<(Arc<SetWeights>, SegmentReader)>,
}

/// Unscored weights: per unit, one union of its wordings' leaves; the
/// required and excluded clauses.
struct SetWeights {
    units: Vec<Box<dyn Weight>>,
    required: Vec<Box<dyn Weight>>,
    excluded: Vec<Box<dyn Weight>>,
}

/// A relaxed query's matches in one segment as bitsets over its doc ids
/// (deleted documents included): `all` the trials it matches, `full` those
/// meeting every unit.
///
/// Why: with a relaxed query most matches are in the lowest tier ("breast
/// cancer": 61,000 trials with both words, 262,000 more with one, on the
/// 500,000-study L), and they are only counted, never ranked once the
/// upper tiers fill the page. Walking them one by one through the scored
/// unions of every wording was a quarter of such a query's time (perf);
/// set unscored, unit by unit, and combined 64 trials at a time, they cost
/// less (about a tenth of the query's CPU in all, BENCHMARKS.md).
pub struct MatchSets {
    /// Trials matching at least `min` units, every required clause and no
    /// excluded one.
    pub all: Vec<u64>,
    /// Those of them meeting every unit.
    pub full: Vec<u64>,
}

impl MatchSets {
    /// Call `f` with each doc set in `bits`, in ascending order.
    pub fn each(bits: &[u64], mut f: impl FnMut(DocId)) {
        for (w, &word) in bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let bit = word.trailing_zeros();
                word &= word - 1;
                f((w as DocId) * 64 + bit);
            }
        }
    }

    /// How many docs are set in `bits`.
    pub fn count(bits: &[u64]) -> usize {
        bits.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The docs of `s` from its current one on, as bits.
fn bits_of(s: &mut dyn Scorer, words: usize) -> Vec<u64> {
    let mut bits = vec![0u64; words];
    let mut buf = [0 as DocId; tantivy::COLLECT_BLOCK_BUFFER_LEN];
    loop {
        let n = s.fill_buffer(&mut buf);
        for &d in &buf[..n] {
            if let Some(w) = bits.get_mut(d as usize / 64) {
                *w |= 1 << (d % 64);
            }
        }
        if n < buf.len() {
            return bits;
        }
    }
}

/// Move `s` to `target` unless it is there or past it; its doc after.
fn reach(s: &mut dyn Scorer, target: DocId) -> DocId {
    let d = s.doc();
    if d < target {
        s.seek(target)
    } else {
        d
    }
}

impl TieredScorer {
    /// 0: some unit missing (or no tiers); 1: every unit matched; 2: every
    /// unit matched in its own wordings or an equivalent.
    pub fn tier(&self) -> u8 {
        self.tier
    }

    /// Phase or status boosts the trial meets.
    pub fn met(&self) -> u8 {
        self.met
    }

    /// A relaxed query's matches in this segment, found without scoring
    /// (see [`MatchSets`]); `None` for other queries, or once asked. The
    /// scorer itself is not moved.
    pub fn match_sets(&mut self) -> tantivy::Result<Option<MatchSets>> {
        let Some((sets, reader)) = self.sets.take() else {
            return Ok(None);
        };
        let words = (reader.max_doc() as usize).div_ceil(64);
        let bits = |w: &dyn Weight| -> tantivy::Result<Vec<u64>> {
            Ok(bits_of(w.scorer(&reader, 1.0)?.as_mut(), words))
        };
        let units = sets
            .units
            .iter()
            .map(|w| bits(w.as_ref()))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut keep = vec![!0u64; words];
        for w in &sets.required {
            for (k, b) in keep.iter_mut().zip(bits(w.as_ref())?) {
                *k &= b;
            }
        }
        for w in &sets.excluded {
            for (k, b) in keep.iter_mut().zip(bits(w.as_ref())?) {
                *k &= !b;
            }
        }
        let n = units.len();
        let min = self.min.min(n + 1);
        let mut all = vec![0u64; words];
        let mut full = vec![0u64; words];
        // at_least[j]: the trials of this word meeting j units or more of
        // those seen so far.
        let mut at_least = vec![0u64; n + 2];
        for w in 0..words {
            at_least.fill(0);
            at_least[0] = !0;
            for (i, u) in units.iter().enumerate() {
                let b = u[w];
                if b != 0 {
                    for j in (1..=i + 1).rev() {
                        at_least[j] |= at_least[j - 1] & b;
                    }
                }
            }
            all[w] = at_least[min] & keep[w];
            full[w] = at_least[n] & keep[w];
        }
        Ok(Some(MatchSets { all, full }))
    }

    /// From the current trial on, match only trials meeting every unit:
    /// once a segment has a page of them, no other trial can enter its top.
    pub fn only_full(&mut self) {
        let n = self.unit_doc.len();
        if self.min >= n {
            return;
        }
        self.min = n;
        if self.doc != TERMINATED {
            self.at.clear();
            self.find();
        }
    }

    /// Position on the first match at or after the wordings' current docs.
    fn find(&mut self) -> DocId {
        loop {
            // The earliest trial `min` units may share. With one unit
            // needed it is the earliest wording's, and one pass finds it and
            // the wordings on it (no wording is behind it).
            self.at.clear();
            let target = if self.min == 1 {
                let mut target = TERMINATED;
                for (i, &d) in self.docs.iter().enumerate() {
                    if d < target {
                        target = d;
                        self.at.clear();
                        self.at.push(i);
                    } else if d == target {
                        self.at.push(i);
                    }
                }
                target
            } else {
                self.unit_doc.fill(TERMINATED);
                for (&d, &u) in self.docs.iter().zip(&self.units) {
                    if d < self.unit_doc[u] {
                        self.unit_doc[u] = d;
                    }
                }
                self.sorted.clear();
                self.sorted.extend_from_slice(&self.unit_doc);
                self.sorted.sort_unstable();
                self.sorted[self.min - 1]
            };
            if target == TERMINATED {
                self.doc = TERMINATED;
                self.at.clear();
                return TERMINATED;
            }
            self.hit.fill(0);
            if self.min > 1 {
                for (i, d) in self.docs.iter_mut().enumerate() {
                    if *d < target {
                        *d = self.wordings[i].s.seek(target);
                    }
                    if *d == target {
                        self.at.push(i);
                    }
                }
            }
            for &i in &self.at {
                let w = &self.wordings[i];
                self.hit[w.unit] |= MATCHED | if w.strong { STRONG } else { 0 };
            }
            let matched = self.hit.iter().filter(|h| **h & MATCHED != 0).count();
            if matched >= self.min
                && self
                    .required
                    .iter_mut()
                    .all(|s| reach(s.as_mut(), target) == target)
                && !self
                    .excluded
                    .iter_mut()
                    .any(|s| reach(s.as_mut(), target) == target)
            {
                self.doc = target;
                self.tier = if self.tiers && matched == self.hit.len() {
                    if self.hit.iter().all(|h| h & STRONG != 0) {
                        2
                    } else {
                        1
                    }
                } else {
                    0
                };
                let mut met = 0u8;
                for s in &mut self.constraints {
                    if reach(s.as_mut(), target) == target {
                        met = met.saturating_add(1);
                    }
                }
                self.met = met;
                return target;
            }
            for &i in &self.at {
                self.docs[i] = self.wordings[i].s.advance();
            }
        }
    }
}

impl DocSet for TieredScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        for &i in &self.at {
            self.docs[i] = self.wordings[i].s.advance();
        }
        self.at.clear();
        self.find()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for (w, d) in self.wordings.iter_mut().zip(&mut self.docs) {
            if *d < target {
                *d = w.s.seek(target);
            }
        }
        self.at.clear();
        self.find()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.wordings
            .iter()
            .map(|w| w.s.size_hint())
            .max()
            .unwrap_or(0)
    }
}

impl Scorer for TieredScorer {
    /// The topic score: each concept's best wording plus a tenth of its
    /// others, summed, plus the extras and required clauses that match.
    fn score(&mut self) -> Score {
        let doc = self.doc;
        if doc == TERMINATED {
            return 0.0;
        }
        self.touched.clear();
        for &i in &self.at {
            let w = &mut self.wordings[i];
            let s = w.s.score();
            let c = w.concept;
            if !self.touched.contains(&c) {
                self.touched.push(c);
                self.max[c] = s;
                self.sum[c] = s;
            } else {
                self.max[c] = self.max[c].max(s);
                self.sum[c] += s;
            }
        }
        let mut topic: Score = 0.0;
        for &c in &self.touched {
            topic += self.max[c] + (self.sum[c] - self.max[c]) * WORDING_TIE;
        }
        for s in &mut self.extras {
            if reach(s.as_mut(), doc) == doc {
                topic += s.score();
            }
        }
        for s in &mut self.required {
            topic += s.score();
        }
        topic
    }
}
