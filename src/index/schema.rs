//! Stage 4: the index schema — the only place field names live — and the
//! conversion of a [`Trial`] into a tantivy document.
//!
//! Text fields follow ClinicalTrials.gov's search areas (ids, titles,
//! conditions, interventions, summary, description, eligibility, outcomes,
//! sponsor, locations); their weights live in `search::query`. Status, phase,
//! study type and sex are small integer codes, indexed for filters and fast
//! for facet counting. Ages, dates and enrollment are fast fields for range
//! filters and sorting. Strings that facets count (conditions, sponsors,
//! countries, interventions) are raw fast fields. The whole normalized record
//! is stored once, as compact JSON, for `show` and the hit list.

use crate::index::abbreviations;
use crate::index::analyzer::{BIO, BIO_STEM};
use crate::index::phrases::PhraseSet;
use crate::normalize;
use crate::trial::{Phase, Sex, Status, StudyType, Trial};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

/// Version of the on-disk layout; an index of another version must be rebuilt.
/// Version 2 added `abbrev` (abbreviations defined in the record) and
/// `spell` (the unstemmed vocabulary used for spelling correction).
/// Version 3 stores the record as text instead of bytes (tantivy decodes a
/// stored bytes value one byte at a time, a tenth of a one-shot query's
/// instructions; a string is read in one piece) and counts phases from the
/// single-valued `phase_mask`.
/// Version 4 adds phrase tokens of the vocabulary's multi-word wordings to
/// the stemmed fields ([`crate::index::phrases`]).
pub const SCHEMA_VERSION: u32 = 4;

/// Handles to every field.
#[derive(Clone, Debug)]
pub struct Fields {
    /// Exact ids, lower-cased (NCT, registry, sponsor ids, derived id): for `show` and `id:`.
    pub id_exact: Field,
    /// The result id, raw, fast: for stable tie-breaks.
    pub id: Field,
    /// Ids as text.
    pub ids: Field,
    /// Brief and official title and acronym.
    pub title: Field,
    /// Conditions and keywords.
    pub conditions: Field,
    /// Intervention names, other names and types.
    pub interventions: Field,
    /// MeSH terms and ancestors: an expansion area, weighted low.
    pub mesh: Field,
    /// Brief summary.
    pub summary: Field,
    /// Detailed description.
    pub description: Field,
    /// Inclusion and exclusion criteria.
    pub eligibility: Field,
    /// Outcome measures.
    pub outcomes: Field,
    /// Sponsor and collaborators.
    pub sponsor: Field,
    /// Facilities, cities, states, countries.
    pub locations: Field,
    /// Countries only, for `--country`.
    pub country: Field,
    /// Officials, contacts, text of pages of unknown layout.
    pub other: Field,
    /// Abbreviations the record defines itself ("acute respiratory distress
    /// syndrome (ARDS)"), each written with its long form, so a query for
    /// either wording reaches a record that uses the other. Weighted low: it
    /// is derived text.
    pub abbrev: Field,
    /// Titles, conditions, keywords and intervention names, unstemmed: the
    /// vocabulary that query words are spell-checked against (never scored).
    pub spell: Field,
    /// Status code (index into [`Status::ALL`]).
    pub status: Field,
    /// Phase codes (indexes into [`Phase::ALL`]), one term per phase, for
    /// filters and boosts.
    pub phase: Field,
    /// The phase codes again as one fast value, a bit per code
    /// ([`phase_mask`]): counting a multi-valued column's values per
    /// matching trial was a tenth of a one-shot query's instructions.
    pub phase_mask: Field,
    /// Study type code.
    pub study_type: Field,
    /// Sex code.
    pub sex: Field,
    /// Minimum age in years; 0 when open.
    pub min_age: Field,
    /// Maximum age in years; 1000 when open.
    pub max_age: Field,
    /// Enrollment.
    pub enrollment: Field,
    /// Dates as days since 1970.
    pub first_posted: Field,
    /// Last update, days since 1970.
    pub last_updated: Field,
    /// Start, days since 1970.
    pub start_date: Field,
    /// Raw condition names (facets).
    pub condition_facet: Field,
    /// Raw intervention names (facets).
    pub intervention_facet: Field,
    /// Raw sponsor name (facets).
    pub sponsor_facet: Field,
    /// Raw country names (facets).
    pub country_facet: Field,
    /// The normalized record, JSON.
    pub record: Field,
    /// The phrases this index marked with phrase tokens (from its summary;
    /// empty for a schema alone): a query for one reads its token.
    pub phrases: std::sync::Arc<PhraseSet>,
}

