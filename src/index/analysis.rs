//! Stage 4 helper: the biomedical text analysis itself, free of tantivy, so
//! the build script can compile the vocabulary's keys with exactly the code
//! that analyzes documents and queries (see `build.rs`). The tantivy
//! tokenizers around it are in [`super::analyzer`].
//!
//! Built on unicode-segmentation's word boundaries (UAX #29), with three
//! additions that matter for trial records:
//! - compounds joined by `-`, `+`, `^`, `/` or an apostrophe (`COVID-19`,
//!   `UC-MSC`, `hUC-MSCs`, `CD34+`, `IL-6`, `10^6`, `Wharton's`) are emitted
//!   whole *and* by parts; the whole token shares the first part's position,
//!   so a query for `UC MSC`, `UC-MSC` or `MSC` all find "UC-MSC";
//! - Chinese, Japanese and Thai runs become overlapping character bigrams
//!   (UAX #29 splits ideographs one by one, which matches far too much);
//! - tokens are lower-cased and accent-folded; with stemming, the English
//!   Snowball stemmer applies too, but only to purely alphabetic tokens, so
//!   ids, codes and compounds are never stemmed.

// `Token` is tantivy's token inside the crate and a struct of the same shape
// in the build script.
use super::Token;
use std::collections::HashMap;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Longest token kept, in bytes; longer ones are noise (base64, URLs).
const MAX_TOKEN_LEN: usize = 64;

static STEMMER: LazyLock<frostem::Stemmer> =
    LazyLock::new(|| frostem::Stemmer::new(frostem::Algorithm::English));

/// Stems memoized per thread, at most this many: Snowball costs ~2,000
/// instructions a word, and trial text repeats a small vocabulary
/// ("patients", "cells", "treatment") over and over.
const STEM_MEMO_MAX: usize = 1 << 16;

/// The memo's hasher: FNV-1a over the word's bytes. Words are short and
/// the memo is private to a thread, so SipHash's protection against chosen
/// keys buys nothing here, and it was most of a memo lookup.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type StemMemo = HashMap<Box<str>, Box<str>, std::hash::BuildHasherDefault<Fnv>>;

thread_local! {
    static STEM_MEMO: std::cell::RefCell<StemMemo> =
        std::cell::RefCell::new(StemMemo::default());
}

/// The English stem of a lower-case alphabetic word, written into `out`
/// (cleared first).
fn stem_into(word: &str, out: &mut String) {
    out.clear();
    STEM_MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(s) = memo.get(word) {
            out.push_str(s);
            return;
        }
        let s = STEMMER.stem(word);
        out.push_str(&s);
        if memo.len() >= STEM_MEMO_MAX {
            // A bounded cache, simply restarted: long corpora keep their
            // frequent words after a few documents.
            memo.clear();
        }
        memo.insert(word.into(), s.as_ref().into());
    })
}

fn is_connector(s: &str) -> bool {
    matches!(s, "-" | "+" | "^" | "/" | "'" | "’" | "‐" | "‑")
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK Extension A
        | 0x4E00..=0x9FFF // CJK Unified Ideographs
        | 0xF900..=0xFAFF // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F
        | 0x0E00..=0x0E7F // Thai has no spaces either
    )
}

fn is_wordish(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Lower-case and fold accents ("Sjögren" → "sjogren", "ß" → "ss").
pub fn fold(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        return;
    }
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            '’' | 'ʼ' | '‘' => out.push('\''),
            '‐' | '‑' => out.push('-'),
            c if c.is_ascii() => out.push(c),
            c => {
                for d in std::iter::once(c).nfkd() {
                    if !unicode_normalization::char::is_combining_mark(d) {
                        out.push(d);
                    }
                }
            }
        }
    }
}

/// "mscs", "evs", "ipscs": an abbreviation with a plural s, recognised by
/// having no vowel before the final s (or only a leading i, as in iPSCs).
fn is_abbreviation_plural(t: &str) -> bool {
    let Some(stem) = t.strip_suffix('s') else {
        return false;
    };
    let body = stem.strip_prefix('i').unwrap_or(stem);
    stem.len() >= 2 && !body.is_empty() && !body.bytes().any(|b| b"aeiouy".contains(&b))
}

