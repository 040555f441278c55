//! Stage 5 helper: one collector that keeps the top hits and counts facets
//! over every matching trial, in a single pass over fast fields.
//!
//! With a tiered query ([`super::tiered`]) hits are ordered by tier, then
//! by the phase or status boosts they meet, then by topic score, and a
//! trial that cannot enter the top is not scored at all.
//!
//! A relaxed query's matches are counted from bitsets, and a segment whose
//! trials meeting every concept fill the page ranks only those
//! ([`super::tiered::MatchSets`]).
//!
//! Ties are broken by trial id (ascending), so the same query always lists
//! the same trials in the same order, whatever the segment layout: within a
//! segment the id column's term ordinals follow string order, and only
//! candidates of different segments that tie have their id strings looked
//! up and compared.

use super::pruned::{Pruned, Worst};
use super::tiered::{MatchSets, TieredScorer};
use crate::index::schema::{Fields, UNKNOWN_CODE, UNKNOWN_PHASE_BIT};
use crate::trial::{Phase, Status, StudyType};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues, StrColumn};
use tantivy::fastfield::AliveBitSet;
use tantivy::query::{Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED};

/// Order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Best match first.
    #[default]
    Relevance,
    /// Most recently updated first.
    Updated,
    /// Most recently started first.
    Start,
    /// Largest enrollment first.
    Enrollment,
}

/// A field whose values can be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FacetField {
    /// Overall status.
    Status,
    /// Phases.
    Phase,
    /// Study type.
    StudyType,
    /// Conditions, as written.
    Condition,
    /// Intervention names.
    Intervention,
    /// Lead sponsor.
    Sponsor,
    /// Countries of the sites.
    Country,
}

impl FacetField {
    /// Every facet field.
    pub const ALL: [FacetField; 7] = [
        FacetField::Status,
        FacetField::Phase,
        FacetField::StudyType,
        FacetField::Condition,
        FacetField::Intervention,
        FacetField::Sponsor,
        FacetField::Country,
    ];

    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FacetField::Status => "status",
            FacetField::Phase => "phase",
            FacetField::StudyType => "study_type",
            FacetField::Condition => "condition",
            FacetField::Intervention => "intervention",
            FacetField::Sponsor => "sponsor",
            FacetField::Country => "country",
        }
    }

    fn str_field(self) -> Option<&'static str> {
        match self {
            FacetField::Condition => Some("condition_facet"),
            FacetField::Intervention => Some("intervention_facet"),
            FacetField::Sponsor => Some("sponsor_facet"),
            FacetField::Country => Some("country_facet"),
            _ => None,
        }
    }
}

/// A hit before its record is loaded.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Sort key (0 for relevance, where the class and score order hits).
    pub key: f64,
    /// Tier (see [`super::tiered::TieredScorer::tier`]); 0 for an untiered query.
    pub tier: u8,
    /// Phase or status boosts met (tiered queries only).
    pub met: u8,
    /// Relevance score (the topic score, for a tiered query).
    pub score: Score,
    /// The trial id, filled only when hits of several segments tie (else
    /// empty: `ord` orders them).
    pub id: String,
    /// The id's term ordinal in its segment, which follows id order.
    pub ord: u64,
    /// Where the document is.
    pub addr: DocAddress,
}

/// What the collector returns.
#[derive(Debug, Default)]
pub struct Fruit {
    /// Matching trials.
    pub total: usize,
    /// Matching trials in tier 1 or above: those matching every concept.
    pub full: usize,
    /// Matching trials compared with the top (the others were only
    /// counted: they could not enter it).
    pub ranked: usize,
    /// The best `top` candidates, best first.
    pub top: Vec<Candidate>,
    /// Status counts, in vocabulary order, "Not given" last.
    pub status: Vec<(String, u64)>,
    /// Phase counts, in vocabulary order, "Not given" last.
    pub phase: Vec<(String, u64)>,
    /// Other requested facets, values by count (then name).
    pub strings: Vec<(String, Vec<(String, u64)>)>,
}

/// The collector.
pub struct TopAndFacets {
    /// Field handles.
    pub fields: Fields,
    /// How many candidates to keep.
    pub top: usize,
    /// Sort order.
    pub sort: SortBy,
    /// Facets to count besides status and phase.
    pub facets: Vec<FacetField>,
    /// Whether the query is a [`super::tiered::Tiered`] one.
    pub tiered: bool,
    /// Whether a relaxed query's matches are counted from bitsets (see
    /// [`super::tiered::MatchSets`]) rather than walked one by one; both
    /// give the same answer (`TRIALSEARCH_NO_MATCH_SETS=1` turns it off,
    /// for tests and measurements).
    pub match_sets: bool,
    /// The best worst hit of the segments searched so far, packed (see
    /// [`pack`]): a trial below it is below a page of hits of another
    /// segment, so it cannot enter the top either. Segments are searched
    /// in parallel; each prunes against the higher of its own worst hit
    /// and this one.
    pub bar: AtomicU64,
}

