//! Dependability on messy input: every test builds its bad input in a
//! temporary folder and checks that the run completes, the good files are
//! indexed, each bad file gets one `trialsearch: PATH: skipped: REASON` line
//! (or a warning line), and `stats --json` lists it under `skipped`.
//!
//! Slow checks are `#[ignore]`d; run them with
//! `cargo test --test integration reliability -- --ignored`.

use crate::util::*;
use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut c: assert_cmd::Command) -> Run {
    let out = c.timeout(Duration::from_secs(120)).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn index(ix: &Path, paths: &[&Path], extra: &[&str]) -> Run {
    let mut c = ts_at(ix);
    c.arg("index").args(extra);
    for p in paths {
        c.arg(p);
    }
    run(c)
}

fn json_of(ix: &Path, args: &[&str]) -> Value {
    let r = run({
        let mut c = ts_at(ix);
        c.args(args);
        c
    });
    assert!(
        r.code == Some(0) || r.code == Some(1),
        "{args:?}: {}",
        r.stderr
    );
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", r.stdout))
}

fn stats(ix: &Path) -> Value {
    json_of(ix, &["stats", "--json"])
}

fn show(ix: &Path, id: &str) -> Value {
    json_of(ix, &["show", id, "--json"])
}

fn seed(name: &str) -> String {
    let p = fs::read_dir(data("seeds"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .expect("seed exists");
    fs::read_to_string(p).unwrap()
}

/// The Veeva seed (002) with accented names and its ids replaced, so that
/// copies index as distinct trials.
fn veeva_page(n: u32, sponsor: &str) -> String {
    seed("002")
        .replace("NCT05689008", &format!("NCT0568{n:04}"))
        .replace("DFSC-2023(CR)-01", &format!("DFSC-2023(CR)-{n:02}"))
        .replace("Tongji University", sponsor)
}

fn study_json() -> String {
    fs::read_to_string(data("ctgov/json/NCT05863234.json")).unwrap()
}

/// Exactly one stderr line names `path`, and it says `skipped`.
fn assert_one_skip_line(stderr: &str, path: &Path, reason: &str) {
    let p = path.display().to_string();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("trialsearch: {p}")))
        .collect();
    assert_eq!(lines.len(), 1, "{p}: expected one line in:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("trialsearch: {p}: skipped: ")) && lines[0].contains(reason),
        "{p}: {:?} should say skipped: ...{reason}",
        lines[0]
    );
}

fn skipped_in_stats(st: &Value) -> Vec<(String, String)> {
    st["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn no_panic(r: &Run) {
    assert!(
        !r.stderr.contains("panicked") && r.code != Some(101),
        "panic: {}",
        r.stderr
    );
}

/// Peak resident memory in KiB of `cmd` run under `/usr/bin/time -v`, or
/// `None` when that tool is missing.
fn peak_rss_kib(args: &[&std::ffi::OsStr]) -> Option<(u64, std::process::Output)> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("/usr/bin/time is missing: peak memory not checked");
        return None;
    }
    let out = StdCommand::new(time)
        .arg("-v")
        .arg(assert_cmd::cargo::cargo_bin("trialsearch"))
        .args(args)
        .env_remove("TRIALSEARCH_ABORT_AFTER")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    let kib = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())?;
    Some((kib, out))
}

// ---------------------------------------------------------------------------
// 1. Encodings

#[test]
fn every_encoding_decodes_to_the_same_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pages");
    fs::create_dir(&dir).unwrap();
    let sponsor = "Université de Montréal, Hôpital Saint-Éloi";
    let page = |n| veeva_page(n, sponsor);
    let utf16 = |s: &str, le: bool| {
        let mut b = if le {
            vec![0xff, 0xfe]
        } else {
            vec![0xfe, 0xff]
        };
        for u in s.encode_utf16() {
            b.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        b
    };
    // Windows-1252 cannot hold the seed's "≤"; encoding_rs writes it as a
    // character reference, as a browser saving the page would.
    let cp1252 = encoding_rs::WINDOWS_1252.encode(&page(5)).0.into_owned();
    let latin1 = encoding_rs::WINDOWS_1252
        .encode(&page(6).replace('—', "-"))
        .0
        .into_owned();
    let zh_title = "脐带间充质干细胞治疗重症新冠肺炎难治性低氧血症患者";
    let zh_sponsor = "同济大学附属东方医院";
    let zh = seed("002")
        .replace("NCT05689008", "NCT05680007")
        .replace("DFSC-2023(CR)-01", "DFSC-2023(CR)-07")
        .replace(
            "UC-MSCs in the Treatment of Severe and Critical COVID-19 Patients With Refractory Hypoxia",
            zh_title,
        )
        .replace("Tongji University", zh_sponsor);
    let gb = encoding_rs::GB18030.encode(&zh).0.into_owned();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("utf8.txt", page(1).into_bytes()),
        (
            "utf8-bom.txt",
            [&b"\xef\xbb\xbf"[..], page(2).as_bytes()].concat(),
        ),
        ("utf16le.txt", utf16(&page(3), true)),
        ("utf16be.txt", utf16(&page(4), false)),
        ("cp1252.txt", cp1252),
        ("latin1.txt", latin1),
        ("gb18030.txt", gb),
    ];
    for (name, bytes) in &files {
        fs::write(dir.join(name), bytes).unwrap();
    }
    let ix = tmp.path().join("ix");
    let r = index(&ix, &[&dir], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let title =
        "UC-MSCs in the Treatment of Severe and Critical COVID-19 Patients With Refractory Hypoxia";
    for n in 1..=6 {
        let v = show(&ix, &format!("NCT0568{n:04}"));
        assert_eq!(v["title"], title, "page {n}");
        assert_eq!(v["sponsor"], sponsor, "page {n}");
        assert_eq!(v["sources"][0]["format"], "veeva", "page {n}");
        assert_eq!(v["status"], "Recruiting");
    }
    let v = show(&ix, "NCT05680007");
    assert_eq!(v["title"], zh_title);
    assert_eq!(v["sponsor"], zh_sponsor);
    assert_eq!(v["sources"][0]["format"], "veeva");
    // Chinese text is searchable.
    let q = json_of(&ix, &["query", "干细胞", "--json"]);
    assert_eq!(ids(&q), vec!["NCT05680007"]);
}