/// Token `i` of `out` (`i` ≤ its length), to be overwritten with its text
/// buffer reused: a fresh, empty one when `out` ends there.
pub fn token_slot(out: &mut Vec<Token>, i: usize) -> &mut Token {
    if i == out.len() {
        out.push(Token {
            offset_from: 0,
            offset_to: 0,
            position: 0,
            text: String::new(),
            position_length: 1,
        });
    }
    &mut out[i]
}

/// Writes tokens into `out` from its start, reusing the tokens (and their
/// text buffers) already there: a tokenizer analyzes text after text into
/// the same vector, and a fresh `String` per token and per folded word was
/// a third of the analysis's instructions (malloc, free, realloc).
struct Emitter<'t> {
    out: &'t mut Vec<Token>,
    /// Tokens written so far; `out` is cut to this at the end.
    len: usize,
    stem: Stemming<'t>,
    position: usize,
    /// The folded word or compound being emitted.
    folded: String,
}

impl Emitter<'_> {
    fn push(&mut self, text: &str, from: usize, to: usize, position: usize) {
        if text.is_empty() || text.len() > MAX_TOKEN_LEN {
            return;
        }
        let token = token_slot(self.out, self.len);
        self.len += 1;
        let alpha = text.bytes().all(|b| b.is_ascii_lowercase());
        let stem = !matches!(self.stem, Stemming::Off);
        if stem && alpha && text.len() >= 3 && is_abbreviation_plural(text) {
            // Snowball keeps "mscs" and "evs" (no vowel before the s); the
            // field writes MSC and MSCs interchangeably.
            token.text.clear();
            token.text.push_str(&text[..text.len() - 1]);
        } else if stem && alpha && text.len() > 3 && self.stem.wants(text) {
            stem_into(text, &mut token.text);
        } else {
            token.text.clear();
            token.text.push_str(text);
        }
        token.offset_from = from;
        token.offset_to = to;
        token.position = position;
        token.position_length = 1;
    }

    fn word(&mut self, s: &str, from: usize) {
        let mut folded = std::mem::take(&mut self.folded);
        folded.clear();
        fold(s, &mut folded);
        // UAX #29 keeps "Wharton's" and "1.5" whole: keep them, and also the
        // possessive-stripped form, so "Wharton jelly" finds "Wharton's jelly".
        let pos = self.position;
        self.push(&folded, from, from + s.len(), pos);
        if let Some(stripped) = folded.strip_suffix("'s").filter(|b| !b.is_empty()) {
            self.push(stripped, from, from + s.len(), pos);
        }
        self.folded = folded;
        self.position += 1;
    }

    fn compound(&mut self, text: &str, start: usize, parts: &[(usize, &str)]) {
        let end = parts.last().map(|(o, p)| o + p.len()).unwrap_or(start);
        let whole = &text[start..end];
        let mut folded = std::mem::take(&mut self.folded);
        folded.clear();
        fold(whole, &mut folded);
        let first = self.position;
        self.push(&folded, start, end, first);
        self.folded = folded;
        for (off, p) in parts.iter().filter(|(_, p)| is_wordish(p)) {
            self.word(p, *off);
        }
        if self.position == first {
            self.position += 1;
        }
    }

    fn cjk_run(&mut self, run: &[(usize, char)]) {
        if run.len() == 1 {
            let (off, c) = run[0];
            let mut buf = [0u8; 4];
            self.push(
                c.encode_utf8(&mut buf),
                off,
                off + c.len_utf8(),
                self.position,
            );
            self.position += 1;
            return;
        }
        for w in run.windows(2) {
            let (o1, c1) = w[0];
            let (o2, c2) = w[1];
            let mut s = String::with_capacity(8);
            s.push(c1);
            s.push(c2);
            self.push(&s, o1, o2 + c2.len_utf8(), self.position);
            self.position += 1;
        }
    }
}

/// UAX #29 word-break class of an ASCII byte (the classes ASCII has).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wb {
    Letter,
    Numeric,
    MidLetter,
    MidNum,
    /// MidNumLet (`.`) and Single_Quote (`'`), which the rules treat alike
    /// outside Hebrew.
    MidNumLetQ,
    ExtendNumLet,
    Space,
    Cr,
    Lf,
    Newline,
    Other,
}

