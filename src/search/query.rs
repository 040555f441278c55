//! Stage 5: query text → a plan ([`ParsedQuery`]) → a tantivy query.
//!
//! The syntax is what people type into a trial registry's search box:
//! free words (all required, in any field; from two concepts on, trials
//! missing one follow those matching all, see [`build_tiered`]), `"quoted phrases"`, `-word` or
//! `NOT word` to exclude, `OR` between two terms, `AND` (the default),
//! `field:term` or `field:"a phrase"` for `title`, `condition`,
//! `intervention`, `sponsor`, `id`, `eligibility`, `summary`, `location`, and
//! `age:[18 TO 65]` for trials whose age range overlaps.
//!
//! Words that name a phase ("phase 3", "phase I/II") or a status
//! ("recruiting") are taken out of the required words and become boosts: they
//! raise trials that match, never empty the result. Each remaining word or
//! vocabulary span is a *concept*, searched in every field with the field's
//! weight, and through its synonyms at a lower weight.

use super::phrase_token::PhraseTokenQuery;
use super::synonyms::{key_of, Expansion, Synonyms};
use super::tiered::{Extra, Part, Tiered, Unit, Wording};
use crate::error::{Error, Result};
use crate::index::analyzer::analyze_positions;
use crate::index::schema::{phase_code, status_code, Fields};
use crate::normalize;
use crate::trial::{Phase, Status};
use std::ops::Bound;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

/// Longest query accepted, in characters; longer input is cut (with a note).
pub const MAX_QUERY_CHARS: usize = 2000;
/// Most concepts used from one query.
pub const MAX_CONCEPTS: usize = 32;

/// A searchable area and how much a match there counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// The field.
    pub field: Field,
    /// Its weight.
    pub weight: f32,
    /// Whether the field's analyzer stems.
    pub stemmed: bool,
}

/// Which areas a `field:` prefix selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every area.
    All,
    /// `title:`
    Title,
    /// `condition:`
    Condition,
    /// `intervention:`
    Intervention,
    /// `sponsor:`
    Sponsor,
    /// `id:`
    Id,
    /// `eligibility:`
    Eligibility,
    /// `summary:` (summary and description)
    Summary,
    /// `location:`
    Location,
}

impl Scope {
    fn from_prefix(p: &str) -> Option<Scope> {
        Some(match p.to_ascii_lowercase().as_str() {
            "title" => Scope::Title,
            "condition" | "conditions" | "cond" => Scope::Condition,
            "intervention" | "interventions" | "treatment" | "intr" => Scope::Intervention,
            "sponsor" | "spons" => Scope::Sponsor,
            "id" | "nct" => Scope::Id,
            "eligibility" | "criteria" | "elig" => Scope::Eligibility,
            "summary" | "description" => Scope::Summary,
            "location" | "locations" | "country" | "site" => Scope::Location,
            _ => return None,
        })
    }
}

/// The areas of a scope, with weights in the spirit of ClinicalTrials.gov's
/// search areas: ids, titles, conditions and interventions count most.
pub fn areas(f: &Fields, scope: Scope) -> Vec<Area> {
    let a = |field, weight, stemmed| Area {
        field,
        weight,
        stemmed,
    };
    match scope {
        Scope::All => vec![
            a(f.ids, 8.0, false),
            a(f.title, 3.0, true),
            a(f.conditions, 3.0, true),
            a(f.interventions, 2.5, true),
            a(f.mesh, 1.2, true),
            a(f.summary, 1.5, true),
            a(f.description, 0.8, true),
            a(f.eligibility, 0.6, true),
            a(f.outcomes, 0.6, true),
            // Sponsor and site names ("Stem Cells Arabia", "Cell Therapy
            // Center") are short fields, so BM25 scores a topic word found
            // there highly; yet they say who runs a trial, not what it is
            // about. Weighted low to stay findable without steering topics.
            a(f.sponsor, 0.5, false),
            a(f.locations, 0.3, false),
            a(f.other, 0.8, true),
            // Derived text (abbreviations the record defines): it should
            // connect wordings, not outrank what the record itself says.
            a(f.abbrev, 1.0, true),
        ],
        Scope::Title => vec![a(f.title, 1.0, true)],
        Scope::Condition => vec![a(f.conditions, 1.0, true), a(f.mesh, 0.5, true)],
        Scope::Intervention => vec![a(f.interventions, 1.0, true)],
        Scope::Sponsor => vec![a(f.sponsor, 1.0, false)],
        Scope::Id => vec![a(f.ids, 1.0, false)],
        Scope::Eligibility => vec![a(f.eligibility, 1.0, true)],
        Scope::Summary => vec![a(f.summary, 1.0, true), a(f.description, 0.8, true)],
        Scope::Location => vec![a(f.locations, 1.0, false), a(f.country, 1.0, false)],
    }
}

/// One thing the query asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// The words as typed (a word, a vocabulary span, or a quoted phrase).
    pub text: String,
    /// Where to look.
    pub scope: Scope,
    /// Other wordings from the vocabulary, weighted below the literal words.
    pub expansions: Vec<Expansion>,
    /// A quoted phrase: matched exactly, never expanded.
    pub exact: bool,
}

/// A clause of the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// Must match.
    Must(Concept),
    /// Must not match.
    Not(Concept),
    /// At least one of these must match.
    Any(Vec<Concept>),
    /// The trial's age range overlaps [lo, hi].
    AgeRange(Option<f64>, Option<f64>),
}

