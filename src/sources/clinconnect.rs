//! Stage 1 adapter: ClinConnect pages → [`Trial`].
//!
//! The copied page reads: the title; "Launched by SPONSOR · Mon DD, YYYY"
//! (sponsor in capitals, date of first posting); "Trial Information";
//! "Current as of <date>" (the last update); the status; "Keywords";
//! "ClinConnect Summary" (the site's lay summary); "Gender"; "Eligibility
//! criteria" (bulleted `- • ` lines under Inclusion/Exclusion headings);
//! "Trial Officials" (name, role, affiliation); "About <sponsor>" (the site's
//! marketing blurb on the sponsor, not about the trial, so never indexed);
//! "Contacts"; "Locations" ("City, State, Country"); then applicant counts,
//! a "Timeline" whose values the copy usually lacks, and "Discussion".

use super::generic::{
    age_from_criteria, criteria, find_heading, is_boilerplate, is_heading, section, values,
};
use crate::normalize::{
    clean, clean_block, find_registry_ids, is_registry_id, normalize_country, parse_age_range,
    parse_date, parse_sex, parse_status, sponsor_key,
};
use crate::trial::{Contact, Location, Trial};

/// Every heading the page uses; each ends the section before it. "About
/// <sponsor>" varies, so [`is_stop`] also ends sections at any "About " line.
const HEADINGS: [&str; 18] = [
    "Trial Information",
    "Keywords",
    "ClinConnect Summary",
    "Gender",
    "Age",
    "Ages",
    "Eligibility criteria",
    "Trial Officials",
    "Contacts",
    "Locations",
    "Patients applied",
    "People applied",
    "Timeline",
    "First submit",
    "Trial launched",
    "Trial updated",
    "Estimated completion",
    "Discussion",
];

/// Whether `text` follows this site's layout: the "Launched by … ·" line or
/// the "ClinConnect Summary" heading, and at least three more of its headings.
pub fn matches(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let launched = lines.iter().any(|l| launched_by(l).is_some());
    let summary = lines.iter().any(|l| is_heading(l, "ClinConnect Summary"));
    if !launched && !summary {
        return false;
    }
    let others = [
        "Trial Information",
        "Eligibility criteria",
        "Trial Officials",
        "Contacts",
        "Locations",
        "Timeline",
        "Keywords",
        "Gender",
    ]
    .iter()
    .filter(|h| lines.iter().any(|l| is_heading(l, h)))
    .count();
    let current = lines.iter().any(|l| l.starts_with("Current as of "));
    usize::from(launched) + usize::from(summary) + usize::from(current) + others >= 5
}

/// Extract the trial from a page of this layout.
pub fn parse(text: &str) -> Option<Trial> {
    let lines: Vec<&str> = text.lines().collect();
    let mut t = Trial::default();

    let launched_at = lines.iter().position(|l| launched_by(l).is_some());
    let header_end = launched_at
        .or_else(|| lines.iter().position(|l| is_stop(l)))
        .unwrap_or(0);
    t.title = lines[..header_end]
        .iter()
        .filter(|l| !is_boilerplate(l))
        .find_map(|l| clean(l));
    let about = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("About ").and_then(clean));
    if let Some((sponsor, date)) = launched_at.and_then(|i| launched_by(lines[i])) {
        t.sponsor = Some(sponsor_name(&sponsor, about.as_deref()));
        t.first_posted = parse_date(&date);
    }

    // Between "Trial Information" and "Keywords": "Current as of", the status.
    let info = sec(&lines, "Trial Information");
    for v in values(&info) {
        if let Some(d) = v.strip_prefix("Current as of ") {
            t.last_updated = parse_date(d);
        } else if let Some(s) = parse_status(&v) {
            t.status.get_or_insert(s);
        } else if is_registry_id(&v) {
            add_id(&mut t, &v);
        }
    }
    // An id the site prints as a line of its own anywhere above the summary.
    for l in lines
        .iter()
        .take_while(|l| !is_heading(l, "ClinConnect Summary"))
    {
        if is_registry_id(l) {
            add_id(&mut t, l.trim());
        }
    }
    t.keywords = values(&sec(&lines, "Keywords"));
    t.summary = clean_block(&sec(&lines, "ClinConnect Summary").join("\n"));
    t.sex = values(&sec(&lines, "Gender"))
        .first()
        .and_then(|v| parse_sex(v));
    for h in ["Age", "Ages"] {
        if let Some(a) = values(&sec(&lines, h)).first() {
            let (lo, hi) = parse_age_range(a);
            t.min_age_years = lo;
            t.max_age_years = hi;
        }
    }
    let (inc, exc) = criteria(&sec(&lines, "Eligibility criteria").join("\n"));
    if t.min_age_years.is_none() && t.max_age_years.is_none() {
        // The page has no age field; an inclusion criterion that states only
        // an age ("Age: 0-65 years old") is the sponsor's own bound.
        let (lo, hi) = age_from_criteria(&inc);
        t.min_age_years = lo;
        t.max_age_years = hi;
    }
    t.inclusion_criteria = inc;
    t.exclusion_criteria = exc;
    t.officials = officials(&values(&sec(&lines, "Trial Officials")));
    t.contacts = contacts(&values(&sec(&lines, "Contacts")));
    t.locations = values(&sec(&lines, "Locations"))
        .iter()
        .filter_map(|l| location(l))
        .collect();
    if let Some(i) = find_heading(&lines, "Estimated completion") {
        t.completion_date = lines
            .get(i + 1)
            .filter(|l| !is_stop(l))
            .and_then(|l| parse_date(l));
    }
    Some(t)
}

