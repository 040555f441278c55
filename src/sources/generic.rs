//! Stage 1 adapter for pages of unknown layout, and the line helpers the
//! site-specific page adapters share.
//!
//! A page no site adapter recognises still holds what a searcher needs most:
//! registry ids, a title, often a status or phase word standing as a label.
//! [`parse`] takes only those (a free-text page gives no safe footing for more)
//! and keeps the rest of the cleaned text in `other_text`, so the page stays
//! searchable rather than being dropped.
//!
//! The helpers below (`is_boilerplate`, `section`, `criteria`, ...) live here
//! because every page adapter needs them and this module is the layout-neutral
//! one.

use crate::normalize::{
    clean, clean_block, find_registry_ids, is_registry_id, parse_age_range, parse_phases,
    parse_status, split_criteria,
};
use crate::trial::{Phase, Status, Trial};
use regex::Regex;
use std::sync::LazyLock;

/// Extract what can be found in a page of unknown layout. `None` only when
/// the text has no words at all.
pub fn parse(text: &str) -> Option<Trial> {
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    let mut t = Trial::default();
    let ids = find_registry_ids(text);
    let is_nct = |id: &String| id.len() == 11 && id.starts_with("NCT");
    let ncts = ids.iter().filter(|i| is_nct(i)).count();
    // A page naming many trials (a search result list, a review) is about
    // none of them in particular: taking its ids would fuse unrelated trials
    // when merging. Its ids stay searchable in its text.
    let listing = ncts > 3 || ids.len() > 6;
    if !listing {
        for id in ids {
            if is_nct(&id) {
                // The first NCT id is the page's own; later ones are usually
                // references to related studies, which are not ids of this one.
                if t.nct_id.is_none() {
                    t.nct_id = Some(id);
                }
            } else {
                t.secondary_ids.push(id);
            }
        }
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    t.title = lines
        .iter()
        .find(|l| is_title_candidate(l))
        .and_then(|l| clean(l));
    t.status = find_status(&lines);
    t.phases = find_phases(&lines);
    let kept: Vec<&str> = text.lines().filter(|l| !is_boilerplate(l)).collect();
    t.other_text = clean_block(&kept.join("\n"));
    Some(t)
}

/// Lines that no record field should ever carry: site menus, sign-up and
/// contact forms, FAQ prompts, copyright lines, "Loading..." placeholders.
pub(crate) fn is_boilerplate(line: &str) -> bool {
    const EXACT: [&str; 22] = [
        "image",
        "menu",
        "loading",
        "loading...",
        "sign up",
        "sign in",
        "log in",
        "share",
        "print",
        "faq",
        "faqs",
        "send a message",
        "primary contact",
        "investigator avatar",
        "other language",
        "first name*",
        "last name*",
        "email*",
        "phone number*",
        "clinical trials",
        "powered by ai",
        "discussion 0",
    ];
    const CONTAINS: [&str; 22] = [
        "powered by ai",
        "veeva systems",
        "©",
        "copyright",
        "data sourced from",
        "sign up for",
        "add a private note",
        "get in touch with",
        "{{site_name}}",
        "would you like to be notified",
        "enter your contact details",
        "learn more about clinical trials",
        "what is a clinical trial",
        "compensated",
        "privacy policy",
        "terms of use",
        "cookie",
        "find clinical trials",
        "select a piece of text",
        "add notes visible only",
        "passcode protected link",
        "other languages supported",
    ];
    let l = line.trim().to_lowercase();
    if l.is_empty() {
        return false;
    }
    if EXACT.contains(&l.as_str()) || CONTAINS.iter().any(|c| l.contains(c)) {
        return true;
    }
    // TrialX's contact wizard: "Step 1 Get in touch ...", "Step 2 ...".
    l.strip_prefix("step ")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// Whether `line` is, ignoring case and surrounding space, `heading`.
pub(crate) fn is_heading(line: &str, heading: &str) -> bool {
    line.trim().eq_ignore_ascii_case(heading)
}

/// Index of the first line that is exactly `heading`.
pub(crate) fn find_heading(lines: &[&str], heading: &str) -> Option<usize> {
    lines.iter().position(|l| is_heading(l, heading))
}

/// The lines after the heading at `start` up to (not including) the next line
/// that is one of `stops` or is boilerplate. Blank lines are kept so blocks
/// keep their paragraphs.
pub(crate) fn section<'a>(lines: &[&'a str], start: usize, stops: &[&str]) -> Vec<&'a str> {
    lines
        .iter()
        .skip(start + 1)
        .take_while(|l| !is_boilerplate(l) && !stops.iter().any(|s| is_heading(l, s)))
        .copied()
        .collect()
}

