//! Stage 5, search: a [`Request`] (query text, filters, paging, sort) →
//! a [`SearchResult`] (hits with snippets, facet counts over all matches).
//!
//! One pass over the matching documents does everything: the
//! [`collector::TopAndFacets`] collector keeps the top hits by the chosen
//! sort key and counts status, phase and any requested facet field from fast
//! fields, so facet counts cost no second query. Only the hits on the
//! requested page are loaded from the doc store.

pub mod collector;
pub mod needles;
pub mod phrase_token;
pub mod pruned;
pub mod query;
pub mod synonyms;
pub mod tiered;
pub mod vocab;

use crate::error::Result;
use crate::index::schema::{
    eligibility_text, phase_code, sex_code, status_code, study_type_code, Fields,
};
use crate::index::{IndexDir, Meta};
use crate::trial::{Phase, Sex, Status, StudyType, Trial};
use collector::{FacetField, Fruit, SortBy, TopAndFacets};
use needles::Needles;
use query::{Area, Scope};
use serde::Serialize;
use std::collections::BTreeMap;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, ConstScoreQuery, EnableScoring, Explanation, Occur,
    Query, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, IndexReader, Term};

/// Hard filters: a trial must satisfy all of them.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Any of these statuses.
    pub status: Vec<Status>,
    /// Any of these phases (a trial matches if its phases include one).
    pub phase: Vec<Phase>,
    /// Each must appear (as words) in the trial's conditions or their MeSH terms.
    pub condition: Vec<String>,
    /// Each must appear in the sponsor or collaborators.
    pub sponsor: Vec<String>,
    /// Any of these countries.
    pub country: Vec<String>,
    /// The trial's age range contains this age (a missing bound is open).
    pub age: Option<f64>,
    /// Trials that take this sex (trials for all sexes included).
    pub sex: Option<Sex>,
    /// Any of these study types.
    pub study_type: Vec<StudyType>,
}

/// A search to run.
#[derive(Debug, Clone)]
pub struct Request {
    /// The query text (may be empty: all trials).
    pub text: String,
    /// Hard filters.
    pub filters: Filters,
    /// Hits per page.
    pub limit: usize,
    /// Hits skipped.
    pub offset: usize,
    /// Order of hits.
    pub sort: SortBy,
    /// Facet fields to count besides status and phase.
    pub facets: Vec<FacetField>,
    /// Facet values kept per field (most frequent first).
    pub facet_limit: usize,
    /// Compute snippets.
    pub snippets: bool,
    /// Say, per hit, which fields and words contributed to its score.
    pub explain: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            text: String::new(),
            filters: Filters::default(),
            limit: 10,
            offset: 0,
            sort: SortBy::Relevance,
            facets: Vec::new(),
            facet_limit: 20,
            snippets: true,
            explain: false,
        }
    }
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Rank, from 1, counting the offset.
    pub rank: usize,
    /// Score (for relevance order; the sort key otherwise).
    pub score: f32,
    /// A fragment of the field that matched, with `<mark>`…`</mark>` around matched words.
    pub snippet: String,
    /// Which field the snippet comes from.
    pub snippet_field: String,
    /// The whole record.
    pub trial: Trial,
    /// What contributed to the score, largest first; `None` unless the
    /// request asked for it.
    pub explain: Option<Vec<Contribution>>,
}

/// One part of a hit's score, for `--explain`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contribution {
    /// The field (or "phase", "status").
    pub field: String,
    /// The words that matched there.
    pub text: String,
    /// "literal" (the words typed), "synonym" (a vocabulary wording),
    /// "phrase" (the words together), "phase" or "status" (a boost), or
    /// "every concept" (the bonus that ranks trials matching all concepts of
    /// a query of two or more above those missing one).
    pub kind: String,
    /// What this part alone scores for the hit. The fields of one wording
    /// combine as the best one plus a quarter of the others, so these are
    /// not meant to add up to the hit's score exactly.
    pub score: f32,
}

/// Share of the best topic score that each phase or status met adds: as
/// much as the best topic match, so trials meeting what the user named come
/// first among those matching the topic equally well (grade-2 trials of a
/// "completed phase 2 ..." query are those that are), without filtering.
const CONSTRAINT_SHARE: f32 = 1.0;