/// A worst hit as a number that orders as its rank does: tier, then
/// boosts met, then score (a score is never negative, and the bits of
/// non-negative floats order as their values). `None` for a score that is
/// not a finite non-negative number.
fn pack((tier, met, score): Worst) -> Option<u64> {
    (score.is_finite() && score >= 0.0)
        .then(|| (u64::from(tier) << 40) | (u64::from(met) << 32) | u64::from(score.to_bits()))
}

/// The worst hit packed by [`pack`].
fn unpack(p: u64) -> Worst {
    ((p >> 40) as u8, (p >> 32) as u8, Score::from_bits(p as u32))
}

#[derive(Debug, Clone, Copy)]
struct Ranked {
    key: f64,
    tier: u8,
    met: u8,
    score: Score,
    ord: u64,
    doc: DocId,
}

impl Ranked {
    /// The order of hits, ties aside.
    fn rank(&self, o: &Ranked) -> Ordering {
        self.key
            .total_cmp(&o.key)
            .then(self.tier.cmp(&o.tier))
            .then(self.met.cmp(&o.met))
            .then(self.score.total_cmp(&o.score))
    }

    /// The order of hits, ties broken by id (the lower first).
    fn better(&self, o: &Ranked) -> Ordering {
        self.rank(o).then(o.ord.cmp(&self.ord))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.better(o) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> Ordering {
        self.better(o)
    }
}

enum KeyColumn {
    None,
    I64(Column<i64>),
    U64(Column<u64>),
}

/// Per-segment state.
pub struct Segment {
    ord: SegmentOrdinal,
    top: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
    key: KeyColumn,
    id: Option<StrColumn>,
    status: Codes,
    phase_mask: Codes,
    study_type: Option<Codes>,
    /// Matches not yet counted (see [`Segment::count`]), and a buffer for
    /// their codes.
    pending: Vec<DocId>,
    codes: Vec<u64>,
    status_counts: [u64; 100],
    phase_counts: [u64; 100],
    type_counts: [u64; 100],
    strings: Vec<(FacetField, StrColumn, HashMap<u64, u64>)>,
    total: usize,
    full: usize,
    ranked: usize,
}

/// A segment's harvest.
pub struct SegmentFruit {
    total: usize,
    full: usize,
    ranked: usize,
    top: Vec<Candidate>,
    /// The id column, to name the candidates if other segments have some.
    id: Option<StrColumn>,
    status: [u64; 100],
    phase: [u64; 100],
    study_type: [u64; 100],
    strings: Vec<(FacetField, HashMap<String, u64>)>,
}

impl Collector for TopAndFacets {
    type Fruit = Fruit;
    type Child = Segment;

