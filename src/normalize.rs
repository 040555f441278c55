//! Stage 2, normalization: site labels and free-form values → the vocabularies
//! of [`crate::trial`].
//!
//! Every source adapter calls these helpers, so "Enrolling" on a Veeva page,
//! `RECRUITING` in the API's JSON and "Recruiting" in a CSV all become
//! [`Status::Recruiting`]; "Phase I/II", "PHASE1, PHASE2" and "Phase 1 & 2"
//! all become `[Phase 1, Phase 2]`; ages become years; dates become ISO.
//! [`sanitize`] is the last step before merging: it drops impossible values
//! (age 500, a date in 3024) and says which.

use crate::trial::{Phase, Sex, Status, StudyType, Trial};
use regex::Regex;
use std::sync::LazyLock;

/// Trim, collapse runs of whitespace to one space, and treat the placeholders
/// sites print for "nothing" as absent.
pub fn clean(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!is_placeholder(&out)).then_some(out)
}

/// Whether a text whose whitespace runs are at most two characters (what
/// [`clean`] and [`clean_block`] make) says "nothing". Every placeholder
/// is at most 12 characters with at most one space, so longer texts are
/// not looked at: lower-casing a copy of every field value only to compare
/// it with these was ~1% of a build's instructions.
fn is_placeholder(s: &str) -> bool {
    if s.len() > 16 {
        return false;
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let low = words.join(" ").to_ascii_lowercase();
    matches!(
        low.as_str(),
        "" | "none" | "n/a" | "na" | "null" | "not provided" | "not reported" | "-" | "loading..."
    )
}

/// Like [`clean`] but keeps line breaks (paragraphs of a description): runs
/// of blank lines become one blank line.
pub fn clean_block(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for line in s.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            blank = !out.is_empty();
            continue;
        };
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(first);
        for w in words {
            out.push(' ');
            out.push_str(w);
        }
    }
    (!is_placeholder(&out)).then_some(out)
}

static NCT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bNCT[\s_-]?(\d{8})\b").expect("static regex"));

/// Registry id patterns, most specific first. Covers the WHO primary registries
/// that MSC trials use, plus EU CTIS/EudraCT numbers.
const REGISTRY_IDS: &str = concat!(
    r"NCT\d{8}",
    r"|ChiCTR(?:-[A-Z]{2,4}-)?\d{6,12}",
    r"|ISRCTN\d{8}",
    r"|ACTRN\d{14}",
    r"|EUCTR\d{4}-\d{6}-\d{2}(?:-[A-Z]{2})?",
    r"|\d{4}-5\d{5}-\d{2}-\d{2}", // CTIS: 2023-501234-12-00
    r"|\d{4}-\d{6}-\d{2}",        // EudraCT: 2019-001234-56
    r"|DRKS\d{8}",
    r"|jRCT[a-z]?\d{9,10}",
    r"|JPRN-[A-Za-z]+\d+",
    r"|UMIN\d{9}",
    r"|CTRI/\d{4}/\d{2,3}/\d{6}",
    r"|IRCT\d{8,}N\d+",
    r"|KCT\d{7}",
    r"|PACTR\d{15}",
    r"|RBR-[0-9a-z]{6,8}",
    r"|TCTR\d{11}",
    r"|SLCTR/\d{4}/\d{3}",
    r"|NL-OMON\d+|NTR\d{3,5}",
    r"|ANZCTR\d+",
);

/// [`REGISTRY_IDS`] anywhere in a text, as whole words.
static REGISTRY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b({REGISTRY_IDS})\b")).expect("static regex"));

/// [`REGISTRY_IDS`] as a whole text. Every id starts and ends with a letter
/// or digit, so the word boundaries of [`REGISTRY_RE`] always hold at a
/// text's ends and are left out here: a Unicode `\b` keeps the regex off
/// its DFA, which made each call ~30,000 instructions, ~1% of a build.
static WHOLE_REGISTRY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)^(?:{REGISTRY_IDS})$")).expect("static regex"));