fn add_id(t: &mut Trial, id: &str) {
    for id in find_registry_ids(id) {
        if id.starts_with("NCT") && id.len() == 11 {
            t.nct_id.get_or_insert(id);
        } else {
            t.secondary_ids.push(id);
        }
    }
}

/// Whether a line is a heading that ends a section.
fn is_stop(line: &str) -> bool {
    let l = line.trim();
    HEADINGS.iter().any(|h| is_heading(l, h))
        || l.starts_with("About ")
        || l.starts_with("Discussion ")
}

/// The section under `heading`, ended by any heading or an "About" line.
fn sec<'a>(lines: &[&'a str], heading: &str) -> Vec<&'a str> {
    let Some(i) = find_heading(lines, heading) else {
        return Vec::new();
    };
    section(lines, i, &[])
        .into_iter()
        .take_while(|l| !is_stop(l))
        .collect()
}

/// ("SPONSOR", "Mar 17, 2025") from "Launched by SPONSOR · Mar 17, 2025".
fn launched_by(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("Launched by ")?;
    let (sponsor, date) = rest.rsplit_once('·')?;
    Some((clean(sponsor)?, date.trim().to_string()))
}

/// The sponsor as the site prints it in capitals, given a readable case: the
/// "About <sponsor>" heading spells the same name in title case, so when it
/// names the same sponsor its spelling is used, with the small words that
/// ClinicalTrials.gov writes in lower case ("and", "of", "the") lowered.
fn sponsor_name(upper: &str, about: Option<&str>) -> String {
    let base = match about {
        Some(a) if sponsor_key(a) == sponsor_key(upper) => a.to_string(),
        _ if upper.chars().any(char::is_lowercase) => return upper.to_string(),
        _ => upper.to_string(),
    };
    title_case(&base)
}

/// Title case for a name written in capitals: small words lower-cased
/// (except first), words without vowels ("LLC", "NHS") left in capitals.
fn title_case(name: &str) -> String {
    const SMALL: [&str; 12] = [
        "and", "of", "the", "for", "in", "at", "on", "de", "la", "du", "a", "an",
    ];
    name.split(' ')
        .enumerate()
        .map(|(i, w)| {
            let low = w.to_lowercase();
            if i > 0 && SMALL.contains(&low.as_str()) {
                return low;
            }
            if w.chars().any(char::is_lowercase) {
                return w.to_string();
            }
            let vowels = low.chars().any(|c| "aeiouy".contains(c));
            if !vowels && low.chars().filter(|c| c.is_alphabetic()).count() <= 4 {
                return w.to_string();
            }
            let mut cs = low.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const ROLES: [&str; 6] = [
    "principal investigator",
    "study director",
    "study chair",
    "sub-investigator",
    "sub investigator",
    "study coordinator",
];

/// "Trial Officials" lines: name, then role, then affiliation, repeated.
/// A name is any line that neither is a role nor follows one.
fn officials(lines: &[String]) -> Vec<Contact> {
    let mut out: Vec<Contact> = Vec::new();
    let mut after_role = false;
    for l in lines {
        if ROLES.contains(&l.to_lowercase().as_str()) {
            if let Some(c) = out.last_mut() {
                c.role = Some(l.clone());
            }
            after_role = true;
        } else if after_role {
            if let Some(c) = out.last_mut() {
                c.affiliation = Some(l.clone());
            }
            after_role = false;
        } else {
            out.push(Contact {
                name: l.clone(),
                ..Default::default()
            });
        }
    }
    out
}

/// The "Contacts" block. On the seeds it shows the same person ("Jennifer
/// Cobb", an immunologist at NIAID) under two unrelated Chinese trials, so
/// the block is the site's placeholder for its own staff, not a trial
/// contact. Only an entry that carries an e-mail or phone, which the
/// placeholder never does, is kept as a real contact.
fn contacts(lines: &[String]) -> Vec<Contact> {
    let mut out: Vec<Contact> = Vec::new();
    let mut current: Option<Contact> = None;
    for l in lines {
        if l.contains('@') {
            if let Some(c) = current.as_mut() {
                c.email.get_or_insert(l.clone());
            }
        } else if l.chars().filter(char::is_ascii_digit).count() >= 6
            && !l.chars().any(char::is_alphabetic)
        {
            if let Some(c) = current.as_mut() {
                c.phone.get_or_insert(l.clone());
            }
        } else if current
            .as_ref()
            .is_some_and(|c| c.email.is_none() && c.phone.is_none() && c.affiliation.is_none())
        {
            if let Some(c) = current.as_mut() {
                c.affiliation = Some(l.clone());
            }
        } else {
            out.extend(current.take());
            current = Some(Contact {
                name: l.clone(),
                ..Default::default()
            });
        }
    }
    out.extend(current);
    out.retain(|c| c.email.is_some() || c.phone.is_some());
    out
}

/// "Chongqing, Chongqing, China" → city, state, country; "Beijing, , China"
/// has no state; parts before the last three name the facility.
fn location(line: &str) -> Option<Location> {
    let parts: Vec<&str> = line.split(',').map(str::trim).collect();
    let opt = |s: &str| clean(s);
    let loc = match parts.as_slice() {
        [] => return None,
        [one] => Location {
            facility: opt(one),
            ..Default::default()
        },
        [city, country] => Location {
            city: opt(city),
            country: normalize_country(country),
            ..Default::default()
        },
        [head @ .., city, state, country] => Location {
            facility: opt(&head.join(", ")),
            city: opt(city),
            state: opt(state),
            country: normalize_country(country),
            ..Default::default()
        },
    };
    (loc != Location::default()).then_some(loc)
}