/// Most contributions listed per hit.
const MAX_EXPLAIN: usize = 8;

/// The answer to a [`Request`].
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// The query text.
    pub query: String,
    /// Trials matching, in all.
    pub total: usize,
    /// The requested page of hits.
    pub hits: Vec<Hit>,
    /// Facet counts over all matching trials: field → value → count.
    pub facets: BTreeMap<String, Vec<(String, u64)>>,
    /// How the query was read, when the user should know.
    pub notes: Vec<String>,
}

/// What [`Searcher::collect`] found: the parsed query (for snippets), the
/// query that ran, the collector's harvest, and notes for the user.
struct Matches {
    parsed: query::ParsedQuery,
    query: Box<dyn Query>,
    fruit: collector::Fruit,
    notes: Vec<String>,
}

/// An opened index, ready to answer many requests.
pub struct Searcher {
    index: tantivy::Index,
    reader: IndexReader,
    fields: Fields,
    meta: Meta,
    /// The deleted-documents index of an index updated in place.
    deleted: Option<IndexReader>,
}

/// Documents from which a search of several segments runs them in
/// parallel. Threads cost ~0.1 ms to start, a tenth of an M query's work,
/// while a registry-sized index (the 500,000-study L: five segments of
/// ≤ 120,000 documents, see `index::build`) spends tens of milliseconds
/// scoring and counting hundreds of thousands of matches, segment by
/// segment.
const PARALLEL_FROM_DOCS: u32 = 100_000;

/// How to run a search over `searcher`'s segments: one thread, or a pool of
/// one thread per core (at most one per segment), made at the first search
/// that needs it.
fn executor(searcher: &tantivy::Searcher) -> &'static tantivy::Executor {
    static ONE: tantivy::Executor = tantivy::Executor::SingleThread;
    static POOL: std::sync::OnceLock<Option<tantivy::Executor>> = std::sync::OnceLock::new();
    let segments = searcher.segment_readers();
    let docs: u32 = segments.iter().map(|s| s.max_doc()).sum();
    if segments.len() < 2 || docs < PARALLEL_FROM_DOCS {
        return &ONE;
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(segments.len());
    if threads < 2 {
        return &ONE;
    }
    POOL.get_or_init(|| tantivy::Executor::multi_thread(threads, "trialsearch-search-").ok())
        .as_ref()
        .unwrap_or(&ONE)
}

/// Run one pass of a search; with `TRIALSEARCH_TIMINGS=1`, report it on
/// stderr: its time, the matches, and how many of them were ranked
/// (compared with the top; the others were only counted).
fn run(stats: &LiveStats, q: &dyn Query, c: &TopAndFacets) -> tantivy::Result<Fruit> {
    let start = std::time::Instant::now();
    let fruit = stats.search(q, c)?;
    if std::env::var_os("TRIALSEARCH_TIMINGS").is_some_and(|v| v == "1") {
        eprintln!(
            "search: {:.2} ms, {} matches, {} ranked",
            start.elapsed().as_secs_f64() * 1e3,
            fruit.total,
            fruit.ranked
        );
    }
    Ok(fruit)
}

/// Statistics of the live documents only. A document deleted by an
/// in-place update still counts in its segment's statistics (document count,
/// document frequencies, field lengths) until the segment is merged; its
/// copy in the deleted-documents index is subtracted, so scores, snippet
/// weights and spelling suggestions equal those of a freshly written index.
struct LiveStats<'a> {
    searcher: &'a tantivy::Searcher,
    deleted: Option<tantivy::Searcher>,
}

