//! Stage 1 adapter: TrialX-style patient pages → [`Trial`].
//!
//! The copied page reads, one item a line: an "Image" placeholder, the title
//! twice (brief title, then the official title, which is often the same), the
//! status, an age line ("36 years and older"), the sex, the phase ("Phase 1/2"),
//! "Powered by AI", "Overview" with the summary, "Eligibility" with the
//! criteria, then "Study details": indented condition lines, the NCT id, the
//! sponsor and one date. Everything after that is the site's contact wizard,
//! FAQ and note-taking widgets, none of which describes the trial.

use super::generic::{criteria, find_heading, is_boilerplate, is_heading, section};
use crate::normalize::{
    clean, clean_block, find_nct, parse_age_range, parse_date, parse_phases, parse_sex,
    parse_status,
};
use crate::trial::Trial;

const HEADINGS: [&str; 4] = ["Overview", "Eligibility", "Study details", "Powered by AI"];

/// Whether `text` follows this site's layout: the "Overview" and "Study
/// details" headings plus at least two more of the page's fixtures, so a page
/// that merely has an "Overview" section is not taken for TrialX.
pub fn matches(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let has = |h: &str| lines.iter().any(|l| is_heading(l, h));
    if !has("Overview") || !has("Study details") {
        return false;
    }
    let mut score = HEADINGS.iter().filter(|h| has(h)).count();
    let lower = text.to_lowercase();
    for marker in [
        "add a private note",
        "get in touch with the nearest study center",
        "investigator avatar",
        "learn more about clinical trials",
    ] {
        if lower.contains(marker) {
            score += 1;
        }
    }
    if lines.iter().find(|l| !l.is_empty()) == Some(&"Image") {
        score += 1;
    }
    score >= 4
}

/// Extract the trial from a page of this layout.
pub fn parse(text: &str) -> Option<Trial> {
    let lines: Vec<&str> = text.lines().collect();
    let mut t = Trial::default();

    let body_start = ["Powered by AI", "Overview", "Eligibility", "Study details"]
        .iter()
        .filter_map(|h| find_heading(&lines, h))
        .min()
        .unwrap_or(lines.len());
    read_header(&lines[..body_start], &mut t);

    let stops = ["Overview", "Eligibility", "Study details"];
    if let Some(i) = find_heading(&lines, "Overview") {
        t.summary = clean_block(&section(&lines, i, &stops).join("\n"));
    }
    if let Some(i) = find_heading(&lines, "Eligibility") {
        let (inc, exc) = criteria(&section(&lines, i, &stops).join("\n"));
        t.inclusion_criteria = inc;
        t.exclusion_criteria = exc;
    }
    if let Some(i) = find_heading(&lines, "Study details") {
        read_details(&section(&lines, i, &stops), &mut t);
    }
    Some(t)
}

/// Title, status, ages, sex and phases from the lines above the body. The
/// facts are unlabelled, so each line is recognised by what it says.
fn read_header(lines: &[&str], t: &mut Trial) {
    for raw in lines {
        if is_boilerplate(raw) {
            continue;
        }
        let Some(line) = clean(raw) else { continue };
        let low = line.to_lowercase();
        if t.status.is_none() && parse_status(&line).is_some() {
            t.status = parse_status(&line);
        } else if t.sex.is_none() && parse_sex(&line).is_some() {
            t.sex = parse_sex(&line);
        } else if (low.starts_with("phase")
            || low.starts_with("early phase")
            || low == "not applicable")
            && !parse_phases(&line).is_empty()
        {
            t.phases.extend(parse_phases(&line));
        } else if is_age_line(&low) {
            let (lo, hi) = parse_age_range(&line);
            t.min_age_years = lo;
            t.max_age_years = hi;
        } else if t.title.is_none() {
            t.title = Some(line);
        } else if t.official_title.is_none() && t.title.as_deref() != Some(line.as_str()) {
            t.official_title = Some(line);
        }
    }
}

/// "36 years and older", "18 to 65 years", "up to 6 months": a short line with
/// a number and an age unit.
fn is_age_line(low: &str) -> bool {
    low.len() <= 40
        && low.chars().any(|c| c.is_ascii_digit())
        && ["year", "month", "week", "day"]
            .iter()
            .any(|u| low.contains(u))
}

/// The "Study details" block: condition lines, the NCT id, the sponsor, a date.
///
/// The one date is taken as the last update: the block shows the record's
/// current state, and on seed 000 the date (9 September 2025) is eight months
/// after NCT06788470 was registered (NCT ids near 0678xxxx were issued in
/// January 2025), so it cannot be the first posting.
fn read_details(lines: &[&str], t: &mut Trial) {
    // Conditions are the lines before the NCT id; when a page lacks the id,
    // only indented lines count, since the sponsor line is not indented.
    let nct_at = lines
        .iter()
        .position(|l| find_nct(l).is_some() && l.split_whitespace().count() == 1);
    for (i, raw) in lines.iter().enumerate() {
        let Some(line) = clean(raw) else { continue };
        let before_id = nct_at.is_some_and(|n| i < n);
        let indented = raw.starts_with([' ', '\t']);
        if Some(i) == nct_at {
            t.nct_id = find_nct(&line);
        } else if before_id || (nct_at.is_none() && indented && t.sponsor.is_none()) {
            t.conditions.push(line);
        } else if line.split_whitespace().count() <= 5 && parse_date(&line).is_some() {
            if t.last_updated.is_none() {
                t.last_updated = parse_date(&line);
            }
        } else if t.sponsor.is_none() {
            t.sponsor = Some(line);
        }
    }
}