/// Age stored for an open upper bound.
pub const OPEN_MAX_AGE: f64 = 1000.0;
/// Days stored for an unknown date (sorts last in descending order).
pub const NO_DATE: i64 = i64::MIN / 2;

fn text(analyzer: &str, stored: bool) -> TextOptions {
    let idx = TextFieldIndexing::default()
        .set_tokenizer(analyzer)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let o = TextOptions::default().set_indexing_options(idx);
    if stored {
        o.set_stored()
    } else {
        o
    }
}

/// Doc frequencies are all spelling correction needs: no positions.
fn spell_options() -> TextOptions {
    let idx = TextFieldIndexing::default()
        .set_tokenizer(BIO)
        .set_index_option(IndexRecordOption::Basic);
    TextOptions::default().set_indexing_options(idx)
}

fn raw_fast() -> TextOptions {
    TextOptions::default().set_fast("raw")
}

/// Build the schema.
pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let code = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id_exact: b.add_text_field("id_exact", STRING),
        id: b.add_text_field("id", raw_fast()),
        ids: b.add_text_field("ids", text(BIO, false)),
        title: b.add_text_field("title", text(BIO_STEM, false)),
        conditions: b.add_text_field("conditions", text(BIO_STEM, false)),
        interventions: b.add_text_field("interventions", text(BIO_STEM, false)),
        mesh: b.add_text_field("mesh", text(BIO_STEM, false)),
        summary: b.add_text_field("summary", text(BIO_STEM, false)),
        description: b.add_text_field("description", text(BIO_STEM, false)),
        eligibility: b.add_text_field("eligibility", text(BIO_STEM, false)),
        outcomes: b.add_text_field("outcomes", text(BIO_STEM, false)),
        sponsor: b.add_text_field("sponsor", text(BIO, false)),
        locations: b.add_text_field("locations", text(BIO, false)),
        country: b.add_text_field("country", text(BIO, false)),
        other: b.add_text_field("other", text(BIO_STEM, false)),
        abbrev: b.add_text_field("abbrev", text(BIO_STEM, false)),
        spell: b.add_text_field("spell", spell_options()),
        status: b.add_u64_field("status", code.clone()),
        phase: b.add_u64_field("phase", NumericOptions::default().set_indexed()),
        phase_mask: b.add_u64_field("phase_mask", FAST),
        study_type: b.add_u64_field("study_type", code.clone()),
        sex: b.add_u64_field("sex", code),
        min_age: b.add_f64_field("min_age", INDEXED | FAST),
        max_age: b.add_f64_field("max_age", INDEXED | FAST),
        enrollment: b.add_u64_field("enrollment", INDEXED | FAST),
        first_posted: b.add_i64_field("first_posted", INDEXED | FAST),
        last_updated: b.add_i64_field("last_updated", INDEXED | FAST),
        start_date: b.add_i64_field("start_date", INDEXED | FAST),
        condition_facet: b.add_text_field("condition_facet", raw_fast()),
        intervention_facet: b.add_text_field("intervention_facet", raw_fast()),
        sponsor_facet: b.add_text_field("sponsor_facet", raw_fast()),
        country_facet: b.add_text_field("country_facet", raw_fast()),
        record: b.add_text_field("record", STORED),
        phrases: Default::default(),
    };
    (b.build(), fields)
}

impl Fields {
    /// Look the fields up in an opened index's schema.
    pub fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let f = |name: &str| schema.get_field(name);
        Ok(Fields {
            id_exact: f("id_exact")?,
            id: f("id")?,
            ids: f("ids")?,
            title: f("title")?,
            conditions: f("conditions")?,
            interventions: f("interventions")?,
            mesh: f("mesh")?,
            summary: f("summary")?,
            description: f("description")?,
            eligibility: f("eligibility")?,
            outcomes: f("outcomes")?,
            sponsor: f("sponsor")?,
            locations: f("locations")?,
            country: f("country")?,
            other: f("other")?,
            abbrev: f("abbrev")?,
            spell: f("spell")?,
            status: f("status")?,
            phase: f("phase")?,
            phase_mask: f("phase_mask")?,
            study_type: f("study_type")?,
            sex: f("sex")?,
            min_age: f("min_age")?,
            max_age: f("max_age")?,
            enrollment: f("enrollment")?,
            first_posted: f("first_posted")?,
            last_updated: f("last_updated")?,
            start_date: f("start_date")?,
            condition_facet: f("condition_facet")?,
            intervention_facet: f("intervention_facet")?,
            sponsor_facet: f("sponsor_facet")?,
            country_facet: f("country_facet")?,
            record: f("record")?,
            phrases: Default::default(),
        })
    }
}

