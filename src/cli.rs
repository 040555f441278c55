//! The command line: clap derive definitions ([`Cli`]) and their conversion
//! into the library's typed requests. Doc comments here are the `--help` text.

use crate::error::{Error, Result};
use crate::normalize;
use crate::render::ColorChoice;
use crate::search::collector::{FacetField, SortBy};
use crate::search::Filters;
use crate::trial::{Phase, Sex, Status, StudyType};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Offline full-text search for clinical-trial records.
///
/// Index a folder of trial page dumps and ClinicalTrials.gov downloads, then
/// search it with field-aware ranking, medical synonyms and filters.
#[derive(Debug, Parser)]
#[command(name = "trialsearch", version, about, long_about = None)]
#[command(after_help = "Examples:
  trialsearch index corpus/
  trialsearch query \"MSC sepsis phase 3\"
  trialsearch query \"umbilical cord ARDS\" --status recruiting --phase 2 --age 45
  trialsearch show NCT06416709")]
pub struct Cli {
    /// The index directory.
    #[arg(
        long,
        global = true,
        env = "TRIALSEARCH_INDEX",
        default_value = "index",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub index: PathBuf,

    /// When to colour output: auto (a terminal, and NO_COLOR unset), always, never.
    // The values are in the line above; clap's list of them would repeat it
    // under every subcommand's --help.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorArg::Auto,
        value_name = "WHEN",
        hide_possible_values = true,
        help_heading = "Global options"
    )]
    pub color: ColorArg,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl From<ColorArg> for ColorChoice {
    fn from(c: ColorArg) -> Self {
        match c {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the index from files and folders of trial records.
    ///
    /// Every file is recognised by its content: page dumps (TrialX,
    /// ClinicalTrials.gov via Ignite, ClinicalTrials.Veeva, ClinConnect, any
    /// other page), ClinicalTrials.gov API JSON (study, array, page, NDJSON,
    /// zip of studies), legacy XML, and both CSV exports. Records of one trial
    /// in several files become one result. Unreadable files are reported and
    /// skipped; the previous index stays searchable until the new one is done.
    #[command(
        after_help = "Examples:\n  trialsearch index corpus/\n  trialsearch index ~/downloads/ctg-studies.json.zip corpus/ --index ~/trials-index"
    )]
    Index(IndexArgs),
    /// Search the index: the best matches, then counts by status and phase.
    ///
    /// Results are for people (title, id, status, phases, conditions, sponsor,
    /// the matching text highlighted); --json, --format csv or --format tsv
    /// are for programs and spreadsheets.
    #[command(after_help = QUERY_HELP)]
    Query(QueryArgs),
    /// Show one trial's whole record, by NCT id or any registry id.
    #[command(
        after_help = "Examples:\n  trialsearch show NCT06416709\n  trialsearch show nct05689008 --json"
    )]
    Show(ShowArgs),
    /// Counts of the built index: trials, per format, and how often each field is filled.
    #[command(after_help = "Examples:\n  trialsearch stats\n  trialsearch stats --json")]
    Stats(StatsArgs),
    /// Count the values of one field over the trials matching a query.
    ///
    /// Most frequent first. Fields: status, phase, study_type, condition,
    /// intervention, sponsor, country. Trials without a status, phase or study
    /// type are counted as "Not given".
    #[command(
        after_help = "Examples:\n  trialsearch facets country\n  trialsearch facets sponsor \"knee osteoarthritis\" --status recruiting\n  trialsearch facets phase MSC --json"
    )]
    Facets(FacetsArgs),
    /// Write the normalized records of matching trials (all by default).
    ///
    /// Takes the query syntax and filters of `query`. NDJSON and JSON records
    /// are the `show --json` object; CSV and TSV have one row per trial with
    /// lists joined by " | ". Records are written as they are read, so the
    /// whole index exports in little memory. docs/ has a Quickwit index
    /// config and an Elasticsearch mapping for the NDJSON (README: "Moving
    /// to a cluster").
    #[command(
        after_help = "Examples:\n  trialsearch export > trials.ndjson\n  trialsearch export \"MSC ARDS\" --format csv > ards.csv\n  trialsearch export --status recruiting --country China --format tsv\n  trialsearch export sepsis | jq -r .id"
    )]
    Export(ExportArgs),
    /// Measure ranking quality: nDCG@10, P@10 and Recall@100 for judged queries.
    #[command(
        after_help = "Examples:\n  trialsearch eval tests/relevance/queries.tsv tests/relevance/qrels.txt\n  trialsearch eval queries.tsv qrels.txt --baseline --json"
    )]
    Eval(EvalArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  trialsearch completions bash > ~/.local/share/bash-completion/completions/trialsearch\n  trialsearch completions zsh > ~/.zfunc/_trialsearch\n  trialsearch completions fish > ~/.config/fish/completions/trialsearch.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(
        after_help = "Examples:\n  trialsearch man > trialsearch.1 && man ./trialsearch.1\n  trialsearch man > ~/.local/share/man/man1/trialsearch.1"
    )]
    Man,
}