/// The NCT id in `s`, upper-cased and without separators, if there is one.
pub fn find_nct(s: &str) -> Option<String> {
    NCT_RE.captures(s).map(|c| format!("NCT{}", &c[1]))
}

/// Every registry id mentioned in `text`, in order of appearance, without repeats.
/// NCT ids are normalized to upper case; other ids keep their spelling.
pub fn find_registry_ids(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in REGISTRY_RE.find_iter(text) {
        let s = m.as_str();
        let id = if s.len() == 11 && s[..3].eq_ignore_ascii_case("NCT") {
            s.to_ascii_uppercase()
        } else {
            s.to_string()
        };
        if !out.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
            out.push(id);
        }
    }
    out
}

/// Whether `s` is, as a whole, a registry id of a public trial registry
/// (as opposed to a sponsor's internal study number).
pub fn is_registry_id(s: &str) -> bool {
    WHOLE_REGISTRY_ID.is_match(s.trim())
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A status from any site's label or the API's enum name.
pub fn parse_status(s: &str) -> Option<Status> {
    let k = squash(s);
    let st = match k.as_str() {
        "recruiting" | "enrolling" | "open" | "openforrecruitment" | "recruitingnow" => {
            Status::Recruiting
        }
        "notyetrecruiting" | "notyetenrolling" | "comingsoon" | "pending" => {
            Status::NotYetRecruiting
        }
        "activenotrecruiting"
        | "activenotenrolling"
        | "active"
        | "closedtorecruitment"
        | "ongoing" => Status::ActiveNotRecruiting,
        "enrollingbyinvitation" | "byinvitation" | "invitationonly" => {
            Status::EnrollingByInvitation
        }
        "completed" | "complete" => Status::Completed,
        "suspended" => Status::Suspended,
        "terminated" | "stopped" | "stoppedearly" => Status::Terminated,
        "withdrawn" => Status::Withdrawn,
        "unknown" | "unknownstatus" => Status::Unknown,
        "available" | "expandedaccessavailable" => Status::Available,
        "nolongeravailable" => Status::NoLongerAvailable,
        "temporarilynotavailable" => Status::TemporarilyNotAvailable,
        "approvedformarketing" => Status::ApprovedForMarketing,
        "withheld" => Status::Withheld,
        _ => return None,
    };
    Some(st)
}

static PHASE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (early[\s_-]*phase[\s_-]*(?:1|i)\b)
        |(phase[\s_-]*((?:[1-4]|iv|iii|ii|i)(?:[a-c])?\b(?:\s*(?:/|&|and|-|,|\+|or|to)\s*(?:phase\s*)?(?:[1-4]|iv|iii|ii|i)(?:[a-c])?\b)*))
        |(\bnot[\s_]*applicable\b|^\s*n/?a\s*$)",
    )
    .expect("static regex")
});

fn phase_number(tok: &str) -> Option<Phase> {
    let t = tok.trim().trim_end_matches(['a', 'b', 'c', 'A', 'B', 'C']);
    match t.to_ascii_lowercase().as_str() {
        "1" | "i" => Some(Phase::Phase1),
        "2" | "ii" => Some(Phase::Phase2),
        "3" | "iii" => Some(Phase::Phase3),
        "4" | "iv" => Some(Phase::Phase4),
        _ => None,
    }
}