// ---------------------------------------------------------------------------
// 2. Saved HTML pages

fn as_html(text: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut body = String::new();
    for (i, l) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let l = esc(l);
        match (l.len() > 80, i % 3) {
            (true, _) => body.push_str(&format!("<p>{l}</p>\n")),
            (false, 0) => body.push_str(&format!("<ul>\n  <li><span>{l}</span></li>\n</ul>\n")),
            _ => body.push_str(&format!("<div class=\"row\">\n  {l}\n</div>\n")),
        }
    }
    // As a browser saves it: a "saved from" comment and a long <head>.
    format!(
        r#"<!-- saved from url=(0047)https://ctv.veeva.com/study/a-saved-trial-page -->
<html lang="en">
<head>
<meta charset="utf-8"><title>Clinical trial</title>
<meta name="description" content="{pad}">
<style>body {{ font-family: sans-serif }} nav li {{ display: inline }}</style>
<script>window.dataLayer = window.dataLayer || [];
var tpl = "<div>Status and phase</div><div>Completed</div>";</script>
</head>
<body>
<nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/search">Find trials</a></li>
<li><a href="/about">About us</a></li></ul></nav>
<main>
{body}</main>
<footer><p>&copy; 2025 Example Inc. <a href="/privacy">Privacy policy</a></p></footer>
<script src="/static/app.js"></script>
</body>
</html>
"#,
        pad = "A clinical trial page. ".repeat(200)
    )
}