const QUERY_HELP: &str = "Query syntax:
  words            all required, in any field (from two on, all but one; full
                   matches first); synonyms and abbreviations count too
                   (MSC finds \"mesenchymal stromal cells\"), below the exact words;
                   a word that matches nothing is spell-corrected (with a note)
  \"a phrase\"       the words in this order, exactly
  -word, NOT word  exclude trials with the word
  a OR b           either
  phase 3, recruiting  raise trials in that phase / status, never filter
  title: condition: intervention: sponsor: id: eligibility: summary: location:
                   search one area, e.g. condition:\"knee osteoarthritis\"
  age:[18 TO 65]   trials whose age range overlaps

Examples:
  trialsearch query \"MSC sepsis phase 3\"
  trialsearch query \"umbilical cord ARDS\" --status recruiting --phase 2 --age 45
  trialsearch query 'GvHD -children' --country \"United States\" --json
  trialsearch query knee --sort updated --format csv > knee.csv";

/// `index` options.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files and folders to index.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Follow symbolic links (by default they are reported and skipped).
    #[arg(long)]
    pub follow: bool,
    /// Exit with status 2 if any file was skipped (default: 0, skips are reported).
    #[arg(long)]
    pub strict: bool,
    /// No progress bar and no per-file messages; the summary only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Re-read every file, ignoring the record cache of the live index.
    #[arg(long)]
    pub full: bool,
}

/// Filters shared by `query`, `facets` and `export`.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only trials with this status (repeatable): recruiting, completed, "active, not recruiting", NOT_YET_RECRUITING ...
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only trials in this phase (repeatable): 1, 2, 3, 4, early1, na; "2" matches Phase 1/2 trials too.
    #[arg(long, value_name = "PHASE")]
    pub phase: Vec<String>,
    /// Only trials whose conditions mention these words (repeatable).
    #[arg(long, value_name = "WORDS")]
    pub condition: Vec<String>,
    /// Only trials whose sponsor or collaborators mention these words (repeatable).
    #[arg(long, value_name = "WORDS")]
    pub sponsor: Vec<String>,
    /// Only trials with a site in this country (repeatable).
    #[arg(long, value_name = "COUNTRY")]
    pub country: Vec<String>,
    /// Only trials whose age range includes this age in years (a missing bound is open).
    #[arg(long, value_name = "YEARS")]
    pub age: Option<f64>,
    /// Only trials taking this sex: female, male (trials for all sexes included), all.
    #[arg(long, value_name = "SEX")]
    pub sex: Option<String>,
    /// Only trials of this study type (repeatable): interventional, observational, expanded access.
    #[arg(long = "type", value_name = "TYPE")]
    pub study_type: Vec<String>,
}

/// `--sort` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SortArg {
    /// Best match first.
    #[default]
    Relevance,
    /// Most recently updated first.
    Updated,
    /// Most recently started first.
    Start,
    /// Largest enrollment first.
    Enrollment,
}

impl From<SortArg> for SortBy {
    fn from(s: SortArg) -> Self {
        match s {
            SortArg::Relevance => SortBy::Relevance,
            SortArg::Updated => SortBy::Updated,
            SortArg::Start => SortBy::Start,
            SortArg::Enrollment => SortBy::Enrollment,
        }
    }
}

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// For people.
    Text,
    /// One JSON object (same as --json).
    Json,
    /// CSV with a header row.
    Csv,
    /// TSV with a header row.
    Tsv,
}

