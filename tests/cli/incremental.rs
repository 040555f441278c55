//! Incremental re-indexing: an unchanged folder is "up to date" without
//! reading a file; after a change, an add and a delete, only those files are
//! read again and the index equals a fresh full build of the same folder.
//! When few trials changed, the live index is updated in place (its
//! segments copied, the changed trials' documents replaced): the answers
//! must still be exactly those of a full build — ids, order, scores,
//! snippets, facets, spelling notes, `export` and `stats`.

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
    // Three of seventeen trials changed: more than an in-place update
    // takes, so the index was written whole from the cached records.
    assert_eq!(inc["in_place"], false, "{inc}");
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

/// The real fixtures — ClinicalTrials.gov JSON, XML and CSV slices, the
/// page dumps and the 1,445-study classic CSV export — so that records link
/// across formats and a few changed files are a small share of the index.
fn real_corpus(root: &Path) -> std::path::PathBuf {
    let corpus = root.join("corpus");
    copy_dir(&data("ctgov"), &corpus.join("ctgov"));
    copy_dir(&data("seeds"), &corpus.join("seeds"));
    fs::copy(
        data("msc-classic-export-1445.csv"),
        corpus.join("msc-classic-export-1445.csv"),
    )
    .unwrap();
    corpus
}

/// Queries whose whole `--json` answers must not depend on how the index
/// was built: relevance (several concepts, soft matching, a phase boost),
/// explanations, facets, another sort, a misspelling.
const QUERIES: &[&[&str]] = &[
    &["stem cells", "--limit", "30"],
    &[
        "mesenchymal stem cells knee osteoarthritis",
        "--limit",
        "20",
    ],
    &["lung injury infectious diseases", "--explain"],
    &[
        "leukemia phase 2",
        "--facet",
        "sponsor",
        "--facet",
        "country",
    ],
    &["mesenchimal"],
    &["edited", "--limit", "50"],
    &["sepsis", "--sort", "updated", "--limit", "20"],
];

/// Everything a user can see of an index, as text: the query answers, the
/// sorted export and `stats --json` (without the index path).
fn answers(index: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for q in QUERIES {
        let o = ts_at(index)
            .arg("query")
            .args(*q)
            .arg("--json")
            .output()
            .unwrap();
        assert!(o.status.code() == Some(0) || o.status.code() == Some(1));
        out.push(format!(
            "query {q:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        ));
    }
    let mut lines: Vec<String> = export(index).lines().map(str::to_string).collect();
    lines.sort();
    out.push(lines.join("\n"));
    let o = ts_at(index).args(["stats", "--json"]).output().unwrap();
    assert!(o.status.success());
    let mut stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    stats.as_object_mut().unwrap().remove("index");
    out.push(stats.to_string());
    out
}

/// The index answers exactly as a full build of the same folder does.
fn assert_same_as_full(index: &Path, corpus: &Path, step: &str) {
    let fresh = tempfile::tempdir().unwrap();
    let full = fresh.path().join("index");
    index_json(&full, corpus, &["--full"]);
    let (got, want) = (answers(index), answers(&full));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(g == w, "{step}: differs from a full build:\n{g}\n---\n{w}");
    }
}

/// The live generation's directory.
fn live_gen(index: &Path) -> std::path::PathBuf {
    index.join(fs::read_to_string(index.join("CURRENT")).unwrap().trim())
}

/// Segments of the live generation's tantivy index.
fn segments(index: &Path) -> usize {
    fs::read_dir(live_gen(index))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
        .count()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    let edited = text.replacen(from, to, 1);
    assert_ne!(text, edited, "{} has no {from:?}", path.display());
    fs::write(path, edited).unwrap();
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn in_place_updates_of_edits_adds_and_deletes_equal_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = real_corpus(tmp.path());
    let index = tmp.path().join("index");
    let first = index_json(&index, &corpus, &[]);
    let trials = n(&first, "trials");
    assert!(trials > 1000, "{first}");
    assert_eq!(first["in_place"], false);

    // Edit: a new title for a study that also has CSV records.
    edit(
        &corpus.join("ctgov/json/NCT04042844.json"),
        "\"briefTitle\": \"",
        "\"briefTitle\": \"Edited ",
    );
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(n(&r, "files_parsed"), 1);
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (1, 1));
    assert_eq!(n(&r, "trials"), trials);
    assert!(export(&index).contains("Edited "));
    // The first update keeps the big segment with a deletion, tracked by
    // the deleted-documents index that corrects the scores.
    assert!(live_gen(&index).join("deleted").is_dir());
    assert_eq!(segments(&index), 2);
    assert_same_as_full(&index, &corpus, "edit");

    // Add: a study with a new NCT id, and a copy of an XML study (which
    // joins that study's group).
    let json = fs::read_to_string(corpus.join("ctgov/json/NCT05863234.json")).unwrap();
    fs::write(
        corpus.join("ctgov/json/NCT09999991.json"),
        json.replace("NCT05863234", "NCT09999991").replacen(
            "\"briefTitle\": \"",
            "\"briefTitle\": \"Edited added ",
            1,
        ),
    )
    .unwrap();
    fs::copy(
        corpus.join("ctgov/xml/NCT00739739.xml"),
        corpus.join("ctgov/xml/added-copy.xml"),
    )
    .unwrap();
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(n(&r, "files_parsed"), 2);
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (1, 2));
    assert_eq!(n(&r, "trials"), trials + 1);
    assert_same_as_full(&index, &corpus, "add");

    // Delete: a study only this file has, and the XML copy again.
    fs::remove_file(corpus.join("ctgov/json/NCT09999991.json")).unwrap();
    fs::remove_file(corpus.join("ctgov/xml/added-copy.xml")).unwrap();
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(n(&r, "files_parsed"), 0);
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (2, 1));
    assert_eq!(n(&r, "trials"), trials);
    assert!(!export(&index).contains("NCT09999991"));
    assert_same_as_full(&index, &corpus, "delete");
}

