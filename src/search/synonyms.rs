//! Stage 5 helper: the field's vocabulary (`data/synonyms.txt`), compiled
//! into a lookup from analyzed term sequences to their expansions.
//!
//! Keys are made with the same stemming analyzer the prose fields use, so
//! "mesenchymal stem cell" and "Mesenchymal Stem Cells" are one key, and a
//! query is matched against it span by span, longest span first.

pub use super::vocab::{BROADER_WEIGHT, EQUIVALENT_WEIGHT};
pub use crate::index::analysis::vocab_key as key_of;

/// The vocabulary shipped with trialsearch.
pub const BUILTIN: &str = include_str!("../../data/synonyms.txt");

/// One alternative wording of a query span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expansion {
    /// The wording, as written in the vocabulary.
    pub text: &'static str,
    /// Its analyzed key.
    pub key: &'static str,
    /// Its weight (below 1.0).
    pub weight: f32,
}

/// A compiled vocabulary: static tables, looked up by binary search.
#[derive(Debug)]
pub struct Synonyms {
    /// Keys with their expansions, sorted by key.
    entries: &'static [(&'static str, &'static [Expansion])],
    /// Every multi-word key the vocabulary names, expansion targets included
    /// ("stem cell"), sorted: a query keeps such a span together as one
    /// concept, even when it has no expansions of its own.
    phrases: &'static [&'static str],
    max_span: usize,
}

// `BUILTIN_ENTRIES`, `BUILTIN_PHRASES`, `BUILTIN_MAX_SPAN`: the built-in
// vocabulary compiled by `build.rs` with `vocab::compile` and the same
// analysis code, so no process compiles it again.
include!(concat!(env!("OUT_DIR"), "/vocab.rs"));

static BUILTIN_SYNONYMS: Synonyms = Synonyms {
    entries: BUILTIN_ENTRIES,
    phrases: BUILTIN_PHRASES,
    max_span: BUILTIN_MAX_SPAN,
};

impl Synonyms {
    /// Compile a vocabulary in the `data/synonyms.txt` format at run time.
    /// Its tables live as long as the process (they are leaked), like the
    /// built-in one's: meant for a vocabulary loaded once.
    pub fn parse(src: &str) -> Synonyms {
        let c = super::vocab::compile(src, &key_of);
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let entries: Vec<(&'static str, &'static [Expansion])> = c
            .entries
            .into_iter()
            .map(|(k, exps)| {
                let exps: Vec<Expansion> = exps
                    .into_iter()
                    .map(|e| Expansion {
                        text: leak(e.text),
                        key: leak(e.key),
                        weight: e.weight,
                    })
                    .collect();
                (leak(k), &*Box::leak(exps.into_boxed_slice()))
            })
            .collect();
        let phrases: Vec<&'static str> = c.phrases.into_iter().map(leak).collect();
        Synonyms {
            entries: Box::leak(entries.into_boxed_slice()),
            phrases: Box::leak(phrases.into_boxed_slice()),
            max_span: c.max_span,
        }
    }

    /// The built-in vocabulary.
    pub fn builtin() -> &'static Synonyms {
        &BUILTIN_SYNONYMS
    }

    /// Expansions of an analyzed key.
    pub fn get(&self, key: &str) -> Option<&'static [Expansion]> {
        self.entries
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .ok()
            .map(|i| self.entries[i].1)
    }

    /// Whether an analyzed key is a wording the vocabulary names (a key or
    /// an expansion target).
    pub fn is_phrase(&self, key: &str) -> bool {
        self.get(key).is_some() || self.phrases.binary_search(&key).is_ok()
    }

    /// Every analyzed wording the vocabulary names: keys, expansion
    /// targets and phrases (with repeats).
    pub fn wordings(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries
            .iter()
            .flat_map(|(k, exps)| std::iter::once(*k).chain(exps.iter().map(|e| e.key)))
            .chain(self.phrases.iter().copied())
    }

    /// Longest key length in tokens.
    pub fn max_span(&self) -> usize {
        self.max_span
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_vocabulary_links_msc_family() {
        let s = Synonyms::builtin();
        assert!(s.len() > 200);
        let msc = s.get(&key_of("MSC")).unwrap();
        assert!(msc
            .iter()
            .any(|e| key_of(e.text) == key_of("mesenchymal stromal cells")));
        let back = s.get(&key_of("Mesenchymal Stem Cells")).unwrap();
        assert!(back.iter().any(|e| e.text == "MSC"));
        let uc = s.get(&key_of("UC-MSC")).unwrap();
        assert!(uc
            .iter()
            .any(|e| e.text == "MSC" && e.weight == BROADER_WEIGHT));
        assert!(uc.iter().any(|e| e.text.contains("umbilical cord")));
        // One-way: MSC does not expand to the narrower UC-MSC.
        assert!(!msc.iter().any(|e| e.text == "UC-MSC"));
        assert_eq!(key_of("uc msc"), key_of("UC-MSCs"));
    }

    #[test]
    fn build_time_tables_match_runtime_compile() {
        let b = Synonyms::builtin();
        let r = Synonyms::parse(BUILTIN);
        assert!(b.len() > 200, "{}", b.len());
        assert!(b.entries.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(b.phrases.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(b.entries, r.entries);
        assert_eq!(b.phrases, r.phrases);
        assert_eq!(b.max_span, r.max_span);
        for (_, exps) in b.entries {
            for e in *exps {
                assert_eq!(key_of(e.text), e.key, "{}", e.text);
            }
        }
    }

    #[test]
    fn one_way_rule_covers_equivalents() {
        let s = Synonyms::parse("a b | alpha beta\na b => gamma");
        assert!(s
            .get(&key_of("alpha beta"))
            .unwrap()
            .iter()
            .any(|e| e.text == "gamma"));
        assert!(s.get(&key_of("gamma")).is_none());
    }
}