/// `query` options.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query (several words may be given unquoted).
    #[arg(value_name = "QUERY", num_args = 0..)]
    pub text: Vec<String>,
    /// Hits to show.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,
    /// Hits to skip (for paging).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Order of hits; ties are broken by trial id.
    #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
    pub sort: SortArg,
    /// Also count these facets (repeatable): study_type, condition, intervention, sponsor, country.
    #[arg(long, value_name = "FIELD")]
    pub facet: Vec<String>,
    /// Print one JSON object: {"query", "total", "hits": [{"id", "nct_id", "title", "status",
    /// "phases", "conditions", "sponsor", "score", "snippet", "sources", ...}], "facets":
    /// {"status": {value: count}, "phase": {value: count}}, "notes"}.
    #[arg(long)]
    pub json: bool,
    /// Show, under each hit, which fields and words contributed to its score
    /// (synonym and phrase matches marked); with --json, an "explain" array
    /// of {"field", "text", "kind", "score"} on each hit.
    #[arg(long)]
    pub explain: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QueryFormat::Text, conflicts_with = "json")]
    pub format: QueryFormat,
    /// Filters (last: their help heading would carry over to options after them).
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// NCT id, another registry id, or the id shown in results.
    pub id: String,
    /// Print the normalized record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print as JSON ({"trials", "records", "trials_per_format", "fill_rates", ...}).
    #[arg(long)]
    pub json: bool,
}

/// `facets` options.
#[derive(Debug, Args)]
pub struct FacetsArgs {
    /// The field: status, phase, study_type, condition, intervention, sponsor, country.
    pub field: String,
    /// Query text (optional: all trials).
    #[arg(value_name = "QUERY", num_args = 0..)]
    pub text: Vec<String>,
    /// Values to show.
    #[arg(long, short = 'n', default_value_t = 30)]
    pub limit: usize,
    /// Print {"field", "total", "values": [{"value", "count"}]}.
    #[arg(long)]
    pub json: bool,
    /// Filters (last: their help heading would carry over to options after them).
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON record per line (for Elasticsearch, Quickwit, pandas.read_json(lines=True)).
    Ndjson,
    /// A JSON array.
    Json,
    /// CSV with a header row; lists joined by " | ".
    Csv,
    /// TSV with a header row.
    Tsv,
}

/// `export` options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Query text (optional: all trials).
    #[arg(value_name = "QUERY", num_args = 0..)]
    pub text: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
    pub format: ExportFormat,
    /// Order of records.
    #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
    pub sort: SortArg,
    /// Filters (last: their help heading would carry over to options after them).
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `eval` options.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Queries: `qid<TAB>text` per line.
    pub queries: PathBuf,
    /// Judgments, TREC qrels: `qid 0 docid grade` per line.
    pub qrels: PathBuf,
    /// Also run the plain BM25 baseline (default tokenizer, no synonyms, no weights)
    /// on the same trials and print both.
    #[arg(long)]
    pub baseline: bool,
    /// Print per-query and overall figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write a TREC run file (`qid Q0 docid rank score trialsearch`).
    #[arg(long, value_name = "FILE")]
    pub run: Option<PathBuf>,
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

fn accepted<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|x| name(*x)).collect::<Vec<_>>().join(", ")
}

/// Parse `--status` values (display or enum names, any case).
pub fn parse_statuses(v: &[String]) -> Result<Vec<Status>> {
    v.iter()
        .flat_map(|s| split_list(s))
        .map(|s| {
            normalize::parse_status(&s).ok_or_else(|| Error::Filter {
                flag: "--status",
                value: s.clone(),
                accepted: accepted(&Status::ALL, Status::as_str),
            })
        })
        .collect()
}

