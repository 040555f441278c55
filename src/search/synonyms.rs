//! Stage 5 helper: the field's vocabulary (`data/synonyms.txt`), compiled
//! into a lookup from analyzed term sequences to their expansions.
//!
//! Keys are made with the same stemming analyzer the prose fields use, so
//! "mesenchymal stem cell" and "Mesenchymal Stem Cells" are one key, and a
//! query is matched against it span by span, longest span first.

pub use crate::index::analysis::vocab_key as key_of;
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

// `BUILTIN_KEYS`: every wording of the built-in vocabulary with its key,
// sorted by wording, computed by `build.rs` with the same analysis code.
// Analyzing the ~360 wordings was a quarter of a one-shot query's
// instructions; a lookup here costs a binary search.
include!(concat!(env!("OUT_DIR"), "/vocab_keys.rs"));

impl Synonyms {
    /// Compile a vocabulary in the `data/synonyms.txt` format.
    pub fn parse<'a>(src: &'a str) -> Synonyms {
        // Every wording becomes a key id once; grouping and de-duplication
        // then compare integers. This runs at the first query of every
        // process, so it is on the one-shot path.
        let mut keys: Keys<'a> = Keys::default();
        let mut groups: Vec<Vec<(&'a str, u32)>> = Vec::new();
        let mut one_way: Vec<(u32, Vec<(&str, u32)>)> = Vec::new();
        for line in src.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut split = |s: &'a str| -> Vec<(&'a str, u32)> {
                s.split('|')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| (t, keys.id(t)))
                    .collect()
            };
            // (`split` borrows `keys`; the rule's own key is taken after.)
            if let Some((from, to)) = line.split_once("=>") {
                let targets = split(to);
                one_way.push((keys.id(from.trim()), targets));
            } else {
                groups.push(split(line));
            }
        }
        let mut group_of: HashMap<u32, Vec<usize>> = HashMap::new();
        for (gi, g) in groups.iter().enumerate() {
            for (_, k) in g {
                group_of.entry(*k).or_default().push(gi);
            }
        }
        // Per key: its expansions and, in step, each expansion's key.
        let mut map: HashMap<u32, (Vec<Expansion>, Vec<u32>)> = HashMap::new();
        for g in &groups {
            for (_, k) in g {
                let exps = map.entry(*k).or_default();
                for (other, ok) in g {
                    if ok != k {
                        push_unique(exps, other, *ok, EQUIVALENT_WEIGHT);
                    }
                }
            }
        }
        let mut phrases: std::collections::HashSet<u32> =
            groups.iter().flatten().map(|(_, k)| *k).collect();
        for (from, targets) in &one_way {
            phrases.insert(*from);
            phrases.extend(targets.iter().map(|(_, k)| *k));
        }
        for (from, targets) in &one_way {
            // The rule applies to every wording equivalent to `from`.
            let mut sources: Vec<u32> = vec![*from];
            for gi in group_of.get(from).into_iter().flatten() {
                sources.extend(groups[*gi].iter().map(|(_, k)| *k));
            }
            for src in sources {
                let exps = map.entry(src).or_default();
                for (t, tk) in targets {
                    push_unique(exps, t, *tk, BROADER_WEIGHT);
                }
            }
        }
        let mut syn = Synonyms::default();
        syn.phrases = phrases
            .into_iter()
            .map(|k| keys.text(k))
            .filter(|k| k.contains(' '))
            .map(str::to_string)
            .collect();
        syn.map = map
            .into_iter()
            .filter(|(k, (v, _))| !keys.text(*k).is_empty() && !v.is_empty())
            .map(|(k, (v, _))| (keys.text(k).to_string(), v))
            .collect();
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

/// The keys of a vocabulary's wordings, interned: a wording's key comes
/// from [`BUILTIN_KEYS`] when the build script computed it, else from the
/// analyzer; equal keys get one id.
#[derive(Default)]
struct Keys<'a> {
    of_wording: HashMap<&'a str, u32>,
    ids: HashMap<String, u32>,
    texts: Vec<String>,
}

impl<'a> Keys<'a> {
    fn id(&mut self, wording: &'a str) -> u32 {
        if let Some(id) = self.of_wording.get(wording) {
            return *id;
        }
        let key = match BUILTIN_KEYS.binary_search_by(|(w, _)| (*w).cmp(wording)) {
            Ok(i) => BUILTIN_KEYS[i].1.to_string(),
            Err(_) => key_of(wording),
        };
        let id = match self.ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.texts.len() as u32;
                self.ids.insert(key.clone(), id);
                self.texts.push(key);
                id
            }
        };
        self.of_wording.insert(wording, id);
        id
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", String::as_str)
    }
}

/// Add `text` (key id `key`) to `exps` unless a wording with that key is
/// there already, in which case the stronger weight wins.
fn push_unique(exps: &mut (Vec<Expansion>, Vec<u32>), text: &str, key: u32, weight: f32) {
    let (v, ks) = exps;
    if let Some(i) = ks.iter().position(|k| *k == key) {
        v[i].weight = v[i].weight.max(weight);
    } else {
        v.push(Expansion {
            text: text.to_string(),
            weight,
        });
        ks.push(key);
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
    fn build_time_keys_match_runtime_analysis() {
        assert!(BUILTIN_KEYS.len() > 300, "{}", BUILTIN_KEYS.len());
        assert!(BUILTIN_KEYS.windows(2).all(|w| w[0].0 < w[1].0));
        for (wording, key) in BUILTIN_KEYS {
            assert_eq!(key_of(wording), *key, "{wording}");
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
