//! ClinicalTrials.gov downloads through the binary: every format counted in
//! the summary, merged with page dumps, and `stats`.

use crate::util::*;

#[test]
fn structured_formats_index_and_count() {
    let ix = TestIndex::build(&[data("ctgov"), data("seeds")]);
    let out = ix.cmd().args(["stats", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in [
        "ctgov_json",
        "ctgov_xml",
        "ctgov_csv_classic",
        "ctgov_csv",
        "veeva",
    ] {
        assert!(
            v["records"][f].as_u64().unwrap_or(0) > 0,
            "no {f} records: {v:#}"
        );
    }
    assert!(v["trials"].as_u64().unwrap() >= 10);
    assert!(v["fill_rates"]["status"].as_f64().unwrap() > 0.9);
    assert!(v["skipped"].as_array().unwrap().is_empty(), "{v:#}");
}

#[test]
fn msc_collection_answers_abbreviations() {
    let ix = TestIndex::build(&[data("msc-classic-export-1445.csv")]);
    let v = ix.query_json(&["GvHD MSC"]);
    assert!(v["total"].as_u64().unwrap() > 20);
    let first = v["hits"][0]["title"].as_str().unwrap().to_lowercase();
    assert!(first.contains("graft") || first.contains("gvhd"), "{first}");
    let v = ix.query_json(&[
        "knee osteoarthritis",
        "--phase",
        "3",
        "--status",
        "recruiting",
    ]);
    for h in v["hits"].as_array().unwrap() {
        assert!(h["phases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "Phase 3"));
        assert_eq!(h["status"], "Recruiting");
    }
}
