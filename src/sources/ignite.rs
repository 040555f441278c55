//! Stage 1 adapter: Ignite text dumps of ClinicalTrials.gov records → [`Trial`].
//!
//! The dump is a list of `Key: Value` lines named after ClinicalTrials.gov's
//! data elements ("Study NCT ID:", "Status:", "Brief Title:", "First Post:",
//! "Eligibility Criteria:" ...), grouped under section titles on lines of
//! their own ("Study Overview", "Study Oversight"). Ignite flattens each value
//! onto one line, so eligibility criteria arrive as "Inclusion Criteria: 1. …
//! 2. … Exclusion Criteria: * …" and are split back into items here. Keys are
//! read by name, not position, so dumps of other Ignite modules (conditions,
//! design, eligibility, contacts) fill their fields too; keys not known here
//! are skipped.

use super::generic::{age_from_criteria, criteria, first_number};
use crate::normalize::{
    clean, clean_block, display_design, display_enum, find_nct, intervention_type,
    normalize_country, parse_age, parse_date, parse_phases, parse_sex, parse_status,
    parse_study_type, typed_intervention,
};
use crate::trial::{Contact, Intervention, Location, Trial};
use regex::Regex;
use std::sync::LazyLock;

/// What a known key fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Nct,
    Status,
    LastUpdated,
    FirstPosted,
    Title,
    OfficialTitle,
    Acronym,
    Sponsor,
    Organization,
    Collaborators,
    Summary,
    Description,
    Conditions,
    Keywords,
    Phases,
    StudyType,
    Enrollment,
    Sex,
    MinAge,
    MaxAge,
    AgeGroups,
    HealthyVolunteers,
    Criteria,
    StartDate,
    CompletionDate,
    PrimaryCompletionDate,
    WhyStopped,
    Allocation,
    Model,
    Purpose,
    Masking,
    SecondaryIds,
    Interventions,
    InterventionType,
    InterventionName,
    Outcomes,
    Facility,
    City,
    State,
    Country,
    OfficialName,
    OfficialRole,
    OfficialAffiliation,
    ContactName,
    ContactEmail,
    ContactPhone,
    /// A key Ignite prints that holds nothing this record keeps.
    Ignored,
}

