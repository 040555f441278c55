//! Property tests: no reader panics on arbitrary input, no query panics.
//!
//! Inputs are arbitrary bytes and strings, and strings built from the lines
//! of the real seed pages and records (shuffled, cut, mixed with noise), so
//! the adapters' deeper paths are reached, not only their first check.
//! 64 cases per property by default; `PROPTEST_CASES=5000 cargo test
//! --lib proptests` runs a longer session (the fuzz targets in `fuzz/` run
//! the same bodies under cargo-fuzz).

use crate::index::build::{build, BuildOptions};
use crate::index::IndexDir;
use crate::search::query::parse;
use crate::search::synonyms::Synonyms;
use crate::search::{Request, Searcher};
use crate::sources::{
    ctgov_csv, ctgov_json, ctgov_xml, detect, detect_page, parse_page, read_file, text, Item,
    Limits,
};
use crate::trial::Format;
use proptest::prelude::*;
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

/// Lines of every seed page and one record of each structured format.
fn corpus_lines() -> &'static Vec<String> {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let mut out = Vec::new();
        let mut files = vec![
            data("ctgov/json/NCT05863234.json"),
            data("ctgov/xml/NCT00739908.xml"),
            data("ctgov/csv/msc-classic-slice.csv"),
            data("ctgov/csv/current-synthetic.csv"),
        ];
        if let Ok(rd) = std::fs::read_dir(data("seeds")) {
            files.extend(rd.flatten().map(|e| e.path()));
        }
        for f in files {
            if let Ok(s) = std::fs::read_to_string(f) {
                out.extend(s.lines().map(str::to_string));
            }
        }
        out
    })
}

/// Text that looks like the real thing: real lines in any order, some cut
/// at a random byte (char boundary), with arbitrary strings between them.
fn realistic() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => (0..corpus_lines().len(), any::<u16>()).prop_map(|(i, cut)| {
            let l = &corpus_lines()[i];
            let mut at = (cut as usize) % (l.len() + 1);
            while !l.is_char_boundary(at) {
                at -= 1;
            }
            if cut % 3 == 0 { l[..at].to_string() } else { l.clone() }
        }),
        1 => any::<String>(),
        1 => "[<>{}\\[\\]\",:&;#a-z0-9 \n]{0,40}",
    ];
    prop::collection::vec(line, 0..80).prop_map(|v| v.join("\n"))
}

fn sink(_: Item) {}

/// Every reader on `bytes`, directly and through format detection.
fn read_everything(bytes: &[u8]) {
    let limits = Limits::default();
    let _ = detect(bytes);
    let _ = ctgov_json::read(Cursor::new(bytes), &limits, &mut sink);
    let _ = ctgov_xml::read(Cursor::new(bytes), &limits, &mut sink);
    for f in [Format::CtgovCsv, Format::CtgovCsvClassic] {
        let _ = ctgov_csv::read(Cursor::new(bytes), f, &mut sink);
    }
    let decoded = text::decode_all(bytes, true);
    let _ = text::html_to_text(&decoded);
    read_pages(&decoded);
}

fn read_pages(s: &str) {
    let _ = detect_page(s);
    for f in [
        Format::Ignite,
        Format::Veeva,
        Format::Clinconnect,
        Format::Trialx,
        Format::Generic,
    ] {
        if let Some(mut t) = parse_page(f, s) {
            let _ = crate::normalize::sanitize(&mut t);
            t.finalize();
        }
    }
}

fn with_prefixes(body: &str) -> Vec<Vec<u8>> {
    let csv_header = corpus_lines()
        .iter()
        .find(|l| l.starts_with("\"Rank\"") || l.starts_with("Rank,"))
        .cloned()
        .unwrap_or_default();
    [
        "",
        "{\"protocolSection\":",
        "[{\"protocolSection\":{\"identificationModule\":",
        "<?xml version=\"1.0\"?><clinical_study>",
        "<html><body>",
        "Study NCT ID: NCT01234567\n",
    ]
    .iter()
    .map(|p| format!("{p}{body}").into_bytes())
    .chain(std::iter::once(
        format!("{csv_header}\n{body}").into_bytes(),
    ))
    .collect()
}

/// A small index of the seed pages, built once.
fn seed_index() -> &'static IndexDir {
    static DIR: OnceLock<(tempfile::TempDir, IndexDir)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = IndexDir::new(tmp.path().join("ix"));
        let opts = BuildOptions {
            paths: vec![data("seeds")],
            writer_memory: 50 << 20,
            ..Default::default()
        };
        build(&dir, &opts, &mut |_| {}).expect("the seeds index");
        (tmp, dir)
    })
    .1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn no_reader_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        read_everything(&bytes);
    }

    #[test]
    fn no_reader_panics_on_realistic_text(body in realistic()) {
        for bytes in with_prefixes(&body) {
            read_everything(&bytes);
        }
    }

    #[test]
    fn no_page_adapter_panics(s in any::<String>()) {
        read_pages(&s);
        read_pages(&text::html_to_text(&s));
    }

    #[test]
    fn read_file_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), zip in any::<bool>()) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("f");
        // Half the cases look like a zip archive to reach the archive reader.
        let bytes = if zip { [&b"PK\x03\x04"[..], &bytes].concat() } else { bytes };
        std::fs::write(&p, &bytes).expect("write");
        let _ = read_file(&p, "f", &Limits::default(), &mut sink);
    }

    #[test]
    fn no_query_parse_panics(q in prop_oneof![
        any::<String>(),
        "[\"()\\[\\]:\\-+*?~^ a-zA-Z0-9]{0,60}",
        "(title|condition|age|id|sponsor):[\\[\\]0-9 TOto\"]{0,20}",
        "(NOT |OR |AND |-|\")*[a-z]{0,8}( (OR|AND|NOT) [a-z]{0,8})*",
    ]) {
        let _ = parse(&q, Synonyms::builtin());
    }

    #[test]
    fn no_search_panics(q in prop_oneof![
        any::<String>(),
        "[\"()\\[\\]:\\-+*?~^ a-zA-Z0-9]{0,60}",
        "(msc|stem|cells|sepsis|phase|3|covid-19|NCT06416709|age:[0-9]{1,3}|\"|OR|NOT|-)( (msc|stem|cells|sepsis|phase|OR|NOT|-|\"|age:\\[1 TO 9\\]))*",
    ], offset in 0usize..20) {
        let s = Searcher::open(seed_index()).expect("opens");
        let req = Request { text: q, offset, ..Default::default() };
        if let Ok(r) = s.search(&req) {
            prop_assert!(r.hits.len() <= 10);
            prop_assert!(r.total >= r.hits.len() || offset > 0);
        }
    }
}

/// Inputs that once crashed a reader or a query (kept in `tests/data/fuzz/`):
/// each goes through every reader, the query parser and a search.
#[test]
fn fuzz_regressions() {
    let dir = data("fuzz");
    let s = Searcher::open(seed_index()).expect("opens");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("tests/data/fuzz").flatten() {
        let bytes = std::fs::read(e.path()).expect("readable");
        read_everything(&bytes);
        let q = String::from_utf8_lossy(&bytes).into_owned();
        let _ = parse(&q, Synonyms::builtin());
        let _ = s.search(&Request {
            text: q,
            ..Default::default()
        });
        n += 1;
    }
    assert!(n > 0);
}
