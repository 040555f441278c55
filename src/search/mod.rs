//! Stage 5, search: a [`Request`] (query text, filters, paging, sort) →
//! a [`SearchResult`] (hits with snippets, facet counts over all matches).
//!
//! One pass over the matching documents does everything: the
//! [`collector::TopAndFacets`] collector keeps the top hits by the chosen
//! sort key and counts status, phase and any requested facet field from fast
//! fields, so facet counts cost no second query. Only the hits on the
//! requested page are loaded from the doc store.

pub mod collector;
pub mod query;
pub mod synonyms;

use crate::error::{Error, Result};
use crate::index::schema::{
    eligibility_text, phase_code, sex_code, status_code, study_type_code, Fields,
};
use crate::index::{IndexDir, Meta};
use crate::trial::{Phase, Sex, Status, StudyType, Trial};
use collector::{FacetField, SortBy, TopAndFacets};
use query::{Area, Scope};
use serde::Serialize;
use std::collections::BTreeMap;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, IndexReader, ReloadPolicy, TantivyDocument, Term};

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
}

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

/// An opened index, ready to answer many requests.
pub struct Searcher {
    index: tantivy::Index,
    reader: IndexReader,
    fields: Fields,
    meta: Meta,
}

impl Searcher {
    /// Open the live generation of an index directory.
    pub fn open(dir: &IndexDir) -> Result<Searcher> {
        let (index, fields, meta) = dir.open()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Searcher {
            index,
            reader,
            fields,
            meta,
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
                .filter_map(|a| query::text_query(a, text, 0).map(|q| (Occur::Should, q)))
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
                    query::text_query(&area, &country, 0).map(|q| (Occur::Should, q))
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

    /// Run a search.
    pub fn search(&self, req: &Request) -> Result<SearchResult> {
        let syn = synonyms::Synonyms::builtin();
        let parsed = query::parse(&req.text, syn)?;
        let mut notes = parsed.notes.clone();
        let searcher = self.reader.searcher();
        let limit = req.limit.clamp(1, 10_000);
        let collector = TopAndFacets {
            fields: self.fields.clone(),
            top: req.offset.saturating_add(limit),
            sort: req.sort,
            facets: req.facets.clone(),
        };
        let filters = self.filter_clauses(&req.filters);
        let make = |relaxed: bool| -> Box<dyn Query> {
            let main = query::build(&self.fields, &parsed, relaxed);
            if filters.is_empty() {
                return main;
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, main)];
            clauses.extend(filters.iter().map(|(o, q)| (*o, q.box_clone())));
            Box::new(BooleanQuery::new(clauses))
        };
        let mut q = make(false);
        let mut fruit = searcher.search(&*q, &collector)?;
        let required = parsed.required().count()
            + parsed
                .clauses
                .iter()
                .filter(|c| matches!(c, query::Clause::Any(_)))
                .count();
        if fruit.total == 0 && required >= 3 {
            q = make(true);
            fruit = searcher.search(&*q, &collector)?;
            if fruit.total > 0 {
                notes.push(
                    "no trial matches every word; showing trials that match some of them".into(),
                );
            }
        }
        let page: Vec<_> = fruit.top.into_iter().skip(req.offset).take(limit).collect();
        // Highlight the words typed first; synonyms only where they alone matched.
        let snippeters = if req.snippets && !page.is_empty() {
            let mut literal = parsed.clone();
            literal.strip_expansions();
            let lit_q = query::build(&self.fields, &literal, false);
            let mut gens = self.snippet_generators(&searcher, &*lit_q)?;
            gens.extend(self.snippet_generators(&searcher, &*q)?);
            Some(gens)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(page.len());
        for (i, cand) in page.into_iter().enumerate() {
            let trial = self.load(&searcher, cand.addr)?;
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

    fn load(&self, searcher: &tantivy::Searcher, addr: DocAddress) -> Result<Trial> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        use tantivy::schema::Value;
        let bytes = doc
            .get_first(self.fields.record)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| Error::BadIndex {
                path: std::path::PathBuf::from("index"),
                reason: "a document has no stored record".into(),
            })?;
        Ok(serde_json::from_slice(bytes)?)
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

    /// Every trial matching a request, in the request's order, without paging:
    /// for `export`.
    pub fn all_matching(&self, req: &Request) -> Result<Vec<Trial>> {
        let total = {
            let mut r = req.clone();
            r.limit = 1;
            r.snippets = false;
            self.search(&r)?.total
        };
        let mut r = req.clone();
        r.offset = 0;
        r.limit = total.max(1);
        r.snippets = false;
        Ok(self.search(&r)?.hits.into_iter().map(|h| h.trial).collect())
    }

    fn snippet_generators(
        &self,
        searcher: &tantivy::Searcher,
        q: &dyn Query,
    ) -> Result<Vec<(&'static str, SnippetGenerator)>> {
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
                let df = searcher.doc_freq(term)?;
                if df > 0 {
                    terms_text.insert(text.to_string(), 1.0 / (1.0 + df as f32));
                }
            }
            if terms_text.is_empty() {
                continue;
            }
            let tokenizer = self.index.tokenizer_for_field(field)?;
            out.push((
                name,
                SnippetGenerator::new(terms_text, tokenizer, field, 220),
            ));
        }
        Ok(out)
    }
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
/// matched; for eligibility, the criterion line that matched.
fn best_snippet(gens: &[(&'static str, SnippetGenerator)], t: &Trial) -> (String, String) {
    for (name, g) in gens {
        let text = field_text(t, name);
        if text.is_empty() {
            continue;
        }
        if *name == "eligibility" {
            for line in text.lines() {
                let s = g.snippet(line);
                if !s.highlighted().is_empty() {
                    return (mark(&s), "eligibility".into());
                }
            }
            continue;
        }
        let s = g.snippet(&text);
        if !s.highlighted().is_empty() {
            return (mark(&s), name.to_string());
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
