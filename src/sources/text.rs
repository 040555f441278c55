//! Stage 1 helper: bytes → text. Detects the encoding (BOM, then UTF-8, then a
//! guess by chardetng among legacy encodings such as Windows-1252 and GB18030),
//! recognises binary data, and turns saved HTML pages into plain text so the
//! page adapters read them like any text dump.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Cursor, Read};

/// Decode the first bytes of a file for sniffing. A multi-byte character cut
/// at the end of `head` is tolerated.
pub fn decode_head(head: &[u8]) -> (Cow<'_, str>, &'static Encoding) {
    let enc = guess_encoding(head, false);
    let (text, _, _) = enc.decode(head);
    (text, enc)
}

/// Pick the encoding of `bytes`: its BOM, else UTF-8 when it is valid (a cut
/// last character allowed unless `complete`), else chardetng's guess.
pub fn guess_encoding(bytes: &[u8], complete: bool) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return enc;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => return UTF_8,
        Err(e) if !complete && e.error_len().is_none() => return UTF_8,
        Err(_) => {}
    }
    // UTF-16 without a BOM: every other byte zero in ASCII-heavy text.
    if bytes.len() >= 64 {
        let zeros_even = bytes.iter().step_by(2).filter(|&&b| b == 0).count();
        let zeros_odd = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let half = bytes.len() / 2;
        if zeros_odd * 10 > half * 7 && zeros_even * 10 < half {
            return UTF_16LE;
        }
        if zeros_even * 10 > half * 7 && zeros_odd * 10 < half {
            return UTF_16BE;
        }
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, complete);
    det.guess(None, chardetng::Utf8Detection::Allow)
}

/// Whether `head` is binary rather than text in some encoding: NUL bytes or
/// many control characters, once UTF-16 is ruled out.
pub fn looks_binary(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let enc = guess_encoding(head, false);
    if enc == UTF_16LE || enc == UTF_16BE {
        return false;
    }
    head.contains(&0) || control_bytes(head) * 20 > head.len()
}

/// Control bytes other than line breaks, tabs and form feeds (NUL
/// included). Counted 64 bytes at a time into a byte, a loop the compiler
/// turns into vector instructions: counting byte by byte into a `usize`
/// was ~12 instructions a byte, ~100,000 a file for the 8 KiB every file's
/// format is sniffed from (2.5% of an index build's instructions).
fn control_bytes(head: &[u8]) -> usize {
    let control = |b: u8| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c);
    head.chunks(64)
        .map(|c| c.iter().map(|&b| u8::from(control(b))).sum::<u8>() as usize)
        .sum()
}

/// A reader of UTF-8 for a stream whose first bytes are `head`. UTF-8 passes
/// through (its BOM dropped); any other encoding is decoded whole first, as
/// structured files in legacy encodings are small in practice.
pub fn utf8_reader<'a, R: Read + 'a>(mut reader: R, head: &[u8]) -> Box<dyn BufRead + 'a> {
    let enc = guess_encoding(head, false);
    if enc == UTF_8 {
        let mut bom = [0u8; 3];
        if head.starts_with(b"\xef\xbb\xbf") {
            // Drop the BOM; the head bytes are still in the stream.
            let _ = reader.read_exact(&mut bom);
        }
        return Box::new(BufReader::with_capacity(1 << 16, reader));
    }
    let mut bytes = Vec::new();
    if reader.read_to_end(&mut bytes).is_err() {
        return Box::new(Cursor::new(Vec::new()));
    }
    let enc = guess_encoding(&bytes, true);
    let (text, _, _) = enc.decode(&bytes);
    Box::new(Cursor::new(text.into_owned().into_bytes()))
}

/// Read at most `max` bytes and decode them. Returns the text and whether the
/// stream was longer.
pub fn read_text<R: Read>(reader: R, max: u64) -> std::io::Result<(String, bool)> {
    let mut bytes = Vec::new();
    reader.take(max + 1).read_to_end(&mut bytes)?;
    let cut = bytes.len() as u64 > max;
    if cut {
        bytes.truncate(max as usize);
    }
    Ok((decode_all(&bytes, !cut), cut))
}

/// Decode a whole buffer with the detected encoding, dropping any BOM.
pub fn decode_all(bytes: &[u8], complete: bool) -> String {
    let enc = guess_encoding(bytes, complete);
    let (text, _, _) = enc.decode(bytes);
    text.trim_start_matches('\u{feff}').to_string()
}

