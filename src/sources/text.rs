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
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)))
        .count();
    head.contains(&0) || controls * 20 > head.len()
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
/// lines of their own as they do in copied text.
pub fn html_to_text(html: &str) -> String {
    let width = 100_000;
    match html2text::config::plain()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), width)
    {
        Ok(s) => s,
        Err(_) => strip_tags(html),
    }
}

/// Last resort for HTML that html2text rejects: drop tags, keep text.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push('\n');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
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

    #[test]
    fn html_becomes_lines() {
        let t = html_to_text(
            "<html><body><h1>Title</h1><p>Status and phase</p><p>Enrolling</p></body></html>",
        );
        assert!(t.contains("Title"));
        assert!(t.contains("Status and phase"));
    }
}
