//! Incremental re-indexing: an unchanged folder is "up to date" without
//! reading a file; after a change, an add and a delete, only those files are
//! read again and the index equals a fresh full build of the same folder.

use crate::util::{data, ts_at};
use std::fs;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn index_json(index: &Path, corpus: &Path, extra: &[&str]) -> serde_json::Value {
    let out = ts_at(index)
        .arg("index")
        .arg("--quiet")
        .arg("--json")
        .args(extra)
        .arg(corpus)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn export(index: &Path) -> String {
    let out = ts_at(index)
        .args(["export", "--format", "ndjson"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn reindex_reads_only_changed_files_and_equals_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    copy_dir(&data("ctgov"), &corpus.join("ctgov"));
    copy_dir(&data("seeds"), &corpus.join("seeds"));
    let index = tmp.path().join("index");

    let first = index_json(&index, &corpus, &[]);
    let files = first["files_seen"].as_u64().unwrap();
    assert!(files > 5);
    assert_eq!(first["files_parsed"].as_u64(), Some(files));
    let before = export(&index);

    // Unchanged: nothing is read, the live generation is kept.
    let again = index_json(&index, &corpus, &[]);
    assert_eq!(again["up_to_date"], true);
    assert_eq!(again["files_parsed"].as_u64(), Some(0));
    assert_eq!(again["trials"], first["trials"]);
    assert_eq!(export(&index), before);
    let text = ts_at(&index)
        .args(["index", "--quiet"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("index is up to date"));

    // Change one file (same size would not do: give it new content), add
    // one, delete one.
    let changed = corpus.join("ctgov/json/NCT04042844.json");
    let json = fs::read_to_string(&changed).unwrap();
    let edited = json.replacen("\"briefTitle\": \"", "\"briefTitle\": \"Edited ", 1);
    assert_ne!(edited, json, "fixture has a briefTitle");
    fs::write(&changed, edited).unwrap();
    fs::copy(
        corpus.join("ctgov/xml/NCT00739739.xml"),
        corpus.join("ctgov/added-copy.xml"),
    )
    .unwrap();
    let deleted = corpus.join("ctgov/json/NCT05144971.json");
    fs::remove_file(&deleted).unwrap();

    let inc = index_json(&index, &corpus, &[]);
    assert_eq!(inc["up_to_date"], false);
    assert_eq!(inc["files_parsed"].as_u64(), Some(2), "{inc}");
    let incremental = export(&index);
    assert!(incremental.contains("Edited "));
    // The deleted file is no trial's source any more (the trial itself may
    // live on from the CSV fixtures).
    let source = format!("\"path\":\"{}\"", deleted.display());
    assert!(before.contains(&source));
    assert!(!incremental.contains(&source));

    let fresh = tmp.path().join("fresh");
    let full = index_json(&fresh, &corpus, &[]);
    assert_eq!(export(&fresh), incremental);
    assert_eq!(full["trials"], inc["trials"]);
    assert_eq!(full["records"], inc["records"]);
    assert_eq!(full["skipped"], inc["skipped"]);

    // --full reads everything again and gives the same index.
    let forced = index_json(&index, &corpus, &["--full"]);
    assert_eq!(forced["files_parsed"].as_u64(), Some(files));
    assert_eq!(export(&index), incremental);
}

#[test]
fn touched_but_identical_file_is_not_parsed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    copy_dir(&data("ctgov/json"), &corpus);
    let index = tmp.path().join("index");
    let first = index_json(&index, &corpus, &[]);
    let before = export(&index);
    // Rewrite a file with the same bytes: new mtime, same size and hash.
    let f = corpus.join("NCT05326516.json");
    let bytes = fs::read(&f).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&f, bytes).unwrap();
    let again = index_json(&index, &corpus, &[]);
    assert_eq!(again["files_parsed"].as_u64(), Some(0), "{again}");
    assert_eq!(again["trials"], first["trials"]);
    assert_eq!(export(&index), before);
}
