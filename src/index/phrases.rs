//! Stage 4 helper: phrase tokens. Every multi-word wording of the
//! vocabulary ("type 2 diabetes", "hematopoietic stem cell
//! transplantation") is indexed in the stemmed fields as one more token,
//! its analyzed words joined by spaces, at the position of its first word,
//! once per occurrence. A query for the wording then reads that token's
//! short postings list ([`crate::search::phrase_token`]) instead of
//! intersecting its words' long ones and comparing their positions
//! document by document: on the 500,000-study L, "type 2 diabetes" spent
//! about half its time matching positions, and takes 20 ms instead of 61
//! with the tokens (BENCHMARKS.md). This is the idea
//! behind Elasticsearch's `index_phrases`, for a known list of phrases
//! rather than every word pair.
//!
//! The occurrences are those a slop-0 phrase query of the same words finds
//! (word *k* at the first word's position + *k*, any alternative at a
//! position counting), so the token's frequency in a document is the
//! phrase's. Tokens never contain spaces, so a phrase token cannot be
//! mistaken for a word. The set an index was built with is recorded in its
//! summary (`trialsearch.json`); a query uses a phrase token only for a
//! wording in that set, and otherwise a phrase query, so a vocabulary
//! edited since the build stays correct, only slower.

use super::analysis::token_slot;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;
use tantivy::tokenizer::Token;

/// A set of phrases, each a key: analyzed words joined by single spaces.
#[derive(Default)]
pub struct PhraseSet {
    /// Each phrase's words after the first, and its key.
    phrases: Vec<(Vec<Box<str>>, Box<str>)>,
    /// Indexes into `phrases` by first word.
    by_first: FxHashMap<Box<str>, Vec<usize>>,
    /// Keys, sorted and distinct.
    keys: Vec<Box<str>>,
}

impl std::fmt::Debug for PhraseSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhraseSet({} phrases)", self.keys.len())
    }
}

impl PhraseSet {
    /// The set of `keys` of two words or more (others are ignored).
    pub fn new<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> PhraseSet {
        let mut keys: Vec<Box<str>> = keys
            .into_iter()
            .filter(|k| is_phrase_key(k.as_ref()))
            .map(|k| k.as_ref().into())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut set = PhraseSet::default();
        for key in &keys {
            let mut words = key.split(' ');
            let first = words.next().unwrap_or_default();
            let rest = words.map(Box::from).collect();
            set.by_first
                .entry(first.into())
                .or_default()
                .push(set.phrases.len());
            set.phrases.push((rest, key.clone()));
        }
        set.keys = keys;
        set
    }

    /// The set of `keys` to look up (as [`PhraseSet::new`]) but not to mark:
    /// [`PhraseSet::mark`] finds nothing. A query only looks phrases up,
    /// and its process is too short for a matcher it never uses.
    pub fn for_lookup(keys: &[String]) -> PhraseSet {
        let mut keys: Vec<Box<str>> = keys
            .iter()
            .filter(|k| is_phrase_key(k))
            .map(|k| k.as_str().into())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        PhraseSet {
            keys,
            ..Default::default()
        }
    }

    /// The multi-word wordings of the built-in vocabulary: what a build
    /// indexes.
    pub fn builtin() -> &'static PhraseSet {
        static SET: OnceLock<PhraseSet> = OnceLock::new();
        SET.get_or_init(|| PhraseSet::new(crate::search::synonyms::Synonyms::builtin().wordings()))
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &str) -> bool {
        self.keys.binary_search_by(|k| (**k).cmp(key)).is_ok()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| &**k)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Append a phrase token to `tokens` after its first `len` (one text's
    /// tokens, in position order) for each occurrence of a phrase among
    /// them; returns the new count. Tokens past `len` are spare buffers,
    /// reused. Phrase tokens follow all word tokens, in position order, so
    /// each token's positions still ascend, as tantivy requires.
    pub fn mark(&self, tokens: &mut Vec<Token>, len: usize) -> usize {
        let mut n = len;
        for i in 0..len {
            let Some(candidates) = self.by_first.get(tokens[i].text.as_str()) else {
                continue;
            };
            let start = tokens[i].position;
            for &c in candidates {
                let (rest, key) = &self.phrases[c];
                let Some(end) = follows(&tokens[..len], i, start, rest) else {
                    continue;
                };
                // An alternative at `start` with the same text (rare) must
                // not count the occurrence twice.
                if tokens[len..n]
                    .iter()
                    .any(|t| t.position == start && t.text == **key)
                {
                    continue;
                }
                let from = tokens[i].offset_from;
                let t = token_slot(tokens, n);
                t.text.clear();
                t.text.push_str(key);
                t.position = start;
                t.offset_from = from;
                t.offset_to = end;
                t.position_length = 1;
                n += 1;
            }
        }
        n
    }
}