fn key_fields(ix: &Path) -> Vec<Value> {
    let r = run({
        let mut c = ts_at(ix);
        c.args(["export", "--format", "ndjson"]);
        c
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut v: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| {
            let t: Value = serde_json::from_str(l).unwrap();
            let mut formats: Vec<String> = t["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["format"].as_str().unwrap().to_string())
                .collect();
            formats.sort();
            serde_json::json!({
                "id": t["id"], "formats": formats, "title": t["title"],
                "status": t["status"], "phases": t["phases"], "sponsor": t["sponsor"],
                "conditions": t["conditions"], "min_age_years": t["min_age_years"],
                "max_age_years": t["max_age_years"], "sex": t["sex"],
                "secondary_ids": t["secondary_ids"], "interventions": t["interventions"],
                "inclusion_criteria": t["inclusion_criteria"],
                "exclusion_criteria": t["exclusion_criteria"],
            })
        })
        .collect();
    v.sort_by_key(|t| t["id"].to_string());
    v
}

#[test]
fn saved_html_pages_read_like_their_text_dumps() {
    let tmp = tempfile::tempdir().unwrap();
    let html = tmp.path().join("html");
    fs::create_dir(&html).unwrap();
    for e in fs::read_dir(data("seeds")).unwrap().flatten() {
        let text = fs::read_to_string(e.path()).unwrap();
        let name = e.path().with_extension("html");
        fs::write(html.join(name.file_name().unwrap()), as_html(&text)).unwrap();
    }
    let (ix_text, ix_html) = (tmp.path().join("t"), tmp.path().join("h"));
    assert_eq!(
        index(&ix_text, &[&data("seeds")], &["--quiet"]).code,
        Some(0)
    );
    let r = index(&ix_html, &[&html], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let (a, b) = (key_fields(&ix_text), key_fields(&ix_html));
    assert_eq!(a.len(), 4);
    for (t, h) in a.iter().zip(&b) {
        assert_eq!(t, h, "saved HTML differs from the text dump");
    }
    // Nothing of the menu, the script or the footer became a field.
    let v = json_of(&ix_html, &["query", "\"Find trials\"", "--json"]);
    assert_eq!(v["total"], 0);
}

// ---------------------------------------------------------------------------
// 3. Broken files

#[test]
fn broken_files_are_skipped_with_one_line_each() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("good.txt"), veeva_page(1, "Good Sponsor")).unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("image.png", png, "PNG image"),
        (
            "paper.txt",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj".to_vec(),
            "PDF",
        ),
        ("empty.txt", vec![], "empty"),
        ("blank.txt", b"  \n\n\t \r\n".to_vec(), "empty"),
        (
            "cut.json",
            study_json().as_bytes()[..study_json().len() / 2].to_vec(),
            "cut short",
        ),
        (
            "cut.xml",
            {
                let x = fs::read(data("ctgov/xml/NCT00739908.xml")).unwrap();
                x[..x.len() / 2].to_vec()
            },
            "cut short",
        ),
        (
            "cut.zip",
            {
                let z = zip_of(&[("a.json", study_json().as_bytes())]);
                z[..z.len() / 2].to_vec()
            },
            "zip",
        ),
        (
            "deep.json",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            "no study",
        ),
        (
            "deep-open.json",
            "[".repeat(10_000).into_bytes(),
            "malformed",
        ),
    ];
    for (name, bytes, _) in &bad {
        fs::write(dir.join(name), bytes).unwrap();
    }
    // A CSV with one broken row: the row is a warning, the rest is read.
    let csv = fs::read_to_string(data("ctgov/csv/msc-classic-slice.csv")).unwrap();
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.insert(2, "\"1\",\"NCT0000,broken \"quote,row");
    fs::write(dir.join("broken.csv"), lines.join("\n")).unwrap();
    // One line of several megabytes: read (as an unknown page), not choked on.
    let long = format!(
        "Study NCT01234567 long line\n{}\n",
        "stem cell sepsis trial ".repeat(100_000)
    );
    fs::write(dir.join("long.txt"), long).unwrap();

    // A FIFO is never opened (reading it would block): reported.
    let fifo = StdCommand::new("mkfifo")
        .arg(dir.join("pipe"))
        .status()
        .is_ok_and(|s| s.success());
    // A newline in a file name must not split its message in two.
    fs::write(dir.join("odd\nname.png"), b"\x89PNG\r\n\x1a\n\0\0").unwrap();

    let ix = tmp.path().join("ix");
    let started = Instant::now();
    let r = index(&ix, &[&dir], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(60));
    for (name, _, reason) in &bad {
        assert_one_skip_line(&r.stderr, &dir.join(name), reason);
    }
    if fifo {
        assert_one_skip_line(&r.stderr, &dir.join("pipe"), "not a regular file");
    }
    let odd = format!("trialsearch: {}/odd\\nname.png: skipped: ", dir.display());
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&odd)),
        "{}",
        r.stderr
    );
    let extra = 1 + usize::from(fifo);
    let broken_csv = dir.join("broken.csv").display().to_string();
    let csv_lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains(&broken_csv))
        .collect();
    assert_eq!(csv_lines.len(), 1, "{}", r.stderr);
    assert!(csv_lines[0].contains("row skipped"), "{csv_lines:?}");
    assert!(
        r.stdout
            .contains(&format!("{:>7} skipped", bad.len() + extra)),
        "{}",
        r.stdout
    );

    let st = stats(&ix);
    let skipped = skipped_in_stats(&st);
    assert_eq!(skipped.len(), bad.len() + extra, "{skipped:?}");
    for (name, _, _) in &bad {
        let p = dir.join(name).display().to_string();
        assert!(
            skipped.iter().any(|(s, _)| *s == p),
            "{p} not in {skipped:?}"
        );
    }
    // The slice's four trials are all kept; only the inserted row is lost.
    assert_eq!(st["records"]["ctgov_csv_classic"], 4, "{st:#}");
    assert_eq!(show(&ix, "NCT05680001")["sponsor"], "Good Sponsor");
    assert!(show(&ix, "NCT01234567")["other_text"]
        .as_str()
        .unwrap()
        .contains("sepsis"));
    // --strict: the same run is an error.
    let r = index(&tmp.path().join("ix2"), &[&dir], &["--strict", "--quiet"]);
    assert_eq!(r.code, Some(2));
}