    fn for_segment(&self, ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Segment> {
        let ff = reader.fast_fields();
        let key = match self.sort {
            SortBy::Relevance => KeyColumn::None,
            SortBy::Updated => KeyColumn::I64(ff.i64("last_updated")?),
            SortBy::Start => KeyColumn::I64(ff.i64("start_date")?),
            SortBy::Enrollment => KeyColumn::U64(ff.u64("enrollment")?),
        };
        let mut strings = Vec::new();
        for f in &self.facets {
            if let Some(name) = f.str_field() {
                if let Some(col) = ff.str(name)? {
                    strings.push((*f, col, HashMap::new()));
                }
            }
        }
        let _ = &self.fields;
        Ok(Segment {
            ord,
            top: self.top.max(1),
            heap: BinaryHeap::new(),
            key,
            id: ff.str("id")?,
            status: Codes::new(ff.u64("status")?),
            phase_mask: Codes::new(ff.u64("phase_mask")?),
            study_type: if self.facets.contains(&FacetField::StudyType) {
                Some(Codes::new(ff.u64("study_type")?))
            } else {
                None
            },
            pending: Vec::with_capacity(COUNT_BATCH),
            codes: Vec::with_capacity(COUNT_BATCH),
            status_counts: [0; 100],
            phase_counts: [0; 100],
            type_counts: [0; 100],
            strings,
            total: 0,
            full: 0,
            ranked: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFruit> {
        let mut seg = self.for_segment(ord, reader)?;
        let alive = reader.alive_bitset();
        if self.tiered {
            let mut scorer = weight.scorer(reader, 1.0)?;
            if let Some(p) = scorer.downcast_mut::<Pruned>() {
                // Ranked by relevance, pruned: the matches are counted from
                // their bitsets, and only trials that may beat the worst
                // hit kept are scored (see `pruned`).
                if seg.count_sets(p.sets(), alive, p.tiers()) {
                    p.only_full();
                }
                let mut doc = p.doc();
                while doc != TERMINATED {
                    if alive.is_none_or(|a| a.is_alive(doc)) {
                        let (tier, met) = (p.tier(), p.met());
                        seg.offer(doc, tier, met, || p.score());
                    }
                    let own = seg.worst().and_then(pack);
                    if let Some(own) = own {
                        self.bar.fetch_max(own, AtomicOrdering::Relaxed);
                    }
                    let bar = self.bar.load(AtomicOrdering::Relaxed);
                    let worst = own.unwrap_or(0).max(bar);
                    doc = p.next((worst > 0).then(|| unpack(worst)));
                }
                return Ok(seg.harvest());
            }
            if let Some(t) = scorer.downcast_mut::<TieredScorer>() {
                // A relaxed query ranked by relevance: the matches are
                // counted from their bitsets, and only the trials that may
                // enter the top are walked (see `tiered::MatchSets`).
                let sets = if self.sort == SortBy::Relevance && self.match_sets {
                    t.match_sets()?
                } else {
                    None
                };
                let counted = sets.is_some();
                if let Some(sets) = sets {
                    if seg.count_sets(&sets, alive, true) {
                        t.only_full();
                    }
                }
                let mut doc = t.doc();
                while doc != TERMINATED {
                    if alive.is_none_or(|a| a.is_alive(doc)) {
                        if !counted {
                            seg.count(doc);
                            if t.tier() > 0 {
                                seg.full += 1;
                            }
                        }
                        let (tier, met) = (t.tier(), t.met());
                        seg.offer(doc, tier, met, || t.score());
                    }
                    doc = t.advance();
                }
                return Ok(seg.harvest());
            }
        }
        weight.for_each(reader, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                seg.collect(doc, score);
            }
        })?;
        Ok(seg.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Fruit> {
        let mut out = Fruit::default();
        let mut status = [0u64; 100];
        let mut phase = [0u64; 100];
        let mut types = [0u64; 100];
        let mut strings: Vec<(FacetField, HashMap<String, u64>)> = Vec::new();
        // The id columns by segment, to name candidates that tie across
        // segments (below).
        let mut ids: HashMap<SegmentOrdinal, StrColumn> = HashMap::new();
        for f in fruits {
            out.total += f.total;
            out.full += f.full;
            out.ranked += f.ranked;
            if let (Some(c), Some(col)) = (f.top.first(), f.id) {
                ids.insert(c.addr.segment_ord, col);
            }
            out.top.extend(f.top);
            for i in 0..100 {
                status[i] += f.status[i];
                phase[i] += f.phase[i];
                types[i] += f.study_type[i];
            }
            for (field, counts) in f.strings {
                match strings.iter_mut().find(|(g, _)| *g == field) {
                    Some((_, m)) => {
                        for (k, v) in counts {
                            *m.entry(k).or_default() += v;
                        }
                    }
                    None => strings.push((field, counts)),
                }
            }
        }
        let rank = |a: &Candidate, b: &Candidate| {
            b.key
                .total_cmp(&a.key)
                .then(b.tier.cmp(&a.tier))
                .then(b.met.cmp(&a.met))
                .then(b.score.total_cmp(&a.score))
        };
        // Equal ranks go by id. Within a segment the id's term ordinal
        // follows id order; across segments the ids themselves are
        // compared, looked up only for the candidates of such a tie: each
        // lookup reads a block of the id dictionary (on the five-segment
        // 500,000-study L, naming every segment's candidates made 50 zstd
        // contexts a query, 4% of its time).
        out.top.sort_by(|a, b| {
            rank(a, b)
                .then(a.addr.segment_ord.cmp(&b.addr.segment_ord))
                .then(a.ord.cmp(&b.ord))
        });
        let mut i = 0;
        // Runs that start past the cut cannot change what is kept.
        while i < out.top.len().min(self.top) {
            let first = &out.top[i];
            let n = out.top[i..]
                .iter()
                .take_while(|c| rank(first, c) == Ordering::Equal)
                .count();
            let run = &mut out.top[i..i + n];
            if run
                .iter()
                .any(|c| c.addr.segment_ord != run[0].addr.segment_ord)
            {
                for c in run.iter_mut() {
                    if let Some(col) = ids.get(&c.addr.segment_ord) {
                        let _ = col.ord_to_str(c.ord, &mut c.id);
                    }
                }
                run.sort_by(|a, b| a.id.cmp(&b.id).then(a.ord.cmp(&b.ord)));
            }
            i += n;
        }
        out.top.truncate(self.top);
        let unknown = UNKNOWN_CODE as usize;
        out.status = Status::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str().to_string(), status[i]))
            // "Not given", like phase and study type: "Unknown" would read as
            // ClinicalTrials.gov's own "Unknown status" (not verified lately).
            .chain(std::iter::once(("Not given".to_string(), status[unknown])))
            .collect();
        out.phase = Phase::ALL
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str().to_string(), phase[i]))
            .chain(std::iter::once(("Not given".to_string(), phase[unknown])))
            .collect();
        if self.facets.contains(&FacetField::StudyType) {
            let mut v: Vec<(String, u64)> = StudyType::ALL
                .iter()
                .enumerate()
                .map(|(i, t)| (t.as_str().to_string(), types[i]))
                .chain(std::iter::once(("Not given".to_string(), types[unknown])))
                .filter(|(_, n)| *n > 0)
                .collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            out.strings.push(("study_type".to_string(), v));
        }
        for f in &self.facets {
            if let Some((_, m)) = strings.iter().find(|(g, _)| g == f) {
                let mut v: Vec<(String, u64)> = m.iter().map(|(k, n)| (k.clone(), *n)).collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                out.strings.push((f.name().to_string(), v));
            }
        }
        Ok(out)
    }
}

/// A code column (one value per trial), read by doc id directly when every
/// document has a value, as every trial has a status and a phase mask:
/// `Column::first` goes through the column's index on each call, which was
/// half the cost of counting a match for the facets.
enum Codes {
    Dense(Arc<dyn ColumnValues<u64>>),
    Indexed(Column<u64>),
}

impl Codes {
    fn new(col: Column<u64>) -> Codes {
        match col.index {
            ColumnIndex::Full => Codes::Dense(col.values),
            _ => Codes::Indexed(col),
        }
    }