/// Code of a status in the `status` field.
pub fn status_code(s: Status) -> u64 {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(0) as u64
}
/// Bit of [`UNKNOWN_CODE`] in a [`phase_mask`].
pub const UNKNOWN_PHASE_BIT: u32 = 63;

/// The `phase_mask` value of a trial's phase codes: bit `c` for code `c`,
/// bit [`UNKNOWN_PHASE_BIT`] for [`UNKNOWN_CODE`].
pub fn phase_mask(codes: &[u64]) -> u64 {
    codes.iter().fold(0, |m, &c| {
        let bit = if c < u64::from(UNKNOWN_PHASE_BIT) {
            c
        } else {
            u64::from(UNKNOWN_PHASE_BIT)
        };
        m | 1 << bit
    })
}

/// Code of a phase in the `phase` field.
pub fn phase_code(p: Phase) -> u64 {
    Phase::ALL.iter().position(|x| *x == p).unwrap_or(0) as u64
}
/// Code of a study type.
pub fn study_type_code(t: StudyType) -> u64 {
    StudyType::ALL.iter().position(|x| *x == t).unwrap_or(0) as u64
}
/// Code of a sex.
pub fn sex_code(s: Sex) -> u64 {
    Sex::ALL.iter().position(|x| *x == s).unwrap_or(0) as u64
}
/// Code meaning "not known" in the code fields.
pub const UNKNOWN_CODE: u64 = 99;

/// The text that goes into the eligibility field, one criterion per line so a
/// snippet can show the criterion that matched.
pub fn eligibility_text(t: &Trial) -> String {
    let mut s = String::new();
    for c in t.inclusion_criteria.iter().chain(&t.exclusion_criteria) {
        s.push_str(c);
        s.push('\n');
    }
    s
}

/// The `long form (ABBR)` pairs a record defines in its titles, conditions,
/// keywords, summary, description and the text of pages of unknown layout,
/// once each.
pub fn record_abbreviations(t: &Trial) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in [
        &t.title,
        &t.official_title,
        &t.summary,
        &t.description,
        &t.other_text,
    ]
    .into_iter()
    .flatten()
    .chain(&t.conditions)
    .chain(&t.keywords)
    {
        for (long, short) in abbreviations::find(s) {
            let key = (long.to_lowercase(), short.to_lowercase());
            if !out
                .iter()
                .any(|(l, s)| (l.to_lowercase(), s.to_lowercase()) == key)
            {
                out.push((long, short));
            }
        }
    }
    out
}

/// The trial a document was made from (its stored record): the inverse of
/// [`to_document`].
pub fn stored_trial(
    searcher: &tantivy::Searcher,
    f: &Fields,
    addr: tantivy::DocAddress,
) -> crate::error::Result<Trial> {
    use tantivy::schema::Value;
    let doc: TantivyDocument = searcher.doc(addr)?;
    let json = doc
        .get_first(f.record)
        .and_then(|v| v.as_str())
        .ok_or_else(|| crate::error::Error::BadIndex {
            path: std::path::PathBuf::from("index"),
            reason: "a document has no stored record".into(),
        })?;
    Ok(serde_json::from_str(json)?)
}

/// Turn a finalized trial into a document.
pub fn to_document(f: &Fields, t: &Trial) -> serde_json::Result<TantivyDocument> {
    Ok(document_with_record(f, t, serde_json::to_string(t)?))
}

