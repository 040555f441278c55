//! Stage 5 helper: a tiered query ([`super::tiered`]) ranked by relevance
//! without scoring the trials that cannot enter the top (MaxScore, Turtle
//! and Flood 1995).
//!
//! Why: a broad query matches a large share of a registry ("type 2
//! diabetes": 138,000 of the 500,000-study L), and tantivy's unions score
//! every posting they pass, so ranking ten trials scored all of them. Most
//! matches only name the topic in a low-weighted area (eligibility,
//! outcomes, sites), and no score they can reach ranks them among the best.
//! Pruned, "type 2 diabetes" ranks 421 of them (BENCHMARKS.md).
//!
//! How: every per-area leaf of every wording tells the most it can score
//! (its BM25 weight at the highest frequency, tantivy's own bound for its
//! block-max pruning; a phrase matched by positions, its terms' weight).
//! Once a segment has a page of hits, the leaves whose bounds together
//! cannot lift a trial above the page's worst are *non-essential*: only
//! trials found by the other leaves are candidates. A candidate is bounded
//! by its essential leaves' exact scores plus the bounds of the
//! non-essential leaves and phrase bonuses that match it, read from
//! bitsets of each area's matches made before the walk (no postings are
//! looked up); only one that may beat the worst hit is scored. Its score
//! is computed as [`super::tiered::TieredScorer`] computes it, operation
//! for operation, so the answer is the same to the bit
//! (`TRIALSEARCH_NO_PRUNING=1` walks every match, for tests and
//! measurements).
//!
//! Counts and facets come from the query's match sets
//! ([`super::tiered::MatchSets`]), which the areas' bitsets make; they
//! also say which trials match at all (every unit needed, the filters, no
//! excluded clause), so the walk skips the others.
//!
//! A trial's tier and boosts rank before its score, so leaves are made
//! non-essential only once the worst hit is of the best class a trial of
//! the segment can reach; until then, and for a trial that may reach a
//! better class, every leaf counts.

use super::phrase_token::TokenScorer;
use super::query::AREA_TIE;
use super::tiered::{
    bits_of, met_at, reach, tier_of, ExtraBound, MatchSets, PartBits, MATCHED, STRONG, WORDING_TIE,
};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use tantivy::query::{Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// A bound is trusted to beat a score only by more than this share: the
/// bound adds the same numbers in another grouping, so its rounding may
/// differ from the score's by a few units in the last place.
const SLACK: Score = 1e-4;

/// What a [`Pruned`] walk of one segment is made of.
pub struct PruneInput<'a> {
    /// The segment.
    pub reader: &'a SegmentReader,
    /// The boost the query's scorer is asked for.
    pub boost: Score,
    /// Each wording's per-area weights, in the order of its disjunction.
    pub parts: &'a [Vec<Arc<dyn Weight>>],
    /// Their score bounds, where their scorers cannot tell.
    pub part_bounds: &'a [Vec<Option<Score>>],
    /// Each wording's unit, concept and strength.
    pub wordings: Vec<(usize, usize, bool)>,
    /// Units of the query.
    pub n_units: usize,
    /// Whether trials meeting every unit form tiers.
    pub tiers: bool,
    /// Optional scored clauses.
    pub extras: &'a [Box<dyn Weight>],
    /// Their score bounds, and the parts (wording, part) each needs.
    pub extra_bounds: &'a [ExtraBound],
    /// Phase or status boosts.
    pub constraints: &'a [Box<dyn Weight>],
    /// The query's matches in the segment.
    pub sets: MatchSets,
    /// Each wording's areas' matches in the segment.
    pub part_bits: PartBits,
}

/// A wording's leaves, `start..end` in [`Pruned::leaves`].
struct WordingLeaves {
    start: usize,
    end: usize,
    unit: usize,
    concept: usize,
    strong: bool,
}

/// What bounds an extra's score in a segment.
#[derive(Debug)]
struct ExtraScope {
    /// Its bound.
    most: Score,
    /// The leaves it needs (`None`: one is absent from the segment, so the
    /// extra never matches here).
    needs: Option<Vec<usize>>,
    /// The trials with every one of its terms in its field.
    bits: Vec<u64>,
}

