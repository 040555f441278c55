//! Stage 1, read: one file (or archive entry) → zero or more [`Trial`]s with
//! their [`Source`].
//!
//! The format is recognised from the content, never the file name:
//! [`detect`] sniffs the first bytes (zip magic, JSON, XML, CSV header, HTML)
//! and, for text pages, asks [`detect_page`] which site's layout it is.
//! Each format has one adapter module; structured formats stream record by
//! record through an `emit` callback so a 10 GB input never sits in memory.
//! Problems inside a file that do not stop it become [`Item::Warning`]s;
//! problems that stop it are a [`SkipReason`], printed as one line.

pub mod clinconnect;
pub mod ctgov_csv;
pub mod ctgov_json;
pub mod ctgov_xml;
pub mod generic;
#[cfg(test)]
mod golden_ctgov;
pub mod ignite;
pub mod text;
pub mod trialx;
pub mod veeva;

#[cfg(test)]
pub(crate) mod golden_pages;

use crate::trial::{Format, Source, Trial};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// What a reader hands on: a record, or a warning about part of a file that
/// was dropped while the rest was read.
#[derive(Debug)]
pub enum Item {
    /// One trial record with its source set.
    Trial(Box<Trial>),
    /// A problem with part of the file; the message does not repeat the path.
    Warning(String),
}

/// Why a whole file (or archive entry) was skipped. Displayed as the reason
/// after `path: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Zero bytes, or only whitespace.
    Empty,
    /// Not text and not a format we read (an image, a PDF ...).
    Binary(String),
    /// A structured file that could not be parsed at all.
    Malformed(String),
    /// The file could not be read.
    Io(String),
    /// Over a safety limit (zip bomb, nesting).
    Limit(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Empty => f.write_str("empty file"),
            SkipReason::Binary(what) => write!(f, "not a trial record ({what})"),
            SkipReason::Malformed(m) => write!(f, "malformed: {m}"),
            SkipReason::Io(m) => write!(f, "cannot read: {m}"),
            SkipReason::Limit(m) => write!(f, "over a safety limit: {m}"),
        }
    }
}

impl SkipReason {
    /// A short stable key for summaries ("empty", "binary", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Empty => "empty",
            SkipReason::Binary(_) => "binary",
            SkipReason::Malformed(_) => "malformed",
            SkipReason::Io(_) => "unreadable",
            SkipReason::Limit(_) => "limit",
        }
    }
}

/// What [`detect`] found in the first bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A zip archive: read entry by entry.
    Zip,
    /// A record format, known from the first bytes.
    Format(Format),
    /// An HTML page: converted to text, then read as a page dump.
    Html,
    /// Plain text: a page dump; which site is decided on the whole text.
    Text,
    /// Not text.
    Binary(&'static str),
    /// Nothing but whitespace.
    Empty,
}

/// Limits that bound memory and time on hostile input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest page dump (text or HTML) read whole; larger ones are cut there.
    pub max_text_bytes: u64,
    /// Largest uncompressed archive entry.
    pub max_entry_bytes: u64,
    /// Largest ratio of uncompressed to compressed size for an archive entry.
    pub max_ratio: u64,
    /// Deepest JSON/XML nesting accepted.
    pub max_depth: usize,
    /// Most text indexed from one page (after HTML is converted). Indexing
    /// costs about 30 times the text in memory (tantivy cannot flush one
    /// document's postings early), so a 64 MiB log file read as a "page"
    /// once took 2 GB; real page dumps are well under 1 MiB.
    pub max_page_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 64 << 20,
            max_entry_bytes: 512 << 20,
            max_ratio: 200,
            max_depth: 128,
            max_page_text: 8 << 20,
        }
    }
}

/// How many bytes [`detect`] wants to see.
pub const SNIFF_LEN: usize = 8192;