#[test]
fn in_place_updates_follow_records_that_merge_and_split() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = real_corpus(tmp.path());
    let index = tmp.path().join("index");
    let trials = n(&index_json(&index, &corpus, &[]), "trials");
    let merged = |index: &Path| -> serde_json::Value {
        let o = ts_at(index)
            .args(["show", "NCT06416709", "--json"])
            .output()
            .unwrap();
        assert!(o.status.success());
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // The ClinConnect page (no NCT id) joins the Ignite page of NCT06416709
    // by title and sponsor.
    assert_eq!(merged(&index)["sources"].as_array().unwrap().len(), 2);

    // Another sponsor on the ClinConnect page: the two no longer merge. The
    // Ignite page's file is unchanged, yet its trial must be replaced.
    let page = corpus.join("seeds/004_27b02498670dfb49.txt");
    let original = fs::read_to_string(&page).unwrap();
    edit(
        &page,
        "Launched by CELL ENERGY LIFE SCIENCES GROUP CO. LTD",
        "Launched by Another Research Foundation",
    );
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (1, 2));
    assert_eq!(n(&r, "trials"), trials + 1);
    assert_eq!(merged(&index)["sources"].as_array().unwrap().len(), 1);
    assert_same_as_full(&index, &corpus, "split");

    // The sponsor back: they merge again.
    fs::write(&page, &original).unwrap();
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (2, 1));
    assert_eq!(n(&r, "trials"), trials);
    assert_eq!(merged(&index)["sources"].as_array().unwrap().len(), 2);
    assert_same_as_full(&index, &corpus, "merge");

    // A new record listing two registered studies' ids links both of them
    // (unchanged files, each with CSV records too) into one trial.
    let json = fs::read_to_string(corpus.join("ctgov/json/NCT05144971.json")).unwrap();
    let bridge = json.replacen(
        "\"nctId\": \"NCT05144971\",",
        "\"nctId\": \"NCT05144971\", \"secondaryIdInfos\": [{\"id\": \"NCT05896215\"}],",
        1,
    );
    assert_ne!(bridge, json);
    fs::write(corpus.join("ctgov/bridge.json"), bridge).unwrap();
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (2, 1));
    assert_eq!(n(&r, "trials"), trials - 1);
    assert_same_as_full(&index, &corpus, "bridge");

    // And without it they split again.
    fs::remove_file(corpus.join("ctgov/bridge.json")).unwrap();
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (1, 2));
    assert_eq!(n(&r, "trials"), trials);
    assert_same_as_full(&index, &corpus, "unbridge");
}

