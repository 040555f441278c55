//! The tool for people and for other tools: colour on and off, facet
//! counts per field, every export format (CSV round-tripped against `show
//! --json`), shell completions and the man page, the Quickwit and
//! Elasticsearch definitions in `docs/` against what `export` writes,
//! one-line error messages, and the progress bar of `index` on a terminal
//! and not on a pipe.

use crate::util::*;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Page dumps and ClinicalTrials.gov downloads: every kind of record, so the
/// exported objects carry every key the normalizer fills.
fn all() -> &'static TestIndex {
    static IX: OnceLock<TestIndex> = OnceLock::new();
    IX.get_or_init(|| TestIndex::build(&[data("seeds"), data("ctgov")]))
}

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(cmd: &mut assert_cmd::Command) -> Value {
    serde_json::from_str(&stdout(cmd)).expect("one JSON value")
}

const ESC: &str = "\x1b[";

#[test]
fn colour_follows_color_and_no_color() {
    let run = |args: &[&str], no_color: bool| {
        let mut c = all().cmd();
        c.args(["query", "sepsis"]).args(args);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        stdout(&mut c)
    };
    let always = run(&["--color", "always"], false);
    assert!(always.contains(ESC), "--color always colours:\n{always}");
    // Bold title, green Recruiting, highlighted match.
    assert!(always.contains("\x1b[1m"));
    assert!(always.contains("\x1b[32mRecruiting"));
    assert!(always.contains("\x1b[1;33m"));
    // --color always wins over NO_COLOR: it was asked for explicitly.
    assert!(run(&["--color", "always"], true).contains(ESC));
    let never = run(&["--color", "never"], false);
    assert!(!never.contains(ESC), "{never}");
    assert!(never.contains("*sepsis*"), "matches marked without colour");
    // assert_cmd's stdout is a pipe, not a terminal.
    assert!(!run(&["--color", "auto"], false).contains(ESC));
    assert!(!run(&[], false).contains(ESC));
    assert!(!run(&["--color", "auto"], true).contains(ESC));
    // show too.
    let show = stdout(
        all()
            .cmd()
            .args(["show", "NCT05689008", "--color", "always"]),
    );
    assert!(show.contains(ESC));
    let show = stdout(all().cmd().args(["show", "NCT05689008"]));
    assert!(!show.contains(ESC));
}

#[test]
fn text_results_and_footer_read_well() {
    let out = stdout(all().cmd().args(["query", "leukemia", "--color", "never"]));
    // A long condition list is cut with a count of the rest.
    assert!(out.contains(" more"), "{out}");
    // Facet footer: aligned labels, `value (count)`.
    assert!(out.contains("status: Recruiting ("), "{out}");
    assert!(out.contains("phase:  Phase 1 ("), "{out}");
    let show = stdout(all().cmd().args(["show", "NCT05326516"]));
    for section in [
        "Overview",
        "Summary",
        "Design",
        "Eligibility",
        "Inclusion criteria:",
        "    • ",
        "Locations and contacts",
        "Sources",
    ] {
        assert!(show.contains(section), "show lacks {section}:\n{show}");
    }
}

#[test]
fn facets_count_each_field() {
    let facets = |field: &str, extra: &[&str]| -> Value {
        json(
            all()
                .cmd()
                .args(["facets", field])
                .args(extra)
                .arg("--json"),
        )
    };
    let total = json(all().cmd().args(["stats", "--json"]))["trials"]
        .as_u64()
        .unwrap();
    for field in [
        "status",
        "phase",
        "study_type",
        "condition",
        "intervention",
        "sponsor",
        "country",
    ] {
        let v = facets(field, &[]);
        assert_eq!(v["field"], field);
        assert_eq!(v["total"].as_u64().unwrap(), total, "{field}: all trials");
        let values = v["values"].as_array().unwrap();
        assert!(!values.is_empty(), "{field}: {v:#}");
        let counts: Vec<u64> = values
            .iter()
            .map(|x| x["count"].as_u64().unwrap())
            .collect();
        assert!(counts.iter().all(|n| *n > 0), "{field}: zero counts shown");
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "{field}: not by count: {counts:?}"
        );
    }
    // One status per trial: the counts add up to the total, with trials
    // without a status under "Not given", never "Unknown".
    let status = facets("status", &[]);
    let sum: u64 = status["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total);
    assert!(!status.to_string().contains("\"Unknown\""));
    let phase = facets("phase", &[]);
    assert!(phase.to_string().contains("\"Not given\""), "{phase:#}");
    // With a query and a filter.
    let v = facets("country", &["stem cells", "--status", "recruiting"]);
    assert!(v["total"].as_u64().unwrap() < total, "{v:#}");
    assert!(v.to_string().contains("\"China\""), "{v:#}");
    // Plural and other spellings of a field.
    let text = stdout(all().cmd().args(["facets", "statuses"]));
    assert!(text.lines().any(|l| l.trim_start().ends_with("Recruiting")));
    all()
        .cmd()
        .args(["facets", "colour"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("accepted: status, phase"));
}

/// Every key path of a JSON value (`locations.city`), arrays looked through.
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}{k}");
                out.insert(p.clone());
                key_paths(x, &format!("{p}."), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| key_paths(x, prefix, out)),
        _ => {}
    }
}