/// Keys as ClinicalTrials.gov names the data elements, lower-cased. Several
/// spellings map to one field because Ignite's modules name them differently.
const KEYS: &[(&str, Field)] = &[
    ("study nct id", Field::Nct),
    ("nct id", Field::Nct),
    ("nct number", Field::Nct),
    ("status", Field::Status),
    ("overall status", Field::Status),
    ("recruitment status", Field::Status),
    ("last update posted", Field::LastUpdated),
    ("last update post", Field::LastUpdated),
    ("last update post date", Field::LastUpdated),
    ("first post", Field::FirstPosted),
    ("first posted", Field::FirstPosted),
    ("study first post date", Field::FirstPosted),
    ("brief title", Field::Title),
    ("official title", Field::OfficialTitle),
    ("acronym", Field::Acronym),
    ("sponsor", Field::Sponsor),
    ("lead sponsor", Field::Sponsor),
    ("lead sponsor name", Field::Sponsor),
    ("organization", Field::Organization),
    ("organization full name", Field::Organization),
    ("org full name", Field::Organization),
    ("collaborators", Field::Collaborators),
    ("collaborator", Field::Collaborators),
    ("collaborator name", Field::Collaborators),
    ("brief summary", Field::Summary),
    ("detailed description", Field::Description),
    ("conditions", Field::Conditions),
    ("condition", Field::Conditions),
    ("keywords", Field::Keywords),
    ("keyword", Field::Keywords),
    ("phase", Field::Phases),
    ("phases", Field::Phases),
    ("study type", Field::StudyType),
    ("enrollment", Field::Enrollment),
    ("enrollment count", Field::Enrollment),
    ("sex", Field::Sex),
    ("gender", Field::Sex),
    ("minimum age", Field::MinAge),
    ("maximum age", Field::MaxAge),
    ("std ages", Field::AgeGroups),
    ("standard ages", Field::AgeGroups),
    ("age groups", Field::AgeGroups),
    ("healthy volunteers", Field::HealthyVolunteers),
    ("accepts healthy volunteers", Field::HealthyVolunteers),
    ("eligibility criteria", Field::Criteria),
    ("criteria", Field::Criteria),
    ("start date", Field::StartDate),
    ("study start date", Field::StartDate),
    ("completion date", Field::CompletionDate),
    ("study completion date", Field::CompletionDate),
    ("primary completion date", Field::PrimaryCompletionDate),
    ("why stopped", Field::WhyStopped),
    ("if stopped, why?", Field::WhyStopped),
    ("allocation", Field::Allocation),
    ("intervention model", Field::Model),
    ("observational model", Field::Model),
    ("primary purpose", Field::Purpose),
    ("masking", Field::Masking),
    ("secondary ids", Field::SecondaryIds),
    ("secondary id", Field::SecondaryIds),
    ("org study id", Field::SecondaryIds),
    ("interventions", Field::Interventions),
    ("intervention type", Field::InterventionType),
    ("intervention name", Field::InterventionName),
    ("primary outcome", Field::Outcomes),
    ("primary outcome measure", Field::Outcomes),
    ("secondary outcome", Field::Outcomes),
    ("secondary outcome measure", Field::Outcomes),
    ("outcome measure", Field::Outcomes),
    ("location facility", Field::Facility),
    ("facility", Field::Facility),
    ("location city", Field::City),
    ("city", Field::City),
    ("location state", Field::State),
    ("state", Field::State),
    ("location country", Field::Country),
    ("country", Field::Country),
    ("official name", Field::OfficialName),
    ("overall official", Field::OfficialName),
    ("official role", Field::OfficialRole),
    ("official affiliation", Field::OfficialAffiliation),
    ("central contact name", Field::ContactName),
    ("contact name", Field::ContactName),
    ("central contact email", Field::ContactEmail),
    ("contact email", Field::ContactEmail),
    ("central contact phone", Field::ContactPhone),
    ("contact phone", Field::ContactPhone),
    ("ignite creation date", Field::Ignored),
    ("ignite modification date", Field::Ignored),
    ("last modification date", Field::Ignored),
    ("status verified date", Field::Ignored),
    ("last known status", Field::Ignored),
    ("delayed posting", Field::Ignored),
    ("has expanded access", Field::Ignored),
    ("study", Field::Ignored),
    ("study brief", Field::Ignored),
    ("protocol section", Field::Ignored),
];

/// Section titles Ignite prints between groups of keys; each ends the value
/// above it.
const SECTIONS: [&str; 14] = [
    "study overview",
    "study oversight",
    "conditions",
    "design",
    "arms and interventions",
    "outcomes",
    "eligibility",
    "contacts and locations",
    "sponsor/collaborators",
    "collaborators and investigators",
    "ipd sharing",
    "references",
    "dates",
    "description",
];

static KEY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z][A-Za-z0-9 ,/#?()'&.-]{0,60}?)\s*:(?:\s+(.*))?$").expect("static regex")
});

fn field(key: &str) -> Option<Field> {
    let k = key.trim().to_lowercase();
    KEYS.iter().find(|(name, _)| *name == k).map(|(_, f)| *f)
}

/// A `Key: value` line: the key and the (possibly empty) value. A key Ignite
/// is not known to print still counts when it reads like a label (a few
/// capitalised words), so it ends the value above instead of joining it.
fn key_line(line: &str) -> Option<(Option<Field>, String)> {
    let c = KEY_RE.captures(line.trim())?;
    let key = c.get(1)?.as_str();
    let value = c.get(2).map_or("", |m| m.as_str()).to_string();
    if let Some(f) = field(key) {
        return Some((Some(f), value));
    }
    let words: Vec<&str> = key.split_whitespace().collect();
    let label_like = words.len() <= 8
        && words
            .first()
            .is_some_and(|w| w.starts_with(char::is_uppercase))
        && words.iter().all(|w| {
            w.starts_with(|c: char| c.is_uppercase() || !c.is_alphabetic())
                || matches!(
                    *w,
                    "a" | "an" | "of" | "the" | "if" | "is" | "in" | "for" | "and" | "to"
                )
        });
    label_like.then_some((None, value))
}