/// The section under the first `heading`, or an empty list when absent.
pub(crate) fn section_of<'a>(lines: &[&'a str], heading: &str, stops: &[&str]) -> Vec<&'a str> {
    find_heading(lines, heading)
        .map(|i| section(lines, i, stops))
        .unwrap_or_default()
}

/// The non-blank, cleaned lines of a section.
pub(crate) fn values(section: &[&str]) -> Vec<String> {
    section.iter().filter_map(|l| clean(l)).collect()
}

static NUMBERING_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\(?\d{1,2}[.)]\s+").expect("static regex"));

/// Inclusion and exclusion criteria via [`split_criteria`], with list
/// numbering ("1. ", "2) ") dropped: the number is the list's, not part of
/// the criterion, and sites renumber freely. A short line ending in a colon
/// ("Specific medical conditions:") heads the items below it and is no
/// criterion itself, so it is dropped too. Markdown escapes that
/// ClinicalTrials.gov text carries ("\<7 days") are undone.
pub(crate) fn criteria(text: &str) -> (Vec<String>, Vec<String>) {
    let (inc, exc) = split_criteria(&unescape_markdown(text));
    let strip = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter_map(|c| clean(&NUMBERING_RE.replace(&c, "")))
            .filter(|c| !(c.ends_with([':', '：']) && c.split_whitespace().count() <= 5))
            .collect()
    };
    (strip(inc), strip(exc))
}

/// Undo the backslash escapes of ClinicalTrials.gov's markdown ("\>", "\[").
pub(crate) fn unescape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, '<' | '>' | '[' | ']' | '~' | '*' | '_' | '#' | '(' | ')') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// The first whole number in "60 estimated patients" or "1,200 patients".
pub(crate) fn first_number(s: &str) -> Option<u64> {
    let digits: String = s
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?
        .chars()
        .filter(|c| *c != ',')
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

static AGE_CRITERION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:aged?|ages)\b\s*[:：]?\s*([^,;，；]{1,40})").expect("static regex")
});
static AGE_EXPR_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:≥|≤|>=|<=|>|<|between|from|and|to|or|-|–|~|years?|old|and above|above|older|\d+(?:\.\d+)?)\s*)+$",
    )
    .expect("static regex")
});

/// Age bounds from an inclusion criterion that states only an age, such as
/// "Age: 0-65 years old, diagnosed with sepsis" or "Age ≥18 years old;".
/// Deliberately narrow: the clause after "Age" must be nothing but numbers,
/// comparison signs and year words, so prose like "age of onset before 10"
/// is never read as an eligibility bound.
pub(crate) fn age_from_criteria(inclusion: &[String]) -> (Option<f64>, Option<f64>) {
    for c in inclusion {
        let Some(m) = AGE_CRITERION_RE.captures(c.trim()) else {
            continue;
        };
        let expr = m[1].trim().trim_end_matches(['.', '。']).trim();
        if !expr.chars().any(|ch| ch.is_ascii_digit()) || !AGE_EXPR_RE.is_match(expr) {
            continue;
        }
        let e = expr.trim_start();
        let range = if e.starts_with(['≤', '<']) {
            let (lo, hi) = parse_age_range(expr);
            (None, hi.or(lo))
        } else {
            parse_age_range(expr)
        };
        if range.0.is_some() || range.1.is_some() {
            return range;
        }
    }
    (None, None)
}

/// A line that could be a page's title: long enough to be one, not a label,
/// an id, a date or site furniture.
fn is_title_candidate(line: &str) -> bool {
    let n = line.chars().count();
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    (10..=300).contains(&n)
        && letters * 2 >= n
        && !is_boilerplate(line)
        && !line.ends_with([':', '：'])
        && !is_registry_id(line)
        && label_value(line).is_none()
        && parse_status(line).is_none()
        && !line.contains("://")
        && !line.starts_with("www.")
}

static LABEL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:：]{1,40})[:：]\s*(.*)$").expect("static regex"));

/// `("status", "Recruiting")` from "Status: Recruiting"; the label is
/// lower-cased. `None` when the line is not a short label and value.
pub(crate) fn label_value(line: &str) -> Option<(String, String)> {
    let c = LABEL_RE.captures(line.trim())?;
    let label = c[1].trim().to_lowercase();
    if label.split_whitespace().count() > 5 {
        return None;
    }
    Some((label, c[2].trim().to_string()))
}

/// The value of a status label on this line, or on the next line when the
/// label stands alone ("Recruiting status：" then "Recruiting").
fn labelled(lines: &[&str], i: usize, key: &str) -> Option<String> {
    let (label, value) = label_value(lines[i])?;
    if !label.contains(key) {
        return None;
    }
    if !value.is_empty() {
        return Some(value);
    }
    lines.get(i + 1..i + 3).and_then(|next| {
        next.iter()
            .find(|l| !l.chars().all(|c| !c.is_ascii_alphanumeric()))
            .map(|l| l.to_string())
    })
}