const fn wb(b: u8) -> Wb {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => Wb::Letter,
        b'0'..=b'9' => Wb::Numeric,
        b':' => Wb::MidLetter,
        b',' | b';' => Wb::MidNum,
        b'.' | b'\'' => Wb::MidNumLetQ,
        b'_' => Wb::ExtendNumLet,
        b' ' => Wb::Space,
        b'\r' => Wb::Cr,
        b'\n' => Wb::Lf,
        0x0B | 0x0C => Wb::Newline,
        _ => Wb::Other,
    }
}

/// `split_word_bound_indices` for ASCII text: the UAX #29 rules that apply
/// to ASCII (WB3, WB3a/b, WB3d, WB5–WB13b), byte by byte. The general
/// implementation classifies every character through Unicode tables, which
/// was a third of analyzing English prose (snippets at query time, every
/// text field at index time); a test compares the two on real records and
/// on random ASCII.
fn ascii_word_bounds(text: &str) -> Vec<(usize, &str)> {
    // [`wb`] of every byte, looked up instead of matched: the class of each
    // byte is wanted once or twice per byte of every text field indexed.
    static CLASS: [Wb; 256] = {
        let mut t = [Wb::Other; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = wb(i as u8);
            i += 1;
        }
        t
    };
    let b = text.as_bytes();
    let class = |i: usize| b.get(i).map_or(Wb::Other, |&c| CLASS[c as usize]);
    // English prose has a segment (word, space or mark) every ~3 bytes:
    // sized once instead of grown a dozen times per long value.
    let mut out = Vec::with_capacity(b.len() / 3 + 1);
    let mut start = 0;
    let mut y = class(0);
    for i in 1..b.len() {
        // The previous byte's class is the one just looked up.
        let x = y;
        y = CLASS[b[i] as usize];
        let keep = match (x, y) {
            (Wb::Cr, Wb::Lf) => true,
            (Wb::Cr | Wb::Lf | Wb::Newline, _) | (_, Wb::Cr | Wb::Lf | Wb::Newline) => false,
            (Wb::Space, Wb::Space) => true,
            (Wb::Letter | Wb::Numeric, Wb::Letter | Wb::Numeric) => true,
            (Wb::Letter, Wb::MidLetter | Wb::MidNumLetQ) => class(i + 1) == Wb::Letter,
            (Wb::MidLetter | Wb::MidNumLetQ, Wb::Letter) => i >= 2 && class(i - 2) == Wb::Letter,
            (Wb::Numeric, Wb::MidNum | Wb::MidNumLetQ) => class(i + 1) == Wb::Numeric,
            (Wb::MidNum | Wb::MidNumLetQ, Wb::Numeric) => i >= 2 && class(i - 2) == Wb::Numeric,
            (Wb::Letter | Wb::Numeric | Wb::ExtendNumLet, Wb::ExtendNumLet) => true,
            (Wb::ExtendNumLet, Wb::Letter | Wb::Numeric) => true,
            _ => false,
        };
        if !keep {
            out.push((start, &text[start..i]));
            start = i;
        }
    }
    if start < b.len() {
        out.push((start, &text[start..]));
    }
    out
}

/// Word boundaries of `text` (UAX #29), line by line: there is always a
/// boundary after a line feed (WB3a), so each ASCII line takes the fast path
/// even when another line has an accent or a `≥`.
fn word_bounds(text: &str) -> Vec<(usize, &str)> {
    if text.is_ascii() {
        return ascii_word_bounds(text);
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let line = &text[start..end];
        if line.is_ascii() {
            out.extend(
                ascii_word_bounds(line)
                    .into_iter()
                    .map(|(o, w)| (start + o, w)),
            );
        } else {
            out.extend(line.split_word_bound_indices().map(|(o, w)| (start + o, w)));
        }
        start = end;
    }
    out
}

/// Analyze `text` into `out`, replacing what it held (its tokens' buffers
/// are reused).
pub fn analyze_into(text: &str, stem: bool, out: &mut Vec<Token>) {
    let len = analyze_reusing(text, stem, out, &mut String::new());
    out.truncate(len);
}