/// A saved HTML page as plain text, one block per line, so that the labels the
/// page adapters look for ("Status and phase", "Trial Information") stand on
/// lines of their own as they do in text copied from a browser.
///
/// A small single-pass scanner rather than a renderer (html2text was used
/// first): a renderer draws what a terminal would show, with `* ` bullets,
/// `[text][1]` link footnotes and the text of the `<nav>` menu, and the page
/// adapters then missed their labels (a saved TrialX page was read as an
/// unknown layout, an Ignite page lost its NCT id, menu links became titles).
/// This keeps what copying the page gives: the text of each block on its own
/// line, whitespace collapsed, entities decoded, and nothing from `<head>`,
/// `<script>`, `<style>`, `<nav>`, `<template>`, `<svg>` or comments. It
/// never recurses and does O(n) work, so hostile markup (a million unclosed
/// `<div>`s) costs nothing. A real parser was tried in its place: html5ever
/// (through `scraper` 0.29) took over six minutes on 100,000 nested `<div>`s
/// in a debug build (its open-element stack is scanned per tag, so deep
/// nesting is quadratic), which makes a saved page a denial of service.
pub fn html_to_text(html: &str) -> String {
    // Elements whose whole content is dropped.
    const SKIP: [&str; 10] = [
        "head", "script", "style", "nav", "template", "svg", "noscript", "iframe", "select",
        "object",
    ];
    // Elements that start a new line (everything else is inline).
    const BLOCK: [&str; 42] = [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "caption",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "label",
        "legend",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "td",
        "th",
        "title",
        "tr",
        "ul",
    ];
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut line = String::new();
    let mut pre = 0usize;
    let flush = |line: &mut String, out: &mut String| {
        let l = line.trim();
        if !l.is_empty() {
            out.push_str(l);
            out.push('\n');
        }
        line.clear();
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            // Text up to the next tag.
            let end = position(b'<', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            let chunk = decode_entities(&html[i..end]);
            if pre > 0 {
                for (k, part) in chunk.split('\n').enumerate() {
                    if k > 0 {
                        flush(&mut line, &mut out);
                    }
                    line.push_str(part);
                }
            } else {
                for c in chunk.chars() {
                    // Whitespace collapses to one space, as a browser shows it
                    // (a no-break space too, so labels match).
                    if c.is_whitespace() {
                        if !line.is_empty() && !line.ends_with(' ') {
                            line.push(' ');
                        }
                    } else {
                        line.push(c);
                    }
                }
            }
            i = end;
            continue;
        }
        let rest = &html[i..];
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |n| n + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i += rest.find('>').map_or(rest.len(), |n| n + 1);
            continue;
        }
        let rb = rest.as_bytes();
        let name_start = if rb.get(1) == Some(&b'/') { 2 } else { 1 };
        let closing = name_start == 2;
        let name_len = rb[name_start.min(rb.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b':')
            .count();
        if name_len == 0 || !rb[name_start].is_ascii_alphabetic() {
            // A lone `<` (as in "age < 18"): text.
            line.push('<');
            i += 1;
            continue;
        }
        let name_end = name_start + name_len;
        let name = rest[name_start..name_end].to_ascii_lowercase();
        let tag_len = tag_end(&rb[name_end..]).map_or(rest.len(), |n| name_end + n + 1);
        let self_closing = rest[..tag_len].ends_with("/>");
        i += tag_len;
        if !closing && !self_closing && SKIP.contains(&name.as_str()) {
            // Skip to the matching close tag (`</script>` ends a script
            // whatever it holds); an unclosed one runs to the end.
            i += find_close(&html[i..], &name).unwrap_or(html.len() - i);
            flush(&mut line, &mut out);
            continue;
        }
        if name == "pre" {
            pre = if closing {
                pre.saturating_sub(1)
            } else {
                pre + 1
            };
        }
        if BLOCK.contains(&name.as_str()) {
            flush(&mut line, &mut out);
        }
    }
    flush(&mut line, &mut out);
    out
}

fn position(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&x| x == b)
}

/// Offset of the `>` ending a tag whose attributes start `attrs`, skipping
/// quoted attribute values.
fn tag_end(attrs: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (k, &b) in attrs.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(k),
            _ => {}
        }
    }
    None
}

/// Offset just past `</name ...>` in `rest` (ASCII case-insensitive).
fn find_close(rest: &str, name: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let n = name.len();
    let mut k = 0;
    while let Some(p) = position(b'<', &b[k..]) {
        let at = k + p;
        if b.get(at + 1) == Some(&b'/')
            && b.len() >= at + 2 + n
            && b[at + 2..at + 2 + n].eq_ignore_ascii_case(name.as_bytes())
            && !b.get(at + 2 + n).is_some_and(|c| c.is_ascii_alphanumeric())
        {
            return Some(position(b'>', &b[at..]).map_or(b.len(), |e| at + e + 1));
        }
        k = at + 1;
    }
    None
}

