//! Deterministic, seeded benchmark-corpus generator for trialsearch.
//!
//! Writes synthetic but realistic clinical-trial records:
//!
//! * ClinicalTrials.gov API v2 JSON study files, one study object per
//!   `NCTxxxxxxxx.json` file (the layout of the official bulk download
//!   `ctg-studies.json.zip`), pretty-printed with two-space indentation and
//!   the real module structure (`protocolSection.identificationModule.nctId`,
//!   `statusModule.overallStatus` = `RECRUITING`, `designModule.phases` =
//!   `["PHASE1","PHASE2"]`, `derivedSection.conditionBrowseModule` ...).
//!   With `--zip` the same files go, streamed entry by entry, into one
//!   `ctg-studies.json.zip`.
//! * Page dumps (`.txt`) in the Veeva, ClinConnect, TrialX and Ignite text
//!   layouts, mimicking the real dumps in `tests/data/seeds/`, site
//!   boilerplate included.
//!
//! Run:
//!
//! ```text
//! cargo run --release --example gencorpus -- --size S --out /tmp/corpus-s        # 300 page dumps
//! cargo run --release --example gencorpus -- --size M --out /tmp/corpus-m        # 10,000 JSON studies
//! cargo run --release --example gencorpus -- --size L --out /tmp/corpus-l --zip  # 500,000, zipped
//! cargo run --release --example gencorpus -- --count 1234 --format pages --out DIR --seed 7
//! cargo run --example gencorpus -- --check   # determinism self-test (used by CI)
//! ```
//!
//! Why recombine real values: a benchmark of a search engine is only
//! meaningful if the text has the vocabulary, term frequencies and field
//! lengths of real records (tokenizer cost, posting-list sizes, stored-field
//! sizes all depend on them); random words would not do. So every text value
//! (titles, conditions, interventions, criteria lines, sponsors, locations,
//! summaries, outcomes, MeSH terms ...) is drawn from a pool of real
//! ClinicalTrials.gov values (public domain) in `tests/data/bench/pool.json`,
//! and the *shape* of each study (how many conditions, sites, criteria lines,
//! how long its summary, its status/phase/type/sex/ages) is one real study's
//! shape, so counts and lengths follow the empirical distributions. The pool
//! is built once by `bench/make_pool.py` and embedded at compile time, so the
//! generator runs on a fresh clone.
//!
//! Deterministic: the same `--seed`, size and format give byte-identical
//! output. Each study draws from its own SplitMix64 stream keyed by seed and
//! index, and nothing depends on time, hashing order or thread scheduling.
//! Studies are written one at a time, so size L never sits in memory.

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed pool, embedded so the example needs no data files at run time.
const POOL_JSON: &str = include_str!("../tests/data/bench/pool.json");