/// `n` copies of a real study, each its own trial.
fn cloned_studies(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    let study = fs::read_to_string(data("ctgov/json/NCT05863234.json")).unwrap();
    for i in 0..n {
        let s = study.replace("NCT05863234", &format!("NCT{:08}", 10_000_000 + i));
        fs::write(dir.join(format!("s{i:03}.json")), s).unwrap();
    }
}

fn retitle(corpus: &Path, files: std::ops::Range<usize>, tag: &str) {
    for i in files {
        edit(
            &corpus.join(format!("s{i:03}.json")),
            "\"briefTitle\": \"",
            &format!("\"briefTitle\": \"{tag} "),
        );
    }
}

#[test]
fn deletions_and_the_delta_are_compacted_once_they_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("studies");
    cloned_studies(&corpus, 60);
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    assert_eq!(segments(&index), 1);

    // 2 of 60 changed: the base segment keeps 2 deletions, 2 new documents
    // go to a delta segment.
    retitle(&corpus, 0..2, "First");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(segments(&index), 2);
    assert!(live_gen(&index).join("deleted").is_dir());
    assert_same_as_full(&index, &corpus, "two changed");

    // One of them again: its document is in the delta, which is written
    // again without it (a segment with deletions is never merged: tantivy
    // would estimate its field lengths and scores would drift).
    retitle(&corpus, 0..1, "Again");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!((n(&r, "trials_removed"), n(&r, "trials_added")), (1, 1));
    assert_eq!(segments(&index), 2);
    assert_same_as_full(&index, &corpus, "a delta document changed");

    // 2 more: deleted plus delta documents would pass 10% of the index, so
    // the whole index is written again, leaving no deletion.
    retitle(&corpus, 2..4, "Second");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], false, "{r}");
    assert_eq!(n(&r, "files_parsed"), 2);
    assert_eq!(segments(&index), 1);
    assert!(!live_gen(&index).join("deleted").exists());
    assert_same_as_full(&index, &corpus, "compacted");

    // And the next small change is read alone and in place again.
    retitle(&corpus, 10..11, "Third");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(n(&r, "files_parsed"), 1);
    assert_same_as_full(&index, &corpus, "after compaction");
}

#[test]
fn trials_sharing_a_derived_id_are_rewritten_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    cloned_studies(&corpus.join("studies"), 60);
    copy_dir(&data("seeds"), &corpus.join("seeds"));
    // Two more copies of the ClinConnect page (no NCT id), with sponsors
    // that agree with nobody: same title, so the same derived id, which the
    // second one has to give up for one covering its file.
    let page = fs::read_to_string(data("seeds/004_27b02498670dfb49.txt")).unwrap();
    let sponsor = "Launched by CELL ENERGY LIFE SCIENCES GROUP CO. LTD";
    for (name, other) in [
        ("a.txt", "Alpha Research Hospital"),
        ("b.txt", "Beta Clinic"),
    ] {
        let text = page.replace(sponsor, &format!("Launched by {other}"));
        assert_ne!(text, page);
        fs::write(corpus.join("seeds").join(name), text).unwrap();
    }
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    // The ids of the two copies.
    let ids = |index: &Path| -> Vec<String> {
        let mut v: Vec<String> = export(index)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|t| {
                let sources = t["sources"].to_string();
                sources.contains("a.txt") || sources.contains("b.txt")
            })
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let before = ids(&index);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|id| id.starts_with("TS-")), "{before:?}");

    // An unrelated change is updated in place; the renamed id stays.
    retitle(&corpus.join("studies"), 0..1, "Edited");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_eq!(ids(&index), before);
    assert_same_as_full(&index, &corpus, "unrelated change");

    // A new title for the first copy: the second gets the plain derived id
    // back, though its file did not change. Only a full write sees that.
    edit(
        &corpus.join("seeds/a.txt"),
        "Stem Cell Treatment for Lung Injury",
        "Cell Therapy for Lung Injury",
    );
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], false, "{r}");
    let after = ids(&index);
    assert_eq!(after.len(), 2);
    assert_ne!(after, before);
    assert_same_as_full(&index, &corpus, "derived id freed");
}