/// [`to_document`] with the stored record already serialized: `record`
/// must be `serde_json::to_string(t)`. The streaming build has just made
/// that JSON for the record cache, and serializing a trial twice was ~2%
/// of a build's CPU.
pub fn document_with_record(f: &Fields, t: &Trial, record: String) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(f.id, &t.id);
    let mut ids: Vec<&str> = vec![t.id.as_str()];
    ids.extend(t.nct_id.as_deref());
    ids.extend(t.secondary_ids.iter().map(String::as_str));
    for id in &ids {
        d.add_text(f.id_exact, id.to_lowercase());
    }
    d.add_text(f.ids, ids.join(" "));
    for s in [&t.title, &t.official_title, &t.acronym]
        .into_iter()
        .flatten()
    {
        d.add_text(f.title, s);
    }
    for c in t.conditions.iter().chain(&t.keywords) {
        d.add_text(f.conditions, c);
    }
    for c in &t.conditions {
        d.add_text(f.condition_facet, c);
    }
    for i in &t.interventions {
        d.add_text(f.interventions, &i.name);
        for o in &i.other_names {
            d.add_text(f.interventions, o);
        }
        d.add_text(f.intervention_facet, &i.name);
    }
    for m in t
        .condition_mesh
        .iter()
        .chain(&t.condition_mesh_ancestors)
        .chain(&t.intervention_mesh)
        .chain(&t.intervention_mesh_ancestors)
    {
        d.add_text(f.mesh, m);
    }
    for s in [&t.title, &t.official_title, &t.acronym]
        .into_iter()
        .flatten()
        .chain(&t.conditions)
        .chain(&t.keywords)
        .chain(t.interventions.iter().map(|i| &i.name))
        .chain(&t.summary)
    {
        d.add_text(f.spell, s);
    }
    for (long, short) in record_abbreviations(t) {
        d.add_text(f.abbrev, format!("{long} | {short}"));
    }
    if let Some(s) = &t.summary {
        d.add_text(f.summary, s);
    }
    if let Some(s) = &t.description {
        d.add_text(f.description, s);
    }
    let elig = eligibility_text(t);
    if !elig.is_empty() {
        d.add_text(f.eligibility, &elig);
    }
    for o in &t.outcomes {
        d.add_text(f.outcomes, o);
    }
    if let Some(s) = &t.sponsor {
        d.add_text(f.sponsor, s);
        d.add_text(f.sponsor_facet, s);
    }
    for c in &t.collaborators {
        d.add_text(f.sponsor, c);
    }
    for l in &t.locations {
        let parts: Vec<&str> = [&l.facility, &l.city, &l.state, &l.country]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        d.add_text(f.locations, parts.join(", "));
    }
    for c in &t.countries {
        d.add_text(f.country, c);
        d.add_text(f.country_facet, c);
        d.add_text(f.locations, c);
    }
    for p in t.officials.iter().chain(&t.contacts) {
        d.add_text(f.other, &p.name);
        if let Some(a) = &p.affiliation {
            d.add_text(f.other, a);
        }
    }
    if let Some(s) = &t.other_text {
        d.add_text(f.other, s);
    }
    if let Some(s) = &t.why_stopped {
        d.add_text(f.other, s);
    }
    d.add_u64(f.status, t.status.map(status_code).unwrap_or(UNKNOWN_CODE));
    let codes: Vec<u64> = if t.phases.is_empty() {
        vec![UNKNOWN_CODE]
    } else {
        t.phases.iter().map(|p| phase_code(*p)).collect()
    };
    for c in &codes {
        d.add_u64(f.phase, *c);
    }
    d.add_u64(f.phase_mask, phase_mask(&codes));
    d.add_u64(
        f.study_type,
        t.study_type.map(study_type_code).unwrap_or(UNKNOWN_CODE),
    );
    d.add_u64(f.sex, t.sex.map(sex_code).unwrap_or(UNKNOWN_CODE));
    d.add_f64(f.min_age, t.min_age_years.unwrap_or(0.0));
    d.add_f64(f.max_age, t.max_age_years.unwrap_or(OPEN_MAX_AGE));
    d.add_u64(f.enrollment, t.enrollment.unwrap_or(0));
    let day = |s: &Option<String>| {
        s.as_deref()
            .and_then(normalize::date_to_days)
            .unwrap_or(NO_DATE)
    };
    d.add_i64(f.first_posted, day(&t.first_posted));
    d.add_i64(f.last_updated, day(&t.last_updated));
    d.add_i64(f.start_date, day(&t.start_date));
    d.add_text(f.record, record);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_mask_has_a_bit_per_code_and_one_for_unknown() {
        assert!(Phase::ALL.len() < UNKNOWN_PHASE_BIT as usize);
        let p1 = phase_code(Phase::ALL[0]);
        let p2 = phase_code(Phase::ALL[1]);
        assert_eq!(phase_mask(&[p1, p2, p2]), 1 << p1 | 1 << p2);
        assert_eq!(phase_mask(&[UNKNOWN_CODE]), 1 << UNKNOWN_PHASE_BIT);
        assert_eq!(phase_mask(&[]), 0);
    }
}
