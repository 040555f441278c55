//! Stage 1 adapter: the retired ClinicalTrials.gov XML (`<clinical_study>`,
//! the `public.xsd` schema) → [`Trial`]s, streamed.
//!
//! quick-xml hands us one event at a time; we keep only the path of open
//! elements and the record being built, so a file of one study and a
//! gigabyte wrapper of thousands cost the same memory. A `<clinical_study>`
//! may sit at any depth (a file may wrap many in a root element).
//!
//! Security: quick-xml never expands entities itself, and neither do we. A
//! DTD is skipped, predefined entities (`&amp;` ...) and character references
//! are resolved, and any other `&name;` (declared in a DTD, possibly as a
//! `SYSTEM "file:///..."` external entity or a "billion laughs" chain) is left
//! out of the text with one warning. Nesting deeper than `limits.max_depth`
//! stops the file.

use super::ctgov_json::{design_value, site_status};
use super::{Item, Limits, SkipReason};
use crate::normalize::{
    clean, clean_block, display_enum, find_nct, intervention_type, normalize_country, parse_age,
    parse_date, parse_phases, parse_sex, parse_status, parse_study_type, split_criteria,
};
use crate::trial::{Contact, Intervention, Location, Trial};
use quick_xml::events::Event;
use std::io::BufRead;

/// Read every study in `reader`, handing each to `emit`.
pub fn read<R: BufRead>(
    reader: R,
    limits: &Limits,
    emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    // Keep text as written (textblocks are indented; clean_block tidies them).
    xml.config_mut().trim_text(false);
    let mut buf = Vec::new();
    // Names of the open elements, outermost first.
    let mut stack: Vec<String> = Vec::new();
    let mut study: Option<(usize, Builder)> = None;
    let mut text = String::new();
    let mut records = 0usize;
    let mut trials = 0usize;
    let mut warned_entity = false;
    let fail = |records: usize, trials: usize, emit: &mut dyn FnMut(Item), reason: String| {
        if trials == 0 {
            Err(SkipReason::Malformed(format!("XML: {reason}")))
        } else {
            emit(Item::Warning(format!(
                "after record {records}: {reason}; the rest of the file was not read"
            )));
            Ok(())
        }
    };
    loop {
        let event = match xml.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let pos = xml.error_position();
                // Every quick-xml syntax error except a bad `<!` is a
                // construct left open at the end of the input.
                let reason = match e {
                    quick_xml::Error::Syntax(s)
                        if s != quick_xml::errors::SyntaxError::InvalidBangMarkup =>
                    {
                        format!("cut short: {e} (at byte {pos})")
                    }
                    _ => format!("{e} (at byte {pos})"),
                };
                return fail(records, trials, emit, reason);
            }
        };
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                if stack.len() >= limits.max_depth {
                    let reason = format!(
                        "elements nested deeper than {} levels (at byte {})",
                        limits.max_depth,
                        xml.buffer_position()
                    );
                    return fail(records, trials, emit, reason);
                }
                if study.is_none() && name == "clinical_study" {
                    study = Some((stack.len() + 1, Builder::default()));
                }
                stack.push(name);
                text.clear();
            }
            Event::End(_) => {
                if let Some((base, b)) = study.as_mut() {
                    if stack.len() == *base {
                        // </clinical_study>
                        records += 1;
                        let t = b.finish();
                        if t.nct_id.is_none() && t.title.is_none() && t.official_title.is_none() {
                            emit(Item::Warning(format!(
                                "record {records}: <clinical_study> without an id or a title"
                            )));
                        } else {
                            trials += 1;
                            emit(Item::Trial(Box::new(t)));
                        }
                        study = None;
                    } else if stack.len() > *base {
                        b.end(&stack[*base..], &text);
                    }
                }
                stack.pop();
                text.clear();
            }
            Event::Empty(_) => {}
            // Text outside a study is never kept, so a huge wrapper costs nothing.
            Event::Text(e) if study.is_some() => text.push_str(&e.xml10_content()),
            Event::CData(e) if study.is_some() => text.push_str(&e.into_inner()),
            Event::GeneralRef(r) => {
                if study.is_none() {
                    continue;
                }
                match r.resolve_char_ref() {
                    Ok(Some(c)) => text.push(c),
                    Ok(None) => match &*r {
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "amp" => text.push('&'),
                        "apos" => text.push('\''),
                        "quot" => text.push('"'),
                        other => {
                            if !warned_entity {
                                warned_entity = true;
                                emit(Item::Warning(format!(
                                    "entity &{other}; is not expanded (DTD entities are never read); left out of the text"
                                )));
                            }
                        }
                    },
                    Err(_) => {}
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions and the DTD carry
            // nothing we index; the DTD is skipped, never interpreted.
            _ => {}
        }
        buf.clear();
    }
    if study.is_some() {
        let reason = format!("cut short inside <clinical_study> number {}", records + 1);
        return fail(records, trials, emit, reason);
    }
    if trials == 0 {
        return Err(SkipReason::Malformed(
            "XML without a <clinical_study> record".into(),
        ));
    }
    Ok(())
}

