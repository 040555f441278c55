//! Stage 1 adapter: ClinicalTrials.gov CSV exports → [`Trial`]s, streamed row
//! by row.
//!
//! Two exports exist: the classic site's "Download" (27 columns: `Rank`,
//! `NCT Number`, `Title`, ... `URL`; display values such as "Recruiting",
//! "Phase 1|Phase 2") and the current site's (29+ columns: `NCT Number`,
//! `Study Title`, `Study URL`, ...; enum values such as "RECRUITING",
//! "PHASE1|PHASE2"). Columns are found by header name, never by position,
//! because both sites let users choose and reorder columns. Lists are joined
//! by `|`. One `StringRecord` is reused for every row; a broken row (wrong
//! field count, bad bytes) becomes a warning naming the row and the rest of
//! the file is read.

use super::ctgov_json::{age_group, design_value};
use super::ctgov_xml::masking_label;
use super::{Item, SkipReason};
use crate::normalize::{
    clean, clean_block, find_nct, normalize_country, parse_age_range, parse_date, parse_phases,
    parse_sex, parse_status, parse_study_type, typed_intervention,
};
use crate::trial::{Format, Location, Trial};
use std::io::BufRead;

/// The classic export's columns (all 27).
const CLASSIC: [&str; 27] = [
    "Rank",
    "NCT Number",
    "Title",
    "Acronym",
    "Status",
    "Study Results",
    "Conditions",
    "Interventions",
    "Outcome Measures",
    "Sponsor/Collaborators",
    "Gender",
    "Age",
    "Phases",
    "Enrollment",
    "Funded Bys",
    "Study Type",
    "Study Designs",
    "Other IDs",
    "Start Date",
    "Primary Completion Date",
    "Completion Date",
    "First Posted",
    "Results First Posted",
    "Last Update Posted",
    "Locations",
    "Study Documents",
    "URL",
];

/// The current export's columns (the 30 the site offers by default).
const CURRENT: [&str; 30] = [
    "NCT Number",
    "Study Title",
    "Study URL",
    "Acronym",
    "Study Status",
    "Brief Summary",
    "Study Results",
    "Conditions",
    "Interventions",
    "Primary Outcome Measures",
    "Secondary Outcome Measures",
    "Other Outcome Measures",
    "Sponsor",
    "Collaborators",
    "Sex",
    "Age",
    "Phases",
    "Enrollment",
    "Funder Type",
    "Study Type",
    "Study Design",
    "Other IDs",
    "Start Date",
    "Primary Completion Date",
    "Completion Date",
    "First Posted",
    "Results First Posted",
    "Last Update Posted",
    "Locations",
    "Study Documents",
];

/// Which CSV export a header line is, if any. The header must start the text
/// (a BOM allowed), name `NCT Number` as a column, and share at least five
/// more column names with one export, so a page that merely mentions "NCT
/// Number" is not taken for a CSV.
pub fn detect_header(text: &str) -> Option<Format> {
    let first = text.trim_start_matches('\u{feff}').lines().next()?;
    let cols: Vec<&str> = first
        .split(',')
        .map(|c| c.trim().trim_matches('"').trim())
        .collect();
    if !cols.contains(&"NCT Number") {
        return None;
    }
    let score = |known: &[&str]| cols.iter().filter(|c| known.contains(c)).count();
    let (classic, current) = (score(&CLASSIC), score(&CURRENT));
    // "NCT Number" itself counts in both, hence 6.
    if current >= 6 && (current > classic || cols.contains(&"Study Title")) {
        Some(Format::CtgovCsv)
    } else if classic >= 6 {
        Some(Format::CtgovCsvClassic)
    } else {
        None
    }
}

/// Column positions found in the header.
#[derive(Default)]
struct Columns {
    nct: Option<usize>,
    title: Option<usize>,
    acronym: Option<usize>,
    status: Option<usize>,
    summary: Option<usize>,
    conditions: Option<usize>,
    interventions: Option<usize>,
    /// Outcome columns: "Outcome Measures" (classic), primary/secondary/other (current).
    outcomes: Vec<usize>,
    /// Classic "Sponsor/Collaborators": the first is the sponsor.
    sponsor_collaborators: Option<usize>,
    sponsor: Option<usize>,
    collaborators: Option<usize>,
    sex: Option<usize>,
    age: Option<usize>,
    phases: Option<usize>,
    enrollment: Option<usize>,
    study_type: Option<usize>,
    design: Option<usize>,
    other_ids: Option<usize>,
    start: Option<usize>,
    completion: Option<usize>,
    first_posted: Option<usize>,
    last_updated: Option<usize>,
    locations: Option<usize>,
}

