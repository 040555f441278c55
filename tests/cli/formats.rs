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

fn export_ids(ix: &TestIndex) -> Vec<String> {
    let out = ix
        .cmd()
        .args(["export", "--format", "ndjson", "--sort", "updated"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn overlapping_downloads_are_one_trial() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_dir(data("ctgov/json"))
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))
        .unwrap()
        .path();
    std::fs::copy(&src, dir.path().join("download-1.json")).unwrap();
    std::fs::copy(&src, dir.path().join("download-2.json")).unwrap();
    let ix = TestIndex::build(&[dir.path().to_path_buf()]);
    let ids = export_ids(&ix);
    let n_studies = {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&src).unwrap()).unwrap();
        v.as_array().map(|a| a.len()).unwrap_or(1)
    };
    assert_eq!(ids.len(), n_studies, "each study once: {ids:?}");
    let out = ix.cmd().args(["show", &ids[0], "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"].as_array().unwrap().len(), 2);
}

#[test]
fn a_zip_of_studies_indexes_like_the_folder() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("studies");
    std::fs::create_dir(&folder).unwrap();
    let zip_path = dir.path().join("ctg-studies.json.zip");
    let mut zw = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut n = 0;
    for e in std::fs::read_dir(data("ctgov/json")).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let bytes = std::fs::read(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::write(folder.join(&name), &bytes).unwrap();
            zw.start_file(name, opts).unwrap();
            zw.write_all(&bytes).unwrap();
            n += 1;
        }
    }
    zw.finish().unwrap();
    assert!(n >= 3);
    let a = TestIndex::build(&[folder]);
    let b = TestIndex::build(&[zip_path]);
    assert_eq!(export_ids(&a), export_ids(&b));
    let v = b.query_json(&[""]);
    let src = v["hits"][0]["sources"][0].as_str().unwrap();
    assert!(src.contains("ctg-studies.json.zip!"), "{src}");
}