impl LiveStats<'_> {
    /// Live documents containing `term`.
    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let all = self.searcher.doc_freq(term)?;
        Ok(match &self.deleted {
            Some(d) => all.saturating_sub(d.doc_freq(term)?),
            None => all,
        })
    }

    /// Scoring with these statistics.
    fn scoring(&self) -> EnableScoring<'_> {
        EnableScoring::enabled_from_statistics_provider(self, self.searcher)
    }

    /// Run a query with these statistics: its segments on all cores when
    /// the index is big enough to have several (see [`executor`]).
    fn search<C: tantivy::collector::Collector>(
        &self,
        q: &dyn Query,
        c: &C,
    ) -> tantivy::Result<C::Fruit> {
        let scoring = if c.requires_scoring() {
            self.scoring()
        } else {
            EnableScoring::disabled_from_searcher(self.searcher)
        };
        self.searcher
            .search_with_executor(q, c, executor(self.searcher), scoring)
    }

    /// `Query::explain`, with these statistics.
    fn explain(&self, q: &dyn Query, addr: DocAddress) -> tantivy::Result<Explanation> {
        let w = q.weight(self.scoring())?;
        w.explain(self.searcher.segment_reader(addr.segment_ord), addr.doc_id)
    }
}

impl Bm25StatisticsProvider for LiveStats<'_> {
    fn total_num_tokens(&self, field: tantivy::schema::Field) -> tantivy::Result<u64> {
        let all = Bm25StatisticsProvider::total_num_tokens(self.searcher, field)?;
        Ok(match &self.deleted {
            Some(d) => all.saturating_sub(Bm25StatisticsProvider::total_num_tokens(d, field)?),
            None => all,
        })
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        let all = Bm25StatisticsProvider::total_num_docs(self.searcher)?;
        Ok(match &self.deleted {
            Some(d) => all.saturating_sub(Bm25StatisticsProvider::total_num_docs(d)?),
            None => all,
        })
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        LiveStats::doc_freq(self, term)
    }
}

impl Searcher {
    /// Open the live generation of an index directory.
    pub fn open(dir: &IndexDir) -> Result<Searcher> {
        let opened = dir.open()?;
        Ok(Searcher {
            index: opened.index,
            reader: opened.reader,
            fields: opened.fields,
            meta: opened.meta,
            deleted: opened.deleted,
        })
    }

    /// The build summary of the opened index.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The schema's fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The underlying tantivy index.
    pub fn index(&self) -> &tantivy::Index {
        &self.index
    }

