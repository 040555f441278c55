//! Golden tests of the stage-1 ClinicalTrials.gov adapters (API v2 JSON,
//! legacy XML, classic and current CSV), run through the real dispatcher
//! [`crate::sources::read_file`] on real records copied into
//! `tests/data/ctgov/` (see its README).
//!
//! Each case's finalized trials are compared, by value, with
//! `tests/golden/ctgov/<case>.expected.json`; `UPDATE_GOLDEN=1 cargo test`
//! rewrites those files (check the diff by eye against the source records).

use super::{read_file, FileReport, Item, Limits, SkipReason};
use crate::trial::{Phase, Status, Trial};
use std::io::Write;
use std::path::{Path, PathBuf};

struct Read {
    trials: Vec<Trial>,
    warnings: Vec<String>,
    result: Result<FileReport, SkipReason>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Read one file through the dispatcher; trials are finalized, as the
/// indexer would.
fn read_path(path: &Path, display: &str) -> Read {
    let mut trials = Vec::new();
    let mut warnings = Vec::new();
    let result = read_file(path, display, &Limits::default(), &mut |item| match item {
        Item::Trial(mut t) => {
            t.finalize();
            trials.push(*t);
        }
        Item::Warning(w) => warnings.push(w),
    });
    Read {
        trials,
        warnings,
        result,
    }
}

/// Read a file under `tests/data/ctgov/`, shown by its path relative to the
/// repository so golden `sources` do not depend on the checkout's location.
fn read_data(rel: &str) -> Read {
    let display = format!("tests/data/ctgov/{rel}");
    read_path(&root().join(&display), &display)
}

fn data_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/data/ctgov").join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Compare `trials` with the golden file of `case` (or rewrite it).
fn check_golden(case: &str, trials: &[Trial]) {
    let path = root().join(format!("tests/golden/ctgov/{case}.expected.json"));
    let actual = serde_json::to_value(trials).expect("trials serialize");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&actual).expect("pretty JSON");
        std::fs::write(&path, text + "\n").expect("write golden file");
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    let expected: serde_json::Value = serde_json::from_str(&text).expect("golden JSON parses");
    if expected != actual {
        let pretty = serde_json::to_string_pretty(&actual).unwrap_or_default();
        let first_diff = text
            .lines()
            .zip(pretty.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{case}: trials differ from {} (first differing line {}); \
             rerun with UPDATE_GOLDEN=1 and check the diff",
            path.display(),
            first_diff + 1
        );
    }
}

/// Read every file of a data folder as one golden case.
fn golden_dir(case: &str, dir: &str) -> Vec<Trial> {
    let mut all = Vec::new();
    for name in data_files(dir) {
        let r = read_data(&format!("{dir}/{name}"));
        assert!(r.result.is_ok(), "{name}: {:?}", r.result);
        assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
        all.extend(r.trials);
    }
    check_golden(case, &all);
    all
}

fn by_id<'a>(trials: &'a [Trial], id: &str) -> &'a Trial {
    trials
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("{id} not read"))
}

#[test]
fn golden_json() {
    let t = golden_dir("json", "json");
    assert_eq!(t.len(), 5);
    // Multi-phase, and locations under the nonstandard `locations_nested` key.
    let multi = by_id(&t, "NCT05863234");
    assert_eq!(multi.phases, vec![Phase::Phase1, Phase::Phase2]);
    assert!(!multi.locations.is_empty());
    // Minimum age in days ("30 Days"), no maximum.
    let days = by_id(&t, "NCT05326516");
    assert!(days.min_age_years.is_some_and(|a| a > 0.08 && a < 0.09));
    assert_eq!(days.max_age_years, None);
    // Many sites (nested key).
    assert_eq!(by_id(&t, "NCT05896215").locations.len(), 30);
    // A device study without phases.
    assert!(by_id(&t, "NCT05144971").phases.is_empty());
}

#[test]
fn golden_xml() {
    let t = golden_dir("xml", "xml");
    assert_eq!(t.len(), 4);
    assert_eq!(
        by_id(&t, "NCT05482568").phases,
        vec![Phase::Phase1, Phase::Phase2]
    );
    let weeks = by_id(&t, "NCT05381285");
    assert_eq!(weeks.min_age_years, Some(0.0));
    assert!(weeks.max_age_years.is_some_and(|a| a > 0.3 && a < 0.31));
    let many = by_id(&t, "NCT00739739");
    assert_eq!(many.locations.len(), 44);
    assert_eq!(many.max_age_years, None, "N/A is no bound");
    // <clinical_results> also holds <measure> elements; only the protocol's
    // outcomes are read.
    let results = by_id(&t, "NCT00739908");
    assert!(results.outcomes.len() < 10, "{:?}", results.outcomes);
}