#[derive(Parser, Debug)]
#[command(about = "Generate a deterministic benchmark corpus of clinical-trial records")]
struct Args {
    /// S = 300 page dumps, M = 10,000 JSON studies, L = 500,000 JSON studies.
    #[arg(long, value_parser = ["S", "M", "L", "s", "m", "l"])]
    size: Option<String>,
    /// Number of records (overrides the count implied by --size).
    #[arg(long)]
    count: Option<u64>,
    /// What to write; defaults to pages for S and json for M and L.
    #[arg(long, value_parser = ["json", "pages"])]
    format: Option<String>,
    /// Output folder (created if missing).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the JSON studies into one ctg-studies.json.zip instead of loose files.
    #[arg(long)]
    zip: bool,
    /// Self-test: generate 50 studies (JSON, pages and zip) twice and compare bytes.
    #[arg(long)]
    check: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let pool = Pool::load()?;
    if args.check {
        return check(&pool);
    }
    let size = args.size.as_deref().map(str::to_ascii_uppercase);
    let (default_count, default_format) = match size.as_deref() {
        Some("S") => (300, "pages"),
        Some("M") => (10_000, "json"),
        Some("L") => (500_000, "json"),
        _ => (0, "json"),
    };
    let count = args.count.unwrap_or(default_count);
    if count == 0 {
        bail!("give --size S|M|L or --count N");
    }
    let Some(out) = args.out else {
        bail!("give --out DIR");
    };
    let format = args.format.as_deref().unwrap_or(default_format);
    if format == "pages" && args.zip {
        bail!("--zip packs JSON studies; page dumps are written as loose .txt files");
    }
    let start = Instant::now();
    let stats = generate(&pool, args.seed, count, format == "pages", args.zip, &out)?;
    eprintln!(
        "gencorpus: {} files ({} {}), {} bytes, {:.0} bytes/study mean{}, {:.1} s",
        stats.files,
        count,
        if format == "pages" {
            "page dumps"
        } else {
            "JSON studies"
        },
        stats.bytes,
        stats.bytes as f64 / count as f64,
        match stats.zip_bytes {
            Some(z) => format!(", zip {z} bytes"),
            None => String::new(),
        },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What [`generate`] wrote.
struct Stats {
    files: u64,
    /// Uncompressed bytes of all records.
    bytes: u64,
    zip_bytes: Option<u64>,
}

/// Write `count` records into `out`, one at a time.
fn generate(
    pool: &Pool,
    seed: u64,
    count: u64,
    pages: bool,
    zip: bool,
    out: &Path,
) -> Result<Stats> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut stats = Stats {
        files: 0,
        bytes: 0,
        zip_bytes: None,
    };
    let width = count.saturating_sub(1).to_string().len().max(3);
    if zip {
        let path = out.join("ctg-studies.json.zip");
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut zw = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
        // A fixed timestamp: the default would be "now" and break byte-identity.
        let stamp = zip::DateTime::from_date_and_time(2025, 1, 1, 0, 0, 0)
            .map_err(|e| anyhow::anyhow!("zip timestamp: {e}"))?;
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(stamp)
            .unix_permissions(0o644);
        for i in 0..count {
            let study = Study::generate(pool, seed, i);
            let text = study.to_json();
            zw.start_file(format!("{}.json", study.nct), opts)?;
            zw.write_all(text.as_bytes())?;
            stats.bytes += text.len() as u64;
        }
        let mut inner = zw.finish()?;
        inner.flush()?;
        drop(inner);
        stats.files = 1;
        stats.zip_bytes = Some(fs::metadata(&path)?.len());
        return Ok(stats);
    }
    for i in 0..count {
        let study = Study::generate(pool, seed, i);
        let (name, text) = if pages {
            // Seed dumps are named `NNN_<16 hex>.txt`; the hex is drawn per page.
            let mut r = Rng::new(seed ^ 0x5041_4745, i);
            let layout = Layout::ALL[r.below(Layout::ALL.len())];
            (
                format!("{i:0width$}_{:016x}.txt", r.next()),
                layout.render(&study),
            )
        } else {
            (format!("{}.json", study.nct), study.to_json())
        };
        let path = out.join(name);
        fs::write(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        stats.files += 1;
        stats.bytes += text.len() as u64;
    }
    Ok(stats)
}

/// `--check`: the same seed twice must give the same bytes, and every JSON
/// study must parse back with a unique nctId.
fn check(pool: &Pool) -> Result<()> {
    let base = std::env::temp_dir().join(format!("gencorpus-check-{}", std::process::id()));
    let run = |tag: &str| -> Result<PathBuf> {
        let dir = base.join(tag);
        generate(pool, 42, 50, false, false, &dir.join("json"))?;
        generate(pool, 42, 50, true, false, &dir.join("pages"))?;
        generate(pool, 42, 50, false, true, &dir.join("zip"))?;
        Ok(dir)
    };
    let (a, b) = (run("a")?, run("b")?);
    let mut files = 0;
    let mut ids = std::collections::BTreeSet::new();
    for sub in ["json", "pages", "zip"] {
        let mut names: Vec<_> = fs::read_dir(a.join(sub))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        for name in names {
            let x = fs::read(a.join(sub).join(&name))?;
            let y = fs::read(b.join(sub).join(&name))
                .with_context(|| format!("{name:?} missing in the second run"))?;
            if x != y {
                bail!("{sub}/{name:?} differs between two runs with the same seed");
            }
            if sub == "json" {
                let v: Value = serde_json::from_slice(&x)?;
                let id = v["protocolSection"]["identificationModule"]["nctId"]
                    .as_str()
                    .context("nctId missing")?
                    .to_string();
                ids.insert(id);
            }
            files += 1;
        }
    }
    if ids.len() != 50 {
        bail!("expected 50 unique NCT ids, got {}", ids.len());
    }
    let other = Study::generate(pool, 43, 0).to_json();
    if other == Study::generate(pool, 42, 0).to_json() {
        bail!("seeds 42 and 43 gave the same study");
    }
    fs::remove_dir_all(&base)?;
    eprintln!("gencorpus --check: ok ({files} files identical across two runs, 50 unique NCT ids)");
    Ok(())
}

// ---------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, good enough for sampling, and fully specified, so
/// output never changes with a dependency upgrade.
struct Rng(u64);

impl Rng {
    /// One independent stream per (seed, index), so record `i` is the same
    /// whatever the count and whichever records come before it.
    fn new(seed: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    /// `n` values, distinct while the pool has enough.
    fn pick_n<'a, T>(&mut self, v: &'a [T], n: usize) -> Vec<&'a T> {
        let mut idx: Vec<usize> = Vec::with_capacity(n);
        for _ in 0..n {
            let mut k = self.below(v.len());
            for _ in 0..4 {
                if !idx.contains(&k) {
                    break;
                }
                k = self.below(v.len());
            }
            idx.push(k);
        }
        idx.into_iter().map(|k| &v[k]).collect()
    }
}

// ---------------------------------------------------------------------------
// The pool of real values

struct Pool {
    strings: HashMap<String, Vec<String>>,
    tuples: HashMap<String, Vec<Vec<Value>>>,
    fields: HashMap<String, usize>,
    profiles: Vec<Vec<Value>>,
}

impl Pool {
    fn load() -> Result<Pool> {
        let v: Value = serde_json::from_str(POOL_JSON).context("parsing pool.json")?;
        let obj = v.as_object().context("pool.json is not an object")?;
        let mut pool = Pool {
            strings: HashMap::new(),
            tuples: HashMap::new(),
            fields: HashMap::new(),
            profiles: Vec::new(),
        };
        for (k, v) in obj {
            let Some(arr) = v.as_array() else { continue };
            match k.as_str() {
                "profiles" => {
                    pool.profiles = arr.iter().filter_map(|r| r.as_array().cloned()).collect()
                }
                "profileFields" => {
                    for (i, f) in arr.iter().enumerate() {
                        pool.fields
                            .insert(f.as_str().unwrap_or_default().to_string(), i);
                    }
                }
                _ if arr.first().is_some_and(Value::is_string) => {
                    let s = arr
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect();
                    pool.strings.insert(k.clone(), s);
                }
                _ => {
                    let t = arr.iter().filter_map(|x| x.as_array().cloned()).collect();
                    pool.tuples.insert(k.clone(), t);
                }
            }
        }
        if pool.profiles.is_empty() {
            bail!("pool.json has no profiles");
        }
        Ok(pool)
    }
    fn s(&self, key: &str) -> &[String] {
        self.strings.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
    fn t(&self, key: &str) -> &[Vec<Value>] {
        self.tuples.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// One real study's shape: its categories and counts.
struct Profile<'a> {
    row: &'a [Value],
    fields: &'a HashMap<String, usize>,
}

impl Profile<'_> {
    fn str(&self, f: &str) -> &str {
        self.row[self.fields[f]].as_str().unwrap_or_default()
    }
    fn opt(&self, f: &str) -> Option<String> {
        Some(self.str(f))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
    fn n(&self, f: &str) -> usize {
        self.row[self.fields[f]].as_u64().unwrap_or(0) as usize
    }
}

fn vs(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------
// A generated study

struct Location {
    facility: String,
    city: String,
    state: String,
    zip: String,
    country: String,
    geo: Option<(f64, f64)>,
    status: Option<&'static str>,
    contacts: Vec<Contact>,
}

struct Contact {
    name: String,
    role: &'static str,
    phone: Option<String>,
    email: Option<String>,
}

struct Intervention {
    kind: String,
    name: String,
    description: String,
    other_names: Vec<String>,
    arms: Vec<String>,
}

struct Arm {
    label: String,
    kind: String,
    description: String,
    interventions: Vec<String>,
}

#[derive(Default)]
struct Browse {
    meshes: Vec<(String, String)>,
    ancestors: Vec<(String, String)>,
    leaves: Vec<(String, String, String)>,
    branches: Vec<(String, String)>,
}

struct Study {
    nct: String,
    org_id: String,
    sponsor: (String, String),
    collaborators: Vec<(String, String)>,
    secondary_ids: Vec<String>,
    brief_title: String,
    official_title: Option<String>,
    acronym: Option<String>,
    status: String,
    last_known: Option<String>,
    why_stopped: Option<String>,
    verified: String,
    dates: Vec<(&'static str, String, String)>,
    first_submit: String,
    last_update: String,
    responsible: String,
    official_contacts: Vec<(String, String, &'static str)>,
    central: Vec<Contact>,
    study_type: String,
    phases: Vec<String>,
    design: Vec<(&'static str, String)>,
    masking: Option<String>,
    enrollment: (u64, String),
    summary: String,
    description: Option<String>,
    conditions: Vec<String>,
    keywords: Vec<String>,
    arms: Vec<Arm>,
    interventions: Vec<Intervention>,
    outcomes: [Vec<(String, String, String)>; 3],
    inclusion: Vec<String>,
    exclusion: Vec<String>,
    healthy: Option<bool>,
    sex: String,
    min_age: Option<String>,
    max_age: Option<String>,
    std_ages: Vec<String>,
    locations: Vec<Location>,
    references: Vec<(String, String, String)>,
    cond_browse: Browse,
    int_browse: Browse,
}

/// A unique NCT id per index: multiplying by a unit modulo 10^8 is a
/// bijection, so ids never collide, and the seed shifts the whole range.
fn nct_id(seed: u64, index: u64) -> String {
    let offset = Rng::new(seed, u64::MAX).next() % 100_000_000;
    let n = (index.wrapping_mul(48_271) + offset) % 100_000_000;
    format!("NCT{n:08}")
}

/// Text of about `target` characters made of whole real paragraphs, cut at a
/// sentence end: keeps the real length distribution with a small pool.
fn compose(r: &mut Rng, paras: &[String], target: usize) -> String {
    let mut out = String::new();
    while out.len() < target {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let para: &String = r.pick(paras);
        out.push_str(para);
    }
    if out.len() > target + 80 {
        let target = (target..out.len())
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(out.len());
        if let Some(cut) = out[target..].find(". ").map(|p| target + p + 1) {
            out.truncate(cut);
        }
    }
    out
}

/// A synthetic contact: real-looking name from the pool, but reserved
/// example.org mail and a 555 phone, so no real person's details are spread.
fn contact(r: &mut Rng, pool: &Pool, role: &'static str, details: bool) -> Contact {
    let name = r.pick(pool.s("people")).clone();
    let local: String = name
        .split(',')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    let phone = format!("+1-555-{:03}-{:04}", r.below(1000), r.below(10_000));
    Contact {
        email: details.then(|| {
            format!(
                "{}@example.org",
                if local.is_empty() { "contact" } else { &local }
            )
        }),
        phone: (details && r.chance(0.8)).then_some(phone),
        name,
        role,
    }
}

impl Study {
    fn generate(pool: &Pool, seed: u64, index: u64) -> Study {
        let mut r = Rng::new(seed, index);
        let p = Profile {
            row: &pool.profiles[r.below(pool.profiles.len())],
            fields: &pool.fields,
        };
        let mut r2 = Rng::new(seed ^ 0xA5A5, index);
        let r = &mut r2;
        let sponsor = r.pick(pool.t("sponsors"));
        let sponsor = (vs(&sponsor[0]), vs(&sponsor[1]));
        let collaborators = r
            .pick_n(pool.t("sponsors"), p.n("nCollab"))
            .into_iter()
            .map(|s| (vs(&s[0]), vs(&s[1])))
            .collect();
        let org_id = r.pick(pool.s("orgStudyIds")).clone();
        let secondary_ids = (0..p.n("nSecIds"))
            .map(|_| r.pick(pool.s("orgStudyIds")).clone())
            .collect();
        let status = p.str("status").to_string();
        let why_stopped = matches!(status.as_str(), "TERMINATED" | "WITHDRAWN" | "SUSPENDED")
            .then(|| r.pick(pool.s("whyStopped")).clone());
        let mut dates = Vec::new();
        for (key, f) in [
            ("startDateStruct", "start"),
            ("primaryCompletionDateStruct", "primaryCompletion"),
            ("completionDateStruct", "completion"),
        ] {
            if let Some(d) = p.opt(f) {
                dates.push((key, d, p.str(&format!("{f}Type")).to_string()));
            }
        }
        let arms: Vec<&Vec<Value>> = r.pick_n(pool.t("armGroups"), p.n("nArms"));
        let ints: Vec<&Vec<Value>> = r.pick_n(pool.t("interventions"), p.n("nInt"));
        let mut arms: Vec<Arm> = arms
            .into_iter()
            .map(|a| Arm {
                label: vs(&a[0]),
                kind: vs(&a[1]),
                description: vs(&a[2]),
                interventions: Vec::new(),
            })
            .collect();
        let mut interventions = Vec::new();
        for (k, i) in ints.into_iter().enumerate() {
            let kind = vs(&i[0]);
            let name = vs(&i[1]);
            let mut labels = Vec::new();
            if !arms.is_empty() {
                // Every intervention belongs to at least one arm, as in real records.
                let a = k % arms.len();
                labels.push(arms[a].label.clone());
                arms[a]
                    .interventions
                    .push(format!("{}: {name}", type_label(&kind)));
            }
            interventions.push(Intervention {
                other_names: i[3]
                    .as_array()
                    .map(|o| o.iter().map(vs).collect())
                    .unwrap_or_default(),
                description: vs(&i[2]),
                arms: labels,
                kind,
                name,
            });
        }
        let outcome = |r: &mut Rng, n: usize| -> Vec<(String, String, String)> {
            r.pick_n(pool.t("outcomes"), n)
                .into_iter()
                .map(|o| (vs(&o[0]), vs(&o[1]), vs(&o[2])))
                .collect()
        };
        let outcomes = [
            outcome(r, p.n("nPrim")),
            outcome(r, p.n("nSec")),
            outcome(r, p.n("nOther")),
        ];
        let recruiting = matches!(status.as_str(), "RECRUITING" | "NOT_YET_RECRUITING");
        let locations = (0..p.n("nLoc"))
            .map(|_| {
                let l = r.pick(pool.t("locations"));
                let geo = l[5].as_f64().zip(l[6].as_f64());
                let with_contacts = recruiting && r.chance(0.5);
                Location {
                    facility: vs(&l[0]),
                    city: vs(&l[1]),
                    state: vs(&l[2]),
                    zip: vs(&l[3]),
                    country: vs(&l[4]),
                    geo,
                    status: recruiting.then_some("RECRUITING"),
                    contacts: if with_contacts {
                        vec![
                            contact(r, pool, "CONTACT", true),
                            contact(r, pool, "PRINCIPAL_INVESTIGATOR", false),
                        ]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        let browse = |r: &mut Rng, pre: &str, key: &str| -> Browse {
            let pair = |r: &mut Rng, k: &str, n: usize| -> Vec<(String, String)> {
                r.pick_n(pool.t(k), n)
                    .into_iter()
                    .map(|x| (vs(&x[0]), vs(&x[1])))
                    .collect()
            };
            Browse {
                meshes: pair(r, &format!("{key}Meshes"), p.n(&format!("{pre}Mesh"))),
                ancestors: pair(r, &format!("{key}Ancestors"), p.n(&format!("{pre}Anc"))),
                leaves: r
                    .pick_n(pool.t(&format!("{key}Leaves")), p.n(&format!("{pre}Leaf")))
                    .into_iter()
                    .map(|x| (vs(&x[0]), vs(&x[1]), vs(&x[2])))
                    .collect(),
                branches: pair(r, &format!("{key}Branches"), p.n(&format!("{pre}Branch"))),
            }
        };
        let design = [
            ("allocation", "allocation"),
            ("interventionModel", "interventionModel"),
            ("primaryPurpose", "primaryPurpose"),
            ("observationalModel", "observationalModel"),
            ("timePerspective", "timePerspective"),
        ]
        .into_iter()
        .filter_map(|(k, f)| p.opt(f).map(|v| (k, v)))
        .collect();
        let has_official = r.chance(0.99);
        Study {
            nct: nct_id(seed, index),
            org_id,
            sponsor,
            collaborators,
            secondary_ids,
            brief_title: r.pick(pool.s("briefTitles")).clone(),
            official_title: has_official.then(|| r.pick(pool.s("officialTitles")).clone()),
            acronym: (p.n("acronym") == 1).then(|| r.pick(pool.s("acronyms")).clone()),
            last_known: p.opt("lastKnownStatus"),
            status,
            why_stopped,
            verified: p.str("verified").to_string(),
            dates,
            first_submit: p.str("firstSubmit").to_string(),
            last_update: p.str("lastUpdate").to_string(),
            responsible: p
                .opt("responsibleParty")
                .unwrap_or_else(|| "SPONSOR".into()),
            official_contacts: (0..p.n("nOfficials"))
                .map(|_| {
                    let role =
                        *r.pick(&["PRINCIPAL_INVESTIGATOR", "STUDY_DIRECTOR", "STUDY_CHAIR"]);
                    (
                        r.pick(pool.s("people")).clone(),
                        r.pick(pool.s("affiliations")).clone(),
                        role,
                    )
                })
                .collect(),
            central: (0..p.n("nCentral"))
                .map(|_| contact(r, pool, "CONTACT", true))
                .collect(),
            study_type: p.str("studyType").to_string(),
            phases: p
                .str("phases")
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            design,
            masking: p.opt("masking"),
            enrollment: (
                p.n("enrollment") as u64,
                p.str("enrollmentType").to_string(),
            ),
            summary: compose(r, pool.s("summaryParagraphs"), p.n("lenSummary").max(60)),
            description: (p.n("lenDesc") > 0)
                .then(|| compose(r, pool.s("descriptionParagraphs"), p.n("lenDesc"))),
            conditions: r
                .pick_n(pool.s("conditions"), p.n("nCond").max(1))
                .into_iter()
                .cloned()
                .collect(),
            keywords: r
                .pick_n(pool.s("keywords"), p.n("nKw"))
                .into_iter()
                .cloned()
                .collect(),
            arms,
            interventions,
            outcomes,
            inclusion: r
                .pick_n(pool.s("inclusion"), p.n("nIncl").max(1))
                .into_iter()
                .cloned()
                .collect(),
            exclusion: r
                .pick_n(pool.s("exclusion"), p.n("nExcl"))
                .into_iter()
                .cloned()
                .collect(),
            healthy: match p.n("healthy") {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            },
            sex: p.str("sex").to_string(),
            min_age: p.opt("minAge"),
            max_age: p.opt("maxAge"),
            std_ages: p
                .str("stdAges")
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            locations,
            references: r
                .pick_n(pool.t("citations"), p.n("nRefs"))
                .into_iter()
                .map(|c| (vs(&c[0]), vs(&c[1]), vs(&c[2])))
                .collect(),
            cond_browse: browse(r, "c", "condition"),
            int_browse: browse(r, "i", "intervention"),
        }
    }

    fn criteria_text(&self) -> String {
        let mut s = String::from("Inclusion Criteria:\n\n");
        for l in &self.inclusion {
            let _ = writeln!(s, "* {l}");
        }
        if !self.exclusion.is_empty() {
            s.push_str("\nExclusion Criteria:\n\n");
            for l in &self.exclusion {
                let _ = writeln!(s, "* {l}");
            }
        }
        s.truncate(s.trim_end().len());
        s
    }

    /// The API v2 study object, modules and keys in the registry's order.
    fn to_json(&self) -> String {
        use J::*;
        let s = |v: &str| Str(v.to_string());
        let date = |d: &str, t: &str| {
            let mut o = vec![("date", s(d))];
            if !t.is_empty() {
                o.push(("type", s(t)));
            }
            Obj(o)
        };
        let mut ident = vec![
            ("nctId", s(&self.nct)),
            ("orgStudyIdInfo", Obj(vec![("id", s(&self.org_id))])),
        ];
        if !self.secondary_ids.is_empty() {
            let ids = self
                .secondary_ids
                .iter()
                .map(|i| Obj(vec![("id", s(i))]))
                .collect();
            ident.push(("secondaryIdInfos", Arr(ids)));
        }
        ident.push((
            "organization",
            Obj(vec![
                ("fullName", s(&self.sponsor.0)),
                ("class", s(&self.sponsor.1)),
            ]),
        ));
        ident.push(("briefTitle", s(&self.brief_title)));
        if let Some(t) = &self.official_title {
            ident.push(("officialTitle", s(t)));
        }
        if let Some(a) = &self.acronym {
            ident.push(("acronym", s(a)));
        }
        let mut status = vec![
            ("statusVerifiedDate", s(&self.verified)),
            ("overallStatus", s(&self.status)),
        ];
        if let Some(l) = &self.last_known {
            status.push(("lastKnownStatus", s(l)));
        }
        if let Some(w) = &self.why_stopped {
            status.push(("whyStopped", s(w)));
        }
        status.push((
            "expandedAccessInfo",
            Obj(vec![("hasExpandedAccess", Bool(false))]),
        ));
        for (k, d, t) in &self.dates {
            status.push((k, date(d, t)));
        }
        status.push(("studyFirstSubmitDate", s(&self.first_submit)));
        status.push(("studyFirstSubmitQcDate", s(&self.first_submit)));
        status.push((
            "studyFirstPostDateStruct",
            date(&self.first_submit, "ACTUAL"),
        ));
        status.push(("lastUpdateSubmitDate", s(&self.last_update)));
        status.push((
            "lastUpdatePostDateStruct",
            date(&self.last_update, "ACTUAL"),
        ));
        let mut sponsors = vec![
            (
                "responsibleParty",
                Obj(vec![("type", s(&self.responsible))]),
            ),
            (
                "leadSponsor",
                Obj(vec![
                    ("name", s(&self.sponsor.0)),
                    ("class", s(&self.sponsor.1)),
                ]),
            ),
        ];
        if !self.collaborators.is_empty() {
            let c = self
                .collaborators
                .iter()
                .map(|(n, c)| Obj(vec![("name", s(n)), ("class", s(c))]))
                .collect();
            sponsors.push(("collaborators", Arr(c)));
        }
        let mut description = vec![("briefSummary", s(&self.summary))];
        if let Some(d) = &self.description {
            description.push(("detailedDescription", s(d)));
        }
        let mut conditions = vec![(
            "conditions",
            Arr(self.conditions.iter().map(|c| s(c)).collect()),
        )];
        if !self.keywords.is_empty() {
            conditions.push((
                "keywords",
                Arr(self.keywords.iter().map(|c| s(c)).collect()),
            ));
        }
        let mut design = vec![("studyType", s(&self.study_type))];
        if !self.phases.is_empty() {
            design.push(("phases", Arr(self.phases.iter().map(|c| s(c)).collect())));
        }
        let mut info: Vec<(&str, J)> = self.design.iter().map(|(k, v)| (*k, s(v))).collect();
        if let Some(m) = &self.masking {
            info.push(("maskingInfo", Obj(vec![("masking", s(m))])));
        }
        if !info.is_empty() {
            design.push(("designInfo", Obj(info)));
        }
        design.push((
            "enrollmentInfo",
            Obj(vec![
                ("count", Num(self.enrollment.0 as f64)),
                ("type", s(&self.enrollment.1)),
            ]),
        ));
        let mut arms_mod = Vec::new();
        if !self.arms.is_empty() {
            let a = self
                .arms
                .iter()
                .map(|a| {
                    let mut o = vec![("label", s(&a.label))];
                    if !a.kind.is_empty() {
                        o.push(("type", s(&a.kind)));
                    }
                    if !a.description.is_empty() {
                        o.push(("description", s(&a.description)));
                    }
                    if !a.interventions.is_empty() {
                        o.push((
                            "interventionNames",
                            Arr(a.interventions.iter().map(|x| s(x)).collect()),
                        ));
                    }
                    Obj(o)
                })
                .collect();
            arms_mod.push(("armGroups", Arr(a)));
        }
        if !self.interventions.is_empty() {
            let i = self
                .interventions
                .iter()
                .map(|i| {
                    let mut o = vec![("type", s(&i.kind)), ("name", s(&i.name))];
                    if !i.description.is_empty() {
                        o.push(("description", s(&i.description)));
                    }
                    if !i.arms.is_empty() {
                        o.push(("armGroupLabels", Arr(i.arms.iter().map(|x| s(x)).collect())));
                    }
                    if !i.other_names.is_empty() {
                        o.push((
                            "otherNames",
                            Arr(i.other_names.iter().map(|x| s(x)).collect()),
                        ));
                    }
                    Obj(o)
                })
                .collect();
            arms_mod.push(("interventions", Arr(i)));
        }
        let mut outcomes = Vec::new();
        for (k, list) in ["primaryOutcomes", "secondaryOutcomes", "otherOutcomes"]
            .iter()
            .zip(&self.outcomes)
        {
            if list.is_empty() {
                continue;
            }
            let o = list
                .iter()
                .map(|(m, d, t)| {
                    let mut o = vec![("measure", s(m))];
                    if !d.is_empty() {
                        o.push(("description", s(d)));
                    }
                    o.push(("timeFrame", s(t)));
                    Obj(o)
                })
                .collect();
            outcomes.push((*k, Arr(o)));
        }
        let mut elig = vec![("eligibilityCriteria", s(&self.criteria_text()))];
        if let Some(h) = self.healthy {
            elig.push(("healthyVolunteers", Bool(h)));
        }
        elig.push(("sex", s(&self.sex)));
        if let Some(a) = &self.min_age {
            elig.push(("minimumAge", s(a)));
        }
        if let Some(a) = &self.max_age {
            elig.push(("maximumAge", s(a)));
        }
        elig.push(("stdAges", Arr(self.std_ages.iter().map(|x| s(x)).collect())));
        let contact_json = |c: &Contact| {
            let mut o = vec![("name", s(&c.name)), ("role", s(c.role))];
            if let Some(p) = &c.phone {
                o.push(("phone", s(p)));
            }
            if let Some(e) = &c.email {
                o.push(("email", s(e)));
            }
            Obj(o)
        };
        let mut cl = Vec::new();
        if !self.central.is_empty() {
            cl.push((
                "centralContacts",
                Arr(self.central.iter().map(contact_json).collect()),
            ));
        }
        if !self.official_contacts.is_empty() {
            let o = self
                .official_contacts
                .iter()
                .map(|(n, a, r)| Obj(vec![("name", s(n)), ("affiliation", s(a)), ("role", s(r))]))
                .collect();
            cl.push(("overallOfficials", Arr(o)));
        }
        if !self.locations.is_empty() {
            let l = self
                .locations
                .iter()
                .map(|l| {
                    let mut o = vec![("facility", s(&l.facility))];
                    if let Some(st) = l.status {
                        o.push(("status", s(st)));
                    }
                    o.push(("city", s(&l.city)));
                    if !l.state.is_empty() {
                        o.push(("state", s(&l.state)));
                    }
                    if !l.zip.is_empty() {
                        o.push(("zip", s(&l.zip)));
                    }
                    o.push(("country", s(&l.country)));
                    if !l.contacts.is_empty() {
                        o.push((
                            "contacts",
                            Arr(l.contacts.iter().map(contact_json).collect()),
                        ));
                    }
                    if let Some((lat, lon)) = l.geo {
                        o.push(("geoPoint", Obj(vec![("lat", Num(lat)), ("lon", Num(lon))])));
                    }
                    Obj(o)
                })
                .collect();
            cl.push(("locations", Arr(l)));
        }
        let mut protocol = vec![
            ("identificationModule", Obj(ident)),
            ("statusModule", Obj(status)),
            ("sponsorCollaboratorsModule", Obj(sponsors)),
            ("descriptionModule", Obj(description)),
            ("conditionsModule", Obj(conditions)),
            ("designModule", Obj(design)),
        ];
        if !arms_mod.is_empty() {
            protocol.push(("armsInterventionsModule", Obj(arms_mod)));
        }
        if !outcomes.is_empty() {
            protocol.push(("outcomesModule", Obj(outcomes)));
        }
        protocol.push(("eligibilityModule", Obj(elig)));
        if !cl.is_empty() {
            protocol.push(("contactsLocationsModule", Obj(cl)));
        }
        if !self.references.is_empty() {
            let r = self
                .references
                .iter()
                .map(|(pmid, t, c)| {
                    let mut o = Vec::new();
                    if !pmid.is_empty() {
                        o.push(("pmid", s(pmid)));
                    }
                    o.push(("type", s(t)));
                    o.push(("citation", s(c)));
                    Obj(o)
                })
                .collect();
            protocol.push(("referencesModule", Obj(vec![("references", Arr(r))])));
        }
        let mut derived = vec![(
            "miscInfoModule",
            Obj(vec![("versionHolder", s("2025-12-09"))]),
        )];
        for (k, b) in [
            ("conditionBrowseModule", &self.cond_browse),
            ("interventionBrowseModule", &self.int_browse),
        ] {
            if b.meshes.is_empty() && b.leaves.is_empty() {
                continue;
            }
            let pairs = |v: &[(String, String)], a: &'static str, b: &'static str| {
                Arr(v
                    .iter()
                    .map(|(x, y)| Obj(vec![(a, s(x)), (b, s(y))]))
                    .collect())
            };
            let leaves = b
                .leaves
                .iter()
                .map(|(id, n, rel)| Obj(vec![("id", s(id)), ("name", s(n)), ("relevance", s(rel))]))
                .collect();
            derived.push((
                k,
                Obj(vec![
                    ("meshes", pairs(&b.meshes, "id", "term")),
                    ("ancestors", pairs(&b.ancestors, "id", "term")),
                    ("browseLeaves", Arr(leaves)),
                    ("browseBranches", pairs(&b.branches, "abbrev", "name")),
                ]),
            ));
        }
        let root = Obj(vec![
            ("protocolSection", Obj(protocol)),
            ("derivedSection", Obj(derived)),
            ("hasResults", Bool(false)),
        ]);
        let mut out = String::with_capacity(24 * 1024);
        root.write(&mut out, 0);
        out
    }
}

// ---------------------------------------------------------------------------
// JSON writing

/// An ordered JSON tree. serde_json's `Value` sorts keys (no
/// `preserve_order` feature here); real downloads keep the registry's module
/// order, so the generator keeps it too.
enum J {
    Str(String),
    Num(f64),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl J {
    /// Pretty-printed like serde_json's `to_string_pretty` (two spaces).
    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| {
            out.push('\n');
            for _ in 0..d {
                out.push_str("  ");
            }
        };
        match self {
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            J::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            J::Num(n) => out.push_str(&serde_json::to_string(n).unwrap_or_default()),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Arr(v) if v.is_empty() => out.push_str("[]"),
            J::Arr(v) => {
                out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    x.write(out, depth + 1);
                }
                pad(out, depth);
                out.push(']');
            }
            J::Obj(v) if v.is_empty() => out.push_str("{}"),
            J::Obj(v) => {
                out.push('{');
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    pad(out, depth + 1);
                    let _ = write!(out, "\"{k}\": ");
                    x.write(out, depth + 1);
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Page dumps: the text layouts of tests/data/seeds/, boilerplate included,
// because the page adapters must find the fields among such lines.

#[derive(Clone, Copy)]
enum Layout {
    Veeva,
    ClinConnect,
    TrialX,
    Ignite,
}

impl Layout {
    const ALL: [Layout; 4] = [
        Layout::Veeva,
        Layout::ClinConnect,
        Layout::TrialX,
        Layout::Ignite,
    ];

    fn render(self, s: &Study) -> String {
        match self {
            Layout::Veeva => veeva(s),
            Layout::ClinConnect => clinconnect(s),
            Layout::TrialX => trialx(s),
            Layout::Ignite => ignite(s),
        }
    }
}

/// "DRUG" → "Drug", "DIETARY_SUPPLEMENT" → "Dietary Supplement".
fn type_label(kind: &str) -> String {
    kind.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_text(status: &str) -> String {
    match status {
        "ACTIVE_NOT_RECRUITING" => "Active, not recruiting".into(),
        "UNKNOWN" => "Unknown status".into(),
        other => {
            let t = type_label(other);
            let mut c = t.chars();
            let first = c.next().map(String::from).unwrap_or_default();
            first + &c.as_str().to_lowercase()
        }
    }
}

/// ["PHASE1","PHASE2"] → "Phase 1/2"; none → "".
fn phase_text(phases: &[String]) -> String {
    let nums: Vec<&str> = phases
        .iter()
        .filter_map(|p| p.strip_prefix("PHASE"))
        .collect();
    if phases.iter().any(|p| p == "EARLY_PHASE1") {
        "Early Phase 1".into()
    } else if phases.iter().any(|p| p == "NA") {
        "Not Applicable".into()
    } else if nums.is_empty() {
        String::new()
    } else {
        format!("Phase {}", nums.join("/"))
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "2024-05-11" (or "2024-05") → (2024, "May", 11).
fn date_parts(d: &str) -> (u32, &'static str, u32) {
    let mut it = d.split('-').map(|x| x.parse::<u32>().unwrap_or(1));
    let y = it.next().unwrap_or(2024);
    let m = it.next().unwrap_or(1).clamp(1, 12);
    let day = it.next().unwrap_or(1);
    (y, MONTHS[m as usize - 1], day)
}

/// "18 Years" → "18"; ages in months or days keep their unit.
fn age_years(a: &str) -> String {
    match a.strip_suffix(" Years").or_else(|| a.strip_suffix(" Year")) {
        Some(n) => n.to_string(),
        None => a.to_lowercase(),
    }
}

fn sex_text(sex: &str) -> &'static str {
    match sex {
        "FEMALE" => "Female",
        "MALE" => "Male",
        _ => "All",
    }
}

fn veeva(s: &Study) -> String {
    let mut o = String::new();
    let para = |o: &mut String, lines: &[&str]| {
        for l in lines {
            o.push_str(l);
            o.push('\n');
        }
        o.push('\n');
    };
    para(&mut o, &["ClinicalTrials.Veeva"]);
    para(&mut o, &["Menu"]);
    para(&mut o, &[&s.brief_title]);
    let initial: String = s.sponsor.0.chars().take(1).collect();
    para(&mut o, &[&initial]);
    para(&mut o, &[&s.sponsor.0]);
    para(&mut o, &["Status and phase"]);
    let status = match s.status.as_str() {
        "RECRUITING" => "Enrolling".to_string(),
        "NOT_YET_RECRUITING" => "Not yet enrolling".to_string(),
        other => status_text(other),
    };
    let phases: Vec<String> = s
        .phases
        .iter()
        .filter_map(|p| p.strip_prefix("PHASE").map(|n| format!("Phase {n}")))
        .collect();
    let mut sp = vec![status.as_str()];
    sp.extend(phases.iter().map(String::as_str));
    para(&mut o, &sp);
    para(&mut o, &["Conditions"]);
    para(
        &mut o,
        &s.conditions.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let treatments: Vec<String> = s
        .interventions
        .iter()
        .map(|i| format!("{}: {}", type_label(&i.kind), i.name))
        .collect();
    if !treatments.is_empty() {
        para(&mut o, &["Treatments"]);
        para(
            &mut o,
            &treatments.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    para(&mut o, &["Study type"]);
    para(&mut o, &[&type_label(&s.study_type)]);
    para(&mut o, &["Funder types"]);
    let funder = match s.sponsor.1.as_str() {
        "INDUSTRY" => "Industry",
        "NIH" => "NIH",
        "FED" | "OTHER_GOV" => "Other U.S. Federal agency",
        "NETWORK" => "Network",
        _ => "Other",
    };
    para(&mut o, &[funder]);
    para(&mut o, &["Identifiers"]);
    para(&mut o, &[&s.nct, &s.org_id]);
    para(&mut o, &["Details and patient eligibility"]);
    para(&mut o, &["About"]);
    para(&mut o, &[&s.summary]);
    if let Some(d) = &s.description {
        para(&mut o, &["Full description"]);
        para(&mut o, &[d]);
    }
    para(&mut o, &["Enrollment"]);
    let est = if s.enrollment.1 == "ESTIMATED" {
        "estimated "
    } else {
        ""
    };
    para(&mut o, &[&format!("{} {est}patients", s.enrollment.0)]);
    para(&mut o, &["Sex"]);
    para(&mut o, &[sex_text(&s.sex)]);
    para(&mut o, &["Ages"]);
    let ages = match (&s.min_age, &s.max_age) {
        (Some(a), Some(b)) => format!("{} to {} years old", age_years(a), age_years(b)),
        (Some(a), None) => format!("{}+ years old", age_years(a)),
        (None, Some(b)) => format!("Under {} years old", age_years(b)),
        (None, None) => "Any age".into(),
    };
    para(&mut o, &[&ages]);
    para(&mut o, &["Volunteers"]);
    para(
        &mut o,
        &[if s.healthy == Some(true) {
            "Accepts Healthy Volunteers"
        } else {
            "No Healthy Volunteers"
        }],
    );
    let bullets = |v: &[String]| v.iter().map(|l| format!("  • {l}")).collect::<Vec<_>>();
    para(&mut o, &["Inclusion criteria"]);
    para(
        &mut o,
        &bullets(&s.inclusion)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    if !s.exclusion.is_empty() {
        para(&mut o, &["Exclusion criteria"]);
        para(
            &mut o,
            &bullets(&s.exclusion)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
    }
    if !s.design.is_empty() {
        para(&mut o, &["Trial design"]);
        for (k, v) in &s.design {
            let label = match *k {
                "allocation" => "Allocation",
                "interventionModel" => "Interventional model",
                "primaryPurpose" => "Primary purpose",
                "observationalModel" => "Observational model",
                _ => "Time perspective",
            };
            para(&mut o, &[label]);
            let value = match v.as_str() {
                "NA" => "N/A".to_string(),
                "PARALLEL" | "SINGLE_GROUP" | "CROSSOVER" | "FACTORIAL" | "SEQUENTIAL" => {
                    format!("{} Assignment", type_label(v))
                }
                _ => type_label(v),
            };
            para(&mut o, &[&value]);
        }
        if let Some(m) = &s.masking {
            para(&mut o, &["Masking"]);
            let masking = if m == "NONE" {
                "None (Open label)".to_string()
            } else {
                type_label(m)
            };
            para(&mut o, &[&masking]);
        }
    }
    if !s.arms.is_empty() {
        para(
            &mut o,
            &[&format!(
                "{} participants in {} patient groups",
                s.enrollment.0,
                s.arms.len()
            )],
        );
        let mut lines = Vec::new();
        for a in &s.arms {
            lines.push(a.label.clone());
            lines.push(format!("{} group", status_text(&a.kind)));
            if !a.description.is_empty() {
                lines.push("Description:".into());
                lines.push(a.description.clone());
            }
            if !a.interventions.is_empty() {
                lines.push("Treatment:".into());
                lines.extend(a.interventions.iter().cloned());
            }
        }
        para(
            &mut o,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    para(&mut o, &["Trial contacts and locations"]);
    para(&mut o, &[&s.locations.len().to_string()]);
    para(&mut o, &["Loading..."]);
    if let Some(c) = s.central.first() {
        para(&mut o, &["Central trial contact"]);
        para(&mut o, &[&c.name]);
    }
    para(&mut o, &["Data sourced from clinicaltrials.gov"]);
    para(&mut o, &["Clinical trials"]);
    o.push_str("Find clinical trialsTrials by location\n© Copyright 2026 Veeva Systems");
    o
}

fn clinconnect(s: &Study) -> String {
    let mut o = String::new();
    let (y, m, d) = date_parts(&s.first_submit);
    let (uy, um, ud) = date_parts(&s.last_update);
    let _ = writeln!(o, "{}", s.brief_title);
    let _ = writeln!(
        o,
        "Launched by {} · {} {d}, {y}",
        s.sponsor.0.to_uppercase(),
        &m[..3]
    );
    o.push_str("Trial Information\n");
    let _ = writeln!(o, "Current as of {um} {ud}, {uy}");
    let _ = writeln!(o, "{}", status_text(&s.status));
    o.push_str("Keywords\nClinConnect Summary\n");
    for p in s.summary.split("\n\n") {
        let _ = writeln!(o, "{p}");
    }
    let _ = writeln!(o, "Gender\n{}", s.sex);
    o.push_str("Eligibility criteria\n- Inclusion Criteria:\n");
    for l in &s.inclusion {
        let _ = writeln!(o, "- • {l}");
    }
    if !s.exclusion.is_empty() {
        o.push_str("- Exclusion Criteria:\n");
        for l in &s.exclusion {
            let _ = writeln!(o, "- • {l}");
        }
    }
    if !s.official_contacts.is_empty() {
        o.push_str("Trial Officials\n");
        for (name, affil, role) in &s.official_contacts {
            let _ = writeln!(o, "{name}\n{}\n{affil}", status_text(role));
        }
    }
    let sponsor = type_label(&s.sponsor.0.replace(' ', "_"));
    let _ = writeln!(o, "About {sponsor}");
    // The site writes a generated blurb about the sponsor; a fixed one with
    // the name stands in for it.
    let _ = writeln!(
        o,
        "{sponsor} is a clinical trial sponsor dedicated to advancing medical research and \
         improving patient outcomes. With a commitment to ethical standards and patient safety, \
         {sponsor} conducts rigorous clinical trials that aim to translate scientific \
         discoveries into effective therapies."
    );
    o.push_str("Contacts\nJennifer Cobb\nImmunology at National Institute of Allergy and Infectious Diseases (NIAID)\n");
    o.push_str("Locations\n");
    for l in &s.locations {
        let _ = writeln!(o, "{}, {}, {}", l.city, l.state, l.country);
    }
    o.push_str(
        "Patients applied\nTimeline\nFirst submit\nTrial launched\nTrial updated\nEstimated completion\nNot reported",
    );
    o
}

fn trialx(s: &Study) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "Image\n\n{0}\n\n{0}\n\n{1}\n",
        s.brief_title,
        status_text(&s.status)
    );
    let ages = match (&s.min_age, &s.max_age) {
        (Some(a), Some(b)) => format!("{}-{} years", age_years(a), age_years(b)),
        (Some(a), None) => format!("{} years and older", age_years(a)),
        (None, Some(b)) => format!("Up to {} years", age_years(b)),
        (None, None) => "All ages".into(),
    };
    let _ = writeln!(o, "{ages}\n{}", sex_text(&s.sex));
    let phase = phase_text(&s.phases);
    if !phase.is_empty() {
        let _ = writeln!(o, "{phase}");
    }
    o.push_str("\nPowered by AI\n\nOverview\n\n");
    let _ = write!(o, "{}\n\n", s.summary);
    if let Some(d) = &s.description {
        let _ = write!(o, "{d}\n\n");
    }
    o.push_str("Eligibility\n\nInclusion Criteria:\n\n");
    for (i, l) in s.inclusion.iter().enumerate() {
        let _ = writeln!(o, "  {}. {l}", i + 1);
    }
    if !s.exclusion.is_empty() {
        o.push_str("\nExclusion Criteria:\n\n");
        for (i, l) in s.exclusion.iter().enumerate() {
            let _ = writeln!(o, "  {}. {l}", i + 1);
        }
    }
    o.push_str("\nStudy details\n");
    for c in &s.conditions {
        let _ = writeln!(o, "    {c}");
    }
    let (y, m, d) = date_parts(&s.last_update);
    let _ = write!(o, "\n{}\n\n{}\n\n{d} {m} {y}\n\n", s.nct, s.sponsor.0);
    o.push_str(TRIALX_TAIL);
    o
}

const TRIALX_TAIL: &str = "Step 1 Get in touch with the nearest study center
We have submitted the contact information you provided to the research team at {{SITE_NAME}}. A copy of the message has been sent to your email for your records.
Would you like to be notified about other trials? Sign up for Patient Notification Services.
Sign up

Send a message

Enter your contact details to connect with study team

Investigator Avatar

Primary Contact

  Other languages supported:

First name*
Last name*
Email*
Phone number*
Other language

FAQs

Learn more about clinical trials

What is a clinical trial?

A clinical trial is a study designed to test specific interventions or treatments' effectiveness and safety, paving the way for new, innovative healthcare solutions.

Why should I take part in a clinical trial?

Participating in a clinical trial provides early access to potentially effective treatments and directly contributes to the healthcare advancements that benefit us all.

How long does a clinical trial take place?

The duration of clinical trials varies. Some trials last weeks, some years, depending on the phase and intention of the trial.

Do I get compensated for taking part in clinical trials?

Compensation varies per trial. Some offer payment or reimbursement for time and travel, while others may not.

How safe are clinical trials?

Clinical trials follow strict ethical guidelines and protocols to safeguard participants' health. They are closely monitored and safety reviewed regularly.
Add a private note
  • abc Select a piece of text.
  • Add notes visible only to you.
  • Send it to people through a passcode protected link.";

/// Ignite flattens text: paragraphs run together and punctuation such as
/// commas, parentheses and percent signs is dropped (see the seed dump).
fn ignite_flat(t: &str) -> String {
    t.split("\n\n")
        .collect::<String>()
        .chars()
        .filter(|c| !matches!(c, ',' | '(' | ')' | '%' | '\n'))
        .collect()
}

fn ignite(s: &Study) -> String {
    let mut o = String::new();
    let none = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".into());
    let _ = write!(o, "Viewing Study {}\n\n\n\n", s.nct);
    let _ = writeln!(o, "Ignite Creation Date: {} @ 5:34 PM", s.first_submit);
    let _ = writeln!(o, "Last Modification Date: {} @ 3:29 PM", s.last_update);
    let _ = writeln!(o, "Study NCT ID: {}\nStatus: {}", s.nct, s.status);
    let _ = writeln!(
        o,
        "Last Update Posted: {}\nFirst Post: {}\n",
        s.last_update, s.first_submit
    );
    let _ = writeln!(
        o,
        "Brief Title: {}\nSponsor: {1}\nOrganization: {1}\n",
        s.brief_title, s.sponsor.0
    );
    o.push_str("Study Overview\n\n");
    let _ = writeln!(o, "Official Title: {}", none(&s.official_title));
    let _ = writeln!(
        o,
        "Status: {}\nStatus Verified Date: {}",
        s.status, s.verified
    );
    let _ = writeln!(
        o,
        "Last Known Status: {}\nDelayed Posting: No",
        none(&s.last_known)
    );
    let _ = writeln!(
        o,
        "If Stopped, Why?: {}",
        s.why_stopped
            .clone()
            .unwrap_or_else(|| "Not Stopped".into())
    );
    o.push_str("Has Expanded Access: False\nIf Expanded Access, NCT#: N/A\nHas Expanded Access, NCT# Status: N/A\n");
    let _ = writeln!(o, "Acronym: {}", none(&s.acronym));
    let _ = writeln!(o, "Brief Summary: {}", ignite_flat(&s.summary));
    if let Some(d) = &s.description {
        let _ = writeln!(o, "Detailed Description: {}", ignite_flat(d));
    }
    o.push_str(
        "\nStudy Oversight\n\nHas Oversight DMC: None\nIs a FDA Regulated Drug?: False\n\
         Is a FDA Regulated Device?: False\nIs an Unapproved Device?: None\nIs a PPSD?: None\n\
         Is a US Export?: None\nIs an FDA AA801 Violation?: None",
    );
    o
}
