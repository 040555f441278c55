//! Stage 1 adapter: ClinicalTrials.Veeva pages → [`Trial`].
//!
//! The copied page starts with the site name and "Menu", then the title, a
//! one-letter avatar and the sponsor. The rest is a sequence of headings on
//! lines of their own ("Status and phase", "Conditions", "Treatments", "Study
//! type", "Identifiers", "About", "Enrollment", "Sex", "Ages", "Volunteers",
//! "Inclusion criteria", "Exclusion criteria", "Trial design" with its own
//! sub-headings, arms, "Trial contacts and locations", "Central trial
//! contact"), each followed by its values. The footer ("Data sourced from
//! clinicaltrials.gov", "© Copyright ... Veeva Systems") is site furniture.

use super::generic::{
    criteria, find_heading, first_number, is_boilerplate, is_heading, section, section_of, values,
};
use crate::normalize::{
    clean, clean_block, find_nct, parse_age_range, parse_phases, parse_sex, parse_status,
    parse_study_type, typed_intervention,
};
use crate::trial::{Contact, Trial};

/// Every heading the page uses; each ends the section before it.
const HEADINGS: [&str; 27] = [
    "Status and phase",
    "Conditions",
    "Treatments",
    "Study type",
    "Funder types",
    "Identifiers",
    "Details and patient eligibility",
    "About",
    "Description",
    "Enrollment",
    "Sex",
    "Ages",
    "Volunteers",
    "Inclusion criteria",
    "Exclusion criteria",
    "Trial design",
    "Primary purpose",
    "Allocation",
    "Interventional model",
    "Observational model",
    "Time perspective",
    "Masking",
    "Trial contacts and locations",
    "Central trial contact",
    "Sites",
    "Trial documents",
    "Outcomes",
];

/// Headings that only this site prints, used for detection.
const MARKERS: [&str; 7] = [
    "Status and phase",
    "Treatments",
    "Funder types",
    "Identifiers",
    "Details and patient eligibility",
    "Trial contacts and locations",
    "Central trial contact",
];

/// Whether `text` follows this site's layout: four of the site's own headings
/// with its name on the page, or six headings without it.
pub fn matches(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let found = MARKERS
        .iter()
        .filter(|m| lines.iter().any(|l| is_heading(l, m)))
        .count();
    let branded = text.contains("ClinicalTrials.Veeva") || text.contains("Veeva Systems");
    (branded && found >= 4) || found >= 6
}

/// Extract the trial from a page of this layout.
pub fn parse(text: &str) -> Option<Trial> {
    let lines: Vec<&str> = text.lines().collect();
    let mut t = Trial::default();
    let sec = |h: &str| section_of(&lines, h, &HEADINGS);

    let first_heading = lines
        .iter()
        .position(|l| HEADINGS.iter().any(|h| is_heading(l, h)))
        .unwrap_or(lines.len());
    read_header(&lines[..first_heading], &mut t);

    for v in values(&sec("Status and phase")) {
        if let Some(s) = parse_status(&v) {
            t.status.get_or_insert(s);
        } else {
            t.phases.extend(parse_phases(&v));
        }
    }
    t.conditions = values(&sec("Conditions"));
    t.interventions = values(&sec("Treatments"))
        .iter()
        .map(|v| typed_intervention(v))
        .collect();
    t.study_type = values(&sec("Study type"))
        .first()
        .and_then(|v| parse_study_type(v));
    for v in values(&sec("Identifiers")) {
        match find_nct(&v) {
            Some(nct) if v.split_whitespace().count() == 1 => {
                t.nct_id.get_or_insert(nct);
            }
            _ => t.secondary_ids.push(v),
        }
    }
    t.summary = clean_block(&sec("About").join("\n"));
    t.description = clean_block(&sec("Description").join("\n"));
    t.enrollment = values(&sec("Enrollment"))
        .first()
        .and_then(|v| first_number(v));
    t.sex = values(&sec("Sex")).first().and_then(|v| parse_sex(v));
    if let Some(ages) = values(&sec("Ages")).first() {
        let (lo, hi) = parse_age_range(ages);
        t.min_age_years = lo;
        t.max_age_years = hi;
    }
    t.healthy_volunteers = values(&sec("Volunteers"))
        .first()
        .and_then(|v| healthy_volunteers(v));
    t.inclusion_criteria = criteria(&sec("Inclusion criteria").join("\n")).0;
    t.exclusion_criteria = criteria(&sec("Exclusion criteria").join("\n")).0;

    let one = |h: &str| values(&sec(h)).into_iter().next();
    t.design.purpose = one("Primary purpose");
    t.design.allocation = one("Allocation");
    t.design.model = one("Interventional model").or_else(|| one("Observational model"));
    t.design.masking = one("Masking").map(|m| {
        // The site lower-cases ClinicalTrials.gov's "None (Open Label)".
        if m.to_lowercase().starts_with("none") {
            "None (Open Label)".to_string()
        } else {
            m
        }
    });

    t.contacts = central_contacts(&lines);
    Some(t)
}

/// Title and sponsor from the lines above the first heading: the title is the
/// first line that is not site furniture; the sponsor follows the one- or
/// two-letter avatar the site draws from its initial.
fn read_header(lines: &[&str], t: &mut Trial) {
    let mut rest = lines
        .iter()
        .filter(|l| !is_boilerplate(l) && !l.contains("ClinicalTrials.Veeva"))
        .filter_map(|l| clean(l));
    t.title = rest.next();
    for line in rest {
        let avatar = line.chars().count() <= 2 && line.chars().all(char::is_alphabetic);
        if !avatar && t.sponsor.is_none() {
            t.sponsor = Some(line);
        }
    }
}

/// "No Healthy Volunteers" → false, "Accepts Healthy Volunteers" → true.
fn healthy_volunteers(s: &str) -> Option<bool> {
    let l = s.to_lowercase();
    if !l.contains("healthy") && !matches!(l.as_str(), "yes" | "no") {
        return None;
    }
    Some(!(l.starts_with("no") || l.contains("not accept") || l.contains("does not")))
}

/// The "Central trial contact" block: a name line ("Qiang Li, Dr."), then
/// optionally e-mail and phone lines. The block ends at the site footer.
fn central_contacts(lines: &[&str]) -> Vec<Contact> {
    let Some(i) = find_heading(lines, "Central trial contact") else {
        return Vec::new();
    };
    let mut out: Vec<Contact> = Vec::new();
    for v in values(&section(lines, i, &HEADINGS)) {
        if v.contains('@') {
            if let Some(c) = out.last_mut() {
                c.email.get_or_insert(v);
            }
        } else if v.chars().filter(char::is_ascii_digit).count() >= 6
            && v.chars()
                .all(|c| !c.is_alphabetic() || c == 'x' || c == 'e')
        {
            if let Some(c) = out.last_mut() {
                c.phone.get_or_insert(v);
            }
        } else {
            out.push(Contact {
                name: v,
                role: Some("Contact".into()),
                ..Default::default()
            });
        }
    }
    out
}
