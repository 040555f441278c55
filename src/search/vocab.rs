//! Stage 5 helper, shared with `build.rs`: compile a vocabulary in the
//! `data/synonyms.txt` format into sorted tables of analyzed keys and their
//! expansions.
//!
//! This module is tantivy-free and crate-free on purpose: the build script
//! includes it as is (`#[path]`) and compiles the built-in vocabulary at
//! build time, so a query process only binary-searches static tables.
//! Compiling it at the first query was a fifth of a one-shot query's
//! instructions. The key function is passed in, so the build script and
//! the query path use the same analysis code (`index/analysis.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Weight of an equivalent term relative to the literal words (1.0).
pub const EQUIVALENT_WEIGHT: f32 = 0.6;
/// Weight of a broader term reached by a one-way rule.
pub const BROADER_WEIGHT: f32 = 0.35;

/// One alternative wording of a key, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledExpansion {
    /// The wording, as written in the vocabulary.
    pub text: String,
    /// Its analyzed key.
    pub key: String,
    /// Its weight (below 1.0).
    pub weight: f32,
}

/// A compiled vocabulary.
#[derive(Debug, Default, PartialEq)]
pub struct Compiled {
    /// Keys with at least one expansion, sorted by key.
    pub entries: Vec<(String, Vec<CompiledExpansion>)>,
    /// Every multi-word key the vocabulary names, expansion targets included
    /// ("stem cell"), sorted: a query keeps such a span together as one
    /// concept, even when it has no expansions of its own.
    pub phrases: Vec<String>,
    /// Longest key (entries and phrases) in tokens.
    pub max_span: usize,
}

/// Compile a vocabulary: groups `a | b | c` make their wordings equivalent,
/// one-way rules `a => b | c` make `b` and `c` broader terms of `a` and of
/// everything equivalent to `a`; `#` starts a comment line. Wordings with
/// equal keys are one wording (the first spelling is kept); a wording
/// reached twice keeps its strongest weight.
pub fn compile<'a>(src: &'a str, key_of: &dyn Fn(&str) -> String) -> Compiled {
    let mut keys = Keys::default();
    let mut groups: Vec<Vec<(&'a str, u32)>> = Vec::new();
    let mut one_way: Vec<(u32, Vec<(&'a str, u32)>)> = Vec::new();
    for line in src.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut split = |s: &'a str| -> Vec<(&'a str, u32)> {
            let words: Vec<&'a str> = s
                .split('|')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            words.into_iter().map(|t| (t, keys.id(t, key_of))).collect()
        };
        if let Some((from, to)) = line.split_once("=>") {
            let targets = split(to);
            one_way.push((keys.id(from.trim(), key_of), targets));
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
    // Per key id: its expansions as (wording, key id, weight), in the order
    // the vocabulary gives them.
    let mut map: BTreeMap<u32, Vec<(&str, u32, f32)>> = BTreeMap::new();
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
    let mut named: BTreeSet<u32> = groups.iter().flatten().map(|(_, k)| *k).collect();
    for (from, targets) in &one_way {
        named.insert(*from);
        named.extend(targets.iter().map(|(_, k)| *k));
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
    let mut entries: Vec<(String, Vec<CompiledExpansion>)> = map
        .into_iter()
        .filter(|(k, v)| !keys.text(*k).is_empty() && !v.is_empty())
        .map(|(k, v)| {
            let exps = v
                .into_iter()
                .map(|(text, ek, weight)| CompiledExpansion {
                    text: text.to_string(),
                    key: keys.text(ek).to_string(),
                    weight,
                })
                .collect();
            (keys.text(k).to_string(), exps)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut phrases: Vec<String> = named
        .into_iter()
        .map(|k| keys.text(k))
        .filter(|k| k.contains(' '))
        .map(str::to_string)
        .collect();
    phrases.sort();
    phrases.dedup();
    let max_span = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(phrases.iter().map(String::as_str))
        .map(|k| k.split(' ').count())
        .max()
        .unwrap_or(1);
    Compiled {
        entries,
        phrases,
        max_span,
    }
}

/// The keys of a vocabulary's wordings, interned: equal keys get one id, so
/// grouping and de-duplication compare integers.
#[derive(Default)]
struct Keys {
    of_wording: HashMap<String, u32>,
    ids: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Keys {
    fn id(&mut self, wording: &str, key_of: &dyn Fn(&str) -> String) -> u32 {
        if let Some(id) = self.of_wording.get(wording) {
            return *id;
        }
        let key = key_of(wording);
        let id = match self.ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.texts.len() as u32;
                self.ids.insert(key.clone(), id);
                self.texts.push(key);
                id
            }
        };
        self.of_wording.insert(wording.to_string(), id);
        id
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", String::as_str)
    }
}

/// Add `text` (key id `key`) to `exps` unless a wording with that key is
/// there already, in which case the stronger weight wins.
fn push_unique<'a>(exps: &mut Vec<(&'a str, u32, f32)>, text: &'a str, key: u32, weight: f32) {
    if let Some(e) = exps.iter_mut().find(|e| e.1 == key) {
        e.2 = e.2.max(weight);
    } else {
        exps.push((text, key, weight));
    }
}