impl Columns {
    fn from_header(h: &csv::StringRecord) -> Columns {
        let mut c = Columns::default();
        for (i, name) in h.iter().enumerate() {
            let name = name.trim_start_matches('\u{feff}').trim();
            match name {
                "NCT Number" => c.nct = Some(i),
                "Title" | "Study Title" => c.title = Some(i),
                "Acronym" => c.acronym = Some(i),
                "Status" | "Study Status" => c.status = Some(i),
                "Brief Summary" => c.summary = Some(i),
                "Conditions" => c.conditions = Some(i),
                "Interventions" => c.interventions = Some(i),
                "Outcome Measures"
                | "Primary Outcome Measures"
                | "Secondary Outcome Measures"
                | "Other Outcome Measures" => c.outcomes.push(i),
                "Sponsor/Collaborators" => c.sponsor_collaborators = Some(i),
                "Sponsor" => c.sponsor = Some(i),
                "Collaborators" => c.collaborators = Some(i),
                "Gender" | "Sex" => c.sex = Some(i),
                "Age" => c.age = Some(i),
                "Phases" | "Phase" => c.phases = Some(i),
                "Enrollment" => c.enrollment = Some(i),
                "Study Type" => c.study_type = Some(i),
                "Study Designs" | "Study Design" => c.design = Some(i),
                "Other IDs" => c.other_ids = Some(i),
                "Start Date" => c.start = Some(i),
                "Completion Date" => c.completion = Some(i),
                "First Posted" => c.first_posted = Some(i),
                "Last Update Posted" => c.last_updated = Some(i),
                "Locations" => c.locations = Some(i),
                _ => {}
            }
        }
        c
    }
}

/// Read every row of a CSV export.
pub fn read<R: BufRead>(
    reader: R,
    format: Format,
    emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    let _ = format; // both exports are read by header names; the names differ, not the logic
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| SkipReason::Malformed(format!("CSV header: {}", csv_reason(&e))))?
        .clone();
    let cols = Columns::from_header(&header);
    if cols.nct.is_none() {
        return Err(SkipReason::Malformed(
            "CSV without an \"NCT Number\" column".into(),
        ));
    }
    let mut record = csv::StringRecord::new();
    // Data rows counted from 1 after the header. (No line number: with CRLF
    // ends the csv crate's line count lags one line behind at a row's start,
    // and a quoted field may span lines anyway.)
    let mut row = 0usize;
    loop {
        row += 1;
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                emit(Item::Warning(format!(
                    "row {row}: {}; row skipped",
                    csv_reason(&e)
                )));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    // The stream itself failed; nothing after this can be read.
                    return Ok(());
                }
                continue;
            }
        }
        // Both exports fill this cell with exactly one NCT id. Anything else
        // means the row is damaged, typically an unclosed quote that merged
        // it with the next line(s) into a record that happens to have the
        // right number of fields.
        let nct_cell = cols.nct.and_then(|i| record.get(i)).unwrap_or("").trim();
        if !nct_cell.is_empty() && !is_nct(nct_cell) {
            let shown: String = nct_cell.chars().take(40).collect();
            emit(Item::Warning(format!(
                "row {row}: NCT Number cell {shown:?} is not an NCT id (broken quoting?); row skipped"
            )));
            continue;
        }
        let t = convert(&record, &cols);
        if t.nct_id.is_none() && t.title.is_none() {
            emit(Item::Warning(format!(
                "row {row}: no NCT number and no title; row skipped"
            )));
            continue;
        }
        emit(Item::Trial(Box::new(t)));
    }
    Ok(())
}

fn is_nct(s: &str) -> bool {
    // Bytes, not str slices: a multi-byte character must not panic here.
    let b = s.as_bytes();
    b.len() == 11 && b[..3].eq_ignore_ascii_case(b"NCT") && b[3..].iter().all(u8::is_ascii_digit)
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len} (broken quoting?)"),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => e.to_string(),
    }
}

/// The `|`-joined parts of a list cell, cleaned.
fn parts(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('|').filter_map(clean)
}

/// The part of a location string that is a postal code (the current export
/// puts one between state and country).
fn looks_like_zip(s: &str) -> bool {
    s.len() <= 12
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
}

/// Words that mark a part of an address as (part of) a facility name rather
/// than a city.
fn looks_like_facility(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "hospital",
        "universit",
        "clinic",
        "center",
        "centre",
        "institut",
        "department",
        "klinik",
        "campus",
        "school",
        "college",
        "foundation",
    ];
    let low = s.to_lowercase();
    WORDS.iter().any(|w| low.contains(w))
}

/// One location of a `Locations` cell: "Facility, City, State, Country", where
/// the facility may itself hold commas, the state may be missing, and the
/// country may be written "Korea, Republic of".
pub(crate) fn parse_location(s: &str) -> Option<Location> {
    let mut p: Vec<String> = s.split(',').filter_map(clean).collect();
    let mut country = p.pop()?;
    // "Korea, Republic of", "Iran, Islamic Republic of", "Congo, The Democratic Republic of the".
    let low = country.to_ascii_lowercase();
    if (low.ends_with(" of") || low.ends_with(" of the") || low == "republic of") && !p.is_empty() {
        if let Some(head) = p.pop() {
            country = format!("{head}, {country}");
        }
    }
    if p.last().is_some_and(|z| looks_like_zip(z)) {
        p.pop();
    }
    let mut loc = Location {
        country: normalize_country(&country),
        ..Default::default()
    };
    match p.len() {
        0 => {}
        1 => loc.city = p.pop(),
        2 => {
            loc.city = p.pop();
            loc.facility = p.pop();
        }
        n => {
            // Facility, City, State: unless the would-be city is plainly part
            // of the facility's name ("Dept X, University of Ulm, Ulm").
            if looks_like_facility(&p[n - 2]) && !looks_like_facility(&p[n - 1]) {
                loc.city = p.pop();
            } else {
                loc.state = p.pop();
                loc.city = p.pop();
            }
            loc.facility = clean(&p.join(", "));
        }
    }
    Some(loc)
}