/// Analyze `text` into the first tokens of `out` and say how many: the
/// tokens past them are kept, not dropped, with `folded` a scratch buffer
/// kept by the caller. The indexer's tokenizers analyze every field value
/// of every trial, short and long in turn; dropping the tail of a long
/// value's tokens only to allocate them again for the next one, and a
/// scratch string per value, were the bulk of its malloc and free (with a
/// `Vec` per compound, ~12% of an M build's CPU, now ~7%).
pub fn analyze_reusing(text: &str, stem: bool, out: &mut Vec<Token>, folded: &mut String) -> usize {
    let stem = if stem { Stemming::On } else { Stemming::Off };
    analyze_stemming(text, stem, out, folded)
}

/// Which alphabetic words the Snowball stemmer sees.
#[derive(Debug, Clone, Copy)]
pub enum Stemming<'a> {
    /// None: the unstemmed analysis.
    Off,
    /// Every word: the stemmed analysis.
    On,
    /// Only words starting with one of these prefixes; the others are
    /// emitted as they are. For text that is only searched for a known set
    /// of stems, such as the query's terms in a snippet: a stem differs
    /// from its word in at most its last two letters (see
    /// `search::needles`), so a word can only stem to term `t` if it starts
    /// with `t` less its last two letters, and with those heads as the
    /// prefixes the words that match the terms are exactly those of the
    /// stemmed analysis, at the same offsets. Snowball costs ~1 µs a
    /// distinct word, and a one-shot query's snippets met thousands of
    /// distinct words in long summaries, nearly none of them the query's.
    Only(&'a [String]),
}

impl Stemming<'_> {
    fn wants(&self, word: &str) -> bool {
        match self {
            Stemming::Off => false,
            Stemming::On => true,
            Stemming::Only(heads) => heads.iter().any(|h| word.starts_with(h.as_str())),
        }
    }
}

/// [`analyze_reusing`] with a choice of [`Stemming`].
pub fn analyze_stemming<'a>(
    text: &str,
    stem: Stemming<'a>,
    out: &'a mut Vec<Token>,
    folded: &mut String,
) -> usize {
    let mut em = Emitter {
        out,
        len: 0,
        stem,
        position: 0,
        folded: std::mem::take(folded),
    };
    let segs = word_bounds(text);
    let mut i = 0;
    let mut cjk: Vec<(usize, char)> = Vec::new();
    while i < segs.len() {
        let (off, seg) = segs[i];
        if seg.chars().all(is_cjk) && !seg.is_empty() {
            cjk.extend(seg.char_indices().map(|(o, c)| (off + o, c)));
            i += 1;
            continue;
        }
        if !cjk.is_empty() {
            em.cjk_run(&cjk);
            cjk.clear();
        }
        if !is_wordish(seg) {
            i += 1;
            continue;
        }
        // Grow a compound: word (connector word)* [trailing '+'], the
        // segments i..j.
        let mut j = i + 1;
        while j + 1 < segs.len()
            && is_connector(segs[j].1)
            && is_wordish(segs[j + 1].1)
            && !segs[j + 1].1.chars().all(is_cjk)
        {
            j += 2;
        }
        if j < segs.len() && segs[j].1 == "+" {
            // "CD34+" keeps its plus; "CD34+ cells" still finds "CD34".
            j += 1;
        }
        if j == i + 1 {
            em.word(seg, off);
        } else {
            em.compound(text, off, &segs[i..j]);
        }
        i = j;
    }
    if !cjk.is_empty() {
        em.cjk_run(&cjk);
    }
    *folded = em.folded;
    em.len
}

/// The tokens of `text` grouped by position: each inner list holds the
/// alternatives at one position (a compound and its first part share one).
/// Query building uses this to mirror exactly what was indexed.
pub fn analyze_positions(text: &str, stem: bool) -> Vec<Vec<String>> {
    let mut tokens = Vec::new();
    analyze_into(text, stem, &mut tokens);
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut last = usize::MAX;
    for t in tokens {
        if t.position != last {
            out.push(Vec::new());
            last = t.position;
        }
        if let Some(v) = out.last_mut() {
            if !v.contains(&t.text) {
                v.push(t.text);
            }
        }
    }
    out
}