/// The record being read, plus the parts of repeated elements in progress.
#[derive(Default)]
struct Builder {
    t: Trial,
    intervention: Intervention,
    location: Location,
    person: Contact,
    /// `firstreceived_date` / `lastchanged_date`: older files' names, used
    /// when the newer `*_posted` elements are absent.
    first_received: Option<String>,
    last_changed: Option<String>,
}

fn push(v: &mut Vec<String>, s: &str) {
    if let Some(c) = clean(s) {
        v.push(c);
    }
}

/// Masking as the API's display names it: "Quadruple (Participant, Care
/// Provider, ...)" and "DOUBLE (PARTICIPANT, INVESTIGATOR)" become "Quadruple"
/// and "Double"; any "None ..." is "None (Open Label)".
pub(crate) fn masking_label(s: &str) -> Option<String> {
    let s = s.trim();
    if s.to_ascii_lowercase().starts_with("none") {
        return Some("None (Open Label)".into());
    }
    let head = s.split(" (").next().unwrap_or(s);
    design_value(head)
}

/// "Accepts Healthy Volunteers", "Yes", "No".
pub(crate) fn healthy(s: &str) -> Option<bool> {
    let k = s.trim().to_ascii_lowercase();
    if k.starts_with("accepts") || k == "yes" || k == "true" {
        Some(true)
    } else if k == "no" || k == "false" || k.starts_with("does not") {
        Some(false)
    } else {
        None
    }
}