/// Whether `text` is an Ignite dump: a `Study NCT ID:` line with two more
/// known keys, or five known keys with an `NCT ID:` or Ignite date line.
/// Lines must start with the key, so prose quoting one key is not enough.
pub fn matches(text: &str) -> bool {
    let mut keys: Vec<Field> = Vec::new();
    let mut study_nct = false;
    let mut ignite = false;
    for line in text.lines().take(2000) {
        let l = line.trim();
        let Some((Some(f), _)) = key_line(l) else {
            continue;
        };
        let low = l.to_lowercase();
        study_nct |= low.starts_with("study nct id:");
        ignite |= low.starts_with("ignite creation date:") || low.starts_with("nct id:");
        if f != Field::Ignored && !keys.contains(&f) {
            keys.push(f);
        }
    }
    (study_nct && keys.len() >= 3) || (ignite && keys.len() >= 5)
}

/// Extract the trial from a dump of this layout.
pub fn parse(text: &str) -> Option<Trial> {
    let mut entries: Vec<(Field, String)> = Vec::new();
    // Lines that follow a key line without being one continue its value.
    let mut open = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(cur) = entries.last_mut().filter(|_| open) {
            if cur.0 == Field::Criteria && is_criteria_heading(l) {
                cur.1.push('\n');
                cur.1.push_str(l);
                continue;
            }
        }
        if let Some((f, value)) = key_line(l) {
            open = f.is_some();
            if let Some(f) = f {
                entries.push((f, value));
            }
            continue;
        }
        if SECTIONS.contains(&l.to_lowercase().as_str()) {
            open = false;
            continue;
        }
        if open {
            if let Some(cur) = entries.last_mut() {
                cur.1.push('\n');
                cur.1.push_str(line);
            }
        }
    }

    let mut t = Trial::default();
    let mut organization = None;
    let mut primary_completion = None;
    let mut min_max_seen = false;
    let mut pending_type: Option<String> = None;
    let mut location: Option<Location> = None;
    for (f, raw) in entries {
        let one = || clean(&raw);
        match f {
            Field::Nct => {
                if t.nct_id.is_none() {
                    t.nct_id = find_nct(&raw);
                }
            }
            Field::Status => {
                if t.status.is_none() {
                    t.status = parse_status(&raw);
                }
            }
            Field::LastUpdated => set_date(&mut t.last_updated, &raw),
            Field::FirstPosted => set_date(&mut t.first_posted, &raw),
            Field::StartDate => set_date(&mut t.start_date, &raw),
            Field::CompletionDate => set_date(&mut t.completion_date, &raw),
            Field::PrimaryCompletionDate => set_date(&mut primary_completion, &raw),
            Field::Title => set(&mut t.title, one()),
            Field::OfficialTitle => set(&mut t.official_title, one()),
            Field::Acronym => set(&mut t.acronym, one()),
            Field::Sponsor => set(&mut t.sponsor, one()),
            Field::Organization => set(&mut organization, one()),
            Field::Collaborators => t.collaborators.extend(list(&raw, false)),
            Field::Summary => append_block(&mut t.summary, &raw),
            Field::Description => append_block(&mut t.description, &raw),
            Field::Conditions => t.conditions.extend(list(&raw, false)),
            Field::Keywords => t.keywords.extend(list(&raw, true)),
            Field::Phases => t.phases.extend(parse_phases(&raw)),
            Field::StudyType => {
                if t.study_type.is_none() {
                    t.study_type = parse_study_type(&raw);
                }
            }
            Field::Enrollment => {
                if t.enrollment.is_none() {
                    t.enrollment = first_number(&raw);
                }
            }
            Field::Sex => {
                if t.sex.is_none() {
                    t.sex = parse_sex(&raw);
                }
            }
            Field::MinAge => {
                min_max_seen = true;
                t.min_age_years = t.min_age_years.or_else(|| parse_age(&raw));
            }
            Field::MaxAge => {
                min_max_seen = true;
                t.max_age_years = t.max_age_years.or_else(|| parse_age(&raw));
            }
            Field::AgeGroups => {
                for g in list(&raw, true) {
                    t.age_groups.push(display_enum(&g));
                }
            }
            Field::HealthyVolunteers => {
                t.healthy_volunteers = match raw.trim().to_lowercase().as_str() {
                    "true" | "yes" | "accepts healthy volunteers" => Some(true),
                    "false" | "no" => Some(false),
                    _ => t.healthy_volunteers,
                }
            }
            Field::Criteria => {
                let (inc, exc) = criteria(&unflatten_criteria(&raw));
                t.inclusion_criteria.extend(inc);
                t.exclusion_criteria.extend(exc);
            }
            Field::WhyStopped => {
                // Ignite prints "Not Stopped" for trials that run on.
                if !raw.trim().eq_ignore_ascii_case("not stopped") {
                    set(&mut t.why_stopped, one());
                }
            }
            Field::Allocation => set(&mut t.design.allocation, one().map(|v| display_design(&v))),
            Field::Model => set(&mut t.design.model, one().map(|v| display_design(&v))),
            Field::Purpose => set(&mut t.design.purpose, one().map(|v| display_design(&v))),
            Field::Masking => set(&mut t.design.masking, one().map(|v| display_design(&v))),
            Field::SecondaryIds => t.secondary_ids.extend(list(&raw, false)),
            Field::Interventions => {
                for item in list(&raw, false) {
                    t.interventions.push(typed_intervention(&item));
                }
            }
            Field::InterventionType => pending_type = intervention_type(&raw),
            Field::InterventionName => {
                if let Some(name) = one() {
                    t.interventions.push(Intervention {
                        kind: pending_type.take(),
                        name,
                        ..Default::default()
                    });
                }
            }
            Field::Outcomes => t.outcomes.extend(one()),
            Field::Facility | Field::City | Field::State | Field::Country => {
                let loc = location.get_or_insert_with(Location::default);
                let slot = match f {
                    Field::Facility => &mut loc.facility,
                    Field::City => &mut loc.city,
                    Field::State => &mut loc.state,
                    _ => &mut loc.country,
                };
                // A key seen again starts the next site.
                if slot.is_some() {
                    t.locations.extend(location.take());
                    let loc = location.get_or_insert_with(Location::default);
                    store_location(loc, f, &raw);
                } else {
                    store_location(loc, f, &raw);
                }
            }
            Field::OfficialName => {
                if let Some(name) = one() {
                    t.officials.push(Contact {
                        name,
                        ..Default::default()
                    });
                }
            }
            Field::OfficialRole => {
                if let Some(c) = t.officials.last_mut() {
                    c.role = one().map(|v| display_enum(&v));
                }
            }
            Field::OfficialAffiliation => {
                if let Some(c) = t.officials.last_mut() {
                    c.affiliation = one();
                }
            }
            Field::ContactName => {
                if let Some(name) = one() {
                    t.contacts.push(Contact {
                        name,
                        role: Some("Contact".into()),
                        ..Default::default()
                    });
                }
            }
            Field::ContactEmail => {
                if let Some(c) = t.contacts.last_mut() {
                    c.email = one();
                }
            }
            Field::ContactPhone => {
                if let Some(c) = t.contacts.last_mut() {
                    c.phone = one();
                }
            }
            Field::Ignored => {}
        }
    }
    t.locations.extend(location);
    if t.sponsor.is_none() {
        t.sponsor = organization;
    }
    if t.completion_date.is_none() {
        t.completion_date = primary_completion;
    }
    if !min_max_seen {
        let (lo, hi) = age_from_criteria(&t.inclusion_criteria);
        t.min_age_years = lo;
        t.max_age_years = hi;
    }
    Some(t)
}