/// The rank of the worst hit kept, once a segment has a page of them: its
/// tier, the boosts it meets and its score.
pub type Worst = (u8, u8, Score);

/// The walk. As a [`Scorer`] it lists every match; [`Pruned::next`] skips
/// those that cannot beat a given worst hit.
pub struct Pruned {
    leaves: Vec<Box<dyn Scorer>>,
    /// Each leaf's current doc, beside the scorers (no virtual call).
    docs: Vec<DocId>,
    /// Each leaf's score bound.
    bound: Vec<Score>,
    /// Each leaf's matches, as bits.
    bits: Vec<Vec<u64>>,
    /// Each leaf's wording, in [`Pruned::wordings`].
    wording_of: Vec<usize>,
    wordings: Vec<WordingLeaves>,
    tiers: bool,
    extras: Vec<Box<dyn Scorer>>,
    /// What bounds each extra's score.
    extra_bounds: Vec<ExtraScope>,
    constraints: Vec<Box<dyn Scorer>>,
    sets: MatchSets,
    /// Whether a trial of this segment may be in an upper tier.
    any_full: bool,
    /// Which trials may be listed: `sets.all`, or `sets.full` once only
    /// trials meeting every unit can enter the top.
    only_full: bool,
    /// Leaves by bound, ascending; the first `cut` are non-essential.
    order: Vec<usize>,
    cut: usize,
    /// Whether each leaf is essential.
    essential_leaf: Vec<bool>,
    /// The essential leaves, in leaf order.
    essential: Vec<usize>,
    /// Each leaf's place in `order`.
    rank: Vec<usize>,
    /// The worst hit the partition was made for.
    cut_for: Option<Worst>,
    doc: DocId,
    /// Where the next candidate is looked for.
    from: DocId,
    tier: u8,
    met: u8,
    /// Bounds already computed (leaves at their bounds, extras), by the
    /// pattern of leaves and bonus phrases matching a trial.
    memo: FxHashMap<u64, (Score, Score)>,
    // Scratch: leaf scores on trial `scored`, and (leaf, value) lists.
    val: Vec<Score>,
    scored: DocId,
    items: Vec<(usize, Score)>,
    hit: Vec<u8>,
}