fn split_list(s: &str) -> Vec<String> {
    // "active, not recruiting" contains a comma: only split on '|'.
    s.split('|')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Parse `--phase` values: `2`, `ii`, `phase 2`, `PHASE2`, `early1`, `na`, `1/2`.
pub fn parse_phase_args(v: &[String]) -> Result<Vec<Phase>> {
    let mut out = Vec::new();
    for raw in v.iter().flat_map(|s| {
        s.split([',', '|'])
            .map(str::trim)
            .map(str::to_string)
            .collect::<Vec<_>>()
    }) {
        let k = raw.to_ascii_lowercase().replace([' ', '_', '-'], "");
        let parsed = match k.as_str() {
            "early1" | "earlyphase1" | "early" | "0" | "earlyi" => vec![Phase::EarlyPhase1],
            "na" | "n/a" | "notapplicable" => vec![Phase::NotApplicable],
            _ => {
                let text = if k.starts_with("phase") {
                    raw.clone()
                } else {
                    format!("phase {raw}")
                };
                normalize::parse_phases(&text)
            }
        };
        if parsed.is_empty() {
            return Err(Error::Filter {
                flag: "--phase",
                value: raw,
                accepted: "1, 2, 3, 4, early1, na (also \"Phase 2\", II, PHASE2, 1/2)".into(),
            });
        }
        out.extend(parsed);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parse a facet field name.
pub fn parse_facet(s: &str) -> Result<FacetField> {
    let k = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    // Singular and plural forms: "status", "statuses", "countries", "phases".
    // The exact name is tried first so "status" keeps its final "s".
    let mut forms = vec![k.clone()];
    if let Some(stem) = k.strip_suffix("ies") {
        forms.push(format!("{stem}y"));
    }
    if let Some(stem) = k.strip_suffix("es") {
        forms.push(stem.to_string());
    }
    if let Some(stem) = k.strip_suffix('s') {
        forms.push(stem.to_string());
    }
    forms
        .iter()
        .find_map(|k| {
            FacetField::ALL.iter().copied().find(|f| {
                f.name() == k || (*f == FacetField::StudyType && (k == "type" || k == "studytype"))
            })
        })
        .ok_or_else(|| Error::Filter {
            flag: "facet field",
            value: s.to_string(),
            accepted: accepted(&FacetField::ALL, FacetField::name),
        })
}

impl FilterArgs {
    /// Validate and convert into [`Filters`].
    pub fn to_filters(&self) -> Result<Filters> {
        let sex = match &self.sex {
            None => None,
            Some(s) => Some(normalize::parse_sex(s).ok_or_else(|| Error::Filter {
                flag: "--sex",
                value: s.clone(),
                accepted: accepted(&Sex::ALL, Sex::as_str),
            })?),
        };
        let study_type = self
            .study_type
            .iter()
            .map(|t| {
                normalize::parse_study_type(t).ok_or_else(|| Error::Filter {
                    flag: "--type",
                    value: t.clone(),
                    accepted: accepted(&StudyType::ALL, StudyType::as_str),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(a) = self.age {
            if !(0.0..=130.0).contains(&a) || a.is_nan() {
                return Err(Error::Filter {
                    flag: "--age",
                    // `1e308` as typed, not its 309 digits.
                    value: if a.abs() < 1e6 {
                        a.to_string()
                    } else {
                        format!("{a:e}")
                    },
                    accepted: "an age in years from 0 to 130 (decimals allowed: 0.5 is six months)"
                        .into(),
                });
            }
        }
        Ok(Filters {
            status: parse_statuses(&self.status)?,
            phase: parse_phase_args(&self.phase)?,
            condition: self.condition.clone(),
            sponsor: self.sponsor.clone(),
            country: self.country.clone(),
            age: self.age,
            sex,
            study_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn filter_values() {
        assert_eq!(
            parse_statuses(&[
                "recruiting".into(),
                "ACTIVE_NOT_RECRUITING".into(),
                "Active, not recruiting".into()
            ])
            .unwrap(),
            vec![
                Status::Recruiting,
                Status::ActiveNotRecruiting,
                Status::ActiveNotRecruiting
            ]
        );
        assert_eq!(
            parse_phase_args(&["2".into()]).unwrap(),
            vec![Phase::Phase2]
        );
        assert_eq!(
            parse_phase_args(&["II".into(), "phase 3".into()]).unwrap(),
            vec![Phase::Phase2, Phase::Phase3]
        );
        assert_eq!(
            parse_phase_args(&["1/2".into()]).unwrap(),
            vec![Phase::Phase1, Phase::Phase2]
        );
        assert_eq!(
            parse_phase_args(&["early1".into(), "na".into()]).unwrap(),
            vec![Phase::EarlyPhase1, Phase::NotApplicable]
        );
        let e = parse_phase_args(&["7".into()]).unwrap_err().to_string();
        assert!(e.contains("--phase") && e.contains("accepted"));
        let e = parse_statuses(&["bogus".into()]).unwrap_err().to_string();
        assert!(e.contains("Recruiting") && e.contains("Completed"));
        assert_eq!(parse_facet("countries").unwrap(), FacetField::Country);
        assert_eq!(parse_facet("status").unwrap(), FacetField::Status);
        assert_eq!(parse_facet("statuses").unwrap(), FacetField::Status);
        assert_eq!(parse_facet("phases").unwrap(), FacetField::Phase);
        assert_eq!(parse_facet("type").unwrap(), FacetField::StudyType);
        assert!(parse_facet("colour").is_err());
        assert_eq!(parse_facet("status").unwrap(), FacetField::Status);
        assert_eq!(parse_facet("statuses").unwrap(), FacetField::Status);
        assert_eq!(parse_facet("Phases").unwrap(), FacetField::Phase);
    }
}