/// Whether `key` names a phrase: two words or more, single spaces.
fn is_phrase_key(key: &str) -> bool {
    key.contains(' ') && key.split(' ').all(|w| !w.is_empty())
}

/// Whether `rest[k]` is a token at position `start + 1 + k` for every `k`,
/// looking from token `i` on; the end offset of the last one if so.
fn follows(tokens: &[Token], i: usize, start: usize, rest: &[Box<str>]) -> Option<usize> {
    let mut j = i + 1;
    let mut end = 0;
    for (k, word) in rest.iter().enumerate() {
        let want = start + 1 + k;
        while j < tokens.len() && tokens[j].position < want {
            j += 1;
        }
        let mut found = false;
        let mut m = j;
        while m < tokens.len() && tokens[m].position == want {
            if tokens[m].text == **word {
                found = true;
                end = tokens[m].offset_to;
                break;
            }
            m += 1;
        }
        if !found {
            return None;
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::analysis::{analyze_into, vocab_key};

    fn marked(set: &PhraseSet, text: &str) -> Vec<(String, usize)> {
        let mut tokens = Vec::new();
        analyze_into(text, true, &mut tokens);
        let len = tokens.len();
        let n = set.mark(&mut tokens, len);
        tokens[len..n]
            .iter()
            .map(|t| (t.text.clone(), t.position))
            .collect()
    }

    #[test]
    fn occurrences_are_those_of_the_words_in_a_row() {
        let set = PhraseSet::new([
            vocab_key("type 2 diabetes"),
            vocab_key("type 2 diabetes mellitus"),
            vocab_key("stem cell"),
        ]);
        assert_eq!(set.keys().count(), 3);
        let got = marked(
            &set,
            "Type 2 Diabetes Mellitus; type 2 or type 1 diabetes; stem cells, STEM-CELL",
        );
        let key = |s: &str| vocab_key(s);
        assert!(got.contains(&(key("type 2 diabetes"), 0)));
        assert!(got.contains(&(key("type 2 diabetes mellitus"), 0)));
        assert_eq!(
            got.iter()
                .filter(|(k, _)| *k == key("type 2 diabetes"))
                .count(),
            1,
            "{got:?}"
        );
        assert_eq!(
            got.iter().filter(|(k, _)| *k == key("stem cell")).count(),
            2,
            "{got:?}"
        );
        // Phrase tokens are in position order.
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn a_lookup_set_looks_up_but_marks_nothing() {
        let keys = vec![vocab_key("stem cell"), "cell".to_string(), " a".to_string()];
        let set = PhraseSet::for_lookup(&keys);
        assert_eq!(set.keys().collect::<Vec<_>>(), vec![vocab_key("stem cell")]);
        assert!(set.contains(&vocab_key("stem cell")));
        assert!(marked(&set, "stem cell").is_empty());
    }

    #[test]
    fn the_builtin_set_holds_multi_word_wordings_only() {
        let set = PhraseSet::builtin();
        assert!(set.contains(&vocab_key("type 2 diabetes")));
        assert!(set.contains(&vocab_key("hematopoietic stem cell transplantation")));
        assert!(!set.contains(&vocab_key("T2DM")));
        assert!(set.keys().all(|k| k.contains(' ')));
    }

    #[test]
    fn reused_buffers_carry_no_stale_text() {
        let set = PhraseSet::new([vocab_key("knee osteoarthritis")]);
        let mut tokens = Vec::new();
        analyze_into(
            "knee osteoarthritis and knee osteoarthritis",
            true,
            &mut tokens,
        );
        let len = tokens.len();
        let n = set.mark(&mut tokens, len);
        assert_eq!(n - len, 2);
        analyze_into("knee osteoarthritis", true, &mut tokens);
        let len = tokens.len();
        let n = set.mark(&mut tokens, len);
        assert_eq!(n, len + 1);
        assert_eq!(tokens[len].text, vocab_key("knee osteoarthritis"));
    }
}
