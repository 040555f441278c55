//! Stage 6, tables: hits and records as CSV or TSV rows (the `csv` crate
//! does the quoting), for spreadsheets, pandas and R. Lists are joined with
//! ` | `, as ClinicalTrials.gov's own CSV export does.

use crate::render::json::source_string;
use crate::search::SearchResult;
use crate::trial::Trial;
use std::io::Write;

/// The columns of `export --format csv`, in order.
pub const EXPORT_COLUMNS: [&str; 31] = [
    "id",
    "nct_id",
    "secondary_ids",
    "title",
    "official_title",
    "acronym",
    "status",
    "phases",
    "study_type",
    "conditions",
    "keywords",
    "interventions",
    "sponsor",
    "collaborators",
    "enrollment",
    "sex",
    "min_age_years",
    "max_age_years",
    "healthy_volunteers",
    "countries",
    "locations",
    "first_posted",
    "last_updated",
    "start_date",
    "completion_date",
    "summary",
    "description",
    "inclusion_criteria",
    "exclusion_criteria",
    "condition_mesh",
    "sources",
];

/// The columns of `query --format csv`.
pub const HIT_COLUMNS: [&str; 11] = [
    "rank",
    "id",
    "nct_id",
    "title",
    "status",
    "phases",
    "conditions",
    "sponsor",
    "countries",
    "score",
    "snippet",
];

fn writer(w: &mut dyn Write, tsv: bool) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new()
        .delimiter(if tsv { b'\t' } else { b',' })
        .from_writer(w)
}

fn list<T: AsRef<str>>(v: &[T]) -> String {
    v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" | ")
}

fn cell(s: &str, tsv: bool) -> String {
    if tsv {
        // TSV has no quoting convention that every tool honours: keep one
        // record on one line.
        s.replace(['\t', '\n', '\r'], " ")
    } else {
        s.to_string()
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One export row, in [`EXPORT_COLUMNS`] order.
pub fn export_row(t: &Trial) -> Vec<String> {
    vec![
        t.id.clone(),
        t.nct_id.clone().unwrap_or_default(),
        list(&t.secondary_ids),
        t.title.clone().unwrap_or_default(),
        t.official_title.clone().unwrap_or_default(),
        t.acronym.clone().unwrap_or_default(),
        t.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        list(&t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
        t.study_type
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        list(&t.conditions),
        list(&t.keywords),
        list(
            &t.interventions
                .iter()
                .map(|i| match &i.kind {
                    Some(k) => format!("{k}: {}", i.name),
                    None => i.name.clone(),
                })
                .collect::<Vec<_>>(),
        ),
        t.sponsor.clone().unwrap_or_default(),
        list(&t.collaborators),
        t.enrollment.map(|e| e.to_string()).unwrap_or_default(),
        t.sex.map(|s| s.as_str().to_string()).unwrap_or_default(),
        opt_num(t.min_age_years),
        opt_num(t.max_age_years),
        t.healthy_volunteers
            .map(|b| b.to_string())
            .unwrap_or_default(),
        list(&t.countries),
        list(
            &t.locations
                .iter()
                .map(|l| {
                    [&l.facility, &l.city, &l.state, &l.country]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect::<Vec<_>>(),
        ),
        t.first_posted.clone().unwrap_or_default(),
        t.last_updated.clone().unwrap_or_default(),
        t.start_date.clone().unwrap_or_default(),
        t.completion_date.clone().unwrap_or_default(),
        t.summary.clone().unwrap_or_default(),
        t.description.clone().unwrap_or_default(),
        list(&t.inclusion_criteria),
        list(&t.exclusion_criteria),
        list(&t.condition_mesh),
        list(&t.sources.iter().map(source_string).collect::<Vec<_>>()),
    ]
}

/// Write records as CSV (or TSV) with a header row.
pub fn write_export(w: &mut dyn Write, trials: &[Trial], tsv: bool) -> csv::Result<()> {
    let mut wr = ExportWriter::new(w, tsv)?;
    for t in trials {
        wr.write(t)?;
    }
    wr.finish()
}

/// Writes export rows one record at a time, so `export` can stream any
/// number of trials: the header on creation, a row per [`ExportWriter::write`].
pub struct ExportWriter<'a> {
    wr: csv::Writer<&'a mut dyn Write>,
    tsv: bool,
}

impl<'a> ExportWriter<'a> {
    /// Start a table: writes the header row.
    pub fn new(w: &'a mut dyn Write, tsv: bool) -> csv::Result<Self> {
        let mut wr = writer(w, tsv);
        wr.write_record(EXPORT_COLUMNS)?;
        Ok(ExportWriter { wr, tsv })
    }

    /// Write one record's row.
    pub fn write(&mut self, t: &Trial) -> csv::Result<()> {
        let tsv = self.tsv;
        self.wr
            .write_record(export_row(t).iter().map(|c| cell(c, tsv)))
    }

    /// Flush what is buffered.
    pub fn finish(mut self) -> csv::Result<()> {
        self.wr.flush()?;
        Ok(())
    }
}

/// Write hits as CSV (or TSV) with a header row; snippets lose their marks.
pub fn write_hits(w: &mut dyn Write, r: &SearchResult, tsv: bool) -> csv::Result<()> {
    let mut wr = writer(w, tsv);
    wr.write_record(HIT_COLUMNS)?;
    for h in &r.hits {
        let t = &h.trial;
        let row = [
            h.rank.to_string(),
            t.id.clone(),
            t.nct_id.clone().unwrap_or_default(),
            t.display_title().to_string(),
            t.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            list(&t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
            list(&t.conditions),
            t.sponsor.clone().unwrap_or_default(),
            list(&t.countries),
            format!("{:.4}", h.score),
            h.snippet.replace("<mark>", "").replace("</mark>", ""),
        ];
        wr.write_record(row.iter().map(|c| cell(c, tsv)))?;
    }
    wr.flush()?;
    Ok(())
}