#[test]
fn golden_csv() {
    let t = golden_dir("csv", "csv");
    let classic: Vec<&Trial> = t
        .iter()
        .filter(|t| t.sources[0].format == crate::trial::Format::CtgovCsvClassic)
        .collect();
    assert_eq!(classic.len(), 4);
    let months = by_id(&t, "NCT04314687");
    assert_eq!(months.min_age_years, Some(0.5));
    assert_eq!(months.max_age_years, Some(3.0));
    assert_eq!(months.age_groups, vec!["Child"]);
    assert_eq!(months.phases, vec![Phase::Phase1, Phase::Phase2]);
    let no_phase = by_id(&t, "NCT00759018");
    assert!(no_phase.phases.is_empty() && no_phase.enrollment.is_none());
    assert_eq!(no_phase.locations.len(), 27);
    assert_eq!(by_id(&t, "NCT04077099").locations.len(), 29);
    // The current-site export (synthetic, see the README) reads the same way.
    let current: Vec<&Trial> = t
        .iter()
        .filter(|t| t.sources[0].format == crate::trial::Format::CtgovCsv)
        .collect();
    assert_eq!(current.len(), 3);
}

/// The synthetic current-site CSV was filled from three JSON records: the
/// fields both carry must agree.
#[test]
fn current_csv_agrees_with_its_json() {
    let csv = read_data("csv/current-synthetic.csv");
    assert!(csv.result.is_ok() && csv.warnings.is_empty());
    for c in &csv.trials {
        let j = &read_data(&format!("json/{}.json", c.id)).trials[0];
        assert_eq!(c.title, j.title);
        assert_eq!(c.status, j.status);
        assert_eq!(c.phases, j.phases);
        assert_eq!(c.conditions, j.conditions);
        assert_eq!(c.sponsor, j.sponsor);
        assert_eq!(c.collaborators, j.collaborators);
        assert_eq!(c.enrollment, j.enrollment);
        assert_eq!(c.sex, j.sex);
        assert_eq!(c.age_groups, j.age_groups);
        assert_eq!(c.study_type, j.study_type);
        assert_eq!(c.design, j.design);
        assert_eq!(c.secondary_ids, j.secondary_ids);
        assert_eq!(c.start_date, j.start_date);
        assert_eq!(c.first_posted, j.first_posted);
        assert_eq!(c.last_updated, j.last_updated);
        assert_eq!(c.summary, j.summary);
        assert_eq!(c.countries, j.countries);
        assert_eq!(c.locations.len(), j.locations.len());
        let names = |t: &Trial| -> Vec<(Option<String>, String)> {
            t.interventions
                .iter()
                .map(|i| (i.kind.clone(), i.name.clone()))
                .collect()
        };
        assert_eq!(names(c), names(j));
    }
}

/// NCT04042844 is in both the 1445-row classic CSV (downloaded Feb 2022) and
/// the degenerative-disc JSON (record updated 2024-04). The record changed in
/// between: the CSV says "Not yet recruiting", masking Quadruple, start
/// 2021-03-02; the JSON says "Recruiting", masking Double, start 2022-06-30.
/// Everything else the two carry agrees after normalization.
#[test]
fn cross_format_same_study_agrees() {
    let json = read_data("json/NCT04042844.json");
    let j = &json.trials[0];
    let csv = read_data("csv/msc-classic-slice.csv");
    let c = by_id(&csv.trials, "NCT04042844");
    // What changed between the two downloads.
    assert_eq!(c.status, Some(Status::NotYetRecruiting));
    assert_eq!(j.status, Some(Status::Recruiting));
    assert_eq!(c.design.masking.as_deref(), Some("Quadruple"));
    assert_eq!(j.design.masking.as_deref(), Some("Double"));
    assert_eq!(c.start_date.as_deref(), Some("2021-03-02"));
    assert_eq!(j.start_date.as_deref(), Some("2022-06-30"));
    assert!(
        c.last_updated < j.last_updated,
        "{:?} {:?}",
        c.last_updated,
        j.last_updated
    );
    // What agrees.
    assert_eq!(c.title, j.title);
    assert_eq!(c.phases, j.phases);
    assert_eq!(c.conditions, j.conditions);
    assert_eq!(c.sponsor, j.sponsor);
    assert_eq!(c.collaborators, j.collaborators);
    assert_eq!(c.enrollment, j.enrollment);
    assert_eq!((c.min_age_years, c.max_age_years), (Some(18.0), Some(60.0)));
    assert_eq!(c.min_age_years, j.min_age_years);
    assert_eq!(c.max_age_years, j.max_age_years);
    assert_eq!(c.sex, j.sex);
    assert_eq!(c.age_groups, j.age_groups);
    assert_eq!(c.study_type, j.study_type);
    assert_eq!(c.design.allocation, j.design.allocation);
    assert_eq!(c.design.model, j.design.model);
    assert_eq!(c.design.purpose, j.design.purpose);
    assert_eq!(c.first_posted, j.first_posted);
    assert_eq!(c.secondary_ids, j.secondary_ids);
    let names = |t: &Trial| -> Vec<(Option<String>, String)> {
        t.interventions
            .iter()
            .map(|i| (i.kind.clone(), i.name.clone()))
            .collect()
    };
    assert_eq!(names(c), names(j));
}