    /// Number of trials in the index.
    pub fn num_trials(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn live_stats<'a>(&self, searcher: &'a tantivy::Searcher) -> LiveStats<'a> {
        LiveStats {
            searcher,
            deleted: self.deleted.as_ref().map(IndexReader::searcher),
        }
    }

    fn filter_clauses(&self, f: &Filters) -> Vec<(Occur, Box<dyn Query>)> {
        let fl = &self.fields;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_code = |field, codes: Vec<u64>| -> Box<dyn Query> {
            let parts: Vec<(Occur, Box<dyn Query>)> = codes
                .into_iter()
                .map(|c| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_u64(field, c),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(parts)),
                0.0,
            ))
        };
        if !f.status.is_empty() {
            out.push((
                Occur::Must,
                any_code(
                    fl.status,
                    f.status.iter().map(|s| status_code(*s)).collect(),
                ),
            ));
        }
        if !f.phase.is_empty() {
            out.push((
                Occur::Must,
                any_code(fl.phase, f.phase.iter().map(|p| phase_code(*p)).collect()),
            ));
        }
        if !f.study_type.is_empty() {
            out.push((
                Occur::Must,
                any_code(
                    fl.study_type,
                    f.study_type.iter().map(|t| study_type_code(*t)).collect(),
                ),
            ));
        }
        if let Some(sex) = f.sex {
            let mut codes = vec![sex_code(sex), sex_code(Sex::All)];
            if sex == Sex::All {
                codes.truncate(1);
            }
            out.push((Occur::Must, any_code(fl.sex, codes)));
        }
        let words_in = |areas: Vec<Area>, text: &str| -> Option<Box<dyn Query>> {
            let parts: Vec<(Occur, Box<dyn Query>)> = areas
                .iter()
                .filter_map(|a| query::text_query(fl, a, text, 0).map(|q| (Occur::Should, q)))
                .collect();
            if parts.is_empty() {
                return None;
            }
            Some(Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(parts)),
                0.0,
            )))
        };
        for c in &f.condition {
            if let Some(q) = words_in(query::areas(fl, Scope::Condition), c) {
                out.push((Occur::Must, q));
            }
        }
        for s in &f.sponsor {
            if let Some(q) = words_in(query::areas(fl, Scope::Sponsor), s) {
                out.push((Occur::Must, q));
            }
        }
        if !f.country.is_empty() {
            let parts: Vec<(Occur, Box<dyn Query>)> = f
                .country
                .iter()
                .filter_map(|c| {
                    let country = crate::normalize::normalize_country(c)?;
                    let area = Area {
                        field: fl.country,
                        weight: 1.0,
                        stemmed: false,
                    };
                    query::text_query(fl, &area, &country, 0).map(|q| (Occur::Should, q))
                })
                .collect();
            if !parts.is_empty() {
                out.push((
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(BooleanQuery::new(parts)),
                        0.0,
                    )),
                ));
            }
        }
        if let Some(age) = f.age {
            out.push((Occur::Must, query::age_overlap(fl, Some(age), Some(age))));
        }
        out
    }

    /// A correction for a typed word that matches no trial at all: the
    /// best-attested word of the index's vocabulary (titles, conditions,
    /// keywords, interventions, summaries) within edit distance 1 (2 for
    /// words of 9 letters or more) that starts with the same letter. Typos
    /// rarely hit the first letter, and keeping it makes the dictionary walk
    /// a short range scan. `None` when the word matches something as typed:
    /// a rare word is not a typo.
    fn correct(&self, stats: &LiveStats, word: &str) -> Option<String> {
        let mut folded = String::new();
        crate::index::analyzer::fold(word, &mut folded);
        let n = folded.chars().count();
        if n < query::SHORT_TYPO || !folded.chars().all(|c| c.is_ascii_lowercase()) {
            return None;
        }
        // Does the word match anything as typed, in any searchable area? A
        // short word is checked as written only: stemmed, "cels" is "cel",
        // which an acronym such as "CEL&VAL" also gives.
        let mut areas = if n < query::LONG_TYPO {
            Vec::new()
        } else {
            query::areas(&self.fields, Scope::All)
        };
        areas.push(Area {
            field: self.fields.spell,
            weight: 1.0,
            stemmed: false,
        });
        for a in &areas {
            for alts in crate::index::analyzer::analyze_positions(word, a.stemmed) {
                for t in alts {
                    let term = Term::from_field_text(a.field, &t);
                    if stats.doc_freq(&term).unwrap_or(0) > 0 {
                        return None;
                    }
                }
            }
        }
        let max_dist = if n >= 9 { 2 } else { 1 };
        let first = folded.chars().next()?;
        let lo = first.to_string();
        let hi = ((first as u8) + 1) as char;
        // Candidate → (edit distance, documents containing it), the counts
        // summed over segments so that the choice does not depend on how
        // the index is split into segments.
        let mut found: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for seg in stats.searcher.segment_readers() {
            let Ok(inv) = seg.inverted_index(self.fields.spell) else {
                continue;
            };
            let dict = inv.terms();
            let Ok(mut stream) = dict
                .range()
                .ge(lo.as_bytes())
                .lt(hi.to_string().as_bytes())
                .into_stream()
            else {
                continue;
            };
            while stream.advance() {
                let Ok(cand) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                let m = cand.chars().count();
                if m.abs_diff(n) > max_dist || !cand.chars().all(|c| c.is_ascii_lowercase()) {
                    continue;
                }
                if let Some(d) = edit_distance(&folded, cand, max_dist) {
                    let e = found.entry(cand.to_string()).or_insert((d, 0));
                    e.1 += u64::from(stream.value().doc_freq);
                }
            }
        }
        if let Some(deleted) = &stats.deleted {
            // A word only deleted documents had is no suggestion.
            for (w, (_, df)) in found.iter_mut() {
                let term = Term::from_field_text(self.fields.spell, w);
                *df = df.saturating_sub(deleted.doc_freq(&term).unwrap_or(0));
            }
            found.retain(|_, (_, df)| *df > 0);
        }
        // Closer candidates first, then the more common.
        found
            .into_iter()
            .map(|(w, (d, df))| (w, (max_dist - d) as u64 * 1_000_000 + df))
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(w, _)| w)
    }

    /// Run a search.
    pub fn search(&self, req: &Request) -> Result<SearchResult> {
        let limit = req.limit.clamp(1, 10_000);
        let searcher = self.reader.searcher();
        let stats = self.live_stats(&searcher);
        let m = self.collect(&stats, req, req.offset.saturating_add(limit))?;
        let (parsed, q, fruit, notes) = (m.parsed, m.query, m.fruit, m.notes);
        let page: Vec<_> = fruit.top.into_iter().skip(req.offset).take(limit).collect();
        // Highlight the words typed first; synonyms only where they alone matched.
        let snippeters = if req.snippets && !page.is_empty() {
            let mut literal = parsed.clone();
            literal.strip_expansions();
            let lit_q = query::build(&self.fields, &literal);
            let mut gens = self.snippet_generators(&stats, &*lit_q)?;
            gens.extend(self.snippet_generators(&stats, &*q)?);
            Some(gens)
        } else {
            None
        };
        let probes = if req.explain && !page.is_empty() {
            let schema = self.index.schema();
            let name = |f: tantivy::schema::Field| schema.get_field_name(f).to_string();
            query::probes(&self.fields, &parsed, &name)
        } else {
            Vec::new()
        };
        let mut hits = Vec::with_capacity(page.len());
        for (i, cand) in page.into_iter().enumerate() {
            let trial = self.load(&searcher, cand.addr)?;
            let mut explain: Vec<Contribution> = probes
                .iter()
                .filter_map(|p| {
                    if !matches_doc(&searcher, &*p.query, cand.addr) {
                        return None;
                    }
                    let v = stats.explain(&*p.query, cand.addr).ok()?.value();
                    (v > 0.0).then(|| Contribution {
                        field: p.field.clone(),
                        text: p.text.clone(),
                        kind: p.kind.to_string(),
                        score: v,
                    })
                })
                .collect();
            explain.sort_by(|a, b| b.score.total_cmp(&a.score));
            explain.truncate(MAX_EXPLAIN);
            let explain = req.explain.then_some(explain);
            let (snippet, snippet_field) = match &snippeters {
                Some(g) => best_snippet(g, &trial),
                None => (String::new(), String::new()),
            };
            hits.push(Hit {
                rank: req.offset + i + 1,
                score: cand.score,
                snippet,
                snippet_field,
                trial,
                explain,
            });
        }
        let mut facets = BTreeMap::new();
        facets.insert(
            "status".to_string(),
            fruit
                .status
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect::<Vec<_>>(),
        );
        facets.insert(
            "phase".to_string(),
            fruit.phase.into_iter().filter(|(_, n)| *n > 0).collect(),
        );
        for (name, mut values) in fruit.strings {
            values.truncate(req.facet_limit.max(1));
            facets.insert(name, values);
        }
        Ok(SearchResult {
            query: req.text.clone(),
            total: fruit.total,
            hits,
            facets,
            notes,
        })
    }

    /// Parse the request, run it (forgiving one missing concept from two
    /// on) and keep the best `top` candidates and the facet counts.
    fn collect(&self, stats: &LiveStats, req: &Request, top: usize) -> Result<Matches> {
        let syn = synonyms::Synonyms::builtin();
        let speller = |w: &str| self.correct(stats, w);
        let mut parsed = query::parse_with(&req.text, syn, Some(&speller))?;
        let mut notes = parsed.notes.clone();
        let knob_off = |name: &str| std::env::var_os(name).is_some_and(|v| v == "1");
        let match_sets = !knob_off("TRIALSEARCH_NO_MATCH_SETS");
        // Ranked by relevance, a segment's trials that cannot enter the top
        // are not scored (`pruned`); `TRIALSEARCH_NO_PRUNING=1` scores every
        // match, with the same answer.
        let prune =
            req.sort == SortBy::Relevance && match_sets && !knob_off("TRIALSEARCH_NO_PRUNING");
        let collector = |tiered: bool| TopAndFacets {
            fields: self.fields.clone(),
            top,
            sort: req.sort,
            facets: req.facets.clone(),
            tiered,
            match_sets,
            bar: Default::default(),
        };
        let filters = self.filter_clauses(&req.filters);
        let n_constraints = parsed.phase_boosts.len() + parsed.status_boosts.len();
        let n_required = parsed.n_required();
        let tiered = |relaxed: bool| -> Option<tiered::Tiered> {
            let mut t = query::build_tiered(&self.fields, &parsed, relaxed)?;
            t.prune = prune;
            for (o, q) in &filters {
                match o {
                    Occur::Must => t.required.push(q.box_clone()),
                    Occur::MustNot => t.excluded.push(q.box_clone()),
                    Occur::Should => t.extras.push(tiered::Extra::unbounded(q.box_clone())),
                }
            }
            Some(t)
        };
        // Queries of two concepts or more forgive one missing concept
        // (minimum-should-match N-1): "KOA stem cell injection" should also
        // find KOA stem cell trials that never write "injection", and "UC-MSC
        // ARDS" ARDS trials that do not name the cell source. Trials matching
        // every concept still come first, as a tier of their own (and among
        // them those matching each concept in its own wordings, not only
        // through a broader term), so the top of the list is what strict
        // matching gives. One pass finds the tiers (see `tiered`).
        if let Some(t) = tiered(n_required >= 2) {
            let mut soft = t.tiers;
            let mut q: Box<dyn Query> = Box::new(t);
            let mut fruit = run(stats, &*q, &collector(true))?;
            if soft && n_required == 2 && fruit.full == 0 && fruit.total > 0 {
                // Two words no trial has together are not read as "either
                // word": the missing-one tier only extends a non-empty
                // strict result.
                soft = false;
                if let Some(t) = tiered(false) {
                    q = Box::new(t);
                    fruit = run(stats, &*q, &collector(true))?;
                }
            }
            // Hits are ranked by tier, then by the phase and status boosts
            // met, then by topic score; the scores shown add bonuses that
            // keep that order. A phase or status the user names is part of
            // what they want (a phase 3 MSC trial answers "phase 3 MSC"
            // better than a phase 1 one), yet it only raises, never filters:
            // it is worth the best topic score, and a tier all a lower tier
            // can add. "Best" is over the hits up to this page (the others
            // are not scored), which the bonuses need to exceed.
            let best = fruit.top.iter().map(|c| c.score).fold(0.0, f32::max);
            let constraint = if n_constraints > 0 {
                let c = (best * CONSTRAINT_SHARE).max(query::CONSTRAINT_BOOST);
                parsed.constraint_score = Some(c);
                c
            } else {
                0.0
            };
            let bonus = if soft {
                let b = best + constraint * n_constraints as f32;
                parsed.coord_score = Some(b);
                b
            } else {
                0.0
            };
            for c in &mut fruit.top {
                c.score += constraint * f32::from(c.met) + bonus * f32::from(c.tier);
            }
            if soft && fruit.total > 0 {
                let strict = fruit.full;
                if strict == 0 {
                    notes.push(
                        "no trial matches every word; showing trials that match all but one".into(),
                    );
                } else if strict < fruit.total {
                    notes.push(format!(
                        "{strict} trials match every word; {} more that match all but one follow them",
                        fruit.total - strict
                    ));
                }
            }
            return Ok(Matches {
                parsed,
                query: q,
                fruit,
                notes,
            });
        }
        // Nothing required: only boosts, exclusions, ranges or filters.
        let with_filters = |main: Box<dyn Query>| -> Box<dyn Query> {
            if filters.is_empty() {
                return main;
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, main)];
            clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            Box::new(BooleanQuery::new(clauses))
        };
        if n_constraints > 0 {
            let mut topic = parsed.clone();
            topic.phase_boosts.clear();
            topic.status_boosts.clear();
            let best = stats.search(
                &*with_filters(query::build(&self.fields, &topic)),
                &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
            )?;
            let best = best.first().map(|(s, _)| *s).unwrap_or(0.0);
            parsed.constraint_score = Some((best * CONSTRAINT_SHARE).max(query::CONSTRAINT_BOOST));
        }
        let main = with_filters(query::build(&self.fields, &parsed));
        let fruit = run(stats, &*main, &collector(false))?;
        Ok(Matches {
            parsed,
            query: main,
            fruit,
            notes,
        })
    }

    fn load(&self, searcher: &tantivy::Searcher, addr: DocAddress) -> Result<Trial> {
        crate::index::schema::stored_trial(searcher, &self.fields, addr)
    }

    /// Find a trial by its id or any of its registry ids (case-insensitive).
    pub fn get(&self, id: &str) -> Result<Option<Trial>> {
        let searcher = self.reader.searcher();
        let mut key = id.trim().to_lowercase();
        if let Some(nct) = crate::normalize::find_nct(&key) {
            if nct.len() == key.len() {
                key = nct.to_lowercase();
            }
        }
        let q = TermQuery::new(
            Term::from_field_text(self.fields.id_exact, &key),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(
            &q,
            &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
        )?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.load(&searcher, *addr)?)),
            None => Ok(None),
        }
    }

    /// Every trial matching a request, in the request's order, without paging.
    /// Holds every record in memory: [`Searcher::for_each_matching`] streams.
    pub fn all_matching(&self, req: &Request) -> Result<Vec<Trial>> {
        let mut out = Vec::new();
        self.for_each_matching(req, |t| {
            out.push(t);
            Ok(())
        })?;
        Ok(out)
    }

    /// Hand every trial matching a request to `each`, in the request's order,
    /// one record at a time (for `export`). One pass over the index ranks all
    /// matches (a few dozen bytes each); records are then loaded one by one,
    /// so exporting 500,000 trials never holds them all in memory. Returns
    /// how many were handed over. An error from `each` stops the walk.
    pub fn for_each_matching(
        &self,
        req: &Request,
        mut each: impl FnMut(Trial) -> Result<()>,
    ) -> Result<usize> {
        let searcher = self.reader.searcher();
        let all = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let m = self.collect(&self.live_stats(&searcher), req, all.max(1))?;
        let mut n = 0;
        for cand in m.fruit.top.into_iter().skip(req.offset) {
            each(self.load(&searcher, cand.addr)?)?;
            n += 1;
        }
        Ok(n)
    }

    fn snippet_generators(&self, stats: &LiveStats, q: &dyn Query) -> Result<Vec<SnippetSource>> {
        let f = &self.fields;
        let mut out = Vec::new();
        for (name, field) in [
            ("summary", f.summary),
            ("description", f.description),
            ("eligibility", f.eligibility),
            ("conditions", f.conditions),
            ("interventions", f.interventions),
            ("title", f.title),
            ("outcomes", f.outcomes),
            ("other", f.other),
            ("locations", f.locations),
            ("sponsor", f.sponsor),
        ] {
            // As SnippetGenerator::create, but a field none of whose query
            // terms occurs in the index gets no generator: tokenizing its
            // text for every hit could not highlight anything.
            let mut terms = std::collections::BTreeSet::new();
            q.query_terms(&mut |term, _| {
                if term.field() == field {
                    terms.insert(term.clone());
                }
            });
            let mut terms_text = BTreeMap::new();
            for term in &terms {
                let value = term.value();
                let Some(text) = value.as_str() else {
                    continue;
                };
                let df = stats.doc_freq(term)?;
                if df > 0 {
                    terms_text.insert(text.to_string(), 1.0 / (1.0 + df as f32));
                }
            }
            if terms_text.is_empty() {
                continue;
            }
            let needles = Needles::new(terms_text.keys().map(String::as_str));
            let tokenizer =
                crate::index::analyzer::for_snippets(&self.index, field, needles.stem_heads())?;
            out.push(SnippetSource {
                name,
                needles,
                generator: SnippetGenerator::new(terms_text, tokenizer, field, 220),
            });
        }
        Ok(out)
    }
}

