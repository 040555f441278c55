//! Stage 3, merge: the records of one trial found in several files → one
//! [`Trial`].
//!
//! Records are linked (union-find) when they share an NCT id, when one's
//! registry id (ChiCTR, ISRCTN, EudraCT ...) is the other's, or — for records
//! without an NCT id, such as a ClinConnect page — when their normalized
//! titles are equal and their sponsors agree. Within a group, each field is
//! taken from the best source that has it: structured ClinicalTrials.gov
//! records first, the most recently updated first; then page dumps, the
//! richest first. Ids and sources are the union of all records.
//!
//! Memory: the link keys are small (ids and title keys), so a first pass
//! over keys scales to the whole registry; the records themselves are moved,
//! not copied, into their group.

use crate::normalize::{is_registry_id, sponsor_key, title_key};
use crate::trial::Trial;
use std::collections::HashMap;

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // Keep the lower index as root so groups are ordered by first sight.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// A title long enough to identify a trial; "Study 1" is not.
fn identifying_title(key: &str) -> bool {
    key.split(' ').count() >= 4 && key.len() >= 20
}

/// What linking needs to know of one record: ids, title keys and sponsor.
/// Small, so the keys of a whole registry fit in memory while the records
/// themselves wait on disk (see `index::build`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkKeys {
    /// Upper-cased NCT id and registry ids, each prefixed `id:`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ids: Vec<String>,
    /// Identifying title keys (title and official title).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    titles: Vec<String>,
    /// The record has an NCT id (title links are only for records without).
    #[serde(default)]
    has_nct: bool,
    /// Normalized sponsor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sponsor: Option<String>,
    /// The record's own id (after `finalize`): the sort key of a singleton.
    pub id: String,
}

impl LinkKeys {
    /// The keys of a finalized record.
    pub fn of(r: &Trial) -> LinkKeys {
        let mut ids = Vec::new();
        if let Some(nct) = &r.nct_id {
            ids.push(format!("id:{}", nct.to_ascii_uppercase()));
        }
        for s in r.secondary_ids.iter().filter(|s| is_registry_id(s)) {
            ids.push(format!("id:{}", s.to_ascii_uppercase()));
        }
        let titles = [&r.title, &r.official_title]
            .into_iter()
            .flatten()
            .map(|t| title_key(t))
            .filter(|k| identifying_title(k))
            .collect();
        LinkKeys {
            ids,
            titles,
            has_nct: r.nct_id.is_some(),
            sponsor: r.sponsor.as_deref().map(sponsor_key),
            id: r.id.clone(),
        }
    }
}

/// Group records by their keys: each group lists record indexes in
/// increasing order, and groups come in order of their first record.
pub fn groups(keys: &[LinkKeys]) -> Vec<Vec<usize>> {
    let n = keys.len();
    let mut uf = UnionFind::new(n);
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        for id in &k.ids {
            match by_id.get(id.as_str()) {
                Some(&j) => uf.union(i, j),
                None => {
                    by_id.insert(id, i);
                }
            }
        }
    }
    // Title + sponsor links: only for records with no NCT id, so two distinct
    // registered trials with the same title are never fused.
    let mut by_title: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        for t in &k.titles {
            by_title.entry(t).or_default().push(i);
        }
    }
    for group in by_title.values() {
        for &i in group.iter().filter(|&&i| !keys[i].has_nct) {
            let si = keys[i].sponsor.as_deref();
            let partner = group
                .iter()
                .copied()
                .find(|&j| j != i && sponsors_agree(si, keys[j].sponsor.as_deref()));
            if let Some(j) = partner {
                uf.union(i, j);
            }
        }
    }
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let root = uf.find(i);
        let g = *slot.entry(root).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[g].push(i);
    }
    out
}

/// Watches records one at a time for any that [`groups`] could link to a
/// record seen before, or that shares its id with one: what the streaming
/// build (`index::build`) must rule out before it writes a record as a
/// trial of its own, without waiting for every file's keys.
///
/// Conservative: it flags every pair sharing an id key, and every pair
/// sharing a title key of which at least one has no NCT id (a superset of
/// what `groups` links, which also asks the sponsors to agree). The order
/// records come in does not change whether some record is flagged. Keys are
/// kept as 64-bit hashes (~16 bytes each; 500,000 records ≈ 32 MB): a hash
/// collision only flags a record that needed no flag.
#[derive(Debug, Default)]
pub struct LinkWatch {
    /// Hash of a key → for a title key, whether a record without an NCT id
    /// had it.
    seen: HashMap<u64, bool>,
}