/// The key of a vocabulary wording: its tokens (the last alternative at each
/// position, i.e. the parts of compounds), stemmed, joined by spaces. Two
/// wordings with one key are one entry ("Mesenchymal Stem Cells" and
/// "mesenchymal stem cell").
pub fn vocab_key(text: &str) -> String {
    analyze_positions(text, true)
        .into_iter()
        .filter_map(|alts| alts.last().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, usize)> {
        let mut v = Vec::new();
        analyze_into(s, false, &mut v);
        v.into_iter().map(|t| (t.text, t.position)).collect()
    }

    fn texts(s: &str) -> Vec<String> {
        toks(s).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn compounds_whole_and_parts() {
        assert_eq!(texts("COVID-19"), vec!["covid-19", "covid", "19"]);
        assert_eq!(texts("UC-MSC"), vec!["uc-msc", "uc", "msc"]);
        assert_eq!(texts("hUC-MSCs"), vec!["huc-mscs", "huc", "mscs"]);
        assert_eq!(texts("CD34+ cells"), vec!["cd34+", "cd34", "cells"]);
        assert_eq!(texts("IL-6"), vec!["il-6", "il", "6"]);
        assert_eq!(
            texts("10^6 cells/kg"),
            vec!["10^6", "10", "6", "cells/kg", "cells", "kg"]
        );
        assert_eq!(texts("SARS-CoV-2"), vec!["sars-cov-2", "sars", "cov", "2"]);
        assert_eq!(
            texts("Wharton's jelly"),
            vec!["wharton's", "wharton", "jelly"]
        );
    }

    #[test]
    fn positions_let_phrases_match() {
        let t = toks("UC-MSC therapy");
        assert_eq!(t[0], ("uc-msc".into(), 0));
        assert_eq!(t[1], ("uc".into(), 0));
        assert_eq!(t[2], ("msc".into(), 1));
        assert_eq!(t[3], ("therapy".into(), 2));
        assert_eq!(
            analyze_positions("UC-MSC therapy", false),
            vec![vec!["uc-msc", "uc"], vec!["msc"], vec!["therapy"]]
        );
    }

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(
            texts("Sjögren Straße CAFÉ"),
            vec!["sjogren", "strasse", "cafe"]
        );
    }

    #[test]
    fn chinese_bigrams() {
        assert_eq!(
            texts("间充质干细胞"),
            vec!["间充", "充质", "质干", "干细", "细胞"]
        );
        assert_eq!(texts("MSC治疗"), vec!["msc", "治疗"]);
    }

    #[test]
    fn stems_only_alphabetic() {
        let mut v = Vec::new();
        analyze_into("Cells treated COVID-19 patients MSCs", true, &mut v);
        let t: Vec<_> = v.into_iter().map(|t| t.text).collect();
        assert_eq!(
            t,
            vec!["cell", "treat", "covid-19", "covid", "19", "patient", "msc"]
        );
    }

    fn same_bounds(text: &str) {
        let general: Vec<(usize, &str)> = text.split_word_bound_indices().collect();
        if text.is_ascii() {
            assert_eq!(ascii_word_bounds(text), general, "{text:?}");
        }
        assert_eq!(word_bounds(text), general, "{text:?}");
    }

    #[test]
    fn word_bounds_match_unicode_segmentation_on_random_text() {
        // Random strings over the ASCII bytes the rules single out, a few
        // others, and non-ASCII letters, marks and joiners (the general path
        // on those lines); xorshift keeps the test deterministic.
        let alphabet = "aZ09:.,;'_ \r\n\x0b\x0c\t-+/\"()é’≥\u{301}\u{200d}";
        let alphabet: Vec<char> = alphabet.chars().collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            same_bounds(&s);
        }
    }

    #[test]
    fn word_bounds_match_unicode_segmentation_on_records() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut stack = vec![root];
        let mut checked = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    for chunk in text.split(|c: char| !c.is_ascii()) {
                        same_bounds(chunk);
                        checked += chunk.len();
                    }
                    same_bounds(&text);
                }
            }
        }
        assert!(checked > 1_000_000, "{checked} bytes checked");
    }

    #[test]
    fn drops_overlong_tokens() {
        let long = "a".repeat(100);
        assert!(texts(&long).is_empty());
    }
}