/// Phases from a label: "Phase 1/2", "PHASE1, PHASE2", "Phase I/II", "Phase 1 & 2",
/// "Early Phase 1", "EARLY_PHASE1", "NA", "Not Applicable". Sorted, without repeats.
pub fn parse_phases(s: &str) -> Vec<Phase> {
    let mut out = Vec::new();
    for c in PHASE_RE.captures_iter(s) {
        if c.get(1).is_some() {
            out.push(Phase::EarlyPhase1);
        } else if let Some(list) = c.get(3) {
            let list = list.as_str().to_ascii_lowercase().replace("phase", " ");
            for tok in list.split(|ch: char| !ch.is_ascii_alphanumeric()) {
                if let Some(p) = phase_number(tok) {
                    out.push(p);
                } else if tok != "and" && tok != "or" && tok != "to" && !tok.is_empty() {
                    // "1a" and the like were handled by phase_number; anything else ends the list
                }
            }
        } else if c.get(4).is_some() {
            out.push(Phase::NotApplicable);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Study type from a label or enum name.
pub fn parse_study_type(s: &str) -> Option<StudyType> {
    let k = squash(s);
    if k.starts_with("interventional") {
        Some(StudyType::Interventional)
    } else if k.starts_with("observational") {
        Some(StudyType::Observational)
    } else if k.starts_with("expandedaccess") {
        Some(StudyType::ExpandedAccess)
    } else {
        None
    }
}

/// Sex from "All", "ALL", "Both", "Female", "Women only" ...
pub fn parse_sex(s: &str) -> Option<Sex> {
    let k = squash(s);
    match k.as_str() {
        "all" | "both" | "allsexes" | "male/female" | "malefemale" | "femalemale" | "any" => {
            Some(Sex::All)
        }
        "female" | "females" | "women" | "womenonly" | "femaleonly" => Some(Sex::Female),
        "male" | "males" | "men" | "menonly" | "maleonly" => Some(Sex::Male),
        _ => None,
    }
}

static AGE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+(?:\.\d+)?)\s*(years?|yrs?|y\b|months?|mos?\b|weeks?|wks?|days?|hours?|minutes?)?")
        .expect("static regex")
});

fn unit_to_years(n: f64, unit: &str) -> f64 {
    let u = unit.to_ascii_lowercase();
    if u.starts_with("mo") {
        n / 12.0
    } else if u.starts_with('w') {
        n / 52.1775
    } else if u.starts_with('d') {
        n / 365.25
    } else if u.starts_with('h') {
        n / (365.25 * 24.0)
    } else if u.starts_with("mi") {
        n / (365.25 * 24.0 * 60.0)
    } else {
        n
    }
}

fn round_years(y: f64) -> f64 {
    (y * 10_000.0).round() / 10_000.0
}

/// One age ("18 Years", "6 Months", "28 days", "65") in years. "N/A" is `None`.
pub fn parse_age(s: &str) -> Option<f64> {
    let c = AGE_RE.captures(s)?;
    let n: f64 = c[1].parse().ok()?;
    let unit = c.get(2).map(|m| m.as_str()).unwrap_or("years");
    Some(round_years(unit_to_years(n, unit)))
}

/// An age range in any site's words: "18 to 85 years old", "18 Years to 65 Years
/// (Adult, Older Adult)", "36 years and older", "up to 17 years", "0-65 years",
/// "Child, Adult". Returns (minimum, maximum) in years; a missing bound is open.
pub fn parse_age_range(s: &str) -> (Option<f64>, Option<f64>) {
    // Drop the age-group list in parentheses that CSV exports append.
    let s = s.split('(').next().unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let nums: Vec<(f64, Option<String>)> = AGE_RE
        .captures_iter(s)
        .filter_map(|c| {
            let n: f64 = c[1].parse().ok()?;
            Some((n, c.get(2).map(|m| m.as_str().to_string())))
        })
        .collect();
    let to_years = |(n, unit): &(f64, Option<String>), fallback: Option<&String>| {
        let u = unit
            .as_deref()
            .or(fallback.map(String::as_str))
            .unwrap_or("years");
        round_years(unit_to_years(*n, u))
    };
    match nums.as_slice() {
        [] => (None, None),
        [one] => {
            let y = to_years(one, None);
            if lower.contains("up to")
                || lower.contains("under")
                || lower.contains("younger")
                || lower.contains("below")
                || lower.contains("less than")
                || lower.contains("and younger")
                || lower.contains("or younger")
                || lower.contains("max")
                || lower.trim_start().starts_with('<')
                || lower.trim_start().starts_with('≤')
            {
                (None, Some(y))
            } else {
                (Some(y), None)
            }
        }
        [a, b, ..] => {
            // "18 to 85 years": the first number takes the second's unit.
            let lo = to_years(a, b.1.as_ref());
            let hi = to_years(b, None);
            (Some(lo), Some(hi))
        }
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m))
        .map(|i| i as u32 + 1)
}