fn convert(r: &csv::StringRecord, c: &Columns) -> Trial {
    let get = |i: Option<usize>| i.and_then(|i| r.get(i)).unwrap_or("");
    let mut t = Trial::default();
    let nct = get(c.nct);
    t.nct_id = find_nct(nct).or_else(|| clean(nct));
    t.title = clean(get(c.title));
    t.acronym = clean(get(c.acronym));
    t.status = parse_status(get(c.status));
    t.summary = clean_block(get(c.summary));
    t.conditions = parts(get(c.conditions)).collect();
    // "Biological: Mesenchymal Stem Cells", "DRUG: Pembrolizumab".
    t.interventions = parts(get(c.interventions))
        .map(|i| typed_intervention(&i))
        .collect();
    for &i in &c.outcomes {
        t.outcomes.extend(parts(r.get(i).unwrap_or("")));
    }
    let mut sc = parts(get(c.sponsor_collaborators));
    t.sponsor = sc.next().or_else(|| clean(get(c.sponsor)));
    t.collaborators = sc.chain(parts(get(c.collaborators))).collect();
    t.sex = parse_sex(get(c.sex));
    let age = get(c.age);
    let (lo, hi) = parse_age_range(age);
    t.min_age_years = lo;
    t.max_age_years = hi;
    // Groups in parentheses after the range (classic), or the whole cell
    // ("Child, Adult, Older Adult"; current: "ADULT, OLDER_ADULT").
    let groups = match (age.find('('), age.rfind(')')) {
        (Some(a), Some(b)) if a < b => &age[a + 1..b],
        _ => age,
    };
    t.age_groups = groups.split(',').filter_map(age_group).collect();
    for p in get(c.phases).split('|') {
        t.phases.extend(parse_phases(p));
    }
    t.enrollment = get(c.enrollment).trim().parse().ok();
    t.study_type = parse_study_type(get(c.study_type));
    for part in get(c.design).split('|') {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "allocation" => t.design.allocation = design_value(value),
            "intervention model" => t.design.model = design_value(value),
            "masking" => t.design.masking = masking_label(value),
            "primary purpose" => t.design.purpose = design_value(value),
            _ => {}
        }
    }
    t.secondary_ids = parts(get(c.other_ids)).collect();
    t.start_date = parse_date(get(c.start));
    t.completion_date = parse_date(get(c.completion));
    t.first_posted = parse_date(get(c.first_posted));
    t.last_updated = parse_date(get(c.last_updated));
    t.locations = get(c.locations)
        .split('|')
        .filter_map(parse_location)
        .collect();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let classic = CLASSIC
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            detect_header(&format!("\u{feff}{classic}\n1,2")),
            Some(Format::CtgovCsvClassic)
        );
        assert_eq!(detect_header(&CURRENT.join(",")), Some(Format::CtgovCsv));
        assert_eq!(detect_header("NCT Number: NCT01234567, Title: x"), None);
        assert!(is_nct("nct01234567") && !is_nct("NC\u{e9}12345678") && !is_nct("NCT0123456"));
        assert_eq!(detect_header("Study details\nNCT Number,Title"), None);
    }

    #[test]
    fn locations() {
        let l =
            parse_location("Xiangya Hospital, Central South University, Changsha, Hunan, China")
                .unwrap_or_default();
        assert_eq!(
            l.facility.as_deref(),
            Some("Xiangya Hospital, Central South University")
        );
        assert_eq!(l.city.as_deref(), Some("Changsha"));
        assert_eq!(l.state.as_deref(), Some("Hunan"));
        let l =
            parse_location("Asan Medical Center, Seoul, Korea, Republic of").unwrap_or_default();
        assert_eq!(l.country.as_deref(), Some("Korea, Republic of"));
        assert_eq!(l.city.as_deref(), Some("Seoul"));
        assert_eq!(l.state, None);
        let l = parse_location("Department of Orthopaedic Trauma, University of Ulm, Ulm, Germany")
            .unwrap_or_default();
        assert_eq!(l.city.as_deref(), Some("Ulm"));
        assert_eq!(l.state, None);
        let l = parse_location("Mayo Clinic, Rochester, Minnesota, 55905, United States")
            .unwrap_or_default();
        assert_eq!(l.state.as_deref(), Some("Minnesota"));
        assert_eq!(l.facility.as_deref(), Some("Mayo Clinic"));
    }
}