/// The plan of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedQuery {
    /// The clauses, in order.
    pub clauses: Vec<Clause>,
    /// Phases named in the text: raise, never filter.
    pub phase_boosts: Vec<Phase>,
    /// Statuses named in the text: raise, never filter.
    pub status_boosts: Vec<Status>,
    /// Things the user should know about how the text was read.
    pub notes: Vec<String>,
    /// Score added per phase or status met; [`CONSTRAINT_BOOST`] unless the
    /// searcher scales it to the query's own scores.
    pub constraint_score: Option<f32>,
    /// With relaxed matching, the score shown added to trials that match
    /// every concept (and again to those matching each in its own wordings),
    /// so scores follow the tiers the searcher ranks by (it sets it from the
    /// best topic score it saw, see [`super::tiered`]).
    pub coord_score: Option<f32>,
}

impl ParsedQuery {
    /// How many clauses must match (single concepts and OR groups).
    pub fn n_required(&self) -> usize {
        self.clauses
            .iter()
            .filter(|c| matches!(c, Clause::Must(_) | Clause::Any(_)))
            .count()
    }

    /// The concepts that must match.
    pub fn required(&self) -> impl Iterator<Item = &Concept> {
        self.clauses.iter().filter_map(|c| match c {
            Clause::Must(c) => Some(c),
            _ => None,
        })
    }

    /// Drop every vocabulary expansion, keeping the words as typed.
    pub fn strip_expansions(&mut self) {
        for c in &mut self.clauses {
            match c {
                Clause::Must(c) | Clause::Not(c) => c.expansions.clear(),
                Clause::Any(cs) => cs.iter_mut().for_each(|c| c.expansions.clear()),
                Clause::AgeRange(..) => {}
            }
        }
    }

    /// Whether nothing in the text constrains the result (all trials match).
    pub fn is_match_all(&self) -> bool {
        !self
            .clauses
            .iter()
            .any(|c| matches!(c, Clause::Must(_) | Clause::Any(_) | Clause::AgeRange(..)))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Word(String),
    Phrase(String),
    Field(String, String, bool),
    Not,
    Or,
    And,
}

/// Words too common in trial records to require: each would match nearly
/// every trial, so requiring them only hides trials that phrase things
/// differently. They still count inside quoted phrases.
const STOP: [&str; 26] = [
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of",
    "on", "the", "to", "with", "vs", "trial", "trials", "study", "studies", "patients", "versus",
];

fn lex(text: &str) -> Result<Vec<Lex>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c.is_control() {
            i += 1;
            continue;
        }
        if c == '"' || c == '“' || c == '”' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && !matches!(chars[j], '"' | '“' | '”') {
                j += 1;
            }
            if j >= chars.len() {
                return Err(Error::Query(
                    "a quote is not closed; add the closing \" or remove the opening one".into(),
                ));
            }
            out.push(Lex::Phrase(chars[start..j].iter().collect()));
            i = j + 1;
            continue;
        }
        if c == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace() {
            out.push(Lex::Not);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !chars[i].is_control() {
            if chars[i] == ':' {
                break;
            }
            if chars[i] == '"' && i > start {
                break;
            }
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if i < chars.len() && chars[i] == ':' {
            // field:value, field:"a phrase", age:[18 TO 65]
            i += 1;
            if i < chars.len() && chars[i] == '"' {
                let s = i + 1;
                let mut j = s;
                while j < chars.len() && chars[j] != '"' {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(Error::Query(format!(
                        "the quote after {word}: is not closed"
                    )));
                }
                out.push(Lex::Field(word, chars[s..j].iter().collect(), true));
                i = j + 1;
            } else if i < chars.len() && (chars[i] == '[' || chars[i] == '{') {
                let s = i;
                let mut j = s;
                while j < chars.len() && chars[j] != ']' && chars[j] != '}' {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(Error::Query(format!(
                        "the range after {word}: is not closed; write {word}:[18 TO 65]"
                    )));
                }
                out.push(Lex::Field(word, chars[s..=j].iter().collect(), false));
                i = j + 1;
            } else {
                let s = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                let v: String = chars[s..i].iter().collect();
                if v.is_empty() {
                    out.push(Lex::Word(word));
                } else {
                    out.push(Lex::Field(word, v, false));
                }
            }
            continue;
        }
        match word.as_str() {
            "OR" | "||" => out.push(Lex::Or),
            "AND" | "&&" => out.push(Lex::And),
            "NOT" => out.push(Lex::Not),
            _ => out.push(Lex::Word(word)),
        }
    }
    Ok(out)
}

fn parse_range(v: &str) -> Result<(Option<f64>, Option<f64>)> {
    let inner = v.trim_matches(|c| matches!(c, '[' | ']' | '{' | '}'));
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let bound = |s: &str| -> Result<Option<f64>> {
        if s == "*" {
            return Ok(None);
        }
        s.parse::<f64>()
            .map(Some)
            .map_err(|_| Error::Query(format!("'{s}' in an age range is not a number")))
    };
    match parts.as_slice() {
        [lo, to, hi] if to.eq_ignore_ascii_case("to") => Ok((bound(lo)?, bound(hi)?)),
        _ => Err(Error::Query(format!(
            "age range '{v}' is not understood; write age:[18 TO 65] (use * for an open end)"
        ))),
    }
}

fn concept(text: String, scope: Scope, exact: bool, syn: &Synonyms) -> Concept {
    let expansions = if exact {
        Vec::new()
    } else {
        syn.get(&key_of(&text))
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    };
    Concept {
        text,
        scope,
        expansions,
        exact,
    }
}

