//! Golden tests of the stage-1 page adapters on the seed pages in
//! `tests/data/seeds/`: each seed must be detected as its site's layout and
//! parse to the record in `tests/golden/pages/<stem>.expected.json`.
//! `UPDATE_GOLDEN=1 cargo test --lib golden` rewrites the golden files; review
//! every diff by eye before committing one.

use super::{detect_page, parse_page};
use crate::trial::{Format, Phase, Sex, Status, StudyType, Trial};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (stem, expected layout) for every seed.
const SEEDS: [(&str, Format); 5] = [
    ("000_b98159c7e3ac08a1", Format::Trialx),
    ("001_e2fe424d55c8b684", Format::Ignite),
    ("002_f5081cd50c029928", Format::Veeva),
    ("003_7284cf7870ad5061", Format::Clinconnect),
    ("004_27b02498670dfb49", Format::Clinconnect),
];

fn seed_text(stem: &str) -> String {
    let path = root().join("tests/data/seeds").join(format!("{stem}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn golden_path(stem: &str) -> PathBuf {
    root()
        .join("tests/golden/pages")
        .join(format!("{stem}.expected.json"))
}

/// The seed as the reader would see it: detected, parsed, finalized.
fn parsed(stem: &str) -> Trial {
    let text = seed_text(stem);
    let mut t = parse_page(detect_page(&text), &text).expect("a seed yields a record");
    t.finalize();
    t
}

#[test]
fn seeds_are_detected_as_their_layout() {
    for (stem, format) in SEEDS {
        assert_eq!(detect_page(&seed_text(stem)), format, "{stem}");
    }
}

#[test]
fn reader_reports_each_seed_in_its_format() {
    for (stem, format) in SEEDS {
        let path = root().join("tests/data/seeds").join(format!("{stem}.txt"));
        let mut got = Vec::new();
        let report = super::read_file(&path, stem, &super::Limits::default(), &mut |item| {
            if let super::Item::Trial(t) = item {
                got.push(t.sources.first().map(|s| s.format));
            }
        })
        .expect("seed is readable");
        assert_eq!(got, vec![Some(format)], "{stem}");
        assert_eq!(report.records, vec![(format, 1)], "{stem}");
    }
}

#[test]
fn seeds_match_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut mismatched = Vec::new();
    for (stem, _) in SEEDS {
        let trial = parsed(stem);
        let got = serde_json::to_value(&trial).expect("serializable");
        let path = golden_path(stem);
        if update {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            // Written from the struct, so fields keep the order `show --json` uses.
            let mut s = serde_json::to_string_pretty(&trial).expect("serializable");
            s.push('\n');
            std::fs::write(&path, s).expect("write golden file");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
                path.display()
            )
        });
        let want: serde_json::Value = serde_json::from_str(&text).expect("golden file is JSON");
        if got != want {
            eprintln!(
                "{stem}: got\n{}",
                serde_json::to_string_pretty(&got).unwrap_or_default()
            );
            mismatched.push(stem);
        }
    }
    assert!(
        mismatched.is_empty(),
        "records differ from their golden files: {mismatched:?} (UPDATE_GOLDEN=1 rewrites them)"
    );
}

#[test]
fn seed_000_trialx_facts() {
    let t = parsed("000_b98159c7e3ac08a1");
    assert_eq!(t.nct_id.as_deref(), Some("NCT06788470"));
    assert_eq!(t.id, "NCT06788470");
    assert_eq!(t.status, Some(Status::Recruiting));
    assert_eq!(t.phases, vec![Phase::Phase1, Phase::Phase2]);
    assert_eq!(t.sex, Some(Sex::All));
    assert!(t
        .conditions
        .iter()
        .any(|c| c.contains("Bronchopulmonary Dysplasia")));
    assert_eq!(t.inclusion_criteria.len(), 4);
    assert_eq!(t.exclusion_criteria.len(), 8);
    assert_eq!(
        t.inclusion_criteria[0],
        "23-29 weeks of gestation, birth weight 500-1500g;"
    );
    assert_eq!(
        t.sponsor.as_deref(),
        Some("The Children's Hospital of Zhejiang University School of Medicine")
    );
    assert_eq!(t.last_updated.as_deref(), Some("2025-09-09"));
    assert_eq!(t.min_age_years, Some(36.0));
    assert!(t
        .title
        .as_deref()
        .is_some_and(|s| s.starts_with("Safety and Efficacy")));
    // The title is printed twice; the second copy is not an official title.
    assert_eq!(t.official_title, None);
    assert!(t
        .summary
        .as_deref()
        .is_some_and(|s| s.starts_with("Bronchopulmonary dysplasia (BPD) is a chronic")));
}