fn export(format: &str) -> String {
    stdout(all().cmd().args(["export", "--format", format]))
}

fn exported_records() -> Vec<Value> {
    export("ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn show(id: &str) -> Value {
    json(all().cmd().args(["show", id, "--json"]))
}

/// A JSON value as the CSV export writes it: lists joined with " | ",
/// null as an empty cell.
fn as_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(as_cell).collect::<Vec<_>>().join(" | "),
        other => other.to_string(),
    }
}

#[test]
fn export_writes_every_format() {
    let total = json(all().cmd().args(["stats", "--json"]))["trials"]
        .as_u64()
        .unwrap() as usize;
    let records = exported_records();
    assert_eq!(records.len(), total);
    // NDJSON records are the `show --json` objects.
    for r in &records {
        assert_eq!(r, &show(r["id"].as_str().unwrap()));
    }
    let array: Value = serde_json::from_str(&export("json")).unwrap();
    assert_eq!(array.as_array().unwrap(), &records);

    let csv_text = export("csv");
    let mut rd = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), total);
    let col = |row: &csv::StringRecord, name: &str| -> String {
        let i = header.iter().position(|h| h == name).expect(name);
        row[i].to_string()
    };
    for row in &rows {
        let id = col(row, "id");
        let t = show(&id);
        for key in [
            "id",
            "nct_id",
            "status",
            "phases",
            "conditions",
            "sponsor",
            "countries",
            "start_date",
        ] {
            assert_eq!(col(row, key), as_cell(&t[key]), "{id}: {key}");
        }
        // Numbers read back as the same numbers (18.0 may be written 18).
        for key in ["enrollment", "min_age_years", "max_age_years"] {
            let cell = col(row, key);
            match t[key].as_f64() {
                Some(n) => assert_eq!(cell.parse::<f64>().ok(), Some(n), "{id}: {key}"),
                None => assert_eq!(cell, "", "{id}: {key}"),
            }
        }
    }

    let tsv_text = export("tsv");
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_reader(tsv_text.as_bytes());
    assert_eq!(rd.headers().unwrap().len(), header.len());
    let tsv_rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(tsv_rows.len(), total);
    assert_eq!(tsv_text.lines().count(), total + 1, "one line per record");

    // A query and a filter narrow the export; nothing matching exits 1.
    let some = stdout(
        all()
            .cmd()
            .args(["export", "stem cells", "--status", "recruiting"]),
    );
    assert!(some.lines().count() >= 3 && some.lines().count() < total);
    all()
        .cmd()
        .args(["export", "zzzqqqxxx", "--format", "json"])
        .assert()
        .code(1)
        .stdout("[]\n");
}

#[test]
fn query_writes_csv_and_tsv() {
    for (format, sep) in [("csv", b','), ("tsv", b'\t')] {
        let text = stdout(
            all()
                .cmd()
                .args(["query", "stem cells", "--format", format]),
        );
        let mut rd = csv::ReaderBuilder::new()
            .delimiter(sep)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header[..3], ["rank", "id", "nct_id"]);
        let rows: Vec<_> = rd.records().map(|r| r.unwrap()).collect();
        assert!(!rows.is_empty());
        assert_eq!(&rows[0][0], "1");
        let snippet = header.iter().position(|h| h == "snippet").unwrap();
        assert!(!rows[0][snippet].contains("<mark>"));
    }
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout(ts().args(["completions", shell]));
        assert!(out.len() > 500, "{shell}: {out}");
        for sub in ["index", "query", "show", "facets", "export", "eval"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let man = stdout(ts().arg("man"));
    assert!(man.contains(".TH"), "roff title header");
    assert!(man.contains("trialsearch"));
    for sub in ["query", "export"] {
        assert!(man.contains(sub));
    }
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in [
        "index",
        "query",
        "show",
        "stats",
        "facets",
        "export",
        "eval",
        "completions",
        "man",
    ] {
        let out = stdout(ts().args([cmd, "--help"]));
        assert!(
            out.contains("Example") && out.contains(&format!("trialsearch {cmd}")),
            "{cmd} --help has no example:\n{out}"
        );
    }
}