/// Take phase and status wordings out of a run of free words.
fn extract_boosts(words: &[String], q: &mut ParsedQuery) -> Vec<String> {
    let joined = words.join(" ");
    let lower = joined.to_ascii_lowercase();
    let mut keep = vec![true; words.len()];
    // Word index of each byte offset, to map regex spans back to words.
    let mut starts = Vec::new();
    let mut off = 0;
    for w in words {
        starts.push(off);
        off += w.len() + 1;
    }
    let word_at = |byte: usize| starts.iter().rposition(|&s| s <= byte).unwrap_or(0);
    static PHASE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(early\s+phase\s*(?:1|i)|phase\s*(?:[1-4]|iv|iii|ii|i)[abc]?(?:\s*(?:/|-|&|and|or|,)\s*(?:phase\s*)?(?:[1-4]|iv|iii|ii|i)[abc]?)*)\b",
        )
        .expect("static regex")
    });
    // Every phase wording contains "phase": most queries skip building the
    // regex, which cost a sixth of a one-shot query's instructions.
    let phase_matches = lower
        .contains("phase")
        .then(|| PHASE.find_iter(&lower))
        .into_iter()
        .flatten();
    for m in phase_matches {
        q.phase_boosts.extend(normalize::parse_phases(m.as_str()));
        for k in keep
            .iter_mut()
            .take(word_at(m.end() - 1) + 1)
            .skip(word_at(m.start()))
        {
            *k = false;
        }
    }
    const STATUS_PHRASES: [(&str, Status); 9] = [
        ("not yet recruiting", Status::NotYetRecruiting),
        ("active not recruiting", Status::ActiveNotRecruiting),
        ("active, not recruiting", Status::ActiveNotRecruiting),
        ("enrolling by invitation", Status::EnrollingByInvitation),
        ("recruiting", Status::Recruiting),
        ("completed", Status::Completed),
        ("terminated", Status::Terminated),
        ("withdrawn", Status::Withdrawn),
        ("suspended", Status::Suspended),
    ];
    let mut taken = String::new();
    for (phrase, st) in STATUS_PHRASES {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(phrase) {
            let s = from + pos;
            let e = s + phrase.len();
            let bounded = (s == 0 || !lower.as_bytes()[s - 1].is_ascii_alphanumeric())
                && (e == lower.len() || !lower.as_bytes()[e].is_ascii_alphanumeric());
            let first = word_at(s);
            let last = word_at(e - 1);
            if bounded && keep[first..=last].iter().all(|k| *k) && !taken.contains(phrase) {
                q.status_boosts.push(st);
                taken.push_str(phrase);
                taken.push('|');
                for k in keep.iter_mut().take(last + 1).skip(first) {
                    *k = false;
                }
            }
            from = e;
        }
    }
    q.phase_boosts.sort();
    q.phase_boosts.dedup();
    q.status_boosts.sort();
    q.status_boosts.dedup();
    words
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(w, _)| w.clone())
        .collect()
}

/// Spelling correction offered by the index: a word → a better-attested
/// word, or `None` to keep it.
pub type Speller<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Whether a typed word may be spell-corrected: a purely alphabetic word of
/// four letters or more, not written in capitals, not in the vocabulary.
/// Ids, numbers, compounds ("UC-MSC") and abbreviations ("ARDS", "Cx601")
/// are never touched: a near miss between two abbreviations is another
/// thing, not a typo. Words under [`LONG_TYPO`] letters have too many
/// neighbours to correct on the dictionary alone (see `group_words`).
pub fn may_correct(word: &str, syn: &Synonyms) -> bool {
    let n = word.chars().count();
    n >= SHORT_TYPO
        && word.chars().all(char::is_alphabetic)
        && !word.chars().all(char::is_uppercase)
        && !STOP.contains(&word.to_lowercase().as_str())
        && syn.get(&key_of(word)).is_none()
}

/// Group a run of free words into concepts: the longest vocabulary span
/// first, then single words. Misspelled words are corrected first (when a
/// speller is given), so "multiple sclerosys" becomes the vocabulary span
/// "multiple sclerosis" with its synonyms.
fn group_words(
    words: &[String],
    syn: &Synonyms,
    speller: Option<Speller>,
    notes: &mut Vec<String>,
) -> Vec<Concept> {
    let mut fixed: Vec<String> = words.to_vec();
    let mut short: Vec<(usize, String)> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let better = speller
            .filter(|_| may_correct(w, syn))
            .and_then(|sp| sp(w))
            .filter(|b| !b.eq_ignore_ascii_case(w));
        if let Some(b) = better {
            if w.chars().count() >= LONG_TYPO {
                notes.push(format!("{w} → {b} (spelling corrected)"));
                fixed[i] = b;
            } else {
                short.push((i, b));
            }
        }
    }
    // A short word has many neighbours one edit away ("cels": cell, cells,
    // gels), so its correction is taken only when the corrected word forms
    // a wording of the vocabulary with the words around it ("stem cels" →
    // "stem cells"): the context, not the dictionary alone, picks it.
    for (i, b) in short {
        let mut trial = fixed.clone();
        trial[i] = b.clone();
        if in_vocabulary_span(&trial, i, syn) {
            notes.push(format!("{} → {b} (spelling corrected)", words[i]));
            fixed[i] = b;
        }
    }
    let words = &fixed[..];
    let mut out = Vec::new();
    let mut i = 0;
    let max = syn.max_span().max(1);
    while i < words.len() {
        let mut matched = None;
        for len in (2..=max.min(words.len() - i)).rev() {
            let span = words[i..i + len].join(" ");
            if syn.is_phrase(&key_of(&span)) {
                matched = Some((len, span));
                break;
            }
        }
        match matched {
            Some((len, span)) => {
                out.push(concept(span, Scope::All, false, syn));
                i += len;
            }
            None => {
                let w = &words[i];
                let lw = w.to_lowercase();
                if !STOP.contains(&lw.as_str()) && !analyze_positions(w, false).is_empty() {
                    out.push(concept(w.clone(), Scope::All, false, syn));
                }
                i += 1;
            }
        }
    }
    merge_equivalents(out)
}