/// Recognise what a file holds from its first bytes.
pub fn detect(head: &[u8]) -> Sniffed {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Sniffed::Zip;
    }
    if let Some(kind) = binary_magic(head) {
        return Sniffed::Binary(kind);
    }
    let (text, _) = text::decode_head(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.is_empty() {
        return if head.iter().all(|b| b.is_ascii_whitespace()) {
            Sniffed::Empty
        } else if head.contains(&0) {
            Sniffed::Binary("binary data")
        } else {
            Sniffed::Empty
        };
    }
    if text::looks_binary(head) {
        return Sniffed::Binary("binary data");
    }
    if t.starts_with('{') || t.starts_with('[') {
        return Sniffed::Format(Format::CtgovJson);
    }
    // Browsers start a saved page with a comment (`<!-- saved from
    // url=... -->`) and often a long <head>: such a page was read as a text
    // dump, markup and all. Leading comments are skipped and the whole
    // sniffed head is looked at for markup.
    let mut t = t;
    while let Some(rest) = t.strip_prefix("<!--") {
        t = rest.find("-->").map_or("", |e| &rest[e + 3..]).trim_start();
    }
    let lower: String = t
        .chars()
        .take(SNIFF_LEN)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<?xml") || lower.starts_with("<clinical_study") {
        if lower.contains("<clinical_study")
            || lower.starts_with("<?xml") && !lower.contains("<html")
        {
            return Sniffed::Format(Format::CtgovXml);
        }
        return Sniffed::Html;
    }
    if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.starts_with("<head")
    {
        return Sniffed::Html;
    }
    if let Some(f) = ctgov_csv::detect_header(t) {
        return Sniffed::Format(f);
    }
    if lower.starts_with('<')
        && (lower.contains("<body")
            || lower.contains("<div")
            || lower.contains("<p>")
            || lower.contains("<html"))
    {
        return Sniffed::Html;
    }
    Sniffed::Text
}

fn binary_magic(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 10] = [
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "a gzip archive; unpack it or zip it"),
        (b"7z\xbc\xaf", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\xd0\xcf\x11\xe0", "an Office document"),
        (b"\x7fELF", "an executable"),
        (b"SQLite format 3", "an SQLite database"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, k)| *k)
}

/// Which site's layout a page dump follows. Every text is at least
/// [`Format::Generic`], so no page is dropped for being unfamiliar.
pub fn detect_page(text: &str) -> Format {
    if ignite::matches(text) {
        Format::Ignite
    } else if veeva::matches(text) {
        Format::Veeva
    } else if clinconnect::matches(text) {
        Format::Clinconnect
    } else if trialx::matches(text) {
        Format::Trialx
    } else {
        Format::Generic
    }
}

/// Parse a decoded page dump as `format` (one of the page formats).
pub fn parse_page(format: Format, text: &str) -> Option<Trial> {
    match format {
        Format::Ignite => ignite::parse(text),
        Format::Veeva => veeva::parse(text),
        Format::Clinconnect => clinconnect::parse(text),
        Format::Trialx => trialx::parse(text),
        _ => generic::parse(text),
    }
    // A recognised layout that yields nothing useful still gets the generic
    // reader, so its ids and words stay searchable.
    .filter(has_substance)
    .or_else(|| generic::parse(text))
}

fn has_substance(t: &Trial) -> bool {
    t.nct_id.is_some() || t.title.is_some() || !t.secondary_ids.is_empty()
}

/// What reading one file found, for the summary.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    /// Records read, per format.
    pub records: Vec<(Format, usize)>,
    /// Archive entries (or parts) skipped, with their reasons.
    pub skipped_entries: Vec<(String, SkipReason)>,
}

impl FileReport {
    fn count(&mut self, f: Format) {
        match self.records.iter_mut().find(|(g, _)| *g == f) {
            Some((_, n)) => *n += 1,
            None => self.records.push((f, 1)),
        }
    }
}

/// Read one file: detect its format, parse it, and hand each record (with its
/// [`Source`] filled) and each warning to `emit`. `display` is the path as
/// shown to the user and stored in `sources`.
pub fn read_file(
    path: &Path,
    display: &str,
    limits: &Limits,
    emit: &mut dyn FnMut(Item),
) -> Result<FileReport, SkipReason> {
    let file = File::open(path).map_err(|e| SkipReason::Io(io_reason(&e)))?;
    read_source(file, display, limits, emit)
}

