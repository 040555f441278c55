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

use super::pruned::{PruneInput, Pruned};
use super::query::AREA_TIE;
use std::sync::Arc;
use tantivy::query::{
    Bm25Weight, BooleanWeight, DisjunctionMaxCombiner, EnableScoring, Explanation, Occur, Query,
    Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term, TERMINATED};

/// Tie-breaker of the disjunction over a concept's wordings, as
/// `query::concept_query` combines them.
pub(super) const WORDING_TIE: Score = 0.1;

/// One area of a wording.
#[derive(Debug)]
pub struct Part {
    /// The scored query, weighted.
    pub query: Box<dyn Query>,
    /// Its field.
    pub field: Field,
    /// The terms and boost of its BM25 weight, which bound its score, when
    /// its scorer cannot tell (a phrase matched by positions; see
    /// [`super::pruned`]).
    pub bound: Option<(Vec<Term>, Score)>,
}

impl Clone for Part {
    fn clone(&self) -> Self {
        Part {
            query: self.query.box_clone(),
            field: self.field,
            bound: self.bound.clone(),
        }
    }
}

/// One wording of a concept, in every area it is searched in.
#[derive(Debug)]
pub struct Wording {
    /// The areas; the wording scores as their disjunction (the best plus
    /// [`AREA_TIE`] of the others).
    pub parts: Vec<Part>,
    /// Index of the concept, over the whole query.
    pub concept: usize,
    /// The words typed or an equivalent, not a broader term.
    pub strong: bool,
}