/// Shortest word the speller may correct; below [`LONG_TYPO`] letters only
/// when the vocabulary confirms the correction in context.
pub const SHORT_TYPO: usize = 4;
/// Shortest word corrected on the index's dictionary alone.
pub const LONG_TYPO: usize = 6;

/// Whether word `i` of `words` lies inside a span of two or more words that
/// the vocabulary names.
fn in_vocabulary_span(words: &[String], i: usize, syn: &Synonyms) -> bool {
    let max = syn.max_span().min(words.len());
    (2..=max).any(|len| {
        let first = (i + 1).saturating_sub(len);
        (first..=i)
            .filter(|s| s + len <= words.len())
            .any(|s| syn.is_phrase(&key_of(&words[s..s + len].join(" "))))
    })
}

/// Two neighbouring concepts the vocabulary calls equivalent ("darvadstrocel
/// Cx601", "Prochymal remestemcel-L") name one thing twice: people list a
/// product's names together. Requiring both would keep only the records that
/// print both names, so they become one concept, either wording literal.
fn merge_equivalents(concepts: Vec<Concept>) -> Vec<Concept> {
    let mut out: Vec<Concept> = Vec::with_capacity(concepts.len());
    for c in concepts {
        if let Some(prev) = out.last_mut() {
            let k = key_of(&c.text);
            let same = prev
                .expansions
                .iter()
                .any(|e| e.weight >= super::synonyms::EQUIVALENT_WEIGHT && e.key == k);
            if same && !prev.exact && !c.exact {
                for e in &mut prev.expansions {
                    if e.key == k {
                        e.weight = 1.0;
                    }
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Parse query text into a plan.
pub fn parse(text: &str, syn: &Synonyms) -> Result<ParsedQuery> {
    parse_with(text, syn, None)
}

/// Parse query text into a plan, correcting misspelled free words with
/// `speller` (see [`may_correct`] for which words are candidates).
pub fn parse_with(text: &str, syn: &Synonyms, speller: Option<Speller>) -> Result<ParsedQuery> {
    let mut q = ParsedQuery::default();
    let text: String = if text.chars().count() > MAX_QUERY_CHARS {
        q.notes.push(format!(
            "the query was cut to its first {MAX_QUERY_CHARS} characters"
        ));
        text.chars().take(MAX_QUERY_CHARS).collect()
    } else {
        text.to_string()
    };
    let lexed = lex(&text)?;
    // Pass 1: turn lexemes into (negated, or_with_previous, concepts) items.
    let mut items: Vec<(bool, bool, Vec<Concept>)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut negate = false;
    let mut or_next = false;
    let flush = |words: &mut Vec<String>,
                 items: &mut Vec<(bool, bool, Vec<Concept>)>,
                 q: &mut ParsedQuery,
                 or_next: &mut bool| {
        if words.is_empty() {
            return;
        }
        let rest = extract_boosts(words, q);
        let concepts = group_words(&rest, syn, speller, &mut q.notes);
        for (k, c) in concepts.into_iter().enumerate() {
            items.push((false, k == 0 && *or_next, vec![c]));
        }
        *or_next = false;
        words.clear();
    };
    for l in lexed {
        match l {
            Lex::Word(w) if !negate => words.push(w),
            Lex::Word(w) => {
                flush(&mut words, &mut items, &mut q, &mut or_next);
                // Exclusions take the word literally: excluding every
                // synonym of a word removes more than people expect.
                if let Some(c) = nonempty(concept(w, Scope::All, true, syn)) {
                    items.push((true, false, vec![c]));
                }
                negate = false;
            }
            Lex::Phrase(p) => {
                flush(&mut words, &mut items, &mut q, &mut or_next);
                if let Some(c) = nonempty(concept(p, Scope::All, true, syn)) {
                    items.push((negate, or_next, vec![c]));
                }
                negate = false;
                or_next = false;
            }
            Lex::Field(name, value, quoted) => {
                flush(&mut words, &mut items, &mut q, &mut or_next);
                if name.eq_ignore_ascii_case("age") {
                    let (lo, hi) = if value.starts_with('[') || value.starts_with('{') {
                        parse_range(&value)?
                    } else {
                        let a = value.parse::<f64>().map_err(|_| {
                            Error::Query(format!(
                                "age:{value} is not understood; write age:45 or age:[18 TO 65]"
                            ))
                        })?;
                        (Some(a), Some(a))
                    };
                    q.clauses.push(Clause::AgeRange(lo, hi));
                } else if let Some(scope) = Scope::from_prefix(&name) {
                    if let Some(c) = nonempty(concept(value, scope, quoted, syn)) {
                        items.push((negate, or_next, vec![c]));
                    }
                } else {
                    // Not a field we know ("covid:19"?): search the words.
                    q.notes.push(format!(
                        "'{name}:' is not a field; searched as words (fields: title, condition, intervention, sponsor, id, eligibility, summary, location, age)"
                    ));
                    words.push(name);
                    words.push(value);
                    continue;
                }
                negate = false;
                or_next = false;
            }
            Lex::Not => {
                flush(&mut words, &mut items, &mut q, &mut or_next);
                negate = true;
            }
            Lex::Or => {
                flush(&mut words, &mut items, &mut q, &mut or_next);
                or_next = !items.is_empty();
            }
            Lex::And => flush(&mut words, &mut items, &mut q, &mut or_next),
        }
    }
    flush(&mut words, &mut items, &mut q, &mut or_next);
    // Pass 2: fold OR chains into Any clauses.
    let mut clauses: Vec<(bool, Vec<Concept>)> = Vec::new();
    for (neg, or_prev, cs) in items {
        match clauses.last_mut() {
            Some((false, prev)) if or_prev && !neg => prev.extend(cs),
            _ => clauses.push((neg, cs)),
        }
    }
    let mut n = 0;
    for (neg, mut cs) in clauses {
        n += cs.len();
        if n > MAX_CONCEPTS {
            q.notes.push(format!(
                "only the first {MAX_CONCEPTS} terms of the query were used"
            ));
            break;
        }
        q.clauses.push(match (neg, cs.len()) {
            (true, _) => Clause::Not(cs.remove(0)),
            (false, 1) => Clause::Must(cs.remove(0)),
            (false, _) => Clause::Any(cs),
        });
    }
    Ok(q)
}

fn nonempty(c: Concept) -> Option<Concept> {
    if analyze_positions(&c.text, false).is_empty() {
        None
    } else {
        Some(c)
    }
}

/// A query for `text` in one area: a term, or a phrase when the text has
/// several positions. `None` if the text has no searchable token.
///
/// A phrase of the vocabulary that the index marked with phrase tokens
/// (`fields.phrases`, stemmed fields, no slop) reads its token instead:
/// the same matches and scores, from one short postings list.
pub fn text_query(fields: &Fields, area: &Area, text: &str, slop: u32) -> Option<Box<dyn Query>> {
    let positions = analyze_positions(text, area.stemmed);
    let words: Vec<&String> = positions.iter().filter_map(|alts| alts.last()).collect();
    let terms: Vec<Term> = words
        .iter()
        .map(|t| Term::from_field_text(area.field, t))
        .collect();
    match terms.len() {
        0 => None,
        1 => Some(Box::new(TermQuery::new(
            terms.into_iter().next()?,
            IndexRecordOption::WithFreqs,
        ))),
        _ if slop == 0 && area.stemmed && !fields.phrases.is_empty() => {
            let key = words
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if fields.phrases.contains(&key) {
                let token = Term::from_field_text(area.field, &key);
                Some(Box::new(PhraseTokenQuery::new(token, terms)))
            } else {
                Some(phrase_query(terms, slop))
            }
        }
        _ => Some(phrase_query(terms, slop)),
    }
}

fn phrase_query(terms: Vec<Term>, slop: u32) -> Box<dyn Query> {
    let with_offsets: Vec<(usize, Term)> = terms.into_iter().enumerate().collect();
    Box::new(PhraseQuery::new_with_offset_and_slop(with_offsets, slop))
}

/// Whether `text` may be searched in area `a`: the ids area only takes
/// text with a digit. Sponsors' own study codes ("ASC-OA-2019",
/// "MSC-ALS-01") are made of the same acronyms people type as words, and an
/// id match weighs as much as a title match eight times over; an id someone
/// types (NCT05689008, DFSC-2023(CR)-01, Cx601) always has a digit.
fn id_like(fields: &Fields, a: &Area, text: &str) -> bool {
    a.field != fields.ids || text.chars().any(|c| c.is_ascii_digit())
}

/// Tie-breaker of the disjunction over a wording's areas: the best area
/// plus a quarter of the others.
pub const AREA_TIE: f32 = 0.25;

/// The weighted per-area queries of one wording, the disjuncts of
/// [`areas_query`].
///
/// With `bounded`, a single term is searched as a
/// [`PhraseTokenQuery::term`], whose scorer tells its score bound, and
/// several terms carry the terms and boost that bound their phrase's score
/// (see [`super::pruned`]).
fn area_parts(fields: &Fields, scope: Scope, text: &str, weight: f32, bounded: bool) -> Vec<Part> {
    // A phrase's BM25 score grows with its length; dividing by the number of
    // positions keeps a six-word synonym from outscoring the two words typed.
    let n = analyze_positions(text, false).len().max(1) as f32;
    let weight = weight / n.sqrt();
    areas(fields, scope)
        .iter()
        .filter(|a| id_like(fields, a, text))
        .filter_map(|a| {
            let boost = a.weight * weight;
            let (q, terms) = if bounded {
                bounded_text_query(fields, a, text)?
            } else {
                (text_query(fields, a, text, 0)?, None)
            };
            Some(Part {
                query: Box::new(BoostQuery::new(q, boost)),
                field: a.field,
                bound: terms.map(|t| (t, boost)),
            })
        })
        .collect()
}

/// A query and, when its scorer cannot tell its bound, its terms.
type BoundedQuery = (Box<dyn Query>, Option<Vec<Term>>);

/// [`text_query`] without slop, a single term as a
/// [`PhraseTokenQuery::term`]; a phrase matched by positions with its
/// terms.
fn bounded_text_query(fields: &Fields, area: &Area, text: &str) -> Option<BoundedQuery> {
    let positions = analyze_positions(text, area.stemmed);
    match positions.as_slice() {
        [alts] => {
            let word = alts.last()?;
            let term = Term::from_field_text(area.field, word);
            Some((Box::new(PhraseTokenQuery::term(term)), None))
        }
        _ => {
            let q = text_query(fields, area, text, 0)?;
            // A phrase token's scorer tells its bound; a phrase matched by
            // positions needs its terms' weight, looked up only for it.
            let terms = q.downcast_ref::<PhraseQuery>().map(|_| {
                positions
                    .iter()
                    .filter_map(|alts| alts.last())
                    .map(|w| Term::from_field_text(area.field, w))
                    .collect()
            });
            Some((q, terms))
        }
    }
}

fn areas_query(fields: &Fields, scope: Scope, text: &str, weight: f32) -> Option<Box<dyn Query>> {
    let parts: Vec<Box<dyn Query>> = area_parts(fields, scope, text, weight, false)
        .into_iter()
        .map(|p| p.query)
        .collect();
    match parts.len() {
        0 => None,
        _ => Some(Box::new(DisjunctionMaxQuery::with_tie_breaker(
            parts, AREA_TIE,
        ))),
    }
}

/// The query for one concept: its literal words in every area of its scope,
/// or any of its expansions at their lower weights.
pub fn concept_query(fields: &Fields, c: &Concept) -> Option<Box<dyn Query>> {
    let mut alts: Vec<Box<dyn Query>> = Vec::new();
    alts.extend(areas_query(fields, c.scope, &c.text, 1.0));
    for e in &c.expansions {
        alts.extend(areas_query(fields, c.scope, e.text, e.weight));
    }
    match alts.len() {
        0 => None,
        1 => alts.pop(),
        _ => Some(Box::new(DisjunctionMaxQuery::with_tie_breaker(alts, 0.1))),
    }
}

/// Whether a concept matches in its own wordings: the words typed or an
/// equivalent, not only through a broader term ("bone marrow MSC" found only
/// as "MSC" matches, but not strongly). Matching only, never scored.
fn strong_query(fields: &Fields, c: &Concept) -> Option<Box<dyn Query>> {
    let wordings = std::iter::once(c.text.as_str()).chain(
        c.expansions
            .iter()
            .filter(|e| e.weight >= super::synonyms::EQUIVALENT_WEIGHT)
            .map(|e| e.text),
    );
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let areas = areas(fields, c.scope);
    for text in wordings {
        for a in &areas {
            if id_like(fields, a, text) {
                parts.extend(text_query(fields, a, text, 0).map(|q| (Occur::Should, q)));
            }
        }
    }
    (!parts.is_empty()).then(|| Box::new(BooleanQuery::new(parts)) as Box<dyn Query>)
}

/// Every required clause matched strongly (see [`strong_query`]).
fn all_strong(fields: &Fields, q: &ParsedQuery) -> Option<Box<dyn Query>> {
    let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for c in &q.clauses {
        match c {
            Clause::Must(c) => all.push((Occur::Must, strong_query(fields, c)?)),
            Clause::Any(cs) => {
                let parts: Vec<(Occur, Box<dyn Query>)> = cs
                    .iter()
                    .filter_map(|c| strong_query(fields, c).map(|q| (Occur::Should, q)))
                    .collect();
                if parts.is_empty() {
                    return None;
                }
                all.push((Occur::Must, Box::new(BooleanQuery::new(parts))));
            }
            _ => {}
        }
    }
    (!all.is_empty()).then(|| Box::new(BooleanQuery::new(all)) as Box<dyn Query>)
}

/// One labelled part of a query, scored alone to explain a hit.
pub struct Probe {
    /// The field searched (or "phase", "status").
    pub field: String,
    /// The words searched.
    pub text: String,
    /// "literal", "synonym", "phrase", "phase", "status" or "every
    /// concept" (the first-tier bonus of a relaxed query).
    pub kind: &'static str,
    /// The part, weighted as in the full query.
    pub query: Box<dyn Query>,
}

/// The parts of a query that can contribute to a hit's score, labelled, for
/// `--explain`: every area × wording of every positive concept, the phrase
/// bonus and the phase/status boosts. `name` gives a field's schema name.
pub fn probes(fields: &Fields, q: &ParsedQuery, name: &dyn Fn(Field) -> String) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut concepts: Vec<&Concept> = Vec::new();
    for c in &q.clauses {
        match c {
            Clause::Must(c) => concepts.push(c),
            Clause::Any(cs) => concepts.extend(cs.iter()),
            _ => {}
        }
    }
    for c in concepts {
        let wordings = std::iter::once((c.text.as_str(), 1.0, "literal"))
            .chain(c.expansions.iter().map(|e| (e.text, e.weight, "synonym")));
        for (text, weight, kind) in wordings {
            let n = analyze_positions(text, false).len().max(1) as f32;
            for a in areas(fields, c.scope) {
                if !id_like(fields, &a, text) {
                    continue;
                }
                if let Some(tq) = text_query(fields, &a, text, 0) {
                    out.push(Probe {
                        field: name(a.field),
                        text: text.to_string(),
                        kind,
                        query: Box::new(BoostQuery::new(tq, a.weight * weight / n.sqrt())),
                    });
                }
            }
        }
    }
    if let Some(bonus) = q.coord_score.filter(|b| *b > 0.0) {
        // The tier bonuses of relaxed matching (see `build_tiered`).
        let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        for c in &q.clauses {
            match c {
                Clause::Must(c) => {
                    all.extend(concept_query(fields, c).map(|cq| (Occur::Must, cq)));
                    texts.push(&c.text);
                }
                Clause::Any(cs) => {
                    let parts: Vec<(Occur, Box<dyn Query>)> = cs
                        .iter()
                        .filter_map(|c| concept_query(fields, c).map(|q| (Occur::Should, q)))
                        .collect();
                    all.push((Occur::Must, Box::new(BooleanQuery::new(parts))));
                    texts.extend(cs.iter().map(|c| c.text.as_str()));
                }
                _ => {}
            }
        }
        out.push(Probe {
            field: "all".to_string(),
            text: texts.join(" + "),
            kind: "every concept",
            query: Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(all)),
                bonus,
            )),
        });
        if let Some(strong) = all_strong(fields, q) {
            out.push(Probe {
                field: "all".to_string(),
                text: format!("{} (as typed or equivalent)", texts.join(" + ")),
                kind: "every concept",
                query: Box::new(ConstScoreQuery::new(strong, bonus)),
            });
        }
    }
    for (field, phrase, pq, _) in phrase_parts(fields, q) {
        out.push(Probe {
            field: name(field),
            text: phrase,
            kind: "phrase",
            query: pq,
        });
    }
    for (kind, text, bq) in constraint_parts(fields, q) {
        out.push(Probe {
            field: kind.to_string(),
            text,
            kind,
            query: bq,
        });
    }
    out
}

/// The phrase bonus: the free words, in order (a little slop), in the
/// title, conditions or summary.
fn phrase_parts(fields: &Fields, q: &ParsedQuery) -> Vec<(Field, String, Box<dyn Query>, f32)> {
    let content_words: Vec<&str> = q
        .required()
        .filter(|c| c.scope == Scope::All && !c.exact)
        .map(|c| c.text.as_str())
        .collect();
    let mut out = Vec::new();
    if content_words.len() < 2 {
        return out;
    }
    let phrase = content_words.join(" ");
    for (field, boost) in [
        (fields.title, 2.0),
        (fields.conditions, 1.5),
        (fields.summary, 1.0),
    ] {
        let area = Area {
            field,
            weight: boost,
            stemmed: true,
        };
        if let Some(pq) = text_query(fields, &area, &phrase, 2) {
            out.push((
                field,
                phrase.clone(),
                Box::new(BoostQuery::new(pq, boost)) as Box<dyn Query>,
                boost,
            ));
        }
    }
    out
}

/// The phase and status boosts: a constant for each one named and met.
fn constraint_parts(
    fields: &Fields,
    q: &ParsedQuery,
) -> Vec<(&'static str, String, Box<dyn Query>)> {
    let mut out: Vec<(&'static str, String, Box<dyn Query>)> = Vec::new();
    for p in &q.phase_boosts {
        let t = Term::from_field_u64(fields.phase, phase_code(*p));
        out.push((
            "phase",
            p.as_str().to_string(),
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                q.constraint_score.unwrap_or(CONSTRAINT_BOOST),
            )),
        ));
    }
    for s in &q.status_boosts {
        let t = Term::from_field_u64(fields.status, status_code(*s));
        out.push((
            "status",
            s.as_str().to_string(),
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                q.constraint_score.unwrap_or(CONSTRAINT_BOOST),
            )),
        ));
    }
    out
}