/// Quickwit field names, with the types of `object` and `json` fields, by
/// path. A `json` field accepts any keys below it.
fn quickwit_fields(
    mappings: &yaml_rust2::Yaml,
    prefix: &str,
    out: &mut Vec<(String, yaml_rust2::Yaml)>,
) {
    for m in mappings.as_vec().expect("field_mappings is a list") {
        let name = m["name"].as_str().expect("every field has a name");
        let path = format!("{prefix}{name}");
        out.push((path.clone(), m.clone()));
        if m["type"].as_str() == Some("object") {
            quickwit_fields(&m["field_mappings"], &format!("{path}."), out);
        }
    }
}

/// Elasticsearch property paths.
fn es_fields(props: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in props.as_object().expect("properties is an object") {
        let path = format!("{prefix}{k}");
        out.insert(path.clone());
        if let Some(p) = v.get("properties") {
            es_fields(p, &format!("{path}."), out);
        }
    }
}

#[test]
fn cluster_configs_name_every_exported_field() {
    let mut keys = BTreeSet::new();
    for r in exported_records() {
        key_paths(&r, "", &mut keys);
    }
    // Keys serde leaves out when empty, which these records may not show.
    for k in ["design", "sources.entry", "contacts.affiliation"] {
        keys.insert(k.to_string());
    }
    assert!(keys.len() > 50, "{keys:?}");

    let yaml_text =
        std::fs::read_to_string(root().join("docs/quickwit-index-config.yaml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml_text).expect("valid YAML");
    let qw = &docs[0];
    assert_eq!(qw["index_id"].as_str(), Some("trials"));
    let mut fields = Vec::new();
    quickwit_fields(&qw["doc_mapping"]["field_mappings"], "", &mut fields);
    let field = |p: &str| fields.iter().find(|(q, _)| q == p).map(|(_, m)| m);
    for k in &keys {
        let covered = field(k).is_some()
            || fields.iter().any(|(p, m)| {
                m["type"].as_str().is_some_and(|t| t.contains("json"))
                    && k.starts_with(&format!("{p}."))
            });
        assert!(covered, "Quickwit config does not map `{k}`");
    }
    for f in ["id", "nct_id"] {
        assert_eq!(field(f).unwrap()["tokenizer"].as_str(), Some("raw"), "{f}");
    }
    for f in ["status", "phases", "study_type", "sex", "countries"] {
        let m = field(f).unwrap();
        assert_eq!(m["tokenizer"].as_str(), Some("raw"), "{f}");
        assert_eq!(m["fast"].as_bool(), Some(true), "{f}");
    }
    for f in ["enrollment", "min_age_years", "max_age_years"] {
        let m = field(f).unwrap();
        assert!(matches!(m["type"].as_str(), Some("u64" | "f64")), "{f}");
        assert_eq!(m["fast"].as_bool(), Some(true), "{f}");
    }
    for f in [
        "first_posted",
        "last_updated",
        "start_date",
        "completion_date",
    ] {
        let m = field(f).unwrap();
        assert_eq!(m["type"].as_str(), Some("datetime"));
        let formats: Vec<&str> = m["input_formats"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        assert_eq!(formats, ["%Y-%m-%d", "%Y-%m"], "{f}");
    }
    for f in ["summary", "description", "title"] {
        assert_eq!(field(f).unwrap()["tokenizer"].as_str(), Some("en_stem"));
    }
    for f in [
        "interventions",
        "locations",
        "sources",
        "contacts",
        "officials",
    ] {
        assert_eq!(field(f).unwrap()["type"].as_str(), Some("array<json>"));
    }
    for f in qw["search_settings"]["default_search_fields"]
        .as_vec()
        .unwrap()
    {
        assert!(field(f.as_str().unwrap()).is_some(), "{f:?}");
    }

    let es: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/elasticsearch-mapping.json")).unwrap(),
    )
    .expect("valid JSON");
    let props = &es["mappings"]["properties"];
    let mut es_paths = BTreeSet::new();
    es_fields(props, "", &mut es_paths);
    for k in &keys {
        assert!(es_paths.contains(k), "Elasticsearch mapping lacks `{k}`");
    }
    for f in ["interventions", "locations"] {
        assert_eq!(props[f]["type"], "nested");
    }
    for f in ["id", "status", "phases", "study_type", "sex", "countries"] {
        assert_eq!(props[f]["type"], "keyword", "{f}");
    }
    assert_eq!(props["summary"]["analyzer"], "english");
    assert_eq!(props["conditions"]["fields"]["keyword"]["type"], "keyword");
    assert_eq!(props["start_date"]["type"], "date");
}

fn one_line_error(cmd: &mut assert_cmd::Command, needle: &str) {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{cmd:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("trialsearch: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("os error"), "Rust's error form: {err}");
}

#[test]
fn errors_are_one_line_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    one_line_error(
        ts_at(&dir.path().join("none")).args(["query", "msc"]),
        "build one with `trialsearch index",
    );
    one_line_error(
        all().cmd().args(["query", "x", "--sex", "robot"]),
        "accepted: All, Female, Male",
    );
    one_line_error(all().cmd().args(["query", "\"open"]), "closing \"");
    one_line_error(
        ts_at(&dir.path().join("i")).args(["index", "/no/such/folder"]),
        "/no/such/folder: no such file or folder",
    );
    one_line_error(
        all().cmd().args(["eval", "/no/queries.tsv", "x"]),
        "cannot read the queries file /no/queries.tsv",
    );
    // The two files swapped.
    one_line_error(
        all().cmd().args([
            "eval",
            "tests/relevance/qrels.txt",
            "tests/relevance/queries.tsv",
        ]),
        "the qrels file comes second",
    );
    // Command-line mistakes too, and `-word` outside quotes says how to
    // write the exclusion.
    one_line_error(all().cmd().args(["query", "stem", "-sepsis"]), "NOT sepsis");
    one_line_error(ts().arg("querx"), "similar subcommand exists: 'query'");
    one_line_error(
        ts().arg("show"),
        "not provided: <ID>; see `trialsearch show --help`",
    );
    one_line_error(
        all().cmd().args(["query", "x", "--age", "old"]),
        "'--age <YEARS>'",
    );
    // Another build holds the index.
    let ix = dir.path().join("locked");
    std::fs::create_dir_all(&ix).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ix.join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    one_line_error(
        ts_at(&ix).arg("index").arg(data("seeds")),
        "already building",
    );
}

/// `index` draws its progress bar (files, records/s, ETA) on a terminal and
/// nothing of it into a pipe. The terminal is a pseudo-terminal from
/// util-linux's `script`, there on every Debian; where it is missing the
/// terminal half is skipped with a note, the pipe half always runs.
#[test]
fn index_shows_progress_on_a_terminal_and_stays_quiet_when_piped() {
    let corpus = data("ctgov/json");
    let piped = tempfile::tempdir().expect("tempdir");
    let out = ts_at(&piped.path().join("index"))
        .arg("index")
        .arg(&corpus)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for bar in ["records/s", "eta ", "reading ", "\r", "\x1b["] {
        assert!(!err.contains(bar), "{bar:?} on a pipe:\n{err}");
    }
    // The summary still goes to stdout.
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 5 trials"));

    let tty = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("trialsearch");
    let quote =
        |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let line = format!(
        "{} --index {} index {}",
        quote(&bin),
        quote(&tty.path().join("index")),
        quote(&corpus)
    );
    let Ok(out) = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("TRIALSEARCH_INDEX")
        .env("TERM", "xterm")
        .output()
    else {
        eprintln!("no `script` (util-linux) here: the terminal half is not run");
        return;
    };
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("reading "), "{screen}");
    assert!(screen.contains("/5 files"), "{screen}");
    // Records/s after each file. However fast the run, these five files'
    // updates are drawn: indicatif rate-limits a bar's redraws to 20 a
    // second but lets its first 20 through at once.
    assert!(screen.contains("records/s"), "{screen}");
    assert!(screen.contains("eta "), "{screen}");
    assert!(screen.contains("indexed 5 trials"), "{screen}");
    // -q only silences the bar.
    let quiet = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &format!("{line} -q --full"), "/dev/null"])
        .output()
        .expect("script ran once already");
    let screen = String::from_utf8_lossy(&quiet.stdout);
    assert!(quiet.status.success(), "{quiet:?}");
    assert!(!screen.contains("reading "), "{screen}");
    assert!(screen.contains("indexed 5 trials"), "{screen}");
}