impl Clone for Wording {
    fn clone(&self) -> Self {
        Wording {
            parts: self.parts.clone(),
            concept: self.concept,
            strong: self.strong,
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

/// An optional clause that adds its score where it matches.
#[derive(Debug)]
pub struct Extra {
    /// The query.
    pub query: Box<dyn Query>,
    /// The terms and boost of its BM25 weight, which bound its score (see
    /// [`super::pruned`]); `None` when not known.
    pub bound: Option<(Vec<Term>, Score)>,
    /// Parts (wording, part, over the whole query) that match wherever it
    /// does: its score counts in a bound only where they may match.
    pub needs: Vec<(usize, usize)>,
}

impl Extra {
    /// A boosted term or phrase query: its score is at most its terms'
    /// BM25 weight, boosted.
    pub fn bounded(query: Box<dyn Query>, boost: Score) -> Extra {
        let mut terms = Vec::new();
        query.query_terms(&mut |t, _| terms.push(t.clone()));
        Extra {
            query,
            bound: Some((terms, boost)),
            needs: Vec::new(),
        }
    }

    /// Any other query.
    pub fn unbounded(query: Box<dyn Query>) -> Extra {
        Extra {
            query,
            bound: None,
            needs: Vec::new(),
        }
    }
}

impl Clone for Extra {
    fn clone(&self) -> Self {
        Extra {
            query: self.query.box_clone(),
            bound: self.bound.clone(),
            needs: self.needs.clone(),
        }
    }
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
    pub extras: Vec<Extra>,
    /// Phase or status boosts: counted where met, not scored.
    pub constraints: Vec<Box<dyn Query>>,
    /// Clauses every hit must match (age ranges, filters): they restrict,
    /// they do not score.
    pub required: Vec<Box<dyn Query>>,
    /// Clauses no hit may match.
    pub excluded: Vec<Box<dyn Query>>,
    /// Whether a segment's scorer may be a [`Pruned`] walk, which ranks by
    /// relevance without scoring the trials that cannot enter the top (set
    /// for a search ranked by relevance).
    pub prune: bool,
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
            extras: self.extras.clone(),
            constraints: clone_all(&self.constraints),
            required: clone_all(&self.required),
            excluded: clone_all(&self.excluded),
            prune: self.prune,
        }
    }
}

fn weights(v: &[Box<dyn Query>], es: EnableScoring<'_>) -> tantivy::Result<Vec<Box<dyn Weight>>> {
    v.iter().map(|q| q.weight(es)).collect()
}

/// A weight shared by a wording's disjunction and a [`Pruned`] walk, so
/// that both read the same statistics, looked up once.
struct Shared(Arc<dyn Weight>);

impl Weight for Shared {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.0.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

impl Query for Tiered {
    fn weight(&self, es: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let scoring = es.is_scoring_enabled();
        // A strict query of several units is walked unpruned: its match
        // sets would read every posting of every unit, where the walk
        // leaps from one unit's match to the next (it is the retry of a
        // relaxed query that found no trial meeting every unit, so it has
        // few matches).
        let prune = self.prune && (self.tiers || self.units.len() <= 1);
        // Bounds are needed only to prune.
        let stats = match es {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } if prune => Some(statistics_provider),
            _ => None,
        };
        let mut wordings = Vec::new();
        let mut parts = Vec::new();
        let mut part_bounds = Vec::new();
        let mut n_concepts = 0;
        for (u, unit) in self.units.iter().enumerate() {
            for w in &unit.wordings {
                n_concepts = n_concepts.max(w.concept + 1);
                let shared: Vec<Arc<dyn Weight>> = w
                    .parts
                    .iter()
                    .map(|p| p.query.weight(es).map(Arc::from))
                    .collect::<tantivy::Result<_>>()?;
                let bounds = w
                    .parts
                    .iter()
                    .map(|p| match (&p.bound, stats) {
                        (Some((terms, boost)), Some(stats)) => Ok(Some(
                            Bm25Weight::for_terms(stats, terms)?
                                .boost_by(*boost)
                                .max_score(),
                        )),
                        _ => Ok(None),
                    })
                    .collect::<tantivy::Result<Vec<_>>>()?;
                part_bounds.push(bounds);
                // What `DisjunctionMaxQuery` builds, from the shared parts.
                let disjunction = BooleanWeight::with_minimum_number_should_match(
                    shared
                        .iter()
                        .map(|p| {
                            (
                                Occur::Should,
                                Box::new(Shared(p.clone())) as Box<dyn Weight>,
                            )
                        })
                        .collect(),
                    1,
                    scoring,
                    Box::new(|| DisjunctionMaxCombiner::with_tie_breaker(AREA_TIE)),
                );
                wordings.push((
                    Box::new(disjunction) as Box<dyn Weight>,
                    u,
                    w.concept,
                    w.strong,
                ));
                parts.push(shared);
            }
        }
        let off = EnableScoring::disabled_from_schema(es.schema());
        // A relaxed query's matches are also found unscored (see
        // `MatchSets`), area by area; so are a pruned walk's.
        let sets = if prune || (self.tiers && self.min.max(1) < self.units.len()) {
            let mut wordings = Vec::new();
            for (u, unit) in self.units.iter().enumerate() {
                for w in &unit.wordings {
                    let parts = w
                        .parts
                        .iter()
                        .map(|p| p.query.weight(off))
                        .collect::<tantivy::Result<Vec<_>>>()?;
                    wordings.push((u, parts));
                }
            }
            Some(Arc::new(SetWeights {
                wordings,
                n_units: self.units.len(),
                required: weights(&self.required, off)?,
                excluded: weights(&self.excluded, off)?,
            }))
        } else {
            None
        };
        // The extras' scores are bounded only if each is.
        let mut extra_bounds = Vec::new();
        if let Some(stats) = stats {
            for e in &self.extras {
                match &e.bound {
                    Some((terms, boost)) if !terms.is_empty() => {
                        let most = Bm25Weight::for_terms(stats, terms)?
                            .boost_by(*boost)
                            .max_score();
                        let terms = terms
                            .iter()
                            .map(|t| {
                                TermQuery::new(t.clone(), IndexRecordOption::Basic).weight(off)
                            })
                            .collect::<tantivy::Result<Vec<_>>>()?;
                        extra_bounds.push(ExtraBound {
                            most,
                            needs: e.needs.clone(),
                            terms,
                        });
                    }
                    _ => break,
                }
            }
        }
        let extras_bounded = stats.is_some() && extra_bounds.len() == self.extras.len();
        let extras = self
            .extras
            .iter()
            .map(|e| e.query.weight(es))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(TieredWeight {
            wordings,
            parts,
            sets,
            n_units: self.units.len(),
            n_concepts,
            min: self.min,
            tiers: self.tiers,
            prune: extras_bounded,
            part_bounds,
            extra_bounds,
            extras,
            constraints: weights(&self.constraints, es)?,
            required: weights(&self.required, off)?,
            excluded: weights(&self.excluded, es)?,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for u in &self.units {
            for w in &u.wordings {
                for p in &w.parts {
                    p.query.query_terms(visitor);
                }
            }
        }
        for q in self
            .extras
            .iter()
            .map(|e| &e.query)
            .chain(&self.constraints)
            .chain(&self.required)
            .chain(&self.excluded)
        {
            q.query_terms(visitor);
        }
    }
}

/// What bounds an extra's score: at most `most`, and only where the
/// `needs` parts (wording, part) and every one of its `terms` (unscored, in
/// its field) match.
pub struct ExtraBound {
    /// Its BM25 weight's bound.
    pub most: Score,
    /// Parts it needs.
    pub needs: Vec<(usize, usize)>,
    /// Its terms, unscored.
    pub terms: Vec<Box<dyn Weight>>,
}

struct TieredWeight {
    /// Each wording's disjunction over its areas, its unit, concept and
    /// strength.
    wordings: Vec<(Box<dyn Weight>, usize, usize, bool)>,
    /// Each wording's per-area weights, those of its disjunction.
    parts: Vec<Vec<Arc<dyn Weight>>>,
    /// What [`TieredScorer::match_sets`] and a [`Pruned`] walk need
    /// (relaxed or pruned queries only).
    sets: Option<Arc<SetWeights>>,
    n_units: usize,
    n_concepts: usize,
    min: usize,
    tiers: bool,
    /// Whether segments may be walked [`Pruned`].
    prune: bool,
    /// Each part's score bound, where its scorer cannot tell.
    part_bounds: Vec<Vec<Option<Score>>>,
    /// Each extra's score bound and the parts it needs.
    extra_bounds: Vec<ExtraBound>,
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
            // Only a relaxed query's walk counts from match sets (a strict
            // query has them to prune).
            sets: self
                .sets
                .clone()
                .filter(|_| self.tiers && self.min.max(1) < self.n_units)
                .map(|w| (w, reader.clone())),
        };
        if out.min <= self.n_units {
            out.find();
        }
        Ok(out)
    }
}

impl Weight for TieredWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if let Some(sets) = self.sets.as_ref().filter(|_| self.prune) {
            let scorers = part_scorers(sets, reader)?;
            // The walk's bitsets cost in proportion to the segment, its
            // savings in proportion to the matches: a query whose areas
            // match few of the segment's trials is walked whole ("chronic
            // kidney disease" on the 500,000-study L: 5,600 a segment of
            // 110,000, ~10% slower pruned).
            let postings: u64 = scorers
                .iter()
                .flatten()
                .flatten()
                .map(|s| u64::from(s.size_hint()))
                .sum();
            if postings * PRUNE_FROM_SHARE >= u64::from(reader.max_doc()) {
                let bits = part_bits(scorers, reader);
                let wordings = self
                    .wordings
                    .iter()
                    .map(|(_, unit, concept, strong)| (*unit, *concept, *strong));
                let input = PruneInput {
                    reader,
                    boost,
                    parts: &self.parts,
                    part_bounds: &self.part_bounds,
                    wordings: wordings.collect(),
                    n_units: self.n_units,
                    tiers: self.tiers,
                    extras: &self.extras,
                    extra_bounds: &self.extra_bounds,
                    constraints: &self.constraints,
                    sets: match_sets(sets, reader, &bits, self.min.max(1))?,
                    part_bits: bits,
                };
                if let Some(p) = Pruned::new(input)? {
                    return Ok(Box::new(p));
                }
            }
        }
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

/// Bit of a unit's hit flags: the unit matched.
pub(super) const MATCHED: u8 = 1;
/// Bit of a unit's hit flags: the unit matched in its own wordings.
pub(super) const STRONG: u8 = 2;

/// A trial's tier from its units' hit flags (see [`TieredScorer::tier`]).
pub(super) fn tier_of(hit: &[u8], tiers: bool) -> u8 {
    if !tiers || !hit.iter().all(|h| h & MATCHED != 0) {
        0
    } else if hit.iter().all(|h| h & STRONG != 0) {
        2
    } else {
        1
    }
}

/// How many of the phase or status boosts `doc` meets.
pub(super) fn met_at(constraints: &mut [Box<dyn Scorer>], doc: DocId) -> u8 {
    let mut met = 0u8;
    for s in constraints {
        if reach(s.as_mut(), doc) == doc {
            met = met.saturating_add(1);
        }
    }
    met
}

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

/// A segment is walked pruned when its query's areas have a posting for
/// at least one in this many of its trials (see [`TieredWeight::scorer`]).
const PRUNE_FROM_SHARE: u64 = 4;

/// Unscored weights: each wording's unit and areas; the required and
/// excluded clauses.
struct SetWeights {
    wordings: Vec<(usize, Vec<Box<dyn Weight>>)>,
    n_units: usize,
    required: Vec<Box<dyn Weight>>,
    excluded: Vec<Box<dyn Weight>>,
}

/// Each wording's areas' matches in one segment, as bitsets (`None`: the
/// area has none).
pub type PartBits = Vec<Vec<Option<Vec<u64>>>>;

/// The matches of every wording's areas in one segment.
fn part_bits(scorers: PartScorers, reader: &SegmentReader) -> PartBits {
    let words = (reader.max_doc() as usize).div_ceil(64);
    scorers
        .into_iter()
        .map(|parts| {
            parts
                .into_iter()
                .map(|s| s.map(|mut s| bits_of(s.as_mut(), words)))
                .collect()
        })
        .collect()
}

/// Each wording's areas' unscored scorers in one segment (`None`: the area
/// has no match there).
type PartScorers = Vec<Vec<Option<Box<dyn Scorer>>>>;

/// Every wording's areas' unscored scorers in one segment.
fn part_scorers(sets: &SetWeights, reader: &SegmentReader) -> tantivy::Result<PartScorers> {
    sets.wordings
        .iter()
        .map(|(_, parts)| {
            parts
                .iter()
                .map(|w| {
                    let s = w.scorer(reader, 1.0)?;
                    Ok((s.doc() != TERMINATED).then_some(s))
                })
                .collect()
        })
        .collect()
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

    /// Whether `doc` meets every unit.
    pub fn in_full(&self, doc: DocId) -> bool {
        self.full
            .get(doc as usize / 64)
            .is_some_and(|w| w & (1 << (doc % 64)) != 0)
    }

    /// How many docs are set in `bits`.
    pub fn count(bits: &[u64]) -> usize {
        bits.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The docs of `s` from its current one on, as bits.
pub(super) fn bits_of(s: &mut dyn Scorer, words: usize) -> Vec<u64> {
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

/// A query's matches in one segment, found without scoring (see
/// [`MatchSets`]) from its areas' matches: trials meeting at least `min`
/// units.
fn match_sets(
    sets: &SetWeights,
    reader: &SegmentReader,
    parts: &PartBits,
    min: usize,
) -> tantivy::Result<MatchSets> {
    let words = (reader.max_doc() as usize).div_ceil(64);
    let bits = |w: &dyn Weight| -> tantivy::Result<Vec<u64>> {
        Ok(bits_of(w.scorer(reader, 1.0)?.as_mut(), words))
    };
    let mut units = vec![vec![0u64; words]; sets.n_units];
    for ((u, _), wording) in sets.wordings.iter().zip(parts) {
        if let Some(unit) = units.get_mut(*u) {
            for b in wording.iter().flatten() {
                for (x, y) in unit.iter_mut().zip(b) {
                    *x |= y;
                }
            }
        }
    }
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
    let min = min.min(n + 1);
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
    Ok(MatchSets { all, full })
}

/// Move `s` to `target` unless it is there or past it; its doc after.
pub(super) fn reach(s: &mut dyn Scorer, target: DocId) -> DocId {
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
        let parts = part_bits(part_scorers(&sets, &reader)?, &reader);
        match_sets(&sets, &reader, &parts, self.min).map(Some)
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
                self.tier = tier_of(&self.hit, self.tiers);
                self.met = met_at(&mut self.constraints, target);
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
        topic
    }
}