    /// Each code of `docs` (ascending), in turn. A dense column is read
    /// with one call for the whole batch: through `dyn ColumnValues`, a
    /// call per trial was a tenth of a query matching 300,000 trials.
    fn each(&self, docs: &[DocId], buf: &mut Vec<u64>, mut f: impl FnMut(u64)) {
        match self {
            Codes::Dense(v) => {
                buf.resize(docs.len(), 0);
                v.get_vals(docs, buf);
                for &c in buf.iter() {
                    f(c);
                }
            }
            Codes::Indexed(c) => {
                for &d in docs {
                    if let Some(v) = c.first(d) {
                        f(v);
                    }
                }
            }
        }
    }
}

/// Matches counted together (see [`Codes::each`]).
const COUNT_BATCH: usize = 256;

impl Segment {
    /// Count a matching trial and its facet values (in batches: the counts
    /// are complete once [`Segment::flush`] has run).
    fn count(&mut self, doc: DocId) {
        self.total += 1;
        self.pending.push(doc);
        if self.pending.len() >= COUNT_BATCH {
            self.flush();
        }
    }

    /// Count the pending matches' facet values.
    fn flush(&mut self) {
        let docs = std::mem::take(&mut self.pending);
        let status = &mut self.status_counts;
        self.status.each(&docs, &mut self.codes, |s| {
            status[(s as usize).min(99)] += 1;
        });
        // A trial in "Phase 1/Phase 2" counts once under each phase.
        let phase = &mut self.phase_counts;
        self.phase_mask.each(&docs, &mut self.codes, |mut mask| {
            while mask != 0 {
                let bit = mask.trailing_zeros();
                mask &= mask - 1;
                let code = if bit == UNKNOWN_PHASE_BIT {
                    UNKNOWN_CODE as usize
                } else {
                    bit as usize
                };
                phase[code.min(99)] += 1;
            }
        });
        if let Some(col) = &self.study_type {
            let types = &mut self.type_counts;
            col.each(&docs, &mut self.codes, |t| {
                types[(t as usize).min(99)] += 1;
            });
        }
        for (_, col, counts) in &mut self.strings {
            for &doc in &docs {
                for ord in col.term_ords(doc) {
                    *counts.entry(ord).or_default() += 1;
                }
            }
        }
        self.pending = docs;
        self.pending.clear();
    }