impl Pruned {
    /// The walk, positioned on the first match; `None` when a leaf's score
    /// is not bounded, which the caller then walks unpruned.
    pub fn new(input: PruneInput<'_>) -> tantivy::Result<Option<Pruned>> {
        let mut leaves = Vec::new();
        let mut bound = Vec::new();
        let mut wording_of = Vec::new();
        let mut wordings = Vec::new();
        // The leaf of each (wording, part), where present.
        let mut leaf_at: Vec<Vec<Option<usize>>> = Vec::new();
        let mut bits = Vec::new();
        let mut part_bits = input.part_bits;
        for (w, parts) in input.parts.iter().enumerate() {
            let (Some(&(unit, concept, strong)), Some(bounds)) =
                (input.wordings.get(w), input.part_bounds.get(w))
            else {
                return Ok(None);
            };
            let start = leaves.len();
            let mut at = vec![None; parts.len()];
            for (p, weight) in parts.iter().enumerate() {
                let s = weight.scorer(input.reader, input.boost)?;
                // A leaf absent from the segment never matches, as in the
                // disjunction (its union drops it).
                if s.doc() == TERMINATED {
                    continue;
                }
                let most = match s.downcast_ref::<TokenScorer>() {
                    Some(t) => t.max_score(),
                    None => match bounds.get(p).copied().flatten() {
                        Some(b) => b * input.boost,
                        None => return Ok(None),
                    },
                };
                // The same area, unscored: the same matches.
                let Some(b) = part_bits.get_mut(w).and_then(|v| v.get_mut(p)?.take()) else {
                    return Ok(None);
                };
                bits.push(b);
                at[p] = Some(leaves.len());
                leaves.push(s);
                bound.push(most);
                wording_of.push(wordings.len());
            }
            leaf_at.push(at);
            if leaves.len() > start {
                wordings.push(WordingLeaves {
                    start,
                    end: leaves.len(),
                    unit,
                    concept,
                    strong,
                });
            }
        }
        let extras = input
            .extras
            .iter()
            .map(|w| w.scorer(input.reader, input.boost))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let words = (input.reader.max_doc() as usize).div_ceil(64);
        let mut extra_bounds = Vec::new();
        for e in input.extra_bounds {
            // Where every term of the extra is in its field.
            let mut all: Option<Vec<u64>> = None;
            for t in &e.terms {
                let mut s = t.scorer(input.reader, 1.0)?;
                let b = bits_of(s.as_mut(), words);
                all = Some(match all {
                    None => b,
                    Some(mut a) => {
                        for (x, y) in a.iter_mut().zip(&b) {
                            *x &= y;
                        }
                        a
                    }
                });
            }
            let needs: Option<Vec<usize>> = e
                .needs
                .iter()
                .map(|&(w, p)| leaf_at.get(w)?.get(p).copied().flatten())
                .collect();
            extra_bounds.push(ExtraScope {
                most: e.most * input.boost,
                needs,
                bits: all.unwrap_or_default(),
            });
        }
        let constraints = input
            .constraints
            .iter()
            .map(|w| w.scorer(input.reader, input.boost))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let n = leaves.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| bound[a].total_cmp(&bound[b]));
        let mut p = Pruned {
            docs: leaves.iter().map(|s| s.doc()).collect(),
            leaves,
            bound,
            bits,
            wording_of,
            wordings,
            tiers: input.tiers,
            extras,
            extra_bounds,
            constraints,
            any_full: input.tiers && input.sets.full.iter().any(|w| *w != 0),
            sets: input.sets,
            only_full: false,
            cut: 0,
            essential_leaf: vec![true; n],
            essential: (0..n).collect(),
            order: order.clone(),
            rank: {
                let mut rank = vec![0; n];
                for (k, &i) in order.iter().enumerate() {
                    rank[i] = k;
                }
                rank
            },
            cut_for: None,
            doc: TERMINATED,
            from: 0,
            tier: 0,
            met: 0,
            memo: FxHashMap::default(),
            val: vec![0.0; n],
            scored: TERMINATED,
            items: Vec::with_capacity(n),
            hit: vec![0; input.n_units],
        };
        p.find(None);
        Ok(Some(p))
    }

    /// The query's matches in this segment.
    pub fn sets(&self) -> &MatchSets {
        &self.sets
    }

    /// Whether trials meeting every unit form tiers.
    pub fn tiers(&self) -> bool {
        self.tiers
    }

    /// From the current trial on, list only trials meeting every unit.
    pub fn only_full(&mut self) {
        self.only_full = true;
        if self.doc != TERMINATED && !self.sets.in_full(self.doc) {
            self.from = self.doc;
            self.find(None);
        }
    }

    /// The current trial's tier (see [`super::tiered::TieredScorer::tier`]).
    pub fn tier(&self) -> u8 {
        self.tier
    }

    /// Phase or status boosts the current trial meets.
    pub fn met(&self) -> u8 {
        self.met
    }

    /// The next trial that may rank above `worst` (any, without one).
    pub fn next(&mut self, worst: Option<Worst>) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        self.find(worst)
    }

    fn bits(&self) -> &[u64] {
        if self.only_full {
            &self.sets.full
        } else {
            &self.sets.all
        }
    }

    /// The highest tier a listed trial can have, and the most boosts.
    fn best_class(&self) -> (u8, u8) {
        let tier = if self.any_full { 2 } else { 0 };
        (
            tier,
            u8::try_from(self.constraints.len()).unwrap_or(u8::MAX),
        )
    }

    /// The extras' bounds, each where the leaves it needs may be present
    /// and, given a trial, where its terms are all on it.
    fn extras_bound(&self, on: Option<DocId>, present: impl Fn(usize) -> bool) -> Score {
        let mut most = 0.0;
        for e in &self.extra_bounds {
            let terms = on.is_none_or(|doc| {
                e.bits
                    .get(doc as usize / 64)
                    .is_some_and(|w| w & (1 << (doc % 64)) != 0)
            });
            if terms
                && e.needs
                    .as_ref()
                    .is_some_and(|n| n.iter().all(|&i| present(i)))
            {
                most += e.most;
            }
        }
        most
    }

    /// Make the leaves that cannot alone lift a trial above `worst`
    /// non-essential.
    fn partition(&mut self, worst: Worst) {
        if self.cut_for == Some(worst) {
            return;
        }
        self.cut_for = Some(worst);
        let (tier, met, score) = worst;
        if (tier, met) != self.best_class() {
            return;
        }
        let before = self.cut;
        while self.cut < self.order.len() {
            // A trial found only by the first `cut + 1` leaves.
            let k = self.cut + 1;
            let topic = self.prefix_topic(k);
            let rank = &self.rank;
            let most = topic + self.extras_bound(None, |i| rank[i] < k);
            if most * (1.0 + SLACK) < score {
                self.cut = k;
            } else {
                break;
            }
        }
        if self.cut != before {
            for &i in &self.order[..self.cut] {
                self.essential_leaf[i] = false;
            }
            self.essential.retain(|&i| self.essential_leaf[i]);
        }
    }

    /// The most the first `k` leaves by bound can score together.
    fn prefix_topic(&mut self, k: usize) -> Score {
        let mut prefix: Vec<usize> = self.order[..k].to_vec();
        prefix.sort_unstable();
        self.items.clear();
        self.items
            .extend(prefix.iter().map(|&i| (i, self.bound[i])));
        self.combine()
    }

    /// The nested score of `items` (leaves, in leaf order, with their
    /// values), as [`super::tiered::TieredScorer::score`] adds them: per
    /// wording the disjunction of its areas (tantivy's
    /// `DisjunctionMaxCombiner`: the best plus a quarter of the others, the
    /// others summed in area order), per concept the best wording plus a
    /// tenth of the others, concepts summed in order.
    fn combine(&self) -> Score {
        let items = &self.items;
        let mut topic: Score = 0.0;
        let mut concept = usize::MAX;
        let (mut cmax, mut csum): (Score, Score) = (0.0, 0.0);
        let mut j = 0;
        while j < items.len() {
            let w = self.wording_of[items[j].0];
            let (mut max, mut sum): (Score, Score) = (0.0, 0.0);
            while j < items.len() && self.wording_of[items[j].0] == w {
                let s = items[j].1;
                max = Score::max(s, max);
                sum += s;
                j += 1;
            }
            let s = max + (sum - max) * AREA_TIE;
            let c = self.wordings[w].concept;
            if c != concept {
                if concept != usize::MAX {
                    topic += cmax + (csum - cmax) * WORDING_TIE;
                }
                concept = c;
                cmax = s;
                csum = s;
            } else {
                cmax = cmax.max(s);
                csum += s;
            }
        }
        if concept != usize::MAX {
            topic += cmax + (csum - cmax) * WORDING_TIE;
        }
        topic
    }

    /// The first listed trial from `from` on that an essential leaf
    /// matches.
    fn candidate(&self) -> DocId {
        let allowed = self.bits();
        let mut w = self.from as usize / 64;
        let mut mask = !0u64 << (self.from % 64);
        while let Some(&a) = allowed.get(w) {
            let mut word = a & mask;
            // Without non-essential leaves every listed trial is one: the
            // leaves' matches cover the query's.
            if word != 0 && self.cut > 0 {
                let mut any = 0;
                for &i in &self.essential {
                    any |= self.bits[i][w];
                }
                word &= any;
            }
            if word != 0 {
                return (w * 64) as DocId + word.trailing_zeros();
            }
            w += 1;
            mask = !0;
        }
        TERMINATED
    }

    /// Position on the first candidate from `from` on that may rank above
    /// `worst`.
    fn find(&mut self, worst: Option<Worst>) -> DocId {
        if let Some(w) = worst {
            self.partition(w);
        }
        loop {
            let doc = self.candidate();
            if doc == TERMINATED {
                break;
            }
            self.from = doc + 1;
            if let Some(worst) = worst {
                if self.beaten(doc, worst) {
                    continue;
                }
            }
            self.settle(doc);
            return doc;
        }
        self.doc = TERMINATED;
        TERMINATED
    }

    /// Whether leaf `i` matches `doc`.
    fn on(&self, i: usize, doc: DocId) -> bool {
        self.bits[i]
            .get(doc as usize / 64)
            .is_some_and(|w| w & (1 << (doc % 64)) != 0)
    }

    /// Score leaf `i` on `doc`, which it matches.
    fn leaf_score(&mut self, i: usize, doc: DocId) -> Score {
        if self.docs[i] < doc {
            self.docs[i] = self.leaves[i].seek(doc);
        }
        let s = self.leaves[i].score();
        self.val[i] = s;
        s
    }

    /// Whether `doc` cannot rank above `worst`. Scores only add up to less
    /// when split (each level is a maximum plus a share of a sum), and
    /// more when their parts grow, so what may match it at its bounds bound
    /// it: first every leaf and phrase bonus that matches it (bits, no
    /// postings read), then with its essential leaves scored exactly.
    fn beaten(&mut self, doc: DocId, (tier, met, score): Worst) -> bool {
        let best_tier = if self.tiers && self.sets.in_full(doc) {
            2
        } else {
            0
        };
        let class = (best_tier, self.best_class().1);
        if class != (tier, met) {
            return class < (tier, met);
        }
        let below = |most: Score| most * (1.0 + SLACK) < score;
        // Which leaves and bonus phrases may match it, as a key: trials
        // share few such patterns, and each pattern's bound is computed
        // once.
        let n = self.leaves.len();
        let (word, bit) = (doc as usize / 64, doc % 64);
        let key = (n + self.extra_bounds.len() <= 64).then(|| {
            let mut key = 0u64;
            for (i, b) in self.bits.iter().enumerate() {
                key |= ((b.get(word).copied().unwrap_or(0) >> bit) & 1) << i;
            }
            for (j, e) in self.extra_bounds.iter().enumerate() {
                key |= ((e.bits.get(word).copied().unwrap_or(0) >> bit) & 1) << (n + j);
            }
            key
        });
        let known = key.and_then(|k| self.memo.get(&k).copied());
        let (topic, extras) = match known {
            Some(v) => v,
            None => {
                self.items.clear();
                for i in 0..n {
                    if self.on(i, doc) {
                        self.items.push((i, self.bound[i]));
                    }
                }
                let v = (
                    self.combine(),
                    self.extras_bound(Some(doc), |i| self.on(i, doc)),
                );
                if let Some(k) = key {
                    self.memo.insert(k, v);
                }
                v
            }
        };
        if below(topic + extras) {
            return true;
        }
        self.items.clear();
        for i in 0..n {
            if self.on(i, doc) {
                let v = if self.essential_leaf[i] {
                    self.leaf_score(i, doc)
                } else {
                    self.bound[i]
                };
                self.items.push((i, v));
            }
        }
        self.scored = doc;
        below(self.combine() + extras)
    }

    /// Make `doc` current: every leaf that matches it on it, its tier and
    /// the boosts it meets.
    fn settle(&mut self, doc: DocId) {
        for i in 0..self.leaves.len() {
            // A leaf that does not match `doc` may stay behind it: it is
            // only ever moved forward, and read where it is on the current
            // trial.
            if self.docs[i] < doc && self.on(i, doc) {
                self.docs[i] = self.leaves[i].seek(doc);
            }
        }
        self.hit.fill(0);
        for w in &self.wordings {
            if self.docs[w.start..w.end].contains(&doc) {
                self.hit[w.unit] |= MATCHED | if w.strong { STRONG } else { 0 };
            }
        }
        self.tier = tier_of(&self.hit, self.tiers);
        self.met = met_at(&mut self.constraints, doc);
        self.doc = doc;
    }
}

impl DocSet for Pruned {
    fn advance(&mut self) -> DocId {
        self.next(None)
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(MatchSets::count(&self.sets.all)).unwrap_or(u32::MAX)
    }
}

impl Scorer for Pruned {
    /// The current trial's topic score (see
    /// [`super::tiered::TieredScorer::score`]).
    fn score(&mut self) -> Score {
        let doc = self.doc;
        if doc == TERMINATED {
            return 0.0;
        }
        self.items.clear();
        for i in 0..self.leaves.len() {
            if self.docs[i] == doc {
                // The essential leaves were scored when bounding it.
                let s = if self.scored == doc && self.essential_leaf[i] {
                    self.val[i]
                } else {
                    self.leaves[i].score()
                };
                self.items.push((i, s));
            }
        }
        let mut topic = self.combine();
        for s in &mut self.extras {
            if reach(s.as_mut(), doc) == doc {
                topic += s.score();
            }
        }
        topic
    }
}