#[test]
fn symbolic_links_are_reported_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(dir.join("sub/good.txt"), veeva_page(1, "Inside")).unwrap();
    fs::write(outside.join("secret.txt"), veeva_page(2, "Outside")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), dir.join("out.txt")).unwrap();

    let ix = tmp.path().join("ix");
    let r = index(&ix, &[&dir], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_one_skip_line(&r.stderr, &dir.join("out.txt"), "not followed");
    assert_one_skip_line(&r.stderr, &dir.join("sub/loop"), "not followed");
    assert_eq!(stats(&ix)["trials"], 1);

    // With --follow: the link outside is read (it was asked for), the loop
    // is reported once and the walk ends.
    let r = index(&ix, &[&dir], &["--follow"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_one_skip_line(&r.stderr, &dir.join("sub/loop"), "loop");
    assert_eq!(stats(&ix)["trials"], 2);
}

#[test]
fn unreadable_file_is_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("good.txt"), veeva_page(1, "A")).unwrap();
    let locked = dir.join("locked.txt");
    fs::write(&locked, veeva_page(2, "B")).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let ix = tmp.path().join("ix");
    let r = index(&ix, &[&dir], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    if fs::File::open(&locked).is_ok() {
        // Running as root (or with CAP_DAC_OVERRIDE): mode 000 does not stop
        // reading, so there is nothing to skip. The run must still work.
        eprintln!("running as root: chmod 000 does not block reading; not asserted");
        assert_eq!(stats(&ix)["trials"], 2);
    } else {
        assert_one_skip_line(&r.stderr, &locked, "permission denied");
        assert_eq!(stats(&ix)["trials"], 1);
    }
}

// ---------------------------------------------------------------------------
// 4. Impossible values

#[test]
fn impossible_values_are_dropped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v: Value = serde_json::from_str(&study_json()).unwrap();
    let p = &mut v["protocolSection"];
    p["eligibilityModule"]["minimumAge"] = "500 Years".into();
    p["statusModule"]["startDateStruct"]["date"] = "3024-01".into();
    p["designModule"]["phases"] = serde_json::json!(["PHASE7"]);
    let f = tmp.path().join("study.json");
    fs::write(&f, v.to_string()).unwrap();
    let ix = tmp.path().join("ix");
    let r = index(&ix, &[&f], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let warn = |what: &str| {
        assert!(
            r.stderr.lines().any(
                |l| l.starts_with(&format!("trialsearch: {}: ", f.display())) && l.contains(what)
            ),
            "no warning about {what}: {}",
            r.stderr
        )
    };
    warn("minimum age 500 years is impossible; dropped");
    warn("start date 3024-01 is impossible; dropped");
    warn("\"PHASE7\" is not a phase; dropped");
    assert!(r.stdout.contains("3 warnings"), "{}", r.stdout);
    let t = show(&ix, "NCT05863234");
    assert_eq!(t["min_age_years"], Value::Null);
    assert_eq!(t["start_date"], Value::Null);
    assert_eq!(t["phases"], serde_json::json!([]));
    assert_eq!(
        t["title"],
        "Safety Evaluation Study for Patients With Aggressive NK-cell Leukemia"
    );
    assert_eq!(stats(&ix)["warnings"], 3);
}

// ---------------------------------------------------------------------------
// 5. Hostile archives and documents

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Rewrite the declared uncompressed size of every entry named `name` (local
/// header and central directory) to `size`: an archive that lies.
fn lie_about_size(zip: &mut [u8], name: &str, size: u32) {
    let n = name.as_bytes();
    let mut i = 0;
    while i + 46 < zip.len() {
        if zip[i..].starts_with(b"PK\x03\x04") {
            let len = u16::from_le_bytes([zip[i + 26], zip[i + 27]]) as usize;
            if zip.get(i + 30..i + 30 + len) == Some(n) {
                zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
            }
        } else if zip[i..].starts_with(b"PK\x01\x02") {
            let len = u16::from_le_bytes([zip[i + 28], zip[i + 29]]) as usize;
            if zip.get(i + 46..i + 46 + len) == Some(n) {
                zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            }
        }
        i += 1;
    }
}

#[test]
fn hostile_archives_and_documents_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    let study = study_json();
    let other = study.replace("NCT05863234", "NCT05863235");
    let third = study.replace("NCT05863234", "NCT05863236");
    // A thousandfold bomb, honest about its size, beside a good entry and one
    // whose name climbs out of any folder it could be unpacked into.
    let zeros = vec![0u8; 64 << 20];
    let bomb = zip_of(&[
        ("ok.json", other.as_bytes()),
        ("bomb.json", &zeros),
        ("../../x", third.as_bytes()),
    ]);
    assert!(bomb.len() < (64 << 20) / 500, "deflate makes a bomb");
    fs::write(dir.join("bomb.zip"), &bomb).unwrap();
    // The same bomb lying about its size (1,000 bytes declared).
    let mut liar = zip_of(&[("bomb.json", &zeros)]);
    lie_about_size(&mut liar, "bomb.json", 1000);
    fs::write(dir.join("liar.zip"), &liar).unwrap();
    drop(zeros);
    // Billion laughs and external entities: a secret beside the corpus and
    // /etc/passwd must never be read into the index.
    let secret = tmp.path().join("secret.txt");
    fs::write(&secret, "TOPSECRETVALUE").unwrap();
    let xml = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE clinical_study [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY secret SYSTEM "file://{}">
 <!ENTITY passwd SYSTEM "file:///etc/passwd">
]>
<clinical_study>
  <id_info><nct_id>NCT07777777</nct_id></id_info>
  <brief_title>Laughing trial &lol9; &secret; &passwd;</brief_title>
  <brief_summary><textblock>Summary &lol9; &secret;</textblock></brief_summary>
</clinical_study>
"#,
        secret.display()
    );
    fs::write(dir.join("laughs.xml"), xml).unwrap();
    fs::write(
        dir.join("deep.json"),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
    )
    .unwrap();
    // 10,000 levels inside a study's field: the value goes, the study stays.
    let i = study.find("\"briefSummary\"").unwrap();
    let k = i + study[i..].find(':').unwrap() + 1;
    let e = k + study[k..].find("\",").unwrap() + 1;
    let deep_field = format!(
        "{}{}{}{}",
        &study[..k],
        "[".repeat(10_000),
        "]".repeat(10_000),
        &study[e..]
    );
    fs::write(dir.join("deep-field.json"), deep_field).unwrap();

    let ix = tmp.path().join("ix");
    let started = Instant::now();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--index".as_ref(),
        ix.as_os_str(),
        "index".as_ref(),
        dir.as_os_str(),
    ];
    let (peak, out) = match peak_rss_kib(&args) {
        Some((kib, out)) => (Some(kib), out),
        None => {
            let out = ts_at(&ix).arg("index").arg(&dir).output().unwrap();
            (None, out)
        }
    };
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    if let Some(kib) = peak {
        eprintln!("hostile corpus: peak RSS {} MiB in {elapsed:?}", kib / 1024);
        assert!(kib < 300 * 1024, "peak RSS {kib} KiB");
    }
    let bomb_entry = format!("{}!bomb.json", dir.join("bomb.zip").display());
    assert!(
        stderr.lines().any(|l| l.starts_with(&format!(
            "trialsearch: {bomb_entry}: skipped: over a safety limit"
        ))),
        "{stderr}"
    );
    let liar_entry = format!("{}!bomb.json", dir.join("liar.zip").display());
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("trialsearch: {liar_entry}: skipped: "))),
        "{stderr}"
    );
    assert_one_skip_line(&stderr, &dir.join("deep.json"), "no study");
    // The good entries of the archive are read; `../../x` is only a label.
    assert_eq!(show(&ix, "NCT05863235")["sources"][0]["entry"], "ok.json");
    assert_eq!(show(&ix, "NCT05863236")["sources"][0]["entry"], "../../x");
    for p in [
        tmp.path().join("x"),
        dir.join("x"),
        ix.join("x"),
        ix.parent().unwrap().join("x"),
        root().join("x"),
    ] {
        assert!(!p.exists(), "{} was written", p.display());
    }
    // Entities are never expanded, external ones never read.
    let t = show(&ix, "NCT07777777");
    assert_eq!(t["title"], "Laughing trial");
    let all = run({
        let mut c = ts_at(&ix);
        c.args(["export", "--format", "ndjson"]);
        c
    });
    assert!(!all.stdout.contains("TOPSECRET") && !all.stdout.contains("root:"));
    assert!(!all.stdout.contains("lollol"));
    // The study with a deep field stays; its title is intact.
    assert_eq!(
        show(&ix, "NCT05863234")["title"],
        "Safety Evaluation Study for Patients With Aggressive NK-cell Leukemia"
    );
    // Every skip is listed by stats.
    let skipped = skipped_in_stats(&stats(&ix));
    for p in [&bomb_entry, &liar_entry] {
        assert!(skipped.iter().any(|(s, _)| s == p), "{p}: {skipped:?}");
    }
    // Nothing but generations, CURRENT and the lock inside the index folder.
    for e in fs::read_dir(&ix).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(
            n.starts_with("gen-") || n == "CURRENT" || n == ".lock",
            "{n}"
        );
    }
}

