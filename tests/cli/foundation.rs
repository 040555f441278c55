//! The founding corpus: five page dumps from four sites → four trials; the
//! query, filter, facet, `--json`, `show` and exit-code contracts.

use crate::util::*;
use predicates::prelude::*;
use std::sync::OnceLock;

fn seeds() -> &'static TestIndex {
    static IX: OnceLock<TestIndex> = OnceLock::new();
    IX.get_or_init(|| TestIndex::build(&[data("seeds")]))
}

#[test]
fn five_seeds_index_as_four_trials() {
    let dir = tempfile::tempdir().unwrap();
    ts_at(&dir.path().join("ix"))
        .args(["index"])
        .arg(data("seeds"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "indexed 4 trials from 5 records in 5 of 5 files",
        ));
    let v: serde_json::Value = serde_json::from_slice(
        &ts_at(&dir.path().join("ix"))
            .args(["stats", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["trials"], 4);
    assert_eq!(v["records"]["clinconnect"], 2);
}

#[test]
fn msc_sepsis_phase_3_ranks_the_sepsis_trial_first() {
    let v = seeds().query_json(&["MSC sepsis phase 3"]);
    let first = &v["hits"][0];
    assert!(first["title"].as_str().unwrap().contains("Sepsis"), "{v:#}");
    assert!(first["sources"][0].as_str().unwrap().contains("003_"));
}

#[test]
fn phase_and_status_words_never_empty_the_result() {
    // No seed is in phase 4; the words still only raise, never filter.
    let v = seeds().query_json(&["stem cells phase 4 completed"]);
    assert!(v["total"].as_u64().unwrap() >= 3, "{v:#}");
}

#[test]
fn show_lists_both_sources_of_the_merged_trial() {
    let out = seeds()
        .cmd()
        .args(["show", "NCT06416709", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("001_")) && paths.iter().any(|p| p.contains("004_")));
    assert_eq!(v["status"], "Recruiting");
    assert_eq!(v["sponsor"], "Cell Energy Life Sciences Group Co LTD");
    for key in [
        "secondary_ids",
        "official_title",
        "study_type",
        "interventions",
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
        "summary",
        "description",
        "inclusion_criteria",
        "exclusion_criteria",
    ] {
        assert!(v.get(key).is_some(), "show --json lacks {key}");
    }
    // Any registry id and any case finds it; text output has sections.
    seeds()
        .cmd()
        .args(["show", "nct06416709"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Sources"));
}

#[test]
fn an_nct_id_finds_its_trial() {
    let v = seeds().query_json(&["NCT05689008"]);
    assert_eq!(ids(&v)[0], "NCT05689008");
    let v = seeds().query_json(&["DFSC-2023(CR)-01"]);
    assert_eq!(ids(&v)[0], "NCT05689008");
}

#[test]
fn msc_finds_spelled_out_forms_and_back() {
    // Seed 003 never writes "MSC": only "Mesenchymal Stem Cells".
    let v = seeds().query_json(&["MSC"]);
    assert_eq!(v["total"], 4, "{v:#}");
    let v = seeds().query_json(&["mesenchymal stromal cells"]);
    assert!(v["total"].as_u64().unwrap() >= 3);
}

#[test]
fn boilerplate_is_not_indexed() {
    for q in ["compensated", "Veeva Systems", "Powered by AI", "passcode"] {
        seeds()
            .cmd()
            .args(["query", q])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("no trials match"));
    }
}

#[test]
fn compound_tokens_are_findable() {
    for q in ["COVID-19", "UC-MSCs", "covid 19", "UC MSC"] {
        let v = seeds().query_json(&[q]);
        assert!(ids(&v).contains(&"NCT05689008".to_string()), "{q}: {v:#}");
    }
}

#[test]
fn query_operators() {
    let all = seeds().query_json(&["stem cells"])["total"]
        .as_u64()
        .unwrap();
    let minus = seeds().query_json(&["stem cells -sepsis"])["total"]
        .as_u64()
        .unwrap();
    assert_eq!(minus, all - 1);
    let either = seeds().query_json(&["sepsis OR dysplasia"]);
    assert_eq!(either["total"], 2);
    let phrase = seeds().query_json(&["\"refractory hypoxia\""]);
    assert_eq!(ids(&phrase), vec!["NCT05689008"]);
}

#[test]
fn filters() {
    let v = seeds().query_json(&["stem cells", "--phase", "2"]);
    assert_eq!(ids(&v), vec!["NCT06788470"], "Phase 1/2 matches --phase 2");
    let v = seeds().query_json(&[
        "stem cells",
        "--status",
        "RECRUITING",
        "--status",
        "completed",
    ]);
    assert_eq!(v["total"], 4);
    let v = seeds().query_json(&["stem cells", "--age", "90"]);
    assert!(
        !ids(&v).contains(&"NCT05689008".to_string()),
        "18 to 85 excludes 90"
    );
    let v = seeds().query_json(&["--country", "china"]);
    assert!(v["total"].as_u64().unwrap() >= 2);
    let v = seeds().query_json(&["stem", "--sponsor", "Tongji"]);
    assert_eq!(ids(&v), vec!["NCT05689008"]);
    let v = seeds().query_json(&["--condition", "covid-19"]);
    assert_eq!(ids(&v), vec!["NCT05689008"]);
    let v = seeds().query_json(&["--type", "interventional"]);
    assert_eq!(ids(&v), vec!["NCT05689008"]);
    let v = seeds().query_json(&["stem", "--limit", "1", "--offset", "1"]);
    assert_eq!(v["hits"].as_array().unwrap().len(), 1);
    assert_eq!(v["hits"][0]["rank"], 2);
}

#[test]
fn json_shape_and_facets() {
    let v = seeds().query_json(&["stem cells"]);
    for key in ["query", "total", "hits", "facets"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let h = &v["hits"][0];
    for key in [
        "id",
        "nct_id",
        "title",
        "status",
        "phases",
        "conditions",
        "sponsor",
        "score",
        "snippet",
        "sources",
    ] {
        assert!(h.get(key).is_some(), "hit lacks {key}");
    }
    assert_eq!(v["facets"]["status"]["Recruiting"], 4);
    assert_eq!(v["facets"]["phase"]["Phase 3"], 1);
    // Facets count all matches, not just the page.
    let v = seeds().query_json(&["stem cells", "--limit", "1"]);
    assert_eq!(v["facets"]["status"]["Recruiting"], 4);
    assert!(v["hits"][0]["snippet"].as_str().unwrap().contains("<mark>"));
}

#[test]
fn text_output_has_results_then_facets() {
    seeds()
        .cmd()
        .args(["query", "sepsis", "--color", "never"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            " 1. Human Umbilical Cord Mesenchymal Stem Cells Treatment in Sepsis",
        ))
        .stdout(predicate::str::contains("*sepsis*"))
        .stdout(predicate::str::contains("status: Recruiting"));
}

#[test]
fn exit_codes_and_errors() {
    seeds().cmd().args(["query", "zzzqqqxxx"]).assert().code(1);
    seeds()
        .cmd()
        .args(["query", "\"unclosed"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("trialsearch: bad query"));
    seeds()
        .cmd()
        .args(["query", "x", "--status", "sleeping"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("accepted: Recruiting"));
    seeds()
        .cmd()
        .args(["query", "x", "--phase", "7"])
        .assert()
        .code(2);
    seeds()
        .cmd()
        .args(["show", "NCT00000000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no trial with id"));
    let dir = tempfile::tempdir().unwrap();
    ts_at(&dir.path().join("nothing"))
        .args(["query", "msc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trialsearch index"));
    ts().args(["index", "/no/such/folder", "--index"])
        .arg(dir.path().join("i"))
        .assert()
        .code(2);
}

#[test]
fn index_env_variable_points_elsewhere() {
    ts().env("TRIALSEARCH_INDEX", seeds().path())
        .args(["query", "sepsis", "--json"])
        .assert()
        .success();
}