/// [`read_file`] for a file's content already opened or read into memory
/// (`Cursor` over its bytes): what the indexer uses to read a small file
/// once for both its hash and its records.
pub fn read_source<R: Read + Seek>(
    mut file: R,
    display: &str,
    limits: &Limits,
    emit: &mut dyn FnMut(Item),
) -> Result<FileReport, SkipReason> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| SkipReason::Io(io_reason(&e)))?;
    file.rewind().map_err(|e| SkipReason::Io(io_reason(&e)))?;
    let mut report = FileReport::default();
    match detect(&head) {
        Sniffed::Zip => read_zip(file, display, limits, &mut report, emit)?,
        sniffed => {
            let reader = BufReader::with_capacity(1 << 16, file);
            read_stream(
                sniffed,
                reader,
                &head,
                display,
                None,
                limits,
                &mut report,
                emit,
            )?;
        }
    }
    Ok(report)
}

/// Read one record stream (a file or archive entry) whose head was sniffed.
#[allow(clippy::too_many_arguments)]
fn read_stream<R: Read>(
    sniffed: Sniffed,
    reader: R,
    head: &[u8],
    display: &str,
    entry: Option<&str>,
    limits: &Limits,
    report: &mut FileReport,
    emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    let source = |format: Format| Source {
        path: display.to_string(),
        format,
        entry: entry.map(str::to_string),
    };
    let mut emit_trial = |format: Format, report: &mut FileReport, item: Item| match item {
        Item::Trial(mut t) => {
            t.sources = vec![source(format)];
            report.count(format);
            emit(Item::Trial(t));
        }
        w => emit(w),
    };
    match sniffed {
        Sniffed::Empty => Err(SkipReason::Empty),
        Sniffed::Binary(kind) => Err(SkipReason::Binary(kind.to_string())),
        Sniffed::Zip => Err(SkipReason::Limit(
            "a zip archive inside a zip archive is not read".into(),
        )),
        Sniffed::Format(Format::CtgovJson) => {
            let reader = text::utf8_reader(reader, head);
            ctgov_json::read(reader, limits, &mut |item| {
                emit_trial(Format::CtgovJson, report, item)
            })
        }
        Sniffed::Format(Format::CtgovXml) => {
            let reader = text::utf8_reader(reader, head);
            ctgov_xml::read(reader, limits, &mut |item| {
                emit_trial(Format::CtgovXml, report, item)
            })
        }
        Sniffed::Format(f @ (Format::CtgovCsv | Format::CtgovCsvClassic)) => {
            let reader = text::utf8_reader(reader, head);
            ctgov_csv::read(reader, f, &mut |item| emit_trial(f, report, item))
        }
        Sniffed::Format(_) | Sniffed::Text | Sniffed::Html => {
            let (text, cut) = text::read_text(reader, limits.max_text_bytes)
                .map_err(|e| SkipReason::Io(io_reason(&e)))?;
            let mut text = if sniffed == Sniffed::Html {
                text::html_to_text(&text)
            } else {
                text
            };
            // One warning for a page cut short, whichever limit cut it.
            let capped = text.len() > limits.max_page_text;
            if capped {
                let mut at = limits.max_page_text;
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.truncate(at);
            }
            if cut || capped {
                emit_trial(
                    Format::Generic,
                    report,
                    Item::Warning(format!(
                        "too large for a page; only its first {} KiB of text were indexed",
                        text.len() >> 10
                    )),
                );
            }
            if text.trim().is_empty() {
                return Err(SkipReason::Empty);
            }
            let format = detect_page(&text);
            match parse_page(format, &text) {
                Some(t) => {
                    let f = if t.other_text.is_some() && format != Format::Generic {
                        Format::Generic
                    } else {
                        format
                    };
                    emit_trial(f, report, Item::Trial(Box::new(t)));
                    Ok(())
                }
                None => Err(SkipReason::Binary("no words in it".into())),
            }
        }
    }
}

