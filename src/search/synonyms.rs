//! Stage 5 helper: the field's vocabulary (`data/synonyms.txt`), compiled
//! into a lookup from analyzed term sequences to their expansions.
//!
//! Keys are made with the same stemming analyzer the prose fields use, so
//! "mesenchymal stem cell" and "Mesenchymal Stem Cells" are one key, and a
//! query is matched against it span by span, longest span first.

use crate::index::analyzer::analyze_positions;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The vocabulary shipped with trialsearch.
pub const BUILTIN: &str = include_str!("../../data/synonyms.txt");

/// Weight of an equivalent term relative to the literal words (1.0).
pub const EQUIVALENT_WEIGHT: f32 = 0.6;
/// Weight of a broader term reached by a one-way rule.
pub const BROADER_WEIGHT: f32 = 0.35;

/// One alternative wording of a query span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// The wording, as written in the vocabulary.
    pub text: String,
    /// Its weight (below 1.0).
    pub weight: f32,
}

/// The compiled vocabulary.
#[derive(Debug, Default)]
pub struct Synonyms {
    map: HashMap<String, Vec<Expansion>>,
    /// Every multi-word wording the vocabulary names, expansion targets
    /// included ("stem cells"): a query keeps such a span together as one
    /// concept, even when it has no expansions of its own.
    phrases: std::collections::HashSet<String>,
    max_span: usize,
}

/// The analyzed key of a term: its tokens (the last alternative at each
/// position, i.e. the parts of compounds), stemmed, joined by spaces.
pub fn key_of(text: &str) -> String {
    analyze_positions(text, true)
        .into_iter()
        .filter_map(|alts| alts.last().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Synonyms {
    /// Compile a vocabulary in the `data/synonyms.txt` format.
    pub fn parse(src: &str) -> Synonyms {
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut one_way: Vec<(String, Vec<String>)> = Vec::new();
        for line in src.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let split = |s: &str| -> Vec<String> {
                s.split('|')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            if let Some((from, to)) = line.split_once("=>") {
                one_way.push((from.trim().to_string(), split(to)));
            } else {
                groups.push(split(line));
            }
        }
        // Every wording is analyzed once: the vocabulary is compiled at the
        // first query of each process, so this is on the one-shot path.
        let mut keys = KeyCache::default();
        let mut syn = Synonyms::default();
        let mut group_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (gi, g) in groups.iter().enumerate() {
            for t in g {
                group_of.entry(keys.get(t)).or_default().push(gi);
            }
        }
        for g in &groups {
            for t in g {
                let k = keys.get(t);
                let exps = syn.map.entry(k.clone()).or_default();
                for other in g {
                    if keys.get(other) != k {
                        push_unique(exps, other, EQUIVALENT_WEIGHT, &mut keys);
                    }
                }
            }
        }
        for g in &groups {
            syn.phrases.extend(g.iter().map(|t| keys.get(t)));
        }
        for (from, targets) in &one_way {
            syn.phrases.insert(keys.get(from));
            syn.phrases.extend(targets.iter().map(|t| keys.get(t)));
        }
        syn.phrases.retain(|k| k.contains(' '));
        for (from, targets) in one_way {
            let k = keys.get(&from);
            // The rule applies to every wording equivalent to `from`.
            let mut sources: Vec<String> = vec![k.clone()];
            for gi in group_of.get(&k).into_iter().flatten() {
                sources.extend(groups[*gi].iter().map(|t| keys.get(t)));
            }
            for src in sources {
                let exps = syn.map.entry(src).or_default();
                for t in &targets {
                    push_unique(exps, t, BROADER_WEIGHT, &mut keys);
                }
            }
        }
        syn.map.retain(|k, v| !k.is_empty() && !v.is_empty());
        syn.max_span = syn
            .map
            .keys()
            .chain(&syn.phrases)
            .map(|k| k.split(' ').count())
            .max()
            .unwrap_or(1);
        syn
    }

    /// The built-in vocabulary.
    pub fn builtin() -> &'static Synonyms {
        static S: LazyLock<Synonyms> = LazyLock::new(|| Synonyms::parse(BUILTIN));
        &S
    }

    /// Expansions of an analyzed key.
    pub fn get(&self, key: &str) -> Option<&[Expansion]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// Whether an analyzed key is a wording the vocabulary names (a key or
    /// an expansion target).
    pub fn is_phrase(&self, key: &str) -> bool {
        self.map.contains_key(key) || self.phrases.contains(key)
    }

    /// Longest key length in tokens.
    pub fn max_span(&self) -> usize {
        self.max_span
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Memoized [`key_of`]: the same wording recurs in many groups and rules.
#[derive(Default)]
struct KeyCache(HashMap<String, String>);

impl KeyCache {
    fn get(&mut self, text: &str) -> String {
        if let Some(k) = self.0.get(text) {
            return k.clone();
        }
        let k = key_of(text);
        self.0.insert(text.to_string(), k.clone());
        k
    }
}

fn push_unique(v: &mut Vec<Expansion>, text: &str, weight: f32, keys: &mut KeyCache) {
    let k = keys.get(text);
    // Every wording already in `v` went through `keys.get`: peek at its key
    // without cloning it (this loop was quadratic in clones, and the table is
    // compiled on every one-shot query).
    if let Some(e) = v
        .iter_mut()
        .find(|e| keys.0.get(&e.text).is_some_and(|ek| *ek == k))
    {
        e.weight = e.weight.max(weight);
    } else {
        v.push(Expansion {
            text: text.to_string(),
            weight,
        });
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
            .any(|e| key_of(&e.text) == key_of("mesenchymal stromal cells")));
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