fn set(slot: &mut Option<String>, v: Option<String>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn set_date(slot: &mut Option<String>, raw: &str) {
    if slot.is_none() {
        *slot = parse_date(raw);
    }
}

/// A repeated key (Ignite prints "Detailed Description:" twice when the
/// record's text was split) continues the same text.
fn append_block(slot: &mut Option<String>, raw: &str) {
    let Some(v) = clean_block(raw) else { return };
    match slot {
        Some(s) => {
            s.push_str("\n\n");
            s.push_str(&v);
        }
        None => *slot = Some(v),
    }
}

/// A list value: items on lines of their own or separated by `;` or `|`
/// (and by `,` when `commas`, for keywords and age groups; condition names
/// such as "Carcinoma, Non-Small-Cell Lung" keep theirs).
fn list(raw: &str, commas: bool) -> Vec<String> {
    raw.split(|c| c == '\n' || c == ';' || c == '|' || (commas && c == ','))
        .filter_map(|s| clean(s.trim().trim_start_matches(['*', '-', '•']).trim()))
        .collect()
}

fn store_location(loc: &mut Location, f: Field, raw: &str) {
    match f {
        Field::Facility => loc.facility = clean(raw),
        Field::City => loc.city = clean(raw),
        Field::State => loc.state = clean(raw),
        _ => loc.country = normalize_country(raw),
    }
}

fn is_criteria_heading(l: &str) -> bool {
    let low = l.to_lowercase();
    [
        "inclusion criteria",
        "exclusion criteria",
        "key inclusion",
        "key exclusion",
    ]
    .iter()
    .any(|h| low.starts_with(h))
}

static CRITERIA_HEADING_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)((?:key\s+)?(?:inclusion|exclusion)\s+criteria\s*:)").expect("static regex")
});
static INLINE_BULLET_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s+[*•]\s+").expect("static regex"));
static INLINE_NUMBER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)(\d{1,2})[.)]\s").expect("static regex"));

