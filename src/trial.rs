//! The domain record every stage shares: [`Trial`] and its vocabularies.
//!
//! Source adapters (stage 1) produce `Trial`s, normalization (stage 2) keeps
//! their values inside the vocabularies below, merging (stage 3) folds the
//! `Trial`s of one study into one, the indexer (stage 4) stores it whole and
//! `show --json` prints it. The vocabularies follow ClinicalTrials.gov's
//! display names, so a trial read from a Veeva page and one read from the
//! API's JSON say "Recruiting" the same way.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Overall recruitment status, as ClinicalTrials.gov displays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    /// Recruiting.
    #[serde(rename = "Recruiting")]
    Recruiting,
    /// Not yet recruiting.
    #[serde(rename = "Not yet recruiting")]
    NotYetRecruiting,
    /// Active, not recruiting.
    #[serde(rename = "Active, not recruiting")]
    ActiveNotRecruiting,
    /// Enrolling by invitation.
    #[serde(rename = "Enrolling by invitation")]
    EnrollingByInvitation,
    /// Completed.
    #[serde(rename = "Completed")]
    Completed,
    /// Suspended.
    #[serde(rename = "Suspended")]
    Suspended,
    /// Terminated.
    #[serde(rename = "Terminated")]
    Terminated,
    /// Withdrawn.
    #[serde(rename = "Withdrawn")]
    Withdrawn,
    /// Unknown status.
    #[serde(rename = "Unknown status")]
    Unknown,
    /// Available.
    #[serde(rename = "Available")]
    Available,
    /// No longer available.
    #[serde(rename = "No longer available")]
    NoLongerAvailable,
    /// Temporarily not available.
    #[serde(rename = "Temporarily not available")]
    TemporarilyNotAvailable,
    /// Approved for marketing.
    #[serde(rename = "Approved for marketing")]
    ApprovedForMarketing,
    /// Withheld.
    #[serde(rename = "Withheld")]
    Withheld,
}

impl Status {
    /// Every status, in ClinicalTrials.gov's order.
    pub const ALL: [Status; 14] = [
        Status::Recruiting,
        Status::NotYetRecruiting,
        Status::ActiveNotRecruiting,
        Status::EnrollingByInvitation,
        Status::Completed,
        Status::Suspended,
        Status::Terminated,
        Status::Withdrawn,
        Status::Unknown,
        Status::Available,
        Status::NoLongerAvailable,
        Status::TemporarilyNotAvailable,
        Status::ApprovedForMarketing,
        Status::Withheld,
    ];