#[test]
fn seed_001_ignite_facts() {
    let t = parsed("001_e2fe424d55c8b684");
    assert_eq!(t.nct_id.as_deref(), Some("NCT06416709"));
    assert_eq!(t.status, Some(Status::Recruiting));
    assert_eq!(
        t.sponsor.as_deref(),
        Some("Cell Energy Life Sciences Group Co LTD")
    );
    assert_eq!(t.first_posted.as_deref(), Some("2024-05-11"));
    assert_eq!(t.last_updated.as_deref(), Some("2024-05-16"));
    assert_eq!(
        t.title.as_deref(),
        Some("Stem Cell Treatment for Lung Injury Caused by Major Infectious Diseases")
    );
    assert!(t
        .official_title
        .as_deref()
        .is_some_and(|s| s.starts_with("To Study the Clinical Treatment Plan")));
    assert_eq!(t.acronym, None, "\"Acronym: None\" means no acronym");
    assert_eq!(t.why_stopped, None, "\"Not Stopped\" is no reason");
    assert!(t.summary.is_some() && t.description.is_some());
}

#[test]
fn seed_002_veeva_facts() {
    let t = parsed("002_f5081cd50c029928");
    assert_eq!(t.nct_id.as_deref(), Some("NCT05689008"));
    assert_eq!(t.status, Some(Status::Recruiting));
    assert_eq!(t.phases, vec![Phase::Phase3]);
    assert_eq!(t.sponsor.as_deref(), Some("Tongji University"));
    assert_eq!(
        t.conditions,
        vec!["COVID-19 Pneumonia", "Mesenchymal Stem Cell"]
    );
    assert_eq!((t.min_age_years, t.max_age_years), (Some(18.0), Some(85.0)));
    assert_eq!(t.enrollment, Some(60));
    assert_eq!(t.secondary_ids, vec!["DFSC-2023(CR)-01"]);
    assert_eq!(t.study_type, Some(StudyType::Interventional));
    assert_eq!(t.sex, Some(Sex::All));
    assert_eq!(t.healthy_volunteers, Some(false));
    assert_eq!(t.interventions.len(), 1);
    assert_eq!(t.interventions[0].kind.as_deref(), Some("Biological"));
    assert_eq!(t.interventions[0].name, "UC-MSCs treatment");
    assert_eq!(t.design.allocation.as_deref(), Some("Randomized"));
    assert_eq!(t.design.masking.as_deref(), Some("None (Open Label)"));
    assert_eq!(t.design.model.as_deref(), Some("Parallel Assignment"));
    assert_eq!(t.design.purpose.as_deref(), Some("Treatment"));
    assert_eq!(t.inclusion_criteria.len(), 4);
    assert_eq!(t.exclusion_criteria.len(), 9);
    assert_eq!(t.contacts.len(), 1);
    assert_eq!(t.contacts[0].name, "Qiang Li, Dr.");
}

#[test]
fn seed_003_clinconnect_facts() {
    let t = parsed("003_7284cf7870ad5061");
    assert_eq!(t.status, Some(Status::Recruiting));
    assert!(t.title.as_deref().is_some_and(|s| s.contains("Sepsis")));
    assert!(t
        .sponsor
        .as_deref()
        .is_some_and(|s| s.starts_with("Daping Hospital")));
    assert_eq!(t.locations.len(), 1);
    assert_eq!(t.locations[0].city.as_deref(), Some("Chongqing"));
    assert_eq!(t.locations[0].state.as_deref(), Some("Chongqing"));
    assert_eq!(t.countries, vec!["China"]);
    assert_eq!(t.first_posted.as_deref(), Some("2025-03-17"));
    assert_eq!(t.last_updated.as_deref(), Some("2025-06-26"));
    assert_eq!(t.sex, Some(Sex::All));
    assert_eq!((t.min_age_years, t.max_age_years), (Some(0.0), Some(65.0)));
    assert!(
        t.contacts.is_empty(),
        "the Contacts block is site placeholder text"
    );
    assert_eq!(t.nct_id, None);
    assert!(t.id.starts_with("TS-"));
}

#[test]
fn seed_004_clinconnect_facts() {
    let t = parsed("004_27b02498670dfb49");
    assert_eq!(
        t.title.as_deref(),
        Some("Stem Cell Treatment for Lung Injury Caused by Major Infectious Diseases")
    );
    assert_eq!(
        crate::normalize::sponsor_key(t.sponsor.as_deref().unwrap_or_default()),
        crate::normalize::sponsor_key("Cell Energy Life Sciences Group Co LTD"),
        "merges with seed 001 by title and sponsor"
    );
    assert_eq!(t.first_posted.as_deref(), Some("2024-05-11"));
    assert_eq!(t.officials.len(), 1);
    assert_eq!(t.officials[0].name, "Fu sheng Wang, Dr");
    assert_eq!(
        t.officials[0].role.as_deref(),
        Some("Principal Investigator")
    );
    assert_eq!(
        t.officials[0].affiliation.as_deref(),
        Some("Beijing 302 Hospital")
    );
    assert_eq!(t.locations[0].city.as_deref(), Some("Beijing"));
    assert_eq!(t.locations[0].state, None);
    assert_eq!(t.min_age_years, Some(18.0));
    assert!(t.contacts.is_empty());
}