/// Put Ignite's one-line criteria back on lines: headings and `*` bullets
/// start lines, and so do list numbers, but only when they count up from 1
/// ("1. … 2. … 3. …"), so "18.5", "grade 2. " or "Day 1." inside a sentence
/// does not split it.
fn unflatten_criteria(raw: &str) -> String {
    let s = CRITERIA_HEADING_RE.replace_all(raw, "\n$1\n");
    let s = INLINE_BULLET_RE.replace_all(&s, "\n* ");
    let mut out = String::with_capacity(s.len() + 64);
    for line in s.lines() {
        let mut expected = 1u32;
        let mut last = 0;
        for c in INLINE_NUMBER_RE.captures_iter(line) {
            let (Some(whole), Some(n)) = (c.get(0), c.get(1)) else {
                continue;
            };
            let Ok(n) = n.as_str().parse::<u32>() else {
                continue;
            };
            if n == expected {
                let at = whole.start();
                out.push_str(&line[last..at]);
                out.push('\n');
                last = at;
                expected = n + 1;
            }
        }
        out.push_str(&line[last..]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::{Phase, Sex, Status};

    #[test]
    fn flattened_criteria_come_apart() {
        let s = "Inclusion Criteria: 1. Healthy, 18 55 years. 2. BMI ≥ 18.5 and ≤ 32.0 kg/m2 3. Day 1. visit Exclusion Criteria: * smokers * grade 2. toxicity";
        let (i, e) = criteria(&unflatten_criteria(s));
        assert_eq!(
            i,
            vec![
                "Healthy, 18 55 years.",
                "BMI ≥ 18.5 and ≤ 32.0 kg/m2",
                "Day 1. visit"
            ]
        );
        assert_eq!(e, vec!["smokers", "grade 2. toxicity"]);
    }

    #[test]
    fn other_modules_fill_their_fields() {
        // Synthetic: an Ignite-style dump with keys beyond seed 001's.
        let text = "Ignite Creation Date: 2025-12-24 @ 3:36 PM\nNCT ID: NCT01234567\nBrief Title: A Test\nOverall Status: COMPLETED\nPhases: PHASE1, PHASE2\nConditions: ARDS; Sepsis\nEnrollment Count: 40\nSex: FEMALE\nMinimum Age: 18 Years\nMaximum Age: 65 Years\nStd Ages: ADULT, OLDER_ADULT\nHealthy Volunteers: False\nInterventions: DRUG: Aspirin; Biological: MSC\nEligibility Criteria: Inclusion Criteria: * adults Exclusion Criteria: * pregnancy\n";
        assert!(matches(text));
        let t = parse(text).expect("record");
        assert_eq!(t.nct_id.as_deref(), Some("NCT01234567"));
        assert_eq!(t.status, Some(Status::Completed));
        assert_eq!(t.phases, vec![Phase::Phase1, Phase::Phase2]);
        assert_eq!(t.conditions, vec!["ARDS", "Sepsis"]);
        assert_eq!(t.enrollment, Some(40));
        assert_eq!(t.sex, Some(Sex::Female));
        assert_eq!((t.min_age_years, t.max_age_years), (Some(18.0), Some(65.0)));
        assert_eq!(t.age_groups, vec!["Adult", "Older Adult"]);
        assert_eq!(t.healthy_volunteers, Some(false));
        assert_eq!(t.interventions.len(), 2);
        assert_eq!(t.interventions[0].kind.as_deref(), Some("Drug"));
        assert_eq!(t.inclusion_criteria, vec!["adults"]);
        assert_eq!(t.exclusion_criteria, vec!["pregnancy"]);
    }

    #[test]
    fn prose_quoting_a_key_is_not_ignite() {
        assert!(!matches(
            "Our records list the Study NCT ID: NCT01234567 and more.\n"
        ));
        assert!(!matches("Study NCT ID: NCT01234567\nSee you.\n"));
    }
}