    /// The display name ("Active, not recruiting").
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Recruiting => "Recruiting",
            Status::NotYetRecruiting => "Not yet recruiting",
            Status::ActiveNotRecruiting => "Active, not recruiting",
            Status::EnrollingByInvitation => "Enrolling by invitation",
            Status::Completed => "Completed",
            Status::Suspended => "Suspended",
            Status::Terminated => "Terminated",
            Status::Withdrawn => "Withdrawn",
            Status::Unknown => "Unknown status",
            Status::Available => "Available",
            Status::NoLongerAvailable => "No longer available",
            Status::TemporarilyNotAvailable => "Temporarily not available",
            Status::ApprovedForMarketing => "Approved for marketing",
            Status::Withheld => "Withheld",
        }
    }

    /// The API's enum name ("ACTIVE_NOT_RECRUITING").
    pub fn enum_name(self) -> &'static str {
        match self {
            Status::Recruiting => "RECRUITING",
            Status::NotYetRecruiting => "NOT_YET_RECRUITING",
            Status::ActiveNotRecruiting => "ACTIVE_NOT_RECRUITING",
            Status::EnrollingByInvitation => "ENROLLING_BY_INVITATION",
            Status::Completed => "COMPLETED",
            Status::Suspended => "SUSPENDED",
            Status::Terminated => "TERMINATED",
            Status::Withdrawn => "WITHDRAWN",
            Status::Unknown => "UNKNOWN",
            Status::Available => "AVAILABLE",
            Status::NoLongerAvailable => "NO_LONGER_AVAILABLE",
            Status::TemporarilyNotAvailable => "TEMPORARILY_NOT_AVAILABLE",
            Status::ApprovedForMarketing => "APPROVED_FOR_MARKETING",
            Status::Withheld => "WITHHELD",
        }
    }

    /// Whether the trial is (or will soon be) taking participants.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Recruiting
                | Status::NotYetRecruiting
                | Status::EnrollingByInvitation
                | Status::Available
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trial phase. A trial may have several ("Phase 1/2" is `[Phase1, Phase2]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Early Phase 1.
    #[serde(rename = "Early Phase 1")]
    EarlyPhase1,
    /// Phase 1.
    #[serde(rename = "Phase 1")]
    Phase1,
    /// Phase 2.
    #[serde(rename = "Phase 2")]
    Phase2,
    /// Phase 3.
    #[serde(rename = "Phase 3")]
    Phase3,
    /// Phase 4.
    #[serde(rename = "Phase 4")]
    Phase4,
    /// Not Applicable.
    #[serde(rename = "Not Applicable")]
    NotApplicable,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 6] = [
        Phase::EarlyPhase1,
        Phase::Phase1,
        Phase::Phase2,
        Phase::Phase3,
        Phase::Phase4,
        Phase::NotApplicable,
    ];

    /// The display name ("Phase 2").
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::EarlyPhase1 => "Early Phase 1",
            Phase::Phase1 => "Phase 1",
            Phase::Phase2 => "Phase 2",
            Phase::Phase3 => "Phase 3",
            Phase::Phase4 => "Phase 4",
            Phase::NotApplicable => "Not Applicable",
        }
    }

    /// The API's enum name ("PHASE2").
    pub fn enum_name(self) -> &'static str {
        match self {
            Phase::EarlyPhase1 => "EARLY_PHASE1",
            Phase::Phase1 => "PHASE1",
            Phase::Phase2 => "PHASE2",
            Phase::Phase3 => "PHASE3",
            Phase::Phase4 => "PHASE4",
            Phase::NotApplicable => "NA",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Study type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StudyType {
    /// Interventional.
    #[serde(rename = "Interventional")]
    Interventional,
    /// Observational.
    #[serde(rename = "Observational")]
    Observational,
    /// Expanded Access.
    #[serde(rename = "Expanded Access")]
    ExpandedAccess,
}

impl StudyType {
    /// Every study type.
    pub const ALL: [StudyType; 3] = [
        StudyType::Interventional,
        StudyType::Observational,
        StudyType::ExpandedAccess,
    ];

    /// The display name.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyType::Interventional => "Interventional",
            StudyType::Observational => "Observational",
            StudyType::ExpandedAccess => "Expanded Access",
        }
    }
}

impl fmt::Display for StudyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which sexes a trial takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    /// All.
    #[serde(rename = "All")]
    All,
    /// Female.
    #[serde(rename = "Female")]
    Female,
    /// Male.
    #[serde(rename = "Male")]
    Male,
}

impl Sex {
    /// Every value.
    pub const ALL: [Sex; 3] = [Sex::All, Sex::Female, Sex::Male];

    /// The display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::All => "All",
            Sex::Female => "Female",
            Sex::Male => "Male",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which input format a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A TrialX-style patient page (title twice, status, ages, sex, phase, "Overview", ...).
    Trialx,
    /// The Ignite text dump of a ClinicalTrials.gov record (`Study NCT ID:` ... lines).
    Ignite,
    /// A ClinicalTrials.Veeva page ("Status and phase", "Treatments", "Identifiers", ...).
    Veeva,
    /// A ClinConnect page ("Launched by SPONSOR · date", "Trial Information", ...).
    Clinconnect,
    /// A page of unknown layout: ids, title, status and phase words, and its text.
    Generic,
    /// ClinicalTrials.gov API v2 JSON (a study, an array, an API page, or NDJSON).
    CtgovJson,
    /// The retired ClinicalTrials.gov XML (`<clinical_study>`).
    CtgovXml,
    /// The classic ClinicalTrials.gov CSV export (27 columns).
    CtgovCsvClassic,
    /// The current ClinicalTrials.gov CSV export (29 columns).
    CtgovCsv,
}

impl Format {
    /// Every format, in the order summaries list them.
    pub const ALL: [Format; 9] = [
        Format::Trialx,
        Format::Ignite,
        Format::Veeva,
        Format::Clinconnect,
        Format::Generic,
        Format::CtgovJson,
        Format::CtgovXml,
        Format::CtgovCsvClassic,
        Format::CtgovCsv,
    ];

    /// The stable snake_case name used in JSON and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Trialx => "trialx",
            Format::Ignite => "ignite",
            Format::Veeva => "veeva",
            Format::Clinconnect => "clinconnect",
            Format::Generic => "generic",
            Format::CtgovJson => "ctgov_json",
            Format::CtgovXml => "ctgov_xml",
            Format::CtgovCsvClassic => "ctgov_csv_classic",
            Format::CtgovCsv => "ctgov_csv",
        }
    }

    /// Whether the format is one of ClinicalTrials.gov's own structured downloads,
    /// whose values win over page dumps when merging.
    pub fn is_structured(self) -> bool {
        matches!(
            self,
            Format::CtgovJson | Format::CtgovXml | Format::CtgovCsvClassic | Format::CtgovCsv
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record was read: the file, its format and, inside an archive, the entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// The file's path as given on the command line (joined with the walked part).
    pub path: String,
    /// The format it was read as.
    pub format: Format,
    /// The entry inside a `.zip` archive, if the file is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

/// A treatment the trial gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    /// ClinicalTrials.gov's intervention type in display form: "Biological", "Drug",
    /// "Device", "Procedure", "Behavioral", "Genetic", "Radiation", "Dietary Supplement",
    /// "Combination Product", "Diagnostic Test", "Other".
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The intervention's name.
    pub name: String,
    /// Other names the sponsor gives (product codes, brand names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<String>,
    /// The sponsor's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A trial site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Hospital or site name.
    pub facility: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Country, as ClinicalTrials.gov names it ("United States", "China").
    pub country: Option<String>,
    /// Recruitment status of this site, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A person to contact, or an official responsible for the trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Name as written.
    pub name: String,
    /// "Principal Investigator", "Contact", "Study Director" ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Institution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Telephone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// How an interventional trial is designed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Design {
    /// "Randomized", "Non-Randomized", "N/A".
    pub allocation: Option<String>,
    /// "None (Open Label)", "Single", "Double", "Triple", "Quadruple".
    pub masking: Option<String>,
    /// "Parallel Assignment", "Single Group Assignment", "Cohort" ...
    pub model: Option<String>,
    /// "Treatment", "Prevention", "Supportive Care" ...
    pub purpose: Option<String>,
}

impl Design {
    /// Whether no design field is known.
    pub fn is_empty(&self) -> bool {
        self.allocation.is_none()
            && self.masking.is_none()
            && self.model.is_none()
            && self.purpose.is_none()
    }
}

/// One clinical trial, normalized. Every field is optional or a list, because
/// every source lacks something; merging fills fields from the richest source.
///
/// The JSON form of this struct is the `show --json` API: field names are stable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trial {
    /// The stable result id: the NCT id when known, else another registry id,
    /// else an id derived from the title. Filled by [`Trial::finalize`].
    pub id: String,
    /// ClinicalTrials.gov id, `NCT` and eight digits.
    pub nct_id: Option<String>,
    /// Other registry ids (ChiCTR, ISRCTN, EudraCT, ACTRN ...) and sponsor study ids.
    pub secondary_ids: Vec<String>,
    /// Brief title.
    pub title: Option<String>,
    /// Official (scientific) title.
    pub official_title: Option<String>,
    /// Acronym ("ARDS-MSC-205").
    pub acronym: Option<String>,
    /// Overall status.
    pub status: Option<Status>,
    /// Phases, sorted, without repeats.
    pub phases: Vec<Phase>,
    /// Study type.
    pub study_type: Option<StudyType>,
    /// Conditions studied, as the sponsor names them.
    pub conditions: Vec<String>,
    /// Sponsor keywords.
    pub keywords: Vec<String>,
    /// Treatments given.
    pub interventions: Vec<Intervention>,
    /// Lead sponsor.
    pub sponsor: Option<String>,
    /// Collaborators.
    pub collaborators: Vec<String>,
    /// Planned or actual enrollment.
    pub enrollment: Option<u64>,
    /// Sexes taken.
    pub sex: Option<Sex>,
    /// Minimum age in years (months / 12, weeks / 52.1775, days / 365.25).
    pub min_age_years: Option<f64>,
    /// Maximum age in years.
    pub max_age_years: Option<f64>,
    /// Age groups: "Child", "Adult", "Older Adult".
    pub age_groups: Vec<String>,
    /// Whether healthy volunteers are accepted.
    pub healthy_volunteers: Option<bool>,
    /// Design of an interventional trial.
    #[serde(skip_serializing_if = "Design::is_empty")]
    pub design: Design,
    /// Trial sites.
    pub locations: Vec<Location>,
    /// Countries of the sites, without repeats.
    pub countries: Vec<String>,
    /// First posted, ISO `YYYY-MM-DD` (or `YYYY-MM` when only the month is known).
    pub first_posted: Option<String>,
    /// Last update posted, ISO.
    pub last_updated: Option<String>,
    /// Study start, ISO.
    pub start_date: Option<String>,
    /// Study completion, ISO.
    pub completion_date: Option<String>,
    /// Brief summary.
    pub summary: Option<String>,
    /// Detailed description.
    pub description: Option<String>,
    /// Inclusion criteria, one entry per criterion.
    pub inclusion_criteria: Vec<String>,
    /// Exclusion criteria, one entry per criterion.
    pub exclusion_criteria: Vec<String>,
    /// Primary and secondary outcome measures.
    pub outcomes: Vec<String>,
    /// Central contacts.
    pub contacts: Vec<Contact>,
    /// Overall officials (principal investigators, study directors).
    pub officials: Vec<Contact>,
    /// Why the trial stopped, for suspended, terminated and withdrawn trials.
    pub why_stopped: Option<String>,
    /// MeSH terms ClinicalTrials.gov derived for the conditions.
    pub condition_mesh: Vec<String>,
    /// Their MeSH ancestors ("Lung Diseases" for BPD).
    pub condition_mesh_ancestors: Vec<String>,
    /// MeSH terms derived for the interventions.
    pub intervention_mesh: Vec<String>,
    /// Their MeSH ancestors.
    pub intervention_mesh_ancestors: Vec<String>,
    /// Text of a page whose layout was not recognised, kept so it stays searchable.
    pub other_text: Option<String>,
    /// Every file (and archive entry) this trial was read from.
    pub sources: Vec<Source>,
}

impl Trial {
    /// The first registry id that is not the NCT id, if any looks like one.
    pub fn registry_id(&self) -> Option<&str> {
        self.secondary_ids
            .iter()
            .map(String::as_str)
            .find(|id| crate::normalize::is_registry_id(id))
    }

    /// The title to show: the brief title, else the official title, else the acronym.
    pub fn display_title(&self) -> &str {
        self.title
            .as_deref()
            .or(self.official_title.as_deref())
            .or(self.acronym.as_deref())
            .unwrap_or("(untitled)")
    }

    /// Fill derived fields: `id`, `countries` from locations, sorted phases,
    /// age bounds in the right order. Idempotent.
    pub fn finalize(&mut self) {
        self.phases.sort();
        self.phases.dedup();
        for loc in &self.locations {
            if let Some(c) = &loc.country {
                if !c.is_empty() && !self.countries.iter().any(|x| x.eq_ignore_ascii_case(c)) {
                    self.countries.push(c.clone());
                }
            }
        }
        dedup_keep_order(&mut self.secondary_ids);
        if let Some(nct) = &self.nct_id {
            self.secondary_ids.retain(|s| !s.eq_ignore_ascii_case(nct));
        }
        dedup_keep_order(&mut self.conditions);
        dedup_keep_order(&mut self.collaborators);
        dedup_keep_order(&mut self.keywords);
        if let (Some(lo), Some(hi)) = (self.min_age_years, self.max_age_years) {
            if lo > hi {
                self.min_age_years = Some(hi);
                self.max_age_years = Some(lo);
            }
        }
        self.sources.sort();
        self.sources.dedup();
        self.id = match (&self.nct_id, self.registry_id()) {
            (Some(nct), _) => nct.clone(),
            (None, Some(other)) => other.to_string(),
            (None, None) => derived_id(self),
        };
    }
}

/// Remove repeated entries (ignoring case), keeping the first of each.
pub fn dedup_keep_order(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| !s.trim().is_empty() && seen.insert(s.trim().to_lowercase()));
}

/// A stable id for a record with no registry id: `TS-` and 12 hex digits of a
/// hash of its normalized title (or of its first source when untitled), so the
/// same page indexed twice keeps its id.
/// A derived id for a trial whose [`derived_id`] another trial already has
/// (same title, sponsors that disagree, so not merged): the hash also covers
/// its first source, which no other trial shares.
pub(crate) fn distinct_derived_id(t: &Trial) -> String {
    let source = t
        .sources
        .first()
        .map(|s| format!("{}#{}", s.path, s.entry.as_deref().unwrap_or("")))
        .unwrap_or_default();
    let key = format!("{}\u{1f}{source}", derived_id(t));
    let hash = blake3::hash(key.as_bytes());
    format!("TS-{}", &hash.to_hex()[..12])
}

fn derived_id(t: &Trial) -> String {
    let key = match t.title.as_deref().or(t.official_title.as_deref()) {
        Some(title) => crate::normalize::title_key(title),
        None => t
            .sources
            .first()
            .map(|s| format!("{}#{}", s.path, s.entry.as_deref().unwrap_or("")))
            .unwrap_or_default(),
    };
    let hash = blake3::hash(key.as_bytes());
    format!("TS-{}", &hash.to_hex()[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json_uses_display_names() {
        let s = serde_json::to_string(&Status::ActiveNotRecruiting).unwrap();
        assert_eq!(s, "\"Active, not recruiting\"");
        for st in Status::ALL {
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        for ph in Phase::ALL {
            let json = serde_json::to_string(&ph).unwrap();
            assert_eq!(json, format!("\"{}\"", ph.as_str()));
        }
    }

    #[test]
    fn finalize_picks_id_in_order() {
        let mut t = Trial {
            title: Some("A Trial".into()),
            secondary_ids: vec!["ABC-1".into(), "ChiCTR2000029990".into()],
            ..Default::default()
        };
        t.finalize();
        assert_eq!(t.id, "ChiCTR2000029990");
        t.nct_id = Some("NCT01234567".into());
        t.finalize();
        assert_eq!(t.id, "NCT01234567");
        let mut u = Trial {
            title: Some("A  trial".into()),
            ..Default::default()
        };
        u.finalize();
        assert!(u.id.starts_with("TS-"));
        let mut v = Trial {
            title: Some("a trial".into()),
            ..Default::default()
        };
        v.finalize();
        assert_eq!(u.id, v.id, "derived id ignores case and spacing");
    }
}
