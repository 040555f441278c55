//! Stage 4 helper: abbreviations a record defines for itself, found with the
//! Schwartz–Hearst method ("A simple algorithm for identifying abbreviation
//! definitions in biomedical text", PSB 2003).
//!
//! A record that writes "acute respiratory distress syndrome (ARDS)" tells us
//! what *its* ARDS means, which no global vocabulary can: PD is Parkinson's
//! disease in one record and peritoneal dialysis in another. The index keeps
//! each pair beside the record (field `abbrev`), so a query for either
//! wording finds a record that only uses the other one elsewhere.

/// Most characters in an abbreviation.
const MAX_SHORT: usize = 10;

/// `(long form, abbreviation)` pairs written `long form (ABBR)` in `text`.
pub fn find(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('(').map(|i| from + i) {
        let Some(close) = text[open + 1..].find(')').map(|i| open + 1 + i) else {
            break;
        };
        from = open + 1;
        let inner = text[open + 1..close].trim();
        // "(ARDS; n = 40)" or "(ARDS, ALI)": the abbreviation is the first part.
        let short = inner
            .split([';', ','])
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if !is_short_form(&short) {
            continue;
        }
        let before = &text[..open];
        // The long form lies in the same clause, just before the parenthesis.
        let clause_start = before
            .rfind(['.', ';', ':', '(', ')', '[', ']', '\n', '|'])
            .map(|i| i + 1)
            .unwrap_or(0);
        let words: Vec<&str> = before[clause_start..].split_whitespace().collect();
        let n = short.chars().count();
        let max_words = (n + 5).min(n * 2);
        let take = words.len().min(max_words);
        let candidate = words[words.len() - take..].join(" ");
        if let Some(long) = best_long_form(&short, &candidate) {
            out.push((long, short));
        }
    }
    out
}

/// Schwartz–Hearst's conditions on the text in parentheses: 2 to 10
/// characters, at most two words, starting with a letter or digit, with at
/// least one letter.
fn is_short_form(s: &str) -> bool {
    let n = s.chars().count();
    (2..=MAX_SHORT).contains(&n)
        && s.split_whitespace().count() <= 2
        && s.chars().next().is_some_and(char::is_alphanumeric)
        && s.chars().any(char::is_alphabetic)
        // A number with a unit ("10 mg") or a plain word in lower case
        // ("n=40", "optional") is not an abbreviation.
        && s.chars().any(|c| c.is_uppercase())
}

/// The shortest tail of `long` whose characters contain the abbreviation's
/// letters and digits in order, the first one starting a word.
fn best_long_form(short: &str, long: &str) -> Option<String> {
    // Lower-case char by char so indexes stay those of `long`.
    let low = |c: char| c.to_lowercase().next().unwrap_or(c);
    let s: Vec<char> = short.chars().map(low).collect();
    let l: Vec<char> = long.chars().map(low).collect();
    let mut si = s.len() as isize - 1;
    let mut li = l.len() as isize - 1;
    while si >= 0 {
        let c = s[si as usize];
        if !c.is_alphanumeric() {
            si -= 1;
            continue;
        }
        while li >= 0
            && (l[li as usize] != c || (si == 0 && li > 0 && l[li as usize - 1].is_alphanumeric()))
        {
            li -= 1;
        }
        if li < 0 {
            return None;
        }
        li -= 1;
        si -= 1;
    }
    // Back to the start of the word where the first letter matched.
    let start = l[..(li + 1) as usize]
        .iter()
        .rposition(|c| c.is_whitespace())
        .map(|i| i + 1)
        .unwrap_or(0);
    let chars: Vec<char> = long.chars().collect();
    let found: String = chars.get(start..)?.iter().collect();
    let found = found.trim().to_string();
    // The long form must be longer than the abbreviation and say more than
    // it: "MSC (MSC)" or "cells (C)" teach nothing.
    let words = found.split_whitespace().count();
    if found.chars().count() <= short.chars().count() + 1
        || words < 2
        || found
            .to_lowercase()
            .split_whitespace()
            .any(|w| w == short.to_lowercase())
    {
        return None;
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definitions() {
        let p = find("Patients with acute respiratory distress syndrome (ARDS) were given cells.");
        assert_eq!(
            p,
            vec![(
                "acute respiratory distress syndrome".to_string(),
                "ARDS".to_string()
            )]
        );
        let p = find("Human Umbilical Cord Mesenchymal Stem Cells (MSCs) Therapy in ARDS");
        assert_eq!(p[0].0, "Mesenchymal Stem Cells");
        let p = find("knee osteoarthritis (KOA; n = 40)");
        assert_eq!(p[0], ("knee osteoarthritis".into(), "KOA".into()));
        let p = find("umbilical cord mesenchymal stem cells (UC-MSCs)");
        assert_eq!(p[0].1, "UC-MSCs");
    }

    #[test]
    fn rejects_non_definitions() {
        assert!(find("given twice (optional)").is_empty());
        assert!(find("a dose (10 mg) daily").is_empty());
        assert!(find("MSC (MSC) cells").is_empty());
        assert!(find("unclosed (ARDS").is_empty());
        assert!(find("(ARDS)").is_empty());
        assert!(find("émigré (É) ünïcode (ÜN) 间充质 (间充)").len() <= 2);
    }
}