impl LinkWatch {
    fn hash(kind: u8, key: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        kind.hash(&mut h);
        key.hash(&mut h);
        h.finish()
    }

    /// Take in one record's keys; false when it may link to a record taken
    /// in before, or has the same id (it is then not taken in).
    pub fn admit(&mut self, k: &LinkKeys) -> bool {
        let ids: Vec<u64> = k.ids.iter().map(|i| Self::hash(0, i)).collect();
        let own = Self::hash(1, &k.id);
        let titles: Vec<u64> = k.titles.iter().map(|t| Self::hash(2, t)).collect();
        if ids.iter().chain([&own]).any(|h| self.seen.contains_key(h)) {
            return false;
        }
        let linkable = titles
            .iter()
            .any(|h| self.seen.get(h).is_some_and(|&no_nct| no_nct || !k.has_nct));
        if linkable {
            return false;
        }
        for h in ids.into_iter().chain([own]) {
            self.seen.insert(h, false);
        }
        for h in titles {
            *self.seen.entry(h).or_default() |= !k.has_nct;
        }
        true
    }
}

/// Link and merge records. The result is in a stable order: by id, and
/// trials sharing an id (distinct untitled pages) by first sighting.
pub fn merge(records: Vec<Trial>) -> Vec<Trial> {
    let keys: Vec<LinkKeys> = records.iter().map(LinkKeys::of).collect();
    let groups = groups(&keys);
    let mut slots: Vec<Option<Trial>> = records.into_iter().map(Some).collect();
    let mut out: Vec<(usize, Trial)> = groups
        .into_iter()
        .map(|g| {
            let first = g[0];
            let members = g.into_iter().filter_map(|i| slots[i].take()).collect();
            (first, merge_group(members))
        })
        .collect();
    // By id, then by sources: the order (and so which of two same-titled
    // pages keeps the plain derived id) does not depend on input order.
    out.sort_by(|a, b| {
        a.1.id
            .cmp(&b.1.id)
            .then_with(|| a.1.sources.cmp(&b.1.sources))
            .then(a.0.cmp(&b.0))
    });
    let mut out: Vec<Trial> = out.into_iter().map(|(_, t)| t).collect();
    if make_ids_unique(&mut out) {
        out.sort_by(|a, b| a.id.cmp(&b.id));
    }
    out
}

/// Ids must be unique (`show ID`, the index's id field). A derived `TS-` id
/// is a hash of the title, so two pages with one title and sponsors that
/// disagree (not merged) got the same id and one of them could not be shown.
/// Every one after the first (in a stable order) takes an id that also
/// covers its source. Returns whether any id changed.
pub fn make_ids_unique(sorted: &mut [Trial]) -> bool {
    let mut changed = false;
    let mut previous = String::new();
    for t in sorted.iter_mut() {
        // Compare with the id as merged, not as renamed: a third trial with
        // the same title must be renamed too.
        let original = t.id.clone();
        if original == previous && t.nct_id.is_none() {
            t.id = crate::trial::distinct_derived_id(t);
            changed = true;
        }
        previous = original;
    }
    changed
}

fn sponsors_agree(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => !a.is_empty() && (a == b || a.starts_with(b) || b.starts_with(a)),
        _ => false,
    }
}

fn filled_fields(t: &Trial) -> usize {
    let opt = [
        t.nct_id.is_some(),
        t.title.is_some(),
        t.official_title.is_some(),
        t.status.is_some(),
        !t.phases.is_empty(),
        t.study_type.is_some(),
        !t.conditions.is_empty(),
        !t.interventions.is_empty(),
        t.sponsor.is_some(),
        t.enrollment.is_some(),
        t.sex.is_some(),
        t.min_age_years.is_some(),
        t.max_age_years.is_some(),
        !t.locations.is_empty(),
        t.summary.is_some(),
        t.description.is_some(),
        !t.inclusion_criteria.is_empty(),
        !t.exclusion_criteria.is_empty(),
        t.first_posted.is_some(),
        t.last_updated.is_some(),
    ];
    opt.iter().filter(|b| **b).count()
}