/// A status written as a label ("Status: Recruiting") or as a short line of
/// its own. Bare words that also name menu items or prose ("Open", "Active",
/// "Available") count only behind a label.
fn find_status(lines: &[&str]) -> Option<Status> {
    for i in 0..lines.len() {
        if let Some(v) = labelled(lines, i, "status") {
            // A bilingual value line ("正在进行 Recruiting") ends with the English word.
            if let Some(s) = parse_status(&v).or_else(|| parse_status(last_words(&v))) {
                return Some(s);
            }
        }
    }
    const AMBIGUOUS: [&str; 7] = [
        "open",
        "active",
        "available",
        "pending",
        "complete",
        "ongoing",
        "stopped",
    ];
    lines.iter().find_map(|l| {
        if l.chars().count() > 40 || AMBIGUOUS.contains(&l.trim().to_lowercase().as_str()) {
            return None;
        }
        parse_status(l)
    })
}

/// The text after the last run of non-ASCII characters, for bilingual lines.
fn last_words(s: &str) -> &str {
    match s.rfind(|c: char| !c.is_ascii()) {
        Some(i) => s[i..].trim_start_matches(|c: char| !c.is_ascii()).trim(),
        None => s,
    }
}

/// Phases written as a label ("Phase: 2", "Study phase：") or as a short line
/// that starts with the word ("Phase 2", "Early Phase 1").
fn find_phases(lines: &[&str]) -> Vec<Phase> {
    for i in 0..lines.len() {
        if let Some(v) = labelled(lines, i, "phase") {
            let v = if v.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                format!("Phase {v}")
            } else {
                v
            };
            let p = parse_phases(&v);
            if !p.is_empty() {
                return p;
            }
        }
    }
    for l in lines {
        let low = l.trim().to_lowercase();
        if l.chars().count() <= 30 && (low.starts_with("phase") || low.starts_with("early phase")) {
            let p = parse_phases(l);
            if !p.is_empty() {
                return p;
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_of_many_trials_claims_none_of_their_ids() {
        let page = "Search results\nNCT01000001 first\nNCT01000002 second\nNCT01000003 third\nNCT01000004 fourth\nChiCTR2000029990\n";
        let t = parse(page).unwrap();
        assert!(t.nct_id.is_none() && t.secondary_ids.is_empty());
        assert!(t.other_text.unwrap().contains("NCT01000004"));
    }

    #[test]
    fn nothing_for_no_words() {
        assert!(parse("").is_none());
        assert!(parse(" \n\t-- ** \n").is_none());
        assert!(parse("x").is_some());
    }

    #[test]
    fn labels_and_bare_words() {
        let t = parse("Menu\nSome Study of Stem Cells in Knee Arthritis\nStatus: Completed\nPhase 2\nNCT01234567 and NCT07654321\n")
            .expect("words");
        assert_eq!(
            t.title.as_deref(),
            Some("Some Study of Stem Cells in Knee Arthritis")
        );
        assert_eq!(t.status, Some(Status::Completed));
        assert_eq!(t.phases, vec![Phase::Phase2]);
        assert_eq!(t.nct_id.as_deref(), Some("NCT01234567"));
        assert!(!t.other_text.unwrap_or_default().contains("Menu"));
        // A bare ambiguous word is not a status; prose mentioning a phase is not a phase.
        let u = parse("Open\nThis trial follows an earlier phase 2 study of the same drug.")
            .expect("words");
        assert_eq!(u.status, None);
        assert!(u.phases.is_empty());
    }

    #[test]
    fn criteria_drop_numbering_and_escapes() {
        let (i, e) = criteria("Inclusion Criteria:\n  1. Age \\>18;\n  2) adults\nExclusion Criteria:\n- * Specific conditions:\n- • 3. life expectancy \\<7 days");
        assert_eq!(i, vec!["Age >18;", "adults"]);
        assert_eq!(e, vec!["life expectancy <7 days"]);
    }

    #[test]
    fn ages_only_from_plain_age_criteria() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            age_from_criteria(&v(&["Age: 0-65 years old, diagnosed with sepsis"])),
            (Some(0.0), Some(65.0))
        );
        assert_eq!(
            age_from_criteria(&v(&["Age ≥18 years old;"])),
            (Some(18.0), None)
        );
        assert_eq!(
            age_from_criteria(&v(&["Aged ≤ 75 years"])),
            (None, Some(75.0))
        );
        assert_eq!(
            age_from_criteria(&v(&[
                "Age of onset before 10 years",
                "Ages vary by cohort 2"
            ])),
            (None, None)
        );
    }
}