static ISO_DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\b").expect("static regex"));
static WORD_DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:(\d{1,2})\s+)?([a-z]{3,9})\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})\b")
        .expect("static regex")
});
static SLASH_DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b").expect("static regex"));

fn valid_ymd(y: u32, m: u32, d: Option<u32>) -> Option<String> {
    // Any four-digit year is a date here; whether it is a *possible* one
    // (1950..=2100) is `sanitize`'s call, which drops it with a warning. A
    // narrower range here would drop "3024-01" silently.
    if !(1000..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    match d {
        Some(d) if (1..=31).contains(&d) => Some(format!("{y:04}-{m:02}-{d:02}")),
        Some(_) => None,
        None => Some(format!("{y:04}-{m:02}")),
    }
}

/// A date in ISO form from "2024-05-16", "2024-05", "9 September 2025",
/// "Mar 17, 2025", "June 2019", "05/16/2024" (US order) or "2024-05-19 @ 5:34 PM".
/// A month-only date stays `YYYY-MM`.
pub fn parse_date(s: &str) -> Option<String> {
    if let Some(c) = ISO_DATE_RE.captures(s) {
        let y = c[1].parse().ok()?;
        let m = c[2].parse().ok()?;
        let d = c.get(3).and_then(|d| d.as_str().parse().ok());
        return valid_ymd(y, m, d);
    }
    for c in WORD_DATE_RE.captures_iter(s) {
        let Some(m) = month_number(&c[2]) else {
            continue;
        };
        let y = c[4].parse().ok()?;
        let d = c.get(1).or(c.get(3)).and_then(|d| d.as_str().parse().ok());
        return valid_ymd(y, m, d);
    }
    if let Some(c) = SLASH_DATE_RE.captures(s) {
        let m = c[1].parse().ok()?;
        let d = c[2].parse().ok()?;
        let y = c[3].parse().ok()?;
        return valid_ymd(y, m, Some(d));
    }
    None
}

/// A date as days since 1970-01-01 (for sorting and range filters); a
/// month-only date counts as the first of the month.
pub fn date_to_days(iso: &str) -> Option<i64> {
    let mut parts = iso.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next().map(|d| d.parse().ok()).unwrap_or(Some(1))?;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Split an eligibility text into inclusion and exclusion criteria, one entry
/// per criterion. Understands "Inclusion Criteria:" / "Exclusion Criteria:"
/// headings in any case, bullets (`*`, `-`, `•`, `·`), and numbering (`1.`, `1)`).
/// Text before any heading counts as inclusion.
pub fn split_criteria(text: &str) -> (Vec<String>, Vec<String>) {
    let mut inc = Vec::new();
    let mut exc = Vec::new();
    let mut in_exclusion = false;
    for raw in text.lines() {
        let line = strip_bullet(raw);
        if line.is_empty() {
            continue;
        }
        let low = line.to_ascii_lowercase();
        let heading = low.trim_end_matches(':').trim();
        if heading.starts_with("exclusion criteria")
            || heading == "exclusion"
            || heading.starts_with("key exclusion criteria")
        {
            in_exclusion = true;
            let rest = after_colon(line);
            if let Some(r) = rest {
                exc.push(r);
            }
            continue;
        }
        if heading.starts_with("inclusion criteria")
            || heading == "inclusion"
            || heading.starts_with("key inclusion criteria")
        {
            in_exclusion = false;
            if let Some(r) = after_colon(line) {
                inc.push(r);
            }
            continue;
        }
        if let Some(c) = clean(line) {
            if in_exclusion {
                exc.push(c);
            } else {
                inc.push(c);
            }
        }
    }
    (inc, exc)
}

fn after_colon(line: &str) -> Option<String> {
    let idx = line.find(':')?;
    clean(&line[idx + 1..])
}

fn strip_bullet(line: &str) -> &str {
    let mut s = line.trim();
    loop {
        let before = s;
        s = s
            .trim_start_matches(['*', '-', '•', '·', '◦', '▪', '‣', '–', '—'])
            .trim_start();
        if s == before {
            break;
        }
    }
    s
}

/// A key for matching titles across sources: lower-case words of letters and
/// digits, joined by one space.
pub fn title_key(title: &str) -> String {
    let mut out = String::new();
    for w in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// A key for comparing sponsor names across sources: "CELL ENERGY LIFE SCIENCES
/// GROUP CO. LTD" and "Cell Energy Life Sciences Group Co LTD" agree.
pub fn sponsor_key(name: &str) -> String {
    const NOISE: [&str; 14] = [
        "co",
        "ltd",
        "inc",
        "llc",
        "corp",
        "corporation",
        "company",
        "limited",
        "the",
        "gmbh",
        "sa",
        "ag",
        "plc",
        "of",
    ];
    title_key(name)
        .split(' ')
        .filter(|w| !NOISE.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "BIOLOGICAL" → "Biological", "DIETARY_SUPPLEMENT" → "Dietary Supplement",
/// "Drug" stays "Drug".
pub fn display_enum(s: &str) -> String {
    s.split(['_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The display form of the API's design enums.
pub fn display_design(s: &str) -> String {
    match s.trim() {
        "RANDOMIZED" => "Randomized".into(),
        "NON_RANDOMIZED" => "Non-Randomized".into(),
        "NA" => "N/A".into(),
        "SINGLE_GROUP" => "Single Group Assignment".into(),
        "PARALLEL" => "Parallel Assignment".into(),
        "CROSSOVER" => "Crossover Assignment".into(),
        "FACTORIAL" => "Factorial Assignment".into(),
        "SEQUENTIAL" => "Sequential Assignment".into(),
        "NONE" => "None (Open Label)".into(),
        other => display_enum(other),
    }
}

/// ClinicalTrials.gov's country names for the spellings other sites use.
pub fn normalize_country(c: &str) -> Option<String> {
    let c = clean(c)?;
    let k = squash(&c);
    let name = match k.as_str() {
        "usa" | "us" | "unitedstatesofamerica" | "unitedstates" => "United States",
        "uk" | "greatbritain" | "england" | "unitedkingdom" => "United Kingdom",
        "prc" | "peoplesrepublicofchina" | "chinamainland" | "china" => "China",
        "southkorea" | "korearepublicof" | "republicofkorea" => "Korea, Republic of",
        "russia" | "russianfederation" => "Russian Federation",
        "iran" | "iranislamicrepublicof" => "Iran, Islamic Republic of",
        "taiwan" | "taiwanprovinceofchina" => "Taiwan",
        "vietnam" | "vietnam1" => "Vietnam",
        _ => return Some(c),
    };
    Some(name.to_string())
}

/// Intervention type in display form from "Biological", "BIOLOGICAL", "Drug:" ...
pub fn intervention_type(s: &str) -> Option<String> {
    let k = squash(s);
    let t = match k.as_str() {
        "biological" | "biologic" => "Biological",
        "drug" => "Drug",
        "device" => "Device",
        "procedure" | "proceduresurgery" | "surgery" => "Procedure",
        "behavioral" | "behavioural" => "Behavioral",
        "genetic" => "Genetic",
        "radiation" => "Radiation",
        "dietarysupplement" => "Dietary Supplement",
        "combinationproduct" => "Combination Product",
        "diagnostictest" => "Diagnostic Test",
        "other" => "Other",
        _ => return None,
    };
    Some(t.to_string())
}

/// "Biological: UC-MSCs treatment" or "DRUG: Aspirin" → a typed
/// intervention; text without a known type prefix is a name alone. Page
/// dumps and CSV exports all write interventions this way.
pub fn typed_intervention(text: &str) -> crate::trial::Intervention {
    if let Some((kind, name)) = text.split_once(':') {
        if let (Some(kind), Some(name)) = (intervention_type(kind), clean(name)) {
            return crate::trial::Intervention {
                kind: Some(kind),
                name,
                ..Default::default()
            };
        }
    }
    crate::trial::Intervention {
        kind: None,
        name: text.to_string(),
        ..Default::default()
    }
}

/// Drop values no real trial has, keeping the record. Returns one message per
/// dropped value, for the indexer to print as warnings.
pub fn sanitize(t: &mut Trial) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, v) in [
        ("minimum age", &mut t.min_age_years),
        ("maximum age", &mut t.max_age_years),
    ] {
        if let Some(a) = *v {
            if !(0.0..=150.0).contains(&a) || a.is_nan() {
                warnings.push(format!("{name} {a} years is impossible; dropped"));
                *v = None;
            }
        }
    }
    let max_year = 2100;
    for (name, v) in [
        ("first posted date", &mut t.first_posted),
        ("last update date", &mut t.last_updated),
        ("start date", &mut t.start_date),
        ("completion date", &mut t.completion_date),
    ] {
        if let Some(d) = v.as_deref() {
            let year: Option<i32> = d.get(..4).and_then(|y| y.parse().ok());
            if year.is_none_or(|y| !(1950..=max_year).contains(&y)) {
                warnings.push(format!("{name} {d} is impossible; dropped"));
                *v = None;
            }
        }
    }
    if let Some(n) = t.enrollment {
        if n > 50_000_000 {
            warnings.push(format!("enrollment {n} is impossible; dropped"));
            t.enrollment = None;
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string value of the real JSON records in tests/data (the
    /// benchmark pool's titles, summaries, descriptions and criteria, and
    /// five whole API studies), the seed page dumps whole, and each line
    /// of those, with the whitespace of real files.
    fn real_strings() -> Vec<String> {
        use crate::sources::golden_pages::strings;
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut out = Vec::new();
        for dir in ["bench", "ctgov/json", "seeds"] {
            let mut paths: Vec<_> = std::fs::read_dir(data.join(dir))
                .expect("test data")
                .map(|e| e.expect("entry").path())
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).expect("test data");
                if path.extension().is_some_and(|e| e == "json") {
                    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    strings(&v, &mut out);
                } else {
                    out.push(text);
                }
            }
        }
        let lines: Vec<String> = out
            .iter()
            .flat_map(|s| s.lines().map(str::to_string))
            .collect();
        out.extend(lines);
        assert!(out.len() > 10_000, "{} strings", out.len());
        out
    }

    /// The definitions [`clean`] and [`clean_block`] replaced: each line's
    /// words joined, the lines joined, and the whole lower-cased to compare
    /// with the placeholders.
    fn clean_as_defined(s: &str) -> Option<String> {
        let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
        match out.to_ascii_lowercase().as_str() {
            "" | "none" | "n/a" | "na" | "null" | "not provided" | "not reported" | "-"
            | "loading..." => None,
            _ => Some(out),
        }
    }

    fn clean_block_as_defined(s: &str) -> Option<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut blank = false;
        for line in s.lines() {
            let t = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if t.is_empty() {
                blank = !lines.is_empty();
                continue;
            }
            if blank {
                lines.push(String::new());
                blank = false;
            }
            lines.push(t);
        }
        let joined = lines.join("\n");
        clean_as_defined(&joined).map(|_| joined)
    }

    #[test]
    fn cleaning_gives_what_its_definition_gives() {
        let mut texts = real_strings();
        for s in [
            "",
            " \t\r\n ",
            "N/A",
            " Not \n\n\n provided ",
            "NOT\u{a0}REPORTED",
            "not  provided.",
            "Loading...",
            "\n\nfirst\r\n\r\n\r\nsecond\n \nthird\n\n",
            "none of the above",
            "-",
            "--",
            "na\n",
        ] {
            texts.push(s.to_string());
        }
        let mut absent = 0;
        for s in &texts {
            assert_eq!(clean(s), clean_as_defined(s), "clean({s:?})");
            assert_eq!(
                clean_block(s),
                clean_block_as_defined(s),
                "clean_block({s:?})"
            );
            absent += usize::from(clean(s).is_none());
        }
        // The placeholders were met, not only the texts that pass.
        assert!(absent >= 8, "{absent}");
    }

    /// [`is_registry_id`] asks the anchored pattern; it was defined as the
    /// first match of the search pattern spanning the whole text.
    #[test]
    fn whole_registry_ids_are_what_the_search_pattern_finds_whole() {
        let as_defined = |s: &str| {
            let s = s.trim();
            REGISTRY_RE
                .find(s)
                .is_some_and(|m| m.start() == 0 && m.end() == s.len())
        };
        let mut words: Vec<String> = real_strings()
            .iter()
            .flat_map(|s| {
                s.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        words.sort();
        words.dedup();
        for s in [
            "NCT01234567",
            "nct01234567",
            "NCT012345678",
            "NCT01234567é",
            "ChiCTR-IPR-17012345",
            "ChiCTR2000012345",
            "EUCTR2019-001234-56-DE",
            "EUCTR2019-001234-56",
            "2019-001234-56",
            "2019-001234-56-78",
            "2023-501234-12-00",
            "2023-501234-12",
            "jRCTb012345678",
            "JPRN-UMIN000012345",
            "CTRI/2020/05/012345",
            "IRCT20200101046012N1",
            "RBR-3x8b9k",
            "NL-OMON12345",
            "NTR1234",
            " ISRCTN12345678 ",
            "ISRCTN12345678 extra",
            "DFSC-2023(CR)-01",
        ] {
            words.push(s.to_string());
        }
        let mut ids = 0;
        for w in &words {
            assert_eq!(is_registry_id(w), as_defined(w), "{w:?}");
            ids += usize::from(is_registry_id(w));
        }
        assert!(ids >= 15, "{ids}");
    }

    #[test]
    fn statuses_from_every_site() {
        assert_eq!(parse_status("Enrolling"), Some(Status::Recruiting));
        assert_eq!(parse_status("RECRUITING"), Some(Status::Recruiting));
        assert_eq!(
            parse_status("ACTIVE_NOT_RECRUITING"),
            Some(Status::ActiveNotRecruiting)
        );
        assert_eq!(
            parse_status("Active, not recruiting"),
            Some(Status::ActiveNotRecruiting)
        );
        assert_eq!(parse_status("Unknown status"), Some(Status::Unknown));
        assert_eq!(parse_status("banana"), None);
    }

    #[test]
    fn phases_in_all_spellings() {
        use Phase::*;
        assert_eq!(parse_phases("Phase 1/2"), vec![Phase1, Phase2]);
        assert_eq!(parse_phases("Phase I/II"), vec![Phase1, Phase2]);
        assert_eq!(parse_phases("Phase 1 & 2"), vec![Phase1, Phase2]);
        assert_eq!(parse_phases("PHASE1, PHASE2"), vec![Phase1, Phase2]);
        assert_eq!(parse_phases("Phase 2|Phase 3"), vec![Phase2, Phase3]);
        assert_eq!(parse_phases("Early Phase 1"), vec![EarlyPhase1]);
        assert_eq!(parse_phases("EARLY_PHASE1"), vec![EarlyPhase1]);
        assert_eq!(parse_phases("NA"), vec![NotApplicable]);
        assert_eq!(parse_phases("Not Applicable"), vec![NotApplicable]);
        assert_eq!(parse_phases("Phase 3"), vec![Phase3]);
        assert_eq!(parse_phases("Phase IIb"), vec![Phase2]);
        assert_eq!(parse_phases("Phase 7"), Vec::<Phase>::new());
    }

    #[test]
    fn ages_in_years() {
        assert_eq!(parse_age("18 Years"), Some(18.0));
        assert_eq!(parse_age("6 Months"), Some(0.5));
        assert_eq!(parse_age("N/A"), None);
        assert_eq!(
            parse_age_range("18 to 85 years old"),
            (Some(18.0), Some(85.0))
        );
        assert_eq!(
            parse_age_range("18 Years to 65 Years   (Adult, Older Adult)"),
            (Some(18.0), Some(65.0))
        );
        assert_eq!(parse_age_range("36 years and older"), (Some(36.0), None));
        assert_eq!(parse_age_range("up to 17 years"), (None, Some(17.0)));
        assert_eq!(parse_age_range("0-65 years old"), (Some(0.0), Some(65.0)));
        let (lo, hi) = parse_age_range("28 Weeks to 40 Weeks   (Child)");
        assert!((lo.unwrap() - 0.5366).abs() < 0.001 && (hi.unwrap() - 0.7666).abs() < 0.001);
        assert_eq!(parse_age_range("Child, Adult"), (None, None));
    }

    #[test]
    fn dates_to_iso() {
        assert_eq!(parse_date("2024-05-16").as_deref(), Some("2024-05-16"));
        assert_eq!(parse_date("2024-05").as_deref(), Some("2024-05"));
        assert_eq!(
            parse_date("9 September 2025").as_deref(),
            Some("2025-09-09")
        );
        assert_eq!(parse_date("Mar 17, 2025").as_deref(), Some("2025-03-17"));
        assert_eq!(parse_date("June 26, 2025").as_deref(), Some("2025-06-26"));
        assert_eq!(parse_date("February 2019").as_deref(), Some("2019-02"));
        assert_eq!(
            parse_date("2024-05-19 @ 5:34 PM").as_deref(),
            Some("2024-05-19")
        );
        assert_eq!(parse_date("Not reported"), None);
        assert_eq!(date_to_days("1970-01-01"), Some(0));
        assert_eq!(date_to_days("2000-03"), Some(11_017));
    }

    #[test]
    fn registry_ids() {
        let ids = find_registry_ids(
            "see NCT06416709 and ChiCTR2000029990, ISRCTN12345678; EudraCT 2019-001234-56",
        );
        assert_eq!(
            ids,
            vec![
                "NCT06416709",
                "ChiCTR2000029990",
                "ISRCTN12345678",
                "2019-001234-56"
            ]
        );
        assert!(is_registry_id("ChiCTR-IPR-17012345"));
        assert!(!is_registry_id("DFSC-2023(CR)-01"));
        assert_eq!(find_nct("nct 06416709").as_deref(), Some("NCT06416709"));
    }

    #[test]
    fn criteria_split() {
        let (i, e) = split_criteria(
            "Inclusion Criteria:\n\n* controlled asthma\n* age 18-30 years\n\nExclusion Criteria:\n\n* smokers",
        );
        assert_eq!(i, vec!["controlled asthma", "age 18-30 years"]);
        assert_eq!(e, vec!["smokers"]);
    }

    #[test]
    fn sponsor_keys_agree() {
        assert_eq!(
            sponsor_key("CELL ENERGY LIFE SCIENCES GROUP CO. LTD"),
            sponsor_key("Cell Energy Life Sciences Group Co LTD")
        );
    }

    #[test]
    fn sanitize_drops_impossible() {
        let mut t = Trial {
            min_age_years: Some(500.0),
            start_date: Some("3024-01-01".into()),
            ..Default::default()
        };
        let w = sanitize(&mut t);
        assert_eq!(w.len(), 2);
        assert!(t.min_age_years.is_none() && t.start_date.is_none());
    }
}