/// Every string anywhere in a JSON value.
pub(crate) fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn no_site_boilerplate_in_any_field() {
    const BANNED: [&str; 8] = [
        "compensated",
        "Veeva Systems",
        "Powered by AI",
        "Sign up",
        "Loading",
        "Jennifer Cobb",
        "leading clinical trial sponsor",
        "pioneering biopharmaceutical",
    ];
    for (stem, _) in SEEDS {
        let mut all = Vec::new();
        strings(
            &serde_json::to_value(parsed(stem)).expect("serializable"),
            &mut all,
        );
        for s in &all {
            for b in BANNED {
                assert!(!s.contains(b), "{stem}: {b:?} in {s:?}");
            }
        }
    }
}

#[test]
fn generic_reads_an_unknown_layout() {
    // Synthetic, hand-written for this test: a ChiCTR-style bilingual page
    // (labels in Chinese and English, each value on the next line), whose
    // layout none of the site adapters knows.
    let page = "注册号：\nRegistration number：\nChiCTR2000029990\n\
        注册题目：\nPublic title：\n\
        间充质干细胞治疗新型冠状病毒肺炎的临床研究\n\
        Clinical trials of mesenchymal stem cells for the treatment of pneumonitis caused by novel coronavirus pneumonia (COVID-19)\n\
        研究所处阶段：\nStudy phase：\n1\n\
        征募研究对象情况：\nRecruiting status：\n正在进行 Recruiting\n\
        © 2020 Chinese Clinical Trial Registry. Sign up for updates\n";
    assert_eq!(detect_page(page), Format::Generic);
    let mut t = parse_page(Format::Generic, page).expect("a record");
    t.finalize();
    assert_eq!(t.id, "ChiCTR2000029990");
    assert_eq!(t.nct_id, None);
    assert_eq!(t.secondary_ids, vec!["ChiCTR2000029990"]);
    assert_eq!(
        t.title.as_deref(),
        Some("间充质干细胞治疗新型冠状病毒肺炎的临床研究")
    );
    assert_eq!(t.status, Some(Status::Recruiting));
    assert_eq!(t.phases, vec![Phase::Phase1]);
    let other = t.other_text.unwrap_or_default();
    assert!(other.contains("mesenchymal stem cells"));
    assert!(
        !other.contains("Sign up"),
        "boilerplate stays out of other_text"
    );
}

#[test]
fn one_quoted_marker_is_not_a_layout() {
    // Synthetic pages that each quote one site's marker in passing.
    for page in [
        "A news story\nThe trial is listed as Study NCT ID: NCT06416709 on Ignite.\nStatus: Recruiting\n",
        "Overview\nSome blog post about trials.\nStudy details\nNothing more.\n",
        "Status and phase\nEnrolling\nPhase 3\nA page that copied one Veeva heading.\n",
        "My Trial\nLaunched by ACME · Mar 17, 2025\nA launch announcement.\n",
    ] {
        assert_eq!(detect_page(page), Format::Generic, "{page}");
    }
}

#[test]
fn adapters_never_panic_on_cut_or_odd_pages() {
    let odd = [
        "",
        "\n\n",
        "Launched by ·",
        "Study NCT ID:\nStatus:\nBrief Title:",
        "Study details\n",
        "Status and phase\nCentral trial contact\n",
        "Eligibility criteria\n- •\n- Exclusion Criteria:",
        "Ages\n999999999999999999999999 years\nEnrollment\n99999999999999999999999",
        "\u{feff}é\u{0}\u{301}··::",
    ];
    let mut pages: Vec<String> = odd.iter().map(|s| s.to_string()).collect();
    for (stem, _) in SEEDS {
        let text = seed_text(stem);
        // Every prefix cut at a line end, and a few cut mid-line.
        let mut cut = String::new();
        for line in text.lines() {
            cut.push_str(line);
            cut.push('\n');
            pages.push(cut.clone());
        }
        for n in [1, 7, 100, 333, 1000] {
            pages.push(text.chars().take(n).collect());
        }
    }
    for p in &pages {
        let _ = detect_page(p);
        let _ = super::trialx::parse(p);
        let _ = super::ignite::parse(p);
        let _ = super::veeva::parse(p);
        let _ = super::clinconnect::parse(p);
        let _ = super::generic::parse(p);
        if let Some(mut t) = parse_page(detect_page(p), p) {
            t.finalize();
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Arbitrary text, and seed-like lines in arbitrary order, never panic.
    #[test]
    fn adapters_never_panic_on_any_text(
        s in "\\PC{0,400}",
        picks in proptest::collection::vec(0usize..400, 0..60),
    ) {
        let pool: Vec<String> = SEEDS
            .iter()
            .flat_map(|(stem, _)| seed_text(stem).lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        let shuffled: Vec<&str> = picks
            .iter()
            .filter_map(|i| pool.get(i % pool.len().max(1)).map(String::as_str))
            .collect();
        for p in [s.clone(), shuffled.join("\n"), format!("{s}\n{}", shuffled.join("\n"))] {
            let _ = super::trialx::parse(&p);
            let _ = super::ignite::parse(&p);
            let _ = super::veeva::parse(&p);
            let _ = super::clinconnect::parse(&p);
            if let Some(mut t) = parse_page(detect_page(&p), &p) {
                t.finalize();
            }
        }
    }
}