/// Score added for a phase or status named in the text when nothing else
/// sets it.
pub const CONSTRAINT_BOOST: f32 = 2.5;

/// Build the tantivy query, every required clause required: for queries
/// with nothing required, and to list the terms to highlight. Searches with
/// required concepts run [`build_tiered`].
pub fn build(fields: &Fields, q: &ParsedQuery) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for c in &q.clauses {
        match c {
            Clause::Must(c) => {
                if let Some(qq) = concept_query(fields, c) {
                    clauses.push((Occur::Must, qq));
                }
            }
            Clause::Not(c) => {
                if let Some(qq) = concept_query(fields, c) {
                    clauses.push((Occur::MustNot, qq));
                }
            }
            Clause::Any(cs) => {
                let parts: Vec<(Occur, Box<dyn Query>)> = cs
                    .iter()
                    .filter_map(|c| concept_query(fields, c).map(|q| (Occur::Should, q)))
                    .collect();
                if !parts.is_empty() {
                    clauses.push((Occur::Must, Box::new(BooleanQuery::new(parts))));
                }
            }
            Clause::AgeRange(lo, hi) => {
                clauses.push((Occur::Must, age_overlap(fields, *lo, *hi)));
            }
        }
    }
    // A phrase match of the free words outranks the same words scattered.
    for (_, _, pq, _) in phrase_parts(fields, q) {
        clauses.push((Occur::Should, pq));
    }
    for (_, _, bq) in constraint_parts(fields, q) {
        clauses.push((Occur::Should, bq));
    }
    let has_positive = clauses
        .iter()
        .any(|(o, _)| matches!(o, Occur::Must | Occur::Should));
    if !has_positive || (q.is_match_all() && clauses.iter().all(|(o, _)| *o != Occur::Must)) {
        // Only boosts or exclusions: every trial is a candidate.
        clauses.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Build the one-pass tiered query of a query with required concepts (see
/// [`super::tiered`]); `None` when nothing is required. With `relaxed`, a
/// trial may miss one required clause (of two, either), and trials matching
/// all form the upper tiers. Phrases of the free words add their score;
/// phase and status boosts are counted, not scored.
pub fn build_tiered(fields: &Fields, q: &ParsedQuery, relaxed: bool) -> Option<Tiered> {
    let n_required = q.n_required();
    if n_required == 0 {
        return None;
    }
    let mut t = Tiered {
        units: Vec::new(),
        min: 0,
        tiers: relaxed,
        extras: Vec::new(),
        constraints: Vec::new(),
        required: Vec::new(),
        excluded: Vec::new(),
        prune: false,
    };
    let mut n_concepts = 0;
    // Over the whole query: wordings made so far, and each concept's
    // wording of its own words (for the extras' needs, below).
    let mut n_wordings = 0;
    let mut literal: Vec<Option<(usize, Vec<Field>)>> = Vec::new();
    let mut wordings_of = |c: &Concept, out: &mut Vec<Wording>| {
        let concept = n_concepts;
        n_concepts += 1;
        literal.push(None);
        let texts = std::iter::once((c.text.as_str(), 1.0))
            .chain(c.expansions.iter().map(|e| (e.text, e.weight)));
        for (i, (text, weight)) in texts.enumerate() {
            let parts = area_parts(fields, c.scope, text, weight, true);
            if !parts.is_empty() {
                if i == 0 {
                    literal[concept] = Some((n_wordings, parts.iter().map(|p| p.field).collect()));
                }
                n_wordings += 1;
                out.push(Wording {
                    parts,
                    concept,
                    strong: weight >= super::synonyms::EQUIVALENT_WEIGHT,
                });
            }
        }
    };
    for c in &q.clauses {
        match c {
            Clause::Must(c) => {
                let mut unit = Unit::default();
                wordings_of(c, &mut unit.wordings);
                if !unit.wordings.is_empty() {
                    t.units.push(unit);
                }
            }
            Clause::Any(cs) => {
                let mut unit = Unit::default();
                for c in cs {
                    wordings_of(c, &mut unit.wordings);
                }
                if !unit.wordings.is_empty() {
                    t.units.push(unit);
                }
            }
            Clause::Not(c) => t.excluded.extend(concept_query(fields, c)),
            Clause::AgeRange(lo, hi) => t.required.push(age_overlap(fields, *lo, *hi)),
        }
    }
    t.min = if relaxed {
        n_required.saturating_sub(1).max(1)
    } else {
        t.units.len()
    };
    // The concepts of the phrase bonus (see `phrase_parts`), by index.
    let mut content = Vec::new();
    let mut k = 0;
    for c in &q.clauses {
        match c {
            Clause::Must(c) => {
                if c.scope == Scope::All && !c.exact {
                    content.push((k, c));
                }
                k += 1;
            }
            Clause::Any(cs) => k += cs.len(),
            _ => {}
        }
    }
    t.extras = phrase_parts(fields, q)
        .into_iter()
        .map(|(field, _, query, boost)| {
            let mut e = Extra::bounded(query, boost);
            // The phrase matches a field only where each of its words
            // does: where each one-word concept's own wording matches that
            // field. (A concept of several words may match the phrase with
            // its words apart, which its own wording would not match.)
            e.needs = content
                .iter()
                .filter(|(_, c)| analyze_positions(&c.text, true).len() == 1)
                .filter_map(|(k, _)| {
                    let (w, fs) = literal.get(*k)?.as_ref()?;
                    Some((*w, fs.iter().position(|f| *f == field)?))
                })
                .collect();
            e
        })
        .collect();
    t.constraints = constraint_parts(fields, q)
        .into_iter()
        .map(|(_, _, bq)| bq)
        .collect();
    Some(t)
}

/// Trials whose age range [min_age, max_age] overlaps [lo, hi].
pub fn age_overlap(fields: &Fields, lo: Option<f64>, hi: Option<f64>) -> Box<dyn Query> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(hi) = hi {
        parts.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_f64(fields.min_age, hi)),
            )),
        ));
    }
    if let Some(lo) = lo {
        parts.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(fields.max_age, lo)),
                Bound::Unbounded,
            )),
        ));
    }
    if parts.is_empty() {
        return Box::new(tantivy::query::AllQuery);
    }
    Box::new(ConstScoreQuery::new(
        Box::new(BooleanQuery::new(parts)),
        0.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParsedQuery {
        parse(s, Synonyms::builtin()).unwrap()
    }

    #[test]
    fn phase_and_status_words_become_boosts() {
        let q = p("MSC sepsis phase 3");
        assert_eq!(q.phase_boosts, vec![Phase::Phase3]);
        let req: Vec<_> = q.required().map(|c| c.text.as_str()).collect();
        assert_eq!(req, vec!["MSC", "sepsis"]);
        let q = p("recruiting UC-MSC ARDS phase I/II");
        assert_eq!(q.status_boosts, vec![Status::Recruiting]);
        assert_eq!(q.phase_boosts, vec![Phase::Phase1, Phase::Phase2]);
        let q = p("not yet recruiting knee");
        assert_eq!(q.status_boosts, vec![Status::NotYetRecruiting]);
    }

    #[test]
    fn vocabulary_spans_group_words() {
        let q = p("mesenchymal stem cells knee osteoarthritis");
        let req: Vec<_> = q.required().map(|c| c.text.as_str()).collect();
        assert_eq!(req, vec!["mesenchymal stem cells", "knee osteoarthritis"]);
        assert!(q.required().all(|c| !c.expansions.is_empty()));
    }

    #[test]
    fn operators_and_fields() {
        let q = p("\"cord blood\" -leukemia sepsis OR ARDS title:MSC age:[18 TO 65]");
        // Range clauses come first; the rest keep their order.
        assert!(
            matches!(&q.clauses[0], Clause::AgeRange(Some(a), Some(b)) if *a == 18.0 && *b == 65.0)
        );
        assert!(matches!(&q.clauses[1], Clause::Must(c) if c.exact && c.text == "cord blood"));
        assert!(matches!(&q.clauses[2], Clause::Not(c) if c.text == "leukemia"));
        assert!(matches!(&q.clauses[3], Clause::Any(cs) if cs.len() == 2));
        assert!(matches!(&q.clauses[4], Clause::Must(c) if c.scope == Scope::Title));
    }

    #[test]
    fn malformed_queries_are_errors_not_panics() {
        assert!(parse("\"unclosed", Synonyms::builtin()).is_err());
        assert!(parse("age:[18 TO", Synonyms::builtin()).is_err());
        assert!(parse("age:[x TO 3]", Synonyms::builtin()).is_err());
        for s in [
            "",
            "-",
            "OR",
            "AND OR NOT",
            "(((",
            "))",
            "::",
            "title:",
            "🧬🧬",
            "مرحبا",
            "' OR 1=1; --",
            "$(rm -rf /)",
        ] {
            let _ = parse(s, Synonyms::builtin());
        }
        let long = "stem ".repeat(5000);
        let q = p(&long);
        assert!(q.clauses.len() <= MAX_CONCEPTS);
    }
}