impl Builder {
    /// An element inside the study closed; `path` runs from the study's child
    /// down to it, `text` is its direct text.
    fn end(&mut self, path: &[String], text: &str) {
        let t = &mut self.t;
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["id_info", "nct_id"] => {
                t.nct_id = find_nct(text).or_else(|| clean(text));
            }
            ["id_info", "org_study_id" | "secondary_id" | "nct_alias"] => {
                push(&mut t.secondary_ids, text)
            }
            ["brief_title"] => t.title = clean(text),
            ["official_title"] => t.official_title = clean(text),
            ["acronym"] => t.acronym = clean(text),
            ["overall_status"] => t.status = parse_status(text),
            ["why_stopped"] => t.why_stopped = clean(text),
            ["phase"] => t.phases.extend(parse_phases(text)),
            ["study_type"] => t.study_type = parse_study_type(text),
            ["condition"] => push(&mut t.conditions, text),
            ["keyword"] => push(&mut t.keywords, text),
            ["intervention", "intervention_type"] => {
                self.intervention.kind = intervention_type(text)
            }
            ["intervention", "intervention_name"] => {
                self.intervention.name = clean(text).unwrap_or_default()
            }
            ["intervention", "other_name"] => push(&mut self.intervention.other_names, text),
            ["intervention", "description"] => self.intervention.description = clean_block(text),
            ["intervention"] => {
                let i = std::mem::take(&mut self.intervention);
                if !i.name.is_empty() {
                    t.interventions.push(i);
                }
            }
            ["sponsors", "lead_sponsor", "agency"] => t.sponsor = clean(text),
            ["sponsors", "collaborator", "agency"] => push(&mut t.collaborators, text),
            ["brief_summary", "textblock"] => t.summary = clean_block(text),
            ["detailed_description", "textblock"] => t.description = clean_block(text),
            ["enrollment"] => t.enrollment = text.trim().parse().ok(),
            ["eligibility", "criteria", "textblock"] => {
                let (inc, exc) = split_criteria(text);
                t.inclusion_criteria = inc;
                t.exclusion_criteria = exc;
            }
            ["eligibility", "gender"] => t.sex = parse_sex(text),
            ["eligibility", "minimum_age"] => t.min_age_years = parse_age(text),
            ["eligibility", "maximum_age"] => t.max_age_years = parse_age(text),
            ["eligibility", "healthy_volunteers"] => t.healthy_volunteers = healthy(text),
            ["location", "facility", "name"] => self.location.facility = clean(text),
            ["location", "facility", "address", "city"] => self.location.city = clean(text),
            ["location", "facility", "address", "state"] => self.location.state = clean(text),
            ["location", "facility", "address", "country"] => {
                self.location.country = normalize_country(text)
            }
            ["location", "status"] => self.location.status = clean(text).map(|s| site_status(&s)),
            ["location"] => {
                let l = std::mem::take(&mut self.location);
                if l != Location::default() {
                    t.locations.push(l);
                }
            }
            ["location_countries", "country"] => {
                if let Some(c) = normalize_country(text) {
                    t.countries.push(c);
                }
            }
            ["overall_official" | "overall_contact" | "overall_contact_backup", "last_name"] => {
                self.person.name = clean(text).unwrap_or_default()
            }
            ["overall_official" | "overall_contact" | "overall_contact_backup", "role"] => {
                self.person.role = clean(text).map(|r| display_enum(&r))
            }
            ["overall_official" | "overall_contact" | "overall_contact_backup", "affiliation"] => {
                self.person.affiliation = clean(text)
            }
            ["overall_official" | "overall_contact" | "overall_contact_backup", "email"] => {
                self.person.email = clean(text)
            }
            ["overall_official" | "overall_contact" | "overall_contact_backup", "phone"] => {
                self.person.phone = clean(text)
            }
            [which @ ("overall_official" | "overall_contact" | "overall_contact_backup")] => {
                let mut c = std::mem::take(&mut self.person);
                if !c.name.is_empty() {
                    if *which == "overall_official" {
                        t.officials.push(c);
                    } else {
                        c.role.get_or_insert_with(|| "Contact".into());
                        t.contacts.push(c);
                    }
                }
            }
            ["study_first_posted"] => t.first_posted = parse_date(text),
            ["firstreceived_date"] => self.first_received = parse_date(text),
            ["last_update_posted"] => t.last_updated = parse_date(text),
            ["lastchanged_date"] => self.last_changed = parse_date(text),
            ["start_date"] => t.start_date = parse_date(text),
            ["completion_date"] => t.completion_date = parse_date(text),
            ["study_design_info", "allocation"] => t.design.allocation = design_value(text),
            ["study_design_info", "intervention_model"] => t.design.model = design_value(text),
            ["study_design_info", "masking"] => t.design.masking = masking_label(text),
            ["study_design_info", "primary_purpose"] => t.design.purpose = design_value(text),
            ["primary_outcome" | "secondary_outcome", "measure"] => push(&mut t.outcomes, text),
            ["condition_browse", "mesh_term"] => push(&mut t.condition_mesh, text),
            ["intervention_browse", "mesh_term"] => push(&mut t.intervention_mesh, text),
            _ => {}
        }
    }

    fn finish(&mut self) -> Trial {
        let mut t = std::mem::take(&mut self.t);
        if t.first_posted.is_none() {
            t.first_posted = self.first_received.take();
        }
        if t.last_updated.is_none() {
            t.last_updated = self.last_changed.take();
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> (Vec<Trial>, Vec<String>, Result<(), SkipReason>) {
        let mut trials = Vec::new();
        let mut warnings = Vec::new();
        let r = read(s.as_bytes(), &Limits::default(), &mut |item| match item {
            Item::Trial(t) => trials.push(*t),
            Item::Warning(w) => warnings.push(w),
        });
        (trials, warnings, r)
    }

    const ONE: &str = "<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info>\
        <brief_title>A &amp; B &#x41;</brief_title><phase>Phase 1/Phase 2</phase>\
        <eligibility><minimum_age>6 Weeks</minimum_age><maximum_age>N/A</maximum_age></eligibility>\
        </clinical_study>";

    #[test]
    fn wrapped_many_and_entities() {
        let s = format!(
            "<?xml version=\"1.0\"?><root>{ONE}{}</root>",
            ONE.replace("01<", "02<")
        );
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok() && w.is_empty(), "{r:?} {w:?}");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].title.as_deref(), Some("A & B A"));
        assert_eq!(t[1].nct_id.as_deref(), Some("NCT00000002"));
        assert_eq!(t[0].phases.len(), 2);
        assert!((t[0].min_age_years.unwrap_or(0.0) - 0.115).abs() < 0.001);
        assert_eq!(t[0].max_age_years, None);
    }

    #[test]
    fn billion_laughs_is_not_expanded() {
        let mut dtd = String::from("<!DOCTYPE clinical_study [<!ENTITY lol0 \"lol\">");
        for i in 1..10 {
            let prev = format!("&lol{};", i - 1).repeat(10);
            dtd.push_str(&format!("<!ENTITY lol{i} \"{prev}\">"));
        }
        dtd.push_str("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>");
        let s = format!(
            "<?xml version=\"1.0\"?>{dtd}<clinical_study><id_info><nct_id>NCT00000003</nct_id></id_info>\
             <brief_title>Laughs &lol9; and &xxe; end</brief_title></clinical_study>"
        );
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].title.as_deref(), Some("Laughs and end"));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("not expanded"), "{w:?}");
    }

    #[test]
    fn truncated_and_deep() {
        let s = format!("<root>{ONE}<clinical_study><id_info><nct_id>NCT0000");
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(t.len(), 1);
        assert!(w[0].contains("cut short"), "{w:?}");
        let (t, _, r) = read_str("<clinical_study><id_info><nct_id>NCT0");
        assert!(t.is_empty());
        assert!(matches!(r, Err(SkipReason::Malformed(_))), "{r:?}");
        let deep = format!("<clinical_study>{}", "<a>".repeat(10_000));
        let (t, _, r) = read_str(&deep);
        assert!(t.is_empty());
        match r {
            Err(SkipReason::Malformed(m)) => assert!(m.contains("deeper"), "{m}"),
            other => panic!("{other:?}"),
        }
        let (_, _, r) = read_str("<clinical_study><a></b></clinical_study>");
        assert!(matches!(r, Err(SkipReason::Malformed(_))), "{r:?}");
        let (_, _, r) = read_str("<?xml version=\"1.0\"?><other/>");
        assert!(matches!(r, Err(SkipReason::Malformed(_))), "{r:?}");
    }
}