fn strip_sources(mut v: Vec<Trial>) -> Vec<Trial> {
    for t in &mut v {
        t.sources.clear();
    }
    v
}

/// A single object, an array, an API page, NDJSON and concatenated pretty
/// objects give the same trials.
#[test]
fn every_json_shape_gives_the_same_trials() {
    let names = data_files("json");
    let texts: Vec<String> = names
        .iter()
        .map(|n| {
            std::fs::read_to_string(root().join("tests/data/ctgov/json").join(n))
                .expect("test data")
        })
        .collect();
    let minified: Vec<String> = texts
        .iter()
        .map(|t| {
            let v: serde_json::Value = serde_json::from_str(t).expect("test data parses");
            serde_json::to_string(&v).expect("minify")
        })
        .collect();
    let mut singles = Vec::new();
    for n in &names {
        singles.extend(read_data(&format!("json/{n}")).trials);
    }
    let singles = strip_sources(singles);
    let shapes = [
        ("array.json", format!("[{}]", texts.join(",\n"))),
        (
            "page.json",
            format!(
                "{{\"totalCount\": 5, \"studies\": [{}], \"nextPageToken\": \"abc\"}}",
                texts.join(",")
            ),
        ),
        ("lines.ndjson", minified.join("\n") + "\n"),
        ("concatenated.json", texts.join("\n")),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in shapes {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let r = read_path(&path, name);
        assert!(r.result.is_ok(), "{name}: {:?}", r.result);
        assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
        assert_eq!(strip_sources(r.trials), singles, "{name}");
    }
}

#[test]
fn zip_of_json_files_reads_like_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("studies.zip");
    let file = std::fs::File::create(&zip_path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let names = data_files("json");
    let mut unpacked = Vec::new();
    for n in &names {
        let bytes = std::fs::read(root().join("tests/data/ctgov/json").join(n)).expect("data");
        zip.start_file(format!("ctg/{n}"), opts)
            .expect("start entry");
        zip.write_all(&bytes).expect("write entry");
        unpacked.extend(read_data(&format!("json/{n}")).trials);
    }
    zip.finish().expect("finish zip");
    let r = read_path(&zip_path, "studies.zip");
    let report = r.result.expect("zip reads");
    assert!(
        report.skipped_entries.is_empty(),
        "{:?}",
        report.skipped_entries
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let entries: Vec<Option<String>> = r
        .trials
        .iter()
        .map(|t| t.sources[0].entry.clone())
        .collect();
    let expected: Vec<Option<String>> = names.iter().map(|n| Some(format!("ctg/{n}"))).collect();
    assert_eq!(entries, expected);
    assert_eq!(strip_sources(r.trials), strip_sources(unpacked));
}

#[test]
fn malformed_inputs_are_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    // Truncated JSON: the studies before the cut are kept, then a warning.
    let texts: Vec<String> = data_files("json")
        .iter()
        .take(3)
        .map(|n| {
            std::fs::read_to_string(root().join("tests/data/ctgov/json").join(n)).expect("data")
        })
        .collect();
    let full = format!("[{}]", texts.join(","));
    let cut = &full[..full.len() - texts[2].len() / 2];
    let r = read_path(&write("cut.json", cut), "cut.json");
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(r.trials.len(), 2);
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains("after record 2") && r.warnings[0].contains("cut short"));
    // 10,000-deep JSON: a clean skip.
    let r = read_path(&write("deep.json", &"[".repeat(10_000)), "deep.json");
    assert!(
        matches!(r.result, Err(SkipReason::Malformed(_))),
        "{:?}",
        r.result
    );
    // Truncated XML: nothing complete, so a clean skip with the reason.
    let xml =
        std::fs::read_to_string(root().join("tests/data/ctgov/xml/NCT05482568.xml")).expect("data");
    let r = read_path(&write("cut.xml", &xml[..xml.len() / 2]), "cut.xml");
    match &r.result {
        Err(SkipReason::Malformed(m)) => {
            assert!(m.contains("cut short") || m.contains("end of input"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Two studies in a wrapper, the second cut: the first is kept.
    let body = xml
        .trim_start_matches(|c| c != '<')
        .replacen("<?xml", "<?skip", 1);
    let body = body
        .split_once("?>")
        .map(|(_, b)| b)
        .unwrap_or(&body)
        .to_string();
    let wrapped = format!(
        "<?xml version=\"1.0\"?><search_results>{body}{}",
        &body[..body.len() / 2]
    );
    let r = read_path(&write("two.xml", &wrapped), "two.xml");
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(r.trials.len(), 1);
    assert!(r.warnings[0].contains("cut short"), "{:?}", r.warnings);
    // Billion laughs and an external entity: not expanded, the record reads.
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE clinical_study [\n\
        <!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
        <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\
        <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\
        <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\
        <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\
        <!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n\
        <clinical_study><id_info><nct_id>NCT00000009</nct_id></id_info>\
        <brief_title>Laughs &i; &xxe;</brief_title></clinical_study>";
    let r = read_path(&write("laughs.xml", laughs), "laughs.xml");
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(r.trials.len(), 1);
    assert_eq!(r.trials[0].title.as_deref(), Some("Laughs"));
    assert!(r.warnings[0].contains("not expanded"), "{:?}", r.warnings);
    // A CSV with a broken row: a warning naming it, the other rows read.
    let csv = std::fs::read_to_string(root().join("tests/data/ctgov/csv/msc-classic-slice.csv"))
        .expect("data");
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.insert(2, "99,\"NCT09999999\",\"Broken row\",\"Recruiting\"");
    let r = read_path(&write("broken.csv", &lines.join("\r\n")), "broken.csv");
    assert!(r.result.is_ok(), "{:?}", r.result);
    assert_eq!(r.trials.len(), 4);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].starts_with("row 2: 4 fields"),
        "{:?}",
        r.warnings
    );
    // A row with an unterminated quote.
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.insert(3, "99,\"NCT09999998,Bad quote");
    let r = read_path(&write("quote.csv", &lines.join("\r\n")), "quote.csv");
    assert!(r.result.is_ok(), "{:?}", r.result);
    // The open quote runs into the next line and the merged record happens
    // to have 27 fields; its NCT Number cell gives it away.
    let ids: Vec<&str> = r.trials.iter().map(|t| t.id.as_str()).collect();
    assert!(!ids.contains(&"NCT09999998"), "{ids:?}");
    assert!(ids.len() >= 2, "{ids:?}");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("row 3: "), "{:?}", r.warnings);
}

/// The full-data check, by hand: `cargo test --lib full_ctgov_data -- --ignored --nocapture`.
/// Needs /work/shared/data (absent on CI machines).
#[test]
#[ignore]
fn full_ctgov_data() {
    let base = Path::new("/work/shared/data");
    let mut total = Vec::new();
    for (dir, expected) in [("ctgov-json", 676), ("ctgov-xml", 65), ("ctgov-csv", 1545)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(base.join(dir))
            .expect("shared data")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let (mut n, mut warnings, mut skipped) = (0, 0, 0);
        let start = std::time::Instant::now();
        for f in &files {
            let r = read_path(f, &f.display().to_string());
            n += r.trials.len();
            warnings += r.warnings.len();
            for w in &r.warnings {
                println!("  {}: {w}", f.display());
            }
            if let Err(e) = &r.result {
                skipped += 1;
                println!("  {}: skipped: {e}", f.display());
            }
            total.extend(r.trials);
        }
        println!(
            "{dir}: {} files, {n} records, {warnings} warnings, {skipped} skipped, {:?}",
            files.len(),
            start.elapsed()
        );
        assert_eq!(n, expected, "{dir}");
        assert_eq!(skipped, 0, "{dir}");
    }
    let no_title = total.iter().filter(|t| t.title.is_none()).count();
    let no_status = total.iter().filter(|t| t.status.is_none()).count();
    let no_nct = total.iter().filter(|t| t.nct_id.is_none()).count();
    println!(
        "all: {} records; without title {no_title}, status {no_status}, NCT id {no_nct}",
        total.len()
    );
}