fn read_zip<R: Read + Seek>(
    reader: R,
    display: &str,
    limits: &Limits,
    report: &mut FileReport,
    emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| SkipReason::Malformed(format!("zip archive: {e}")))?;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                report
                    .skipped_entries
                    .push((format!("entry {i}"), SkipReason::Malformed(e.to_string())));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        // The entry name is only a label: nothing is ever written to disk, so
        // a name like `../../x` cannot escape anywhere.
        let name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let declared = entry.size();
        let compressed = entry.compressed_size().max(1);
        if declared > limits.max_entry_bytes
            || (declared > (1 << 20) && declared / compressed > limits.max_ratio)
        {
            report.skipped_entries.push((
                name,
                SkipReason::Limit(format!(
                    "entry inflates to {declared} bytes from {compressed} (zip bomb?)"
                )),
            ));
            continue;
        }
        // Never trust the declared size: cap what is actually inflated too.
        let cap = limits
            .max_entry_bytes
            .min(compressed.saturating_mul(limits.max_ratio).max(1 << 20));
        let mut bounded = (&mut entry).take(cap + 1);
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = (&mut bounded).take(SNIFF_LEN as u64).read_to_end(&mut head) {
            report
                .skipped_entries
                .push((name, SkipReason::Malformed(e.to_string())));
            continue;
        }
        let sniffed = detect(&head);
        let counting = CapReader {
            inner: std::io::Cursor::new(head.clone()).chain(bounded),
            left: cap,
        };
        if let Err(reason) = read_stream(
            sniffed,
            counting,
            &head,
            display,
            Some(&name),
            limits,
            report,
            emit,
        ) {
            report.skipped_entries.push((name, reason));
        }
    }
    Ok(())
}

/// A reader that fails once more than `left` bytes have come through, so a
/// lying archive entry cannot inflate past the limit.
struct CapReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for CapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(
                "archive entry inflates past the size limit (zip bomb?)",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An I/O error as a short phrase, without Rust's debug formatting.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or folder".into(),
        PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gone_before_reading_is_a_clean_skip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("deleted.txt");
        let r = read_file(&p, "deleted.txt", &Limits::default(), &mut |_| {});
        match r {
            Err(SkipReason::Io(m)) => assert!(m.contains("no such file"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn page_text_is_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big.txt");
        let limits = Limits {
            max_page_text: 1000,
            ..Limits::default()
        };
        std::fs::write(&p, format!("Study NCT01234567\n{}", "é stem ".repeat(1000)))
            .expect("write");
        let mut trials = Vec::new();
        let mut warnings = Vec::new();
        read_file(&p, "big.txt", &limits, &mut |i| match i {
            Item::Trial(t) => trials.push(t),
            Item::Warning(w) => warnings.push(w),
        })
        .expect("read");
        assert_eq!(trials.len(), 1);
        assert!(trials[0]
            .other_text
            .as_deref()
            .is_some_and(|t| t.len() <= 1000));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(detect(b"PK\x03\x04rest"), Sniffed::Zip);
        assert_eq!(
            detect(b"  [ {\"protocolSection\""),
            Sniffed::Format(Format::CtgovJson)
        );
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<clinical_study rank=\"1\">"),
            Sniffed::Format(Format::CtgovXml)
        );
        assert_eq!(detect(b"<!DOCTYPE html><html>"), Sniffed::Html);
        let saved = format!(
            "<!-- saved from url=(0040)https://ctv.veeva.com/study/x -->\n<html><head><meta content=\"{}\"></head><body>",
            "y".repeat(3000)
        );
        assert_eq!(detect(saved.as_bytes()), Sniffed::Html);
        assert_eq!(detect(b"\xef\xbb\xbf\n  <HTML><body>"), Sniffed::Html);
        assert_eq!(detect(b"%PDF-1.4 ..."), Sniffed::Binary("a PDF document"));
        assert_eq!(detect(b"   \n\n"), Sniffed::Empty);
        assert_eq!(detect(b""), Sniffed::Empty);
        assert_eq!(detect(b"Viewing Study NCT06416709\n"), Sniffed::Text);
    }
}