// ---------------------------------------------------------------------------
// 6. The index

/// The queries whose answers must not change while a build fails.
const PROBES: [&[&str]; 4] = [
    &["query", "MSC sepsis phase 3", "--json"],
    &["query", "stem cells", "--limit", "50", "--json"],
    &["show", "NCT05689008", "--json"],
    &["stats", "--json"],
];

fn answers(ix: &Path) -> Vec<String> {
    PROBES
        .iter()
        .map(|args| {
            let r = run({
                let mut c = ts_at(ix);
                c.args(*args);
                c
            });
            assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
            r.stdout
        })
        .collect()
}

fn generations(ix: &Path) -> Vec<String> {
    let mut g: Vec<String> = fs::read_dir(ix)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    g.sort();
    g
}

#[test]
fn an_aborted_build_leaves_the_old_index_answering() {
    let tmp = tempfile::tempdir().unwrap();
    let ix = tmp.path().join("ix");
    assert_eq!(index(&ix, &[&data("seeds")], &["--quiet"]).code, Some(0));
    let before = answers(&ix);
    let more = [data("seeds"), data("ctgov/json"), data("ctgov/xml")];
    let more: Vec<&Path> = more.iter().map(PathBuf::as_path).collect();
    for n in ["0", "1", "5"] {
        let r = run({
            let mut c = ts_at(&ix);
            c.env("TRIALSEARCH_ABORT_AFTER", n)
                .arg("index")
                .arg("--quiet");
            c.args(&more);
            c
        });
        assert_ne!(r.code, Some(0), "abort after {n} did not abort");
        assert_eq!(answers(&ix), before, "answers changed after abort at {n}");
    }
    // A normal build succeeds and cleans the leftovers.
    let r = index(&ix, &more, &["--quiet"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let g = generations(&ix);
    assert!(g.len() <= 2, "{g:?}");
    let cur = fs::read_to_string(ix.join("CURRENT")).unwrap();
    assert_eq!(g.last().map(String::as_str), Some(cur.trim()));
    assert_ne!(answers(&ix)[3], before[3]);
}

fn cloned_studies(dir: &Path, n: usize) {
    fs::create_dir_all(dir).unwrap();
    let study = study_json();
    for i in 0..n {
        let s = study
            .replace("NCT05863234", &format!("NCT{:08}", 10_000_000 + i))
            .replace("PPMX-T003-CT103", &format!("PPMX-{i}"));
        fs::write(dir.join(format!("s{i:05}.json")), s).unwrap();
    }
}

#[test]
fn a_killed_build_and_queries_during_a_build() {
    let tmp = tempfile::tempdir().unwrap();
    let ix = tmp.path().join("ix");
    let corpus = tmp.path().join("studies");
    cloned_studies(&corpus, 1000);
    assert_eq!(index(&ix, &[&data("seeds")], &["--quiet"]).code, Some(0));
    let before = answers(&ix);
    let old_total = json_of(&ix, &["query", "leukemia OR stem", "--json"])["total"].clone();
    let bin = assert_cmd::cargo::cargo_bin("trialsearch");
    let spawn_index = || {
        StdCommand::new(&bin)
            .arg("--index")
            .arg(&ix)
            .args(["index", "--quiet"])
            .arg(&corpus)
            .env_remove("TRIALSEARCH_ABORT_AFTER")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for ms in [50, 200, 600] {
        let mut child = spawn_index();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_eq!(
            answers(&ix),
            before,
            "answers changed after a kill at {ms} ms"
        );
    }

    // Two builds on one directory: the second fails at once.
    let mut first = spawn_index();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let r = index(&ix, &[&data("seeds")], &["--quiet"]);
    if first.try_wait().unwrap().is_none() {
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains("already building"), "{}", r.stderr);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    // Queries while it builds: every answer complete, from one index or the
    // other, never an error.
    let mut answered = 0;
    while first.try_wait().unwrap().is_none() {
        let r = run({
            let mut c = ts_at(&ix);
            c.args(["query", "leukemia OR stem", "--json"]);
            c
        });
        assert_eq!(r.code, Some(0), "query during a build: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).expect("complete JSON");
        assert!(
            v["total"] == old_total || v["total"] == 1000,
            "{}",
            v["total"]
        );
        answered += 1;
    }
    assert!(first.wait().unwrap().success());
    assert!(answered > 0);
    assert_eq!(
        json_of(&ix, &["query", "leukemia OR stem", "--json"])["total"],
        1000
    );
    assert!(generations(&ix).len() <= 2);
}

#[test]
fn a_held_lock_makes_a_second_build_fail_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ix = tmp.path().join("ix");
    fs::create_dir_all(&ix).unwrap();
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ix.join(".lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let started = Instant::now();
    let r = index(&ix, &[&data("seeds")], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("already building"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(lock);
    assert_eq!(index(&ix, &[&data("seeds")], &["--quiet"]).code, Some(0));
}

#[test]
fn a_damaged_index_says_how_to_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    assert_eq!(index(&good, &[&data("seeds")], &["--quiet"]).code, Some(0));
    let gen = fs::read_to_string(good.join("CURRENT")).unwrap();
    let gen = gen.trim();
    let copy = |name: &str| {
        let to = tmp.path().join(name);
        let status = StdCommand::new("cp")
            .arg("-a")
            .arg(&good)
            .arg(&to)
            .status()
            .unwrap();
        assert!(status.success());
        to
    };
    type Damage = Box<dyn Fn(&Path)>;
    let gen_s = gen.to_string();
    let cases: Vec<(&str, Damage)> = vec![
        (
            "missing",
            Box::new(|ix: &Path| fs::remove_dir_all(ix).unwrap()),
        ),
        (
            "garbage-current",
            Box::new(|ix: &Path| fs::write(ix.join("CURRENT"), b"\x00\xffgarbage/../..").unwrap()),
        ),
        (
            "empty-current",
            Box::new(|ix: &Path| fs::write(ix.join("CURRENT"), b"").unwrap()),
        ),
        ("deleted-generation", {
            let g = gen_s.clone();
            Box::new(move |ix: &Path| fs::remove_dir_all(ix.join(&g)).unwrap())
        }),
        ("corrupt-meta", {
            let g = gen_s.clone();
            Box::new(move |ix: &Path| {
                fs::write(ix.join(&g).join("trialsearch.json"), b"{\"trials\":").unwrap()
            })
        }),
        ("old-format", {
            let g = gen_s.clone();
            Box::new(move |ix: &Path| {
                let p = ix.join(&g).join("trialsearch.json");
                let mut v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
                v["schema_version"] = 0.into();
                fs::write(&p, v.to_string()).unwrap();
            })
        }),
        ("truncated-tantivy", {
            let g = gen_s.clone();
            Box::new(move |ix: &Path| {
                for e in fs::read_dir(ix.join(&g)).unwrap().flatten() {
                    let p = e.path();
                    let n = p.file_name().unwrap().to_string_lossy().into_owned();
                    if n != "trialsearch.json" && !n.starts_with('.') {
                        let len = fs::metadata(&p).unwrap().len();
                        fs::OpenOptions::new()
                            .write(true)
                            .open(&p)
                            .unwrap()
                            .set_len(len / 3)
                            .unwrap();
                    }
                }
            })
        }),
        ("garbage-tantivy", {
            let g = gen_s.clone();
            Box::new(move |ix: &Path| {
                for e in fs::read_dir(ix.join(&g)).unwrap().flatten() {
                    let p = e.path();
                    let n = p.file_name().unwrap().to_string_lossy().into_owned();
                    if n != "trialsearch.json" && n != "meta.json" && !n.starts_with('.') {
                        let len = fs::metadata(&p).unwrap().len() as usize;
                        let junk: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
                        fs::write(&p, junk).unwrap();
                    }
                }
            })
        }),
    ];
    for (name, damage) in &cases {
        let ix = copy(name);
        damage(&ix);
        for args in [
            &["query", "stem cells"][..],
            &["stats"],
            &["show", "NCT05689008"],
            &["facets", "status"],
            &["export"],
        ] {
            let r = run({
                let mut c = ts_at(&ix);
                c.args(args);
                c
            });
            no_panic(&r);
            assert_eq!(r.code, Some(2), "{name} {args:?}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stderr.contains("trialsearch index"),
                "{name} {args:?}: no rebuild hint: {}",
                r.stderr
            );
            assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);
        }
        // And a build over it repairs it.
        let r = index(&ix, &[&data("seeds")], &["--quiet"]);
        assert_eq!(r.code, Some(0), "{name}: rebuild failed: {}", r.stderr);
        assert_eq!(stats(&ix)["trials"], 4, "{name}");
    }
}

// ---------------------------------------------------------------------------
// 7. Queries and output

#[test]
fn any_query_text_answers_or_explains() {
    let ix = TestIndex::build(&[data("seeds")]);
    let long = "stem ".repeat(2_000);
    let queries: Vec<String> = vec![
        "\"unbalanced".into(),
        "unbalanced\"".into(),
        "(stem cells".into(),
        "stem cells)".into(),
        "[[[".into(),
        "age:[18 TO".into(),
        "age:[ TO ]".into(),
        "age:abc".into(),
        "title:".into(),
        ":".into(),
        "AND".into(),
        "OR OR OR".into(),
        "NOT".into(),
        "- - -".into(),
        "+".into(),
        "*".into(),
        "\"\"".into(),
        "\\".into(),
        long.clone(),
        "x".repeat(10_000),
        // (A NUL cannot be passed in argv.)
        "stem\u{1}cells\u{7}\u{1b}[31m\r\n\t".into(),
        "\u{202e}cells stem\u{202c} خلايا جذعية".into(),
        "🧬🦠 stem 💉".into(),
        "'; DROP TABLE trials; --".into(),
        "$(rm -rf /) `id` | ; && > /tmp/x".into(),
        "condition:\"\" sponsor: id:".into(),
        "NCT".into(),
        "NCT0568900899999999".into(),
        "  ".into(),
        "ÅÄÖ ß ǅ İ".into(),
    ];
    for q in &queries {
        // `--` so a query starting with `-` is text, not an option.
        for args in [
            vec!["query", "--json", "--", q.as_str()],
            vec!["facets", "condition", "--", q.as_str()],
            vec!["export", "--", q.as_str()],
        ] {
            let started = Instant::now();
            let r = run({
                let mut c = ix.cmd();
                c.args(&args).timeout(Duration::from_secs(20));
                c
            });
            no_panic(&r);
            let shown: String = q.chars().take(30).collect();
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{shown:?} took {:?}",
                started.elapsed()
            );
            match r.code {
                Some(0) | Some(1) => {
                    if args[0] == "query" {
                        let v: Value = serde_json::from_str(&r.stdout)
                            .unwrap_or_else(|e| panic!("{shown:?}: {e}"));
                        assert!(v["total"].is_u64());
                    }
                }
                Some(2) => assert!(
                    r.stderr.starts_with("trialsearch: ") && r.stderr.lines().count() == 1,
                    "{shown:?}: {}",
                    r.stderr
                ),
                other => panic!("{shown:?}: exit {other:?}: {}", r.stderr),
            }
        }
    }
}

#[test]
fn invalid_filter_values_list_the_accepted_ones() {
    let ix = TestIndex::build(&[data("seeds")]);
    for (flag, value, listed) in [
        ("--status", "bogus", "Recruiting"),
        ("--phase", "7", "early1"),
        ("--sex", "robot", "female"),
        ("--type", "magic", "interventional"),
        ("--sort", "random", "relevance"),
        ("--facet", "colour", "sponsor"),
        ("--age", "old", ""),
    ] {
        let r = run({
            let mut c = ix.cmd();
            c.args(["query", "stem", flag, value]);
            c
        });
        no_panic(&r);
        assert_eq!(r.code, Some(2), "{flag} {value}");
        let err = r.stderr.to_lowercase();
        assert!(
            err.contains(&listed.to_lowercase()) && err.contains(value),
            "{flag} {value}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let ix = TestIndex::build(&[data("msc-classic-export-1445.csv")]);
    for args in [
        &["query", "stem cells", "--limit", "1000"][..],
        &["query", "stem cells", "--limit", "1000", "--json"],
        &["query", "stem cells", "--limit", "1000", "--format", "csv"],
        &["export", "--format", "ndjson"],
        &["export", "--format", "csv"],
        &["facets", "condition", "--limit", "5000"],
    ] {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("trialsearch"))
            .arg("--index")
            .arg(ix.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        let mut stdout = child.stdout.take().unwrap();
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------
// A single large file: slow in a debug build, so run by hand:
// `cargo test --release --test integration large_single_file -- --ignored --nocapture`

#[test]
#[ignore]
fn large_single_file_streams_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("big.json");
    let study = study_json();
    let study: String = study.split_whitespace().collect::<Vec<_>>().join(" ");
    {
        let mut w = std::io::BufWriter::new(fs::File::create(&f).unwrap());
        w.write_all(b"[").unwrap();
        let mut n = 0;
        let mut written = 0usize;
        while written < 150 << 20 {
            let s = study.replace("NCT05863234", &format!("NCT{:08}", 20_000_000 + n));
            if n > 0 {
                w.write_all(b",\n").unwrap();
            }
            w.write_all(s.as_bytes()).unwrap();
            written += s.len() + 2;
            n += 1;
        }
        w.write_all(b"]").unwrap();
        eprintln!("{n} studies, {} MiB", written >> 20);
    }
    let ix = tmp.path().join("ix");
    let started = Instant::now();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--index".as_ref(),
        ix.as_os_str(),
        "index".as_ref(),
        "--quiet".as_ref(),
        f.as_os_str(),
    ];
    if let Some((kib, out)) = peak_rss_kib(&args) {
        assert!(out.status.success());
        eprintln!(
            "150 MiB JSON: {:?}, peak RSS {} MiB",
            started.elapsed(),
            kib / 1024
        );
    }
    // The same size of plain text: cut at the text limit, with a warning.
    let t = tmp.path().join("big.txt");
    {
        let mut w = std::io::BufWriter::new(fs::File::create(&t).unwrap());
        w.write_all(b"Study NCT01234567\n").unwrap();
        for i in 0..(150 << 20) / 64 {
            writeln!(
                w,
                "line {i:08} of a very long page about stem cells and sepsis"
            )
            .unwrap();
        }
    }
    let started = Instant::now();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--index".as_ref(),
        ix.as_os_str(),
        "index".as_ref(),
        t.as_os_str(),
    ];
    if let Some((kib, out)) = peak_rss_kib(&args) {
        eprintln!(
            "150 MiB text: {:?}, peak RSS {} MiB: {}",
            started.elapsed(),
            kib / 1024,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        );
        assert!(out.status.success());
    }
}

/// Found by the property tests (`src/proptests.rs`, no_search_panics): a
/// negated phrase matching nothing tripped a debug assertion inside
/// tantivy. The answer must be every `msc` trial.
#[test]
fn a_negated_phrase_that_matches_nothing() {
    let ix = TestIndex::build(&[data("seeds")]);
    let all = ix.query_json(&["msc"]);
    for q in [
        "msc NOT \" phase msc \"",
        "msc -\"zzz yyy\"",
        "NOT \"a b\" msc",
    ] {
        let v = ix.query_json(&[q]);
        assert_eq!(v["total"], all["total"], "{q}");
    }
    // A negated phrase that does match still excludes.
    let v = ix.query_json(&["msc NOT \"umbilical cord\""]);
    assert!(v["total"].as_u64() < all["total"].as_u64(), "{v:#}");
}
