//! Stage 5 helper: a cheap test of whether a text *could* contain any of a
//! snippet generator's terms, run before the text is analyzed.
//!
//! Why: building a snippet analyzes the field's text (word segmentation,
//! folding, stemming: thousands of instructions a word), and for a one-shot
//! query that was a fifth of all the work, mostly spent on fields that held
//! no query word at all. This test scans the folded text once, without
//! segmenting or stemming.
//!
//! It must never say "no" for a text the analyzer would match (a missed
//! snippet), while a "yes" that turns out wrong only costs the analysis it
//! would have cost anyway. What makes it sound:
//! - the analyzer folds text character by character ([`fold`]), so a token
//!   made from a stretch of text occurs in the folded text;
//! - an ASCII token is a whole word segment (or a whole part of a compound),
//!   and UAX #29 never breaks between two ASCII letters or digits, so it is
//!   bounded by non-alphanumerics on both sides;
//! - a stemmed token (pure ASCII letters) begins a run of letters, and a
//!   Snowball English stem differs from its word in at most its last two
//!   letters (so it was for all 34,371 distinct words of the real
//!   ClinicalTrials.gov downloads; the test below checks every token of 400
//!   real records), so the word starts with the stem less its last two.

use crate::index::analyzer::fold;

/// What to look for in a folded text.
#[derive(Debug, Clone, Default)]
pub struct Needles {
    /// ASCII tokens that must occur whole (bounded by non-alphanumerics).
    whole: Vec<String>,
    /// Prefixes one run of letters must start with (stemmed words).
    prefixes: Vec<String>,
    /// Other tokens (non-ASCII: CJK bigrams, Greek), as substrings.
    anywhere: Vec<String>,
}

/// Letters of a stem that may differ from the word it came from.
const STEM_SLACK: usize = 2;

impl Needles {
    /// Needles for the analyzed terms of one field.
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Needles {
        let mut n = Needles::default();
        for t in terms {
            if t.is_empty() {
                continue;
            }
            if t.bytes().all(|b| b.is_ascii_lowercase()) {
                // May be a stem: only its head is certain.
                let keep = t.len().saturating_sub(STEM_SLACK).max(1);
                n.prefixes.push(t[..keep].to_string());
            } else if t.is_ascii() {
                n.whole.push(t.to_string());
            } else {
                n.anywhere.push(t.to_string());
            }
        }
        n
    }

    /// The heads a word must start with to stem to one of the terms: the
    /// words a snippet's analyzer needs to stem (see
    /// `index::analysis::Stemming::Only`).
    pub fn stem_heads(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether `text` may contain one of the terms (false: it cannot).
    pub fn may_match(&self, text: &str) -> bool {
        let owned;
        let folded: &str = if text.is_ascii() {
            owned = text.to_ascii_lowercase();
            &owned
        } else {
            let mut f = String::with_capacity(text.len());
            fold(text, &mut f);
            owned = f;
            &owned
        };
        if self.anywhere.iter().any(|t| folded.contains(t.as_str())) {
            return true;
        }
        let bytes = folded.as_bytes();
        let alnum = |i: usize| bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric());
        for t in &self.whole {
            for (i, _) in folded.match_indices(t.as_str()) {
                if (i == 0 || !alnum(i - 1)) && !alnum(i + t.len()) {
                    return true;
                }
            }
        }
        if self.prefixes.is_empty() {
            return false;
        }
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_lowercase() && (i == 0 || !bytes[i - 1].is_ascii_lowercase()) {
                let run = &folded[i..];
                if self.prefixes.iter().any(|p| run.starts_with(p.as_str())) {
                    return true;
                }
            }
            i += 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::analyzer::analyze_positions;

    /// The first 400 lines of a real ClinicalTrials.gov export (titles and
    /// summaries) in tests/data.
    fn real_texts() -> Vec<String> {
        let csv = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/msc-classic-export-1445.csv"
        ))
        .expect("test data");
        csv.lines().take(400).map(str::to_string).collect()
    }

    /// A snippet's analyzer stems only the words starting with the terms'
    /// heads ([`Needles::stem_heads`]): over real texts, against query terms
    /// taken from other real texts, its tokens match exactly the terms the
    /// fully stemmed tokens match, at the same offsets and positions.
    #[test]
    fn stemming_only_the_heads_matches_what_full_stemming_matches() {
        use crate::index::analyzer::{analyze_into, analyze_stemming, Stemming};
        let texts = real_texts();
        let (mut matched, mut unstemmed) = (0, 0);
        for (k, text) in texts.iter().enumerate() {
            // A query's worth of terms: the stemmed words of another text.
            let mut terms = Vec::new();
            analyze_into(&texts[(k * 7 + 3) % texts.len()], true, &mut terms);
            let terms: Vec<String> = terms.into_iter().map(|t| t.text).take(12).collect();
            let needles = Needles::new(terms.iter().map(String::as_str));
            let mut full = Vec::new();
            analyze_into(text, true, &mut full);
            let mut only = Vec::new();
            let n = analyze_stemming(
                text,
                Stemming::Only(needles.stem_heads()),
                &mut only,
                &mut String::new(),
            );
            only.truncate(n);
            assert_eq!(full.len(), only.len(), "{text:?}");
            for (a, b) in full.iter().zip(&only) {
                assert_eq!(
                    (a.offset_from, a.offset_to, a.position),
                    (b.offset_from, b.offset_to, b.position)
                );
                let hit = terms.contains(&a.text);
                assert_eq!(hit, terms.contains(&b.text), "{a:?} {b:?} {terms:?}");
                if hit {
                    assert_eq!(a.text, b.text);
                    matched += 1;
                }
                unstemmed += usize::from(a.text != b.text);
            }
        }
        // The test means something: terms were found, and many words were
        // left unstemmed.
        assert!(matched > 1_000, "{matched}");
        assert!(unstemmed > 10_000, "{unstemmed}");
    }

    /// Every token the analyzer makes of a text passes the test for that
    /// text, over the real summaries and titles in tests/data.
    #[test]
    fn never_rejects_a_text_holding_a_term() {
        let texts = real_texts();
        let mut checked = 0;
        for text in &texts {
            for stem in [false, true] {
                for alts in analyze_positions(text, stem) {
                    for t in alts {
                        assert!(
                            Needles::new([t.as_str()]).may_match(text),
                            "{t:?} in {text:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        for (t, text) in [
            ("間充", "MSC間充質"),
            ("sjogren", "Sjögren's syndrome"),
            ("wharton", "Wharton’s jelly"),
            ("covid-19", "COVID-19"),
            ("19", "COVID-19"),
            ("cd34+", "CD34+ cells"),
            ("die", "dying"),
            ("therapi", "therapy"),
            ("possibl", "possibility"),
        ] {
            assert!(Needles::new([t]).may_match(text), "{t} in {text}");
        }
    }

    #[test]
    fn rejects_texts_without_the_words() {
        let n = Needles::new(["diabet", "2"]);
        assert!(n.may_match("Type 2 Diabetes"));
        assert!(!n.may_match("Knee osteoarthritis in 12 adults, 32 mg"));
        assert!(!Needles::new(["covid-19"]).may_match("covid-190 or xcovid-19"));
        assert!(!Needles::new(["cell"]).may_match("the excellent results"));
        assert!(!Needles::default().may_match("anything"));
    }
}