/// Decode character references: numeric ones and the named ones pages use.
/// An unknown name is kept as written.
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    const NAMED: [(&str, &str); 40] = [
        ("amp", "&"),
        ("lt", "<"),
        ("gt", ">"),
        ("quot", "\""),
        ("apos", "'"),
        ("nbsp", "\u{a0}"),
        ("ndash", "\u{2013}"),
        ("mdash", "\u{2014}"),
        ("lsquo", "\u{2018}"),
        ("rsquo", "\u{2019}"),
        ("ldquo", "\u{201c}"),
        ("rdquo", "\u{201d}"),
        ("hellip", "\u{2026}"),
        ("middot", "\u{b7}"),
        ("bull", "\u{2022}"),
        ("copy", "\u{a9}"),
        ("reg", "\u{ae}"),
        ("trade", "\u{2122}"),
        ("deg", "\u{b0}"),
        ("plusmn", "\u{b1}"),
        ("le", "\u{2264}"),
        ("ge", "\u{2265}"),
        ("times", "\u{d7}"),
        ("micro", "\u{b5}"),
        ("alpha", "\u{3b1}"),
        ("beta", "\u{3b2}"),
        ("gamma", "\u{3b3}"),
        ("eacute", "\u{e9}"),
        ("egrave", "\u{e8}"),
        ("Eacute", "\u{c9}"),
        ("aacute", "\u{e1}"),
        ("agrave", "\u{e0}"),
        ("ccedil", "\u{e7}"),
        ("ouml", "\u{f6}"),
        ("uuml", "\u{fc}"),
        ("auml", "\u{e4}"),
        ("oacute", "\u{f3}"),
        ("iacute", "\u{ed}"),
        ("ntilde", "\u{f1}"),
        ("szlig", "\u{df}"),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let decoded = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .and_then(|(e, _)| {
                let name = &rest[1..e];
                let c = match name.strip_prefix('#') {
                    Some(num) => match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => num.parse().ok(),
                    }
                    .and_then(char::from_u32)
                    .map(String::from),
                    None => NAMED
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.to_string()),
                };
                c.map(|c| (c, e + 1))
            });
        match decoded {
            Some((c, len)) => {
                out.push_str(&c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_encodings_decode() {
        let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode("Café résumé naïve stem cells");
        assert_eq!(decode_all(&cp1252, true), "Café résumé naïve stem cells");
        let mut utf16 = vec![0xff, 0xfe];
        for u in "Recruiting".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_all(&utf16, true), "Recruiting");
        assert!(!looks_binary(&utf16));
        assert!(looks_binary(b"\x00\x01\x02\x03binary"));
    }

    /// The chunked count of control bytes equals counting them one by one,
    /// at lengths that are not multiples of a chunk, with none of them to
    /// every byte one, and NUL among them.
    #[test]
    fn control_bytes_are_counted_as_one_by_one() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut counted = 0;
        for len in [
            0usize, 1, 19, 20, 21, 63, 64, 65, 127, 200, 1000, 8191, 8192,
        ] {
            for per_mille in [0u64, 30, 50, 200, 1000] {
                let head: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if seed % 1000 < per_mille {
                            [0u8, 1, 7, 0x1b, 0x1f][(seed >> 20) as usize % 5]
                        } else {
                            b" ab{}\n\t\r\x0cz"[(seed >> 20) as usize % 10]
                        }
                    })
                    .collect();
                let one_by_one = head
                    .iter()
                    .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
                    .count();
                assert_eq!(control_bytes(&head), one_by_one, "{len} {per_mille}");
                counted += one_by_one;
            }
        }
        assert!(counted > 10_000, "{counted}");
    }

    #[test]
    fn html_drops_scripts_menus_and_markup() {
        let t = html_to_text(
            "<!DOCTYPE html><html><head><title>T</title><style>p{x:1}</style></head>\
             <body><nav><ul><li><a href=/>Home</a></li></ul></nav>\
             <script>var s = \"<p>Status and phase</p>\";</script><!-- c -->\
             <div>Status   and\nphase</div><p>Enrolling &amp; Phase&nbsp;3 &#233;&#x4e2d; &bogus; a < b</p>\
             <ul><li>Age &ge; 18</li><li>BMI</li></ul><pre>a\n  b</pre></body></html>",
        );
        assert_eq!(
            t,
            "Status and phase\nEnrolling & Phase 3 \u{e9}\u{4e2d} &bogus; a < b\nAge \u{2265} 18\nBMI\na\nb\n"
        );
        // Hostile markup: unclosed everything, deep nesting, a cut tag.
        let deep = "<div>".repeat(100_000) + "x";
        assert_eq!(html_to_text(&deep), "x\n");
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text("<p title='a>b'>ok</p><a href=\"x"), "ok\n");
        assert_eq!(html_to_text("<"), "<\n");
        assert_eq!(html_to_text("</"), "</\n");
    }

    #[test]
    fn html_becomes_lines() {
        let t = html_to_text(
            "<html><body><h1>Title</h1><p>Status and phase</p><p>Enrolling</p></body></html>",
        );
        assert!(t.contains("Title"));
        assert!(t.contains("Status and phase"));
    }
}