    /// Count a query's live matches from its match sets, and with `tiers`
    /// those meeting every unit (only tiers tell them apart: a strict
    /// query's sets count none). Whether those fill the page: trials
    /// meeting every unit rank above all others, so then the others are
    /// only counted.
    fn count_sets(&mut self, sets: &MatchSets, alive: Option<&AliveBitSet>, tiers: bool) -> bool {
        MatchSets::each(&sets.all, |doc| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                self.count(doc);
            }
        });
        if !tiers {
            return false;
        }
        self.full = match alive {
            None => MatchSets::count(&sets.full),
            Some(a) => {
                let mut n = 0;
                MatchSets::each(&sets.full, |doc| n += usize::from(a.is_alive(doc)));
                n
            }
        };
        self.full >= self.top
    }

    /// The worst hit kept, once there is a page of them.
    fn worst(&self) -> Option<Worst> {
        if self.heap.len() < self.top {
            return None;
        }
        self.heap.peek().map(|Reverse(w)| (w.tier, w.met, w.score))
    }

    /// Offer a counted trial to the top; `score` runs only if it may enter.
    fn offer(&mut self, doc: DocId, tier: u8, met: u8, score: impl FnOnce() -> Score) {
        self.ranked += 1;
        let key = match &self.key {
            KeyColumn::None => 0.0,
            KeyColumn::I64(c) => c.first(doc).unwrap_or(i64::MIN) as f64,
            KeyColumn::U64(c) => c.first(doc).unwrap_or(0) as f64,
        };
        let mut r = Ranked {
            key,
            tier,
            met,
            score: Score::INFINITY,
            ord: 0,
            doc,
        };
        if self.heap.len() >= self.top {
            // Even with the best score and id it would not enter.
            if let Some(Reverse(worst)) = self.heap.peek() {
                if r <= *worst {
                    return;
                }
            }
        }
        r.score = score();
        // The id's ordinal only breaks ties, so it is read only for a trial
        // that ranks at least level with the worst kept: most scored
        // trials of a large tier fall below it (a lookup each was 3% of
        // "breast cancer" on the 500,000-study L).
        if self.heap.len() >= self.top {
            if let Some(Reverse(worst)) = self.heap.peek() {
                if r.rank(worst) == Ordering::Less {
                    return;
                }
            }
        }
        r.ord = self
            .id
            .as_ref()
            .and_then(|c| c.term_ords(doc).next())
            .unwrap_or(u64::MAX);
        if self.heap.len() < self.top {
            self.heap.push(Reverse(r));
        } else if let Some(Reverse(worst)) = self.heap.peek() {
            if r > *worst {
                self.heap.pop();
                self.heap.push(Reverse(r));
            }
        }
    }
}

impl SegmentCollector for Segment {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.count(doc);
        self.offer(doc, 0, 0, || score);
    }

    fn harvest(mut self) -> SegmentFruit {
        self.flush();
        let top = self
            .heap
            .into_iter()
            .map(|Reverse(r)| Candidate {
                key: r.key,
                tier: r.tier,
                met: r.met,
                score: r.score,
                id: String::new(),
                ord: r.ord,
                addr: DocAddress::new(self.ord, r.doc),
            })
            .collect();
        let strings = self
            .strings
            .into_iter()
            .map(|(f, col, counts)| {
                let mut named = HashMap::with_capacity(counts.len());
                for (ord, n) in counts {
                    let mut s = String::new();
                    if col.ord_to_str(ord, &mut s).unwrap_or(false) {
                        *named.entry(s).or_default() += n;
                    }
                }
                (f, named)
            })
            .collect();
        SegmentFruit {
            total: self.total,
            ranked: self.ranked,
            full: self.full,
            top,
            id: self.id,
            status: self.status_counts,
            phase: self.phase_counts,
            study_type: self.type_counts,
            strings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pack, unpack};

    #[test]
    fn packed_worst_hits_order_as_their_ranks() {
        let ranks = [
            (0, 0, 0.0),
            (0, 0, 1.5),
            (0, 0, 2.0),
            (0, 0, 1e30),
            (0, 1, 0.25),
            (0, 3, 7.0),
            (1, 0, 0.1),
            (2, 0, 0.0),
            (2, 2, 48.4),
        ];
        for w in ranks.windows(2) {
            let (a, b) = (pack(w[0]), pack(w[1]));
            assert!(a < b, "{:?} {:?}", w[0], w[1]);
        }
        for r in ranks {
            assert_eq!(pack(r).map(unpack), Some(r));
        }
        assert_eq!(pack((0, 0, -1.0)), None);
        assert_eq!(pack((0, 0, f32::NAN)), None);
        assert_eq!(pack((0, 0, f32::INFINITY)), None);
    }
}