/// A snippet generator for one field, and the cheap test of whether a text
/// could hold one of its terms.
struct SnippetSource {
    name: &'static str,
    needles: Needles,
    generator: SnippetGenerator,
}

fn field_text(t: &Trial, name: &str) -> String {
    match name {
        "summary" => t.summary.clone().unwrap_or_default(),
        "description" => t.description.clone().unwrap_or_default(),
        "eligibility" => eligibility_text(t),
        "conditions" => t.conditions.join("; "),
        "interventions" => t
            .interventions
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        "title" => t.display_title().to_string(),
        "outcomes" => t.outcomes.join("; "),
        "other" => t.other_text.clone().unwrap_or_default(),
        "locations" => t
            .locations
            .iter()
            .map(|l| {
                [&l.facility, &l.city, &l.country]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join("; "),
        "sponsor" => t.sponsor.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The snippet of the first field (in reading order) where query words
/// matched; for eligibility, the criterion line that matched. Texts that
/// cannot hold a query word ([`Needles`]) are not analyzed at all.
fn best_snippet(gens: &[SnippetSource], t: &Trial) -> (String, String) {
    for src in gens {
        let text = field_text(t, src.name);
        if text.is_empty() || !src.needles.may_match(&text) {
            continue;
        }
        if src.name == "eligibility" {
            for line in text.lines() {
                if !src.needles.may_match(line) {
                    continue;
                }
                let s = src.generator.snippet(line);
                if !s.highlighted().is_empty() {
                    return (elide(line, &s), "eligibility".into());
                }
            }
            continue;
        }
        let s = src.generator.snippet(&text);
        if !s.highlighted().is_empty() {
            return (elide(&text, &s), src.name.to_string());
        }
    }
    let lead = t
        .summary
        .as_deref()
        .or(t.description.as_deref())
        .or(t.other_text.as_deref())
        .unwrap_or("");
    let lead = lead.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = lead.chars().take(200).collect();
    if lead.chars().count() > 200 {
        cut.push('…');
    }
    (escape_marks(&cut), "summary".into())
}

/// The marked fragment, with `…` where it cuts the field's text, so a reader
/// knows the sentence goes on.
fn elide(text: &str, s: &tantivy::snippet::Snippet) -> String {
    let frag = s.fragment();
    let marked = mark(s);
    let (before, after) = match text.find(frag) {
        Some(i) => (&text[..i], &text[i + frag.len()..]),
        None => return marked,
    };
    let mut out = String::with_capacity(marked.len() + 8);
    if !before.trim().is_empty() {
        out.push_str("… ");
    }
    out.push_str(&marked);
    if !after.trim().is_empty() {
        out.push_str(" …");
    }
    out
}

/// Whether `q` matches the document. Checked before `Query::explain`: a
/// phrase scorer asked to explain a document before its first match trips
/// a debug assertion in tantivy (it seeks backwards) instead of answering
/// "no match".
fn matches_doc(searcher: &tantivy::Searcher, q: &dyn Query, addr: DocAddress) -> bool {
    use tantivy::{DocSet, TERMINATED};
    let Ok(w) = q.weight(tantivy::query::EnableScoring::enabled_from_searcher(
        searcher,
    )) else {
        return false;
    };
    let Ok(mut sc) = w.scorer(searcher.segment_reader(addr.segment_ord), 1.0) else {
        return false;
    };
    let first = sc.doc();
    first != TERMINATED && first <= addr.doc_id && sc.seek(addr.doc_id) == addr.doc_id
}

/// Damerau–Levenshtein (optimal string alignment) distance between `a`
/// and `b`, or `None` when it exceeds `max`: a swap of two neighbours
/// ("sclerosys"/"sclerosis" is a substitution, "cleels"/"cells" a swap) is
/// one typo.
pub fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    let v = d[a.len() * w + b.len()];
    (v <= max).then_some(v)
}

fn escape_marks(s: &str) -> String {
    s.replace("<mark>", "<mark\u{200b}>")
        .replace("</mark>", "</mark\u{200b}>")
}

fn mark(s: &tantivy::snippet::Snippet) -> String {
    let frag = s.fragment();
    let mut out = String::with_capacity(frag.len() + 32);
    let mut last = 0;
    for r in s.highlighted() {
        if r.start < last || r.end > frag.len() {
            continue;
        }
        out.push_str(&escape_marks(&frag[last..r.start]));
        out.push_str("<mark>");
        out.push_str(&escape_marks(&frag[r.start..r.end]));
        out.push_str("</mark>");
        last = r.end;
    }
    out.push_str(&escape_marks(&frag[last..]));
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