/// How close a record is to the registry's own words (lower is closer):
/// ClinicalTrials.gov downloads, then pages that copy the record verbatim
/// (Ignite, Veeva), then pages that rewrite it (TrialX, ClinConnect's lay
/// summaries), then pages of unknown layout. Among structured records the
/// newest wins; among pages of one kind, the richest.
fn authority(t: &Trial) -> u8 {
    use crate::trial::Format::*;
    t.sources
        .iter()
        .map(|s| match s.format {
            CtgovJson | CtgovXml | CtgovCsv | CtgovCsvClassic => 0,
            Ignite => 1,
            Veeva => 2,
            Trialx => 3,
            Clinconnect => 4,
            Generic => 5,
        })
        .min()
        .unwrap_or(5)
}

/// Merge the records of one trial, best source first.
pub fn merge_group(mut group: Vec<Trial>) -> Trial {
    if group.len() == 1 {
        let mut t = group.pop().unwrap_or_default();
        t.finalize();
        return t;
    }
    group.sort_by(|a, b| {
        authority(a)
            .cmp(&authority(b))
            .then_with(|| {
                if authority(a) == 0 {
                    b.last_updated.cmp(&a.last_updated)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| filled_fields(b).cmp(&filled_fields(a)))
            .then_with(|| a.sources.cmp(&b.sources))
    });
    let mut iter = group.into_iter();
    let mut out = iter.next().unwrap_or_default();
    for r in iter {
        fill(&mut out, r);
    }
    out.finalize();
    out
}

macro_rules! fill_opt {
    ($out:ident, $r:ident, $($f:ident),*) => {
        $( if $out.$f.is_none() { $out.$f = $r.$f; } )*
    };
}
macro_rules! fill_vec {
    ($out:ident, $r:ident, $($f:ident),*) => {
        $( if $out.$f.is_empty() { $out.$f = $r.$f; } )*
    };
}

fn fill(out: &mut Trial, r: Trial) {
    fill_opt!(
        out,
        r,
        nct_id,
        title,
        official_title,
        acronym,
        status,
        study_type,
        sponsor,
        enrollment,
        sex,
        min_age_years,
        max_age_years,
        healthy_volunteers,
        first_posted,
        last_updated,
        start_date,
        completion_date,
        summary,
        description,
        why_stopped,
        other_text
    );
    fill_vec!(
        out,
        r,
        phases,
        conditions,
        keywords,
        interventions,
        collaborators,
        age_groups,
        locations,
        inclusion_criteria,
        exclusion_criteria,
        outcomes,
        contacts,
        officials,
        condition_mesh,
        condition_mesh_ancestors,
        intervention_mesh,
        intervention_mesh_ancestors
    );
    if out.design.allocation.is_none() {
        out.design.allocation = r.design.allocation;
    }
    if out.design.masking.is_none() {
        out.design.masking = r.design.masking;
    }
    if out.design.model.is_none() {
        out.design.model = r.design.model;
    }
    if out.design.purpose.is_none() {
        out.design.purpose = r.design.purpose;
    }
    out.secondary_ids.extend(r.secondary_ids);
    out.countries.extend(r.countries);
    out.sources.extend(r.sources);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::{Format, Source, Status};

    /// The watch flags every record `groups` could link to an earlier one,
    /// and records sharing an id; records with NCT ids sharing a title pass.
    #[test]
    fn link_watch_flags_what_could_link() {
        let rec = |nct: Option<&str>, title: &str, sponsor: &str| {
            let mut t = Trial {
                nct_id: nct.map(str::to_string),
                title: Some(title.to_string()),
                sponsor: Some(sponsor.to_string()),
                ..Default::default()
            };
            t.finalize();
            LinkKeys::of(&t)
        };
        let title = "Stem Cells for Knee Osteoarthritis in Adults";
        let mut w = LinkWatch::default();
        assert!(w.admit(&rec(Some("NCT01234567"), title, "A")));
        // Another registered trial with the same title: never linked.
        assert!(w.admit(&rec(Some("NCT07654321"), title, "B")));
        // The same NCT id again, or a page without one and the same title.
        assert!(!w.admit(&rec(Some("NCT01234567"), "Other", "A")));
        assert!(!w.admit(&rec(None, title, "A")));
        // An unregistered page, then another with its title.
        let other = "Mesenchymal Stromal Cells in Severe ARDS Patients";
        assert!(w.admit(&rec(None, other, "C")));
        assert!(!w.admit(&rec(Some("NCT05555555"), other, "D")));
        // A pair `groups` links (title, agreeing sponsors) is flagged.
        let keys = [rec(None, other, "C"), rec(Some("NCT05555555"), other, "C")];
        assert_eq!(groups(&keys), vec![vec![0, 1]]);
        let mut w = LinkWatch::default();
        assert!(w.admit(&keys[0]));
        assert!(!w.admit(&keys[1]));
    }

    #[test]
    fn same_title_different_sponsors_get_distinct_ids() {
        let recs = vec![
            page(
                "Stem cells for knee pain",
                "Alpha Hospital",
                None,
                "a.txt",
                Format::Generic,
            ),
            page(
                "Stem cells for knee pain",
                "Beta Clinic",
                None,
                "b.txt",
                Format::Generic,
            ),
            page(
                "Stem cells for knee pain",
                "Gamma Institute",
                None,
                "c.txt",
                Format::Generic,
            ),
        ];
        let out = merge(recs.clone());
        assert_eq!(out.len(), 3);
        let mut ids: Vec<&str> = out.iter().map(|t| t.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3, "{ids:?}");
        // Stable: the same records in another order get the same ids.
        let mut rev = recs;
        rev.reverse();
        let again = merge(rev);
        let a: Vec<&str> = again.iter().map(|t| t.id.as_str()).collect();
        let mut b: Vec<&str> = out.iter().map(|t| t.id.as_str()).collect();
        b.sort();
        assert_eq!(a, b);
    }

    fn page(title: &str, sponsor: &str, nct: Option<&str>, path: &str, f: Format) -> Trial {
        Trial {
            title: Some(title.into()),
            sponsor: Some(sponsor.into()),
            nct_id: nct.map(str::to_string),
            sources: vec![Source {
                path: path.into(),
                format: f,
                entry: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn joins_by_title_and_sponsor_when_no_nct() {
        let a = page(
            "Stem Cell Treatment for Lung Injury Caused by Major Infectious Diseases",
            "Cell Energy Life Sciences Group Co LTD",
            Some("NCT06416709"),
            "001.txt",
            Format::Ignite,
        );
        let mut b = page(
            "Stem Cell Treatment for Lung Injury Caused by Major Infectious Diseases",
            "CELL ENERGY LIFE SCIENCES GROUP CO. LTD",
            None,
            "004.txt",
            Format::Clinconnect,
        );
        b.status = Some(Status::Recruiting);
        let c = page(
            "Stem Cell Treatment for Lung Injury Caused by Major Infectious Diseases",
            "Another Sponsor",
            None,
            "x.txt",
            Format::Generic,
        );
        let out = merge(vec![a, b, c]);
        assert_eq!(out.len(), 2);
        let m = out.iter().find(|t| t.id == "NCT06416709").unwrap();
        assert_eq!(m.sources.len(), 2);
        assert_eq!(m.status, Some(Status::Recruiting));
    }

    #[test]
    fn structured_newest_wins() {
        let mut old = page(
            "T one two three four",
            "S",
            Some("NCT00000001"),
            "a.json",
            Format::CtgovJson,
        );
        old.last_updated = Some("2020-01-01".into());
        old.status = Some(Status::Recruiting);
        let mut new = page(
            "T one two three four",
            "S",
            Some("NCT00000001"),
            "b.json",
            Format::CtgovJson,
        );
        new.last_updated = Some("2024-01-01".into());
        new.status = Some(Status::Completed);
        let mut pagev = page(
            "T one two three four",
            "S",
            Some("NCT00000001"),
            "c.txt",
            Format::Veeva,
        );
        pagev.status = Some(Status::Terminated);
        pagev.enrollment = Some(12);
        let out = merge(vec![pagev, old, new]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, Some(Status::Completed));
        assert_eq!(out[0].enrollment, Some(12));
        assert_eq!(out[0].sources.len(), 3);
    }

    #[test]
    fn links_by_registry_secondary_id() {
        let mut a = page(
            "Alpha trial of cells in lungs",
            "S1",
            Some("NCT00000002"),
            "a",
            Format::CtgovJson,
        );
        a.secondary_ids = vec!["ChiCTR2000029990".into()];
        let mut b = page("Other words", "S2", None, "b", Format::Generic);
        b.secondary_ids = vec!["ChiCTR2000029990".into()];
        assert_eq!(merge(vec![a, b]).len(), 1);
    }
}