#[test]
fn an_aborted_in_place_update_leaves_the_old_index_and_the_next_one_works() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("studies");
    cloned_studies(&corpus, 60);
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    retitle(&corpus, 0..1, "First");
    index_json(&index, &corpus, &[]);
    let before = answers(&index);
    let live = live_gen(&index);

    // Two documents to add: aborts before the first and after it.
    retitle(&corpus, 1..3, "Second");
    for n in ["0", "1"] {
        let out = ts_at(&index)
            .env("TRIALSEARCH_ABORT_AFTER", n)
            .args(["index", "--quiet"])
            .arg(&corpus)
            .output()
            .unwrap();
        assert!(!out.status.success(), "abort after {n} did not abort");
        assert_eq!(live_gen(&index), live);
        assert_eq!(
            answers(&index),
            before,
            "answers changed after abort at {n}"
        );
    }
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(r["in_place"], true, "{r}");
    assert_same_as_full(&index, &corpus, "after aborts");
}

/// Record packs in the live generation.
fn packs(index: &Path) -> usize {
    fs::read_dir(live_gen(index))
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("records") && name.ends_with(".zst")
        })
        .count()
}

#[test]
fn record_packs_are_linked_not_copied_and_stay_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("studies");
    // Enough studies that twenty changed leave the first pack mostly live.
    cloned_studies(&corpus, 200);
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    assert_eq!(packs(&index), 1);
    let mut most = 0;
    for i in 0..20 {
        retitle(&corpus, i..i + 1, "Changed");
        let r = index_json(&index, &corpus, &[]);
        // The cache stays whole: only the changed file is read.
        assert_eq!(n(&r, "files_parsed"), 1, "update {i}: {r}");
        let p = packs(&index);
        if i == 0 {
            // The first generation's records are linked, not copied; the
            // new generation's pack holds the one file read.
            assert_eq!(p, 2);
        }
        most = most.max(p);
        assert!(p <= 16, "update {i}: {p} packs");
        // The base segment and at most three delta segments.
        assert!(segments(&index) <= 4, "update {i}");
        assert!(live_gen(&index).join("records.gen-000001.zst").is_file());
    }
    // Packs pile up to the limit, and then the small ones are copied while
    // the first build's (all the other records) is still linked, not copied.
    assert_eq!(most, 16);
    assert!(live_gen(&index).join("records.gen-000001.zst").is_file());
    assert_same_as_full(&index, &corpus, "after twenty updates");
}

/// Rewrite every entry of the live generation's manifest.
fn damage_manifest(index: &Path, f: impl Fn(&mut serde_json::Value)) {
    let man = live_gen(index).join("manifest.jsonl.zst");
    let text = String::from_utf8(zstd::decode_all(fs::File::open(&man).unwrap()).unwrap()).unwrap();
    let damaged: String = text
        .lines()
        .map(|l| {
            let mut e: serde_json::Value = serde_json::from_str(l).unwrap();
            f(&mut e);
            format!("{e}\n")
        })
        .collect();
    fs::write(&man, zstd::encode_all(damaged.as_bytes(), 1).unwrap()).unwrap();
}

#[test]
fn a_manifest_with_records_past_the_end_of_their_pack_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("studies");
    cloned_studies(&corpus, 30);
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    damage_manifest(&index, |e| e["offset"] = 1_000_000_000u64.into());
    retitle(&corpus, 0..1, "Changed");
    let r = index_json(&index, &corpus, &[]);
    assert_eq!(n(&r, "files_parsed"), 30, "{r}");
    assert_same_as_full(&index, &corpus, "records past the end");
}

#[test]
fn a_manifest_naming_another_file_as_a_record_pack_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("studies");
    cloned_studies(&corpus, 30);
    let index = tmp.path().join("index");
    index_json(&index, &corpus, &[]);
    let live = live_gen(&index);
    // A damaged manifest whose records are said to be in the build summary:
    // linking it into the next generation and writing that generation's
    // summary would write through the link into the live one.
    damage_manifest(&index, |e| {
        e["pack"] = "trialsearch.json".into();
        e["offset"] = 0.into();
    });
    let summary = fs::read(live.join("trialsearch.json")).unwrap();

    retitle(&corpus, 0..1, "Changed");
    let r = index_json(&index, &corpus, &[]);
    // The cache is not used at all: every file is read again.
    assert_eq!(n(&r, "files_parsed"), 30, "{r}");
    assert_eq!(fs::read(live.join("trialsearch.json")).unwrap(), summary);
    assert_same_as_full(&index, &corpus, "damaged manifest");
}
