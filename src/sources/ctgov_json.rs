//! Stage 1 adapter: ClinicalTrials.gov API v2 JSON → [`Trial`]s, streamed.
//!
//! Reads every shape the API and its download button produce: one study
//! object, an array of studies (`ctg-studies.json`), an API page
//! (`{"studies": [...], "nextPageToken": ...}`), and NDJSON or concatenated
//! objects (one study a line). Nothing is ever held whole: a serde
//! `DeserializeSeed` walks the top-level array (or a page's `studies` array)
//! and converts each study as it arrives, so a 10 GB download costs the
//! memory of one study.
//!
//! Each study is deserialized into typed structs of only the modules we use.
//! Every leaf and container type here is *lenient* (a string where a number
//! was expected, `null`, an object where a list was expected: the value is
//! dropped, not the study), because serde_json cannot resume a stream after
//! an error inside an element. What remains fatal is broken JSON syntax and
//! nesting deeper than serde_json's recursion limit (kept on, so 10,000 `[`
//! give a clean error instead of a stack overflow).

use super::{Item, Limits, SkipReason};
use crate::normalize::{
    clean, clean_block, display_design, display_enum, intervention_type, normalize_country,
    parse_age, parse_date, parse_phases, parse_sex, parse_status, parse_study_type, split_criteria,
};
use crate::trial::{Contact, Intervention, Location, Trial};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::{BufRead, Read};
use std::marker::PhantomData;

/// Inputs up to this size are read into memory and parsed from a slice,
/// which serde_json does several times faster than from a reader (no
/// per-byte `Read` calls, no line counting). Larger ones (a whole bulk
/// download in one file) stream as before, so memory stays bounded.
pub const SLICE_LIMIT: u64 = 64 << 20;

/// Read every study in `reader`, handing each to `emit`.
pub fn read<R: BufRead>(
    reader: R,
    limits: &Limits,
    emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    let _ = limits; // nesting is bounded by serde_json's own limit (128, the default max_depth)
    let mut reader = reader;
    let mut state = State {
        emit,
        records: 0,
        trials: 0,
    };
    let mut buf = Vec::new();
    if let Err(e) = (&mut reader).take(SLICE_LIMIT + 1).read_to_end(&mut buf) {
        return state.fail(format!("cannot read: {e}"));
    }
    let done = if buf.len() as u64 <= SLICE_LIMIT {
        read_slice(&buf, &mut state)
    } else {
        read_stream(
            Resync::new(std::io::BufReader::new(
                std::io::Cursor::new(buf).chain(reader),
            )),
            &mut state,
        )
    };
    done?;
    if state.trials == 0 {
        let why = match state.records {
            0 => "no study objects in the JSON".to_string(),
            1 => "no study in the JSON (its one value is not a study with an id or a title)"
                .to_string(),
            n => format!(
                "no study in the JSON (none of its {n} values is a study with an id or a title)"
            ),
        };
        return Err(SkipReason::Malformed(why));
    }
    Ok(())
}

/// The values of a whole input in memory, one after another. Each value is
/// first delimited with a cheap `IgnoredAny` pass, then converted from its
/// own sub-slice, so errors name the same line and column as a stream would
/// (counted from the value's start).
fn read_slice(buf: &[u8], state: &mut State) -> Result<(), SkipReason> {
    let mut pos = 0;
    loop {
        let skip = buf[pos..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == b',')
            .count();
        pos += skip;
        let Some(&first) = buf.get(pos) else {
            return Ok(());
        };
        if first != b'[' && first != b'{' {
            return state.fail(format!(
                "expected a study object or an array, found {:?}",
                char::from(first)
            ));
        }
        let rest = &buf[pos..];
        match convert_whole(rest, first, state) {
            Whole::Done => return Ok(()),
            Whole::MoreFollow => {
                // Valid, so this delimiting pass succeeds: it only finds
                // where the value ends.
                let mut values =
                    serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
                let _ = values.next();
                pos += values.byte_offset();
                continue;
            }
            Whole::Broken => {}
        }
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
        let end = match values.next() {
            Some(Ok(_)) => values.byte_offset(),
            Some(Err(e)) if first == b'{' && e.classify() != serde_json::error::Category::Eof => {
                // NDJSON: a broken line costs that line, not the rest of the
                // file, when the line after the error starts another object.
                match next_object_line(rest, e.line() + 1) {
                    Some(next) => {
                        state.records += 1;
                        let n = state.records;
                        (state.emit)(Item::Warning(format!(
                            "record {n}: {}; skipped to the next line",
                            json_reason(&e)
                        )));
                        pos += next;
                        continue;
                    }
                    _ => rest.len(),
                }
            }
            // Broken: convert what precedes the break, then report it.
            _ => rest.len(),
        };
        let mut de = serde_json::Deserializer::from_slice(&rest[..end]);
        let result = if first == b'[' {
            StudiesSeed(state).deserialize(&mut de)
        } else {
            TopSeed(state).deserialize(&mut de)
        };
        if let Err(e) = result {
            return state.fail(json_reason(&e));
        }
        pos += end;
    }
}

/// What [`convert_whole`] made of a value.
enum Whole {
    /// The value was converted and nothing but whitespace follows it.
    Done,
    /// The value was converted and another one follows it (NDJSON,
    /// concatenated objects).
    MoreFollow,
    /// The value is broken; nothing of it was handed on.
    Broken,
}

/// Convert the value at the start of `rest` straight from the slice, when it
/// is whole. Nearly every file is one study, one array or one API page, and
/// delimiting each value first (`read_slice`'s `IgnoredAny` pass) scanned
/// every byte twice: ~5% of a build's instructions. The items are held
/// until the value is known to be whole, so a broken one is handed to the
/// careful path untouched and reported exactly as before. (The build holds
/// a file's records together anyway.)
fn convert_whole(rest: &[u8], first: u8, state: &mut State) -> Whole {
    let mut held: Vec<Item> = Vec::new();
    let mut hold = |item: Item| held.push(item);
    let mut trial = State {
        emit: &mut hold,
        records: state.records,
        trials: state.trials,
    };
    let mut de = serde_json::Deserializer::from_slice(rest);
    let converted = if first == b'[' {
        StudiesSeed(&mut trial).deserialize(&mut de)
    } else {
        TopSeed(&mut trial).deserialize(&mut de)
    };
    if converted.is_err() {
        return Whole::Broken;
    }
    state.records = trial.records;
    state.trials = trial.trials;
    for item in held {
        (state.emit)(item);
    }
    match de.end() {
        Ok(()) => Whole::Done,
        Err(_) => Whole::MoreFollow,
    }
}

/// Byte offset of the first line, from 1-based line `line` on, whose first
/// non-blank byte is `{`: where the next NDJSON record starts.
fn next_object_line(buf: &[u8], line: usize) -> Option<usize> {
    let mut at = line_start(buf, line)?;
    loop {
        let rest = &buf[at..];
        let lead = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if rest.get(lead) == Some(&b'{') {
            return Some(at);
        }
        let nl = rest.iter().position(|b| *b == b'\n')?;
        at += nl + 1;
        if at >= buf.len() {
            return None;
        }
    }
}

/// Byte offset where 1-based line `line` of `buf` starts, if it exists.
fn line_start(buf: &[u8], line: usize) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    buf.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(line - 2)
        .map(|(i, _)| i + 1)
        .filter(|&i| i < buf.len())
}

/// The values of a stream, one after another.
fn read_stream<R: BufRead>(mut reader: Resync<R>, state: &mut State) -> Result<(), SkipReason> {
    // Values are read one after another from the same reader, so a single
    // object, an array, NDJSON and concatenated objects all take this loop.
    // `Deserializer::from_reader(..).into_iter()` cannot be used for the
    // objects: it needs a plain `Deserialize` type, which would have to
    // collect a page's `studies` array instead of streaming it.
    loop {
        let first = match skip_whitespace(&mut reader) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(()),
            Err(e) => return state.fail(format!("cannot read: {e}")),
        };
        reader.start_value();
        let mut de = serde_json::Deserializer::from_reader(&mut reader);
        let result = match first {
            b'[' => StudiesSeed(state).deserialize(&mut de),
            b'{' => TopSeed(state).deserialize(&mut de),
            other => {
                return state.fail(format!(
                    "expected a study object or an array, found {:?}",
                    char::from(other)
                ))
            }
        };
        if let Err(e) = result {
            let reason = json_reason(&e);
            // NDJSON (one study a line): a broken line once lost every line
            // after it. Go on at the next line when it starts another
            // object; anything else (a pretty-printed object broken in the
            // middle, the end of the file) stops as before.
            if first == b'{'
                && e.classify() != serde_json::error::Category::Eof
                && reader.skip_to_line_after(e.line())
                && matches!(skip_whitespace(&mut reader), Ok(Some(b'{')))
            {
                state.records += 1;
                let n = state.records;
                (state.emit)(Item::Warning(format!(
                    "record {n}: {reason}; skipped to the next line"
                )));
                continue;
            }
            return state.fail(reason);
        }
    }
}

/// The reader under the JSON parser, able to find the start of the line
/// after a parse error. serde_json reads a little past the point of an
/// error (closing the objects it was in, and one byte of look-ahead), which
/// can be the newline and the `{` of the next line; so the bytes read since
/// the last newline are kept (up to [`Resync::TAIL`]) and put back.
struct Resync<R> {
    inner: R,
    /// Bytes to hand out again before `inner`'s.
    back: Vec<u8>,
    back_pos: usize,
    track: Track,
}

/// What has been read: newlines since the current value started, and the
/// bytes since the last newline (dropped once past [`Resync::TAIL`]).
#[derive(Default)]
struct Track {
    newlines: usize,
    tail: Vec<u8>,
    tail_overflow: bool,
}

impl Track {
    fn note(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.newlines += 1;
                self.tail.clear();
                self.tail_overflow = false;
            } else if !self.tail_overflow {
                if self.tail.len() < Resync::<()>::TAIL {
                    self.tail.push(b);
                } else {
                    self.tail.clear();
                    self.tail_overflow = true;
                }
            }
        }
    }
}

impl<R> Resync<R> {
    const TAIL: usize = 256;
}

impl<R: BufRead> Resync<R> {
    fn new(inner: R) -> Self {
        Resync {
            inner,
            back: Vec::new(),
            back_pos: 0,
            track: Track {
                tail_overflow: true,
                ..Track::default()
            },
        }
    }

    fn start_value(&mut self) {
        self.track.newlines = 0;
    }

    /// Position the reader at the start of the line after line `line` (1-based,
    /// counted from the start of the current value). False when that cannot
    /// be done exactly.
    fn skip_to_line_after(&mut self, line: usize) -> bool {
        if self.track.newlines < line {
            // Still on the broken line: drop the rest of it.
            loop {
                let Ok(buf) = self.fill_buf() else {
                    return false;
                };
                if buf.is_empty() {
                    return true;
                }
                let n = buf.iter().position(|&b| b == b'\n').map(|i| i + 1);
                let take = n.unwrap_or(buf.len());
                self.consume(take);
                if n.is_some() {
                    return true;
                }
            }
        }
        if self.track.newlines > line || self.track.tail_overflow {
            return false;
        }
        // Just past the broken line's newline: hand back what was read of the next line.
        let mut back = std::mem::take(&mut self.track.tail);
        back.extend_from_slice(&self.back[self.back_pos..]);
        self.back = back;
        self.back_pos = 0;
        true
    }
}

impl<R: BufRead> std::io::Read for Resync<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Resync<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.back_pos < self.back.len() {
            return Ok(&self.back[self.back_pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if self.back_pos < self.back.len() {
            let n = n.min(self.back.len() - self.back_pos);
            self.track
                .note(&self.back[self.back_pos..self.back_pos + n]);
            self.back_pos += n;
            return;
        }
        let n = match self.inner.fill_buf() {
            Ok(buf) => {
                let n = n.min(buf.len());
                self.track.note(&buf[..n]);
                n
            }
            Err(_) => 0,
        };
        self.inner.consume(n);
    }
}

/// Skip whitespace (and commas between concatenated values, which some tools
/// write) and return the next byte without consuming it; `None` at the end.
fn skip_whitespace<R: BufRead>(reader: &mut R) -> std::io::Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let skip = buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == b',')
            .count();
        if skip < buf.len() {
            let b = buf[skip];
            reader.consume(skip);
            return Ok(Some(b));
        }
        let n = buf.len();
        reader.consume(n);
    }
}

fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!("cut short ({e})"),
        Category::Io => format!("cannot read ({e})"),
        _ => e.to_string(),
    }
}

/// Counts records and turns a fatal parse error into the right outcome.
struct State<'a> {
    emit: &'a mut dyn FnMut(Item),
    /// Elements seen (studies and non-studies), for "record N" in messages.
    records: usize,
    /// Studies handed on.
    trials: usize,
}

impl State<'_> {
    /// A stream that breaks after some studies were read keeps them and warns;
    /// one that breaks before any is a malformed file.
    fn fail(&mut self, reason: String) -> Result<(), SkipReason> {
        if self.trials == 0 {
            Err(SkipReason::Malformed(format!("JSON: {reason}")))
        } else {
            (self.emit)(Item::Warning(format!(
                "after record {}: {reason}; the rest of the file was not read",
                self.records
            )));
            Ok(())
        }
    }
}

/// Streams the elements of an array of studies.
struct StudiesSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for StudiesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StudiesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of studies")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(ElementSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One element of a studies array: a study object, or something to warn about.
struct ElementSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a study object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        TopSeed(self.0).visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_a_study()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_a_study()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_study()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_a_study()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_a_study()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_study()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_a_study()
    }
}

impl ElementSeed<'_, '_> {
    fn not_a_study<E>(self) -> Result<(), E> {
        self.0.records += 1;
        let n = self.0.records;
        (self.0.emit)(Item::Warning(format!("record {n}: not a study object")));
        Ok(())
    }
}

/// A top-level object: a study (it has `protocolSection`), an API page (it has
/// `studies`), or both read in one pass, key by key.
struct TopSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a study object or an API page")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut protocol: Option<Protocol> = None;
        let mut derived = Derived::default();
        let mut was_page = false;
        while let Some(key) = map.next_key::<Text>()? {
            match key.0.as_deref() {
                Some("protocolSection") => {
                    protocol = Some(map.next_value::<Obj<Protocol>>()?.0);
                }
                Some("derivedSection") => derived = map.next_value::<Obj<Derived>>()?.0,
                Some("studies") => {
                    was_page = true;
                    map.next_value_seed(StudiesOrNothing(&mut *self.0))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match protocol {
            Some(p) => {
                self.0.records += 1;
                let n = self.0.records;
                // A phase that is no phase ("PHASE7") is dropped like any
                // impossible value, but said so: silently losing it hides
                // a damaged download.
                let unknown_phases: Vec<String> = p
                    .design_module
                    .0
                    .phases
                    .0
                    .iter()
                    .filter_map(Text::get)
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && parse_phases(s).is_empty())
                    .map(str::to_string)
                    .collect();
                let t = convert(p, derived);
                // Without an id or a title a record cannot be found, shown or
                // merged; indexing it would only add an empty `TS-` trial.
                if t.nct_id.is_none() && t.title.is_none() && t.official_title.is_none() {
                    (self.0.emit)(Item::Warning(format!(
                        "record {n}: study without an NCT id or a title; not indexed"
                    )));
                } else {
                    for ph in unknown_phases {
                        let ph: String = ph.chars().take(40).collect();
                        (self.0.emit)(Item::Warning(format!(
                            "record {n}: phase {ph:?} is not a phase; dropped"
                        )));
                    }
                    self.0.trials += 1;
                    (self.0.emit)(Item::Trial(Box::new(t)));
                }
            }
            None if was_page => {}
            None => {
                self.0.records += 1;
                let n = self.0.records;
                (self.0.emit)(Item::Warning(format!(
                    "record {n}: object without protocolSection; not a study"
                )));
            }
        }
        Ok(())
    }
}

/// A page's `studies` value: streamed when it is an array, ignored otherwise.
struct StudiesOrNothing<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for StudiesOrNothing<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StudiesOrNothing<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of studies")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        StudiesSeed(self.0).visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Lenient value types: each accepts any JSON value and keeps what fits, so a
// wrong type inside one study never aborts the stream.

/// Drain a container whose contents are not wanted.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Any scalar as text; containers and `null` are absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Text(pub Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
                drain_seq(seq).map(|_| Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                drain_map(map).map(|_| Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text {
    fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// A non-negative count: a number, or a string of digits.
#[derive(Debug, Default, Clone, Copy)]
struct Count(Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Text::deserialize(d)?;
        Ok(Count(t.get().and_then(|s| {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e15)
                    .map(|f| f.round() as u64)
            })
        })))
    }
}

/// A yes/no: a boolean, or "true"/"yes"/"false"/"no".
#[derive(Debug, Default, Clone, Copy)]
struct Flag(Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Text::deserialize(d)?;
        Ok(Flag(t.get().and_then(
            |s| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" => Some(true),
                "false" | "no" | "n" => Some(false),
                _ => None,
            },
        )))
    }
}

/// An object read into `T` (whose fields are lenient); anything else is `T::default()`.
#[derive(Debug, Default)]
struct Obj<T>(T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
                drain_seq(seq).map(|_| Obj(T::default()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Obj<T>, E> {
                Ok(Obj(T::default()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A list of lenient `T`s; a lone object or scalar counts as a list of one.
#[derive(Debug)]
struct List<T>(Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<T>()? {
                    out.push(x);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|x| List(vec![x]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<List<T>, E> {
                use de::IntoDeserializer;
                let d: de::value::StrDeserializer<'_, E> = v.into_deserializer();
                Ok(List(T::deserialize(d).ok().into_iter().collect()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------
// The modules we read. Field names follow the API v2 schema; everything else
// in a study is skipped by serde without being built.

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Protocol {
    identification_module: Obj<Identification>,
    status_module: Obj<StatusModule>,
    sponsor_collaborators_module: Obj<Sponsors>,
    description_module: Obj<Description>,
    conditions_module: Obj<Conditions>,
    design_module: Obj<DesignModule>,
    arms_interventions_module: Obj<Arms>,
    outcomes_module: Obj<Outcomes>,
    eligibility_module: Obj<Eligibility>,
    contacts_locations_module: Obj<ContactsLocations>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Identification {
    nct_id: Text,
    org_study_id_info: Obj<IdInfo>,
    secondary_id_infos: List<Obj<IdInfo>>,
    nct_id_aliases: List<Text>,
    acronym: Text,
    brief_title: Text,
    official_title: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IdInfo {
    id: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DateStruct {
    date: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusModule {
    overall_status: Text,
    why_stopped: Text,
    start_date_struct: Obj<DateStruct>,
    completion_date_struct: Obj<DateStruct>,
    study_first_post_date_struct: Obj<DateStruct>,
    last_update_post_date_struct: Obj<DateStruct>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Named {
    name: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Sponsors {
    lead_sponsor: Obj<Named>,
    collaborators: List<Obj<Named>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Description {
    brief_summary: Text,
    detailed_description: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Conditions {
    conditions: List<Text>,
    keywords: List<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DesignModule {
    study_type: Text,
    phases: List<Text>,
    design_info: Obj<DesignInfo>,
    enrollment_info: Obj<EnrollmentInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct DesignInfo {
    allocation: Text,
    intervention_model: Text,
    primary_purpose: Text,
    masking_info: Obj<MaskingInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MaskingInfo {
    masking: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnrollmentInfo {
    count: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Arms {
    interventions: List<Obj<InterventionJson>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct InterventionJson {
    #[serde(rename = "type")]
    kind: Text,
    name: Text,
    other_names: List<Text>,
    description: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Outcomes {
    primary_outcomes: List<Obj<Measure>>,
    secondary_outcomes: List<Obj<Measure>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Measure {
    measure: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Eligibility {
    eligibility_criteria: Text,
    sex: Text,
    minimum_age: Text,
    maximum_age: Text,
    healthy_volunteers: Flag,
    std_ages: List<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContactsLocations {
    locations: List<Obj<LocationJson>>,
    /// A nonstandard key one real download uses for the same list.
    #[serde(rename = "locations_nested")]
    locations_nested: List<Obj<LocationJson>>,
    central_contacts: List<Obj<ContactJson>>,
    overall_officials: List<Obj<ContactJson>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LocationJson {
    facility: Text,
    city: Text,
    state: Text,
    country: Text,
    status: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContactJson {
    name: Text,
    role: Text,
    affiliation: Text,
    email: Text,
    phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Derived {
    condition_browse_module: Obj<Browse>,
    intervention_browse_module: Obj<Browse>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Browse {
    meshes: List<Obj<Term>>,
    ancestors: List<Obj<Term>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Term {
    term: Text,
}

// ---------------------------------------------------------------------------
// Conversion to the shared record.

fn text(t: &Text) -> Option<String> {
    t.get().and_then(clean)
}

fn push(v: &mut Vec<String>, t: &Text) {
    if let Some(s) = text(t) {
        v.push(s);
    }
}

/// A design value in display form; "N/A" is a real answer here (allocation of
/// a single-arm trial), so it is kept, unlike `clean`'s placeholder handling.
pub(crate) fn design_value(s: &str) -> Option<String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("n/a") || s == "NA" {
        return Some("N/A".into());
    }
    // Masking "NONE" is an answer too (open label), not clean's placeholder.
    if s == "NONE" {
        return Some(display_design(s));
    }
    let s = clean(s)?;
    // Only enum names ("SINGLE_GROUP") are translated; a value already in
    // display form ("Non-Randomized", "None (Open Label)") is kept as written,
    // since display_enum would lower-case its inner capitals.
    if s.chars().any(|c| c.is_lowercase()) {
        Some(s)
    } else {
        Some(display_design(&s))
    }
}

/// The age-group words ClinicalTrials.gov uses, from an enum ("OLDER_ADULT")
/// or a display name ("Older Adult").
pub(crate) fn age_group(s: &str) -> Option<String> {
    match s.trim().to_ascii_lowercase().replace('_', " ").as_str() {
        "child" => Some("Child".into()),
        "adult" => Some("Adult".into()),
        "older adult" => Some("Older Adult".into()),
        _ => None,
    }
}

/// A site's status in the display form the XML and the overall status use
/// ("Not yet recruiting", not display_enum's "Not Yet Recruiting").
pub(crate) fn site_status(s: &str) -> String {
    parse_status(s)
        .map(|st| st.as_str().to_string())
        .unwrap_or_else(|| display_enum(s))
}

fn convert(p: Protocol, d: Derived) -> Trial {
    let mut t = Trial::default();
    let id = &p.identification_module.0;
    t.nct_id = text(&id.nct_id);
    push(&mut t.secondary_ids, &id.org_study_id_info.0.id);
    for s in &id.secondary_id_infos.0 {
        push(&mut t.secondary_ids, &s.0.id);
    }
    for a in &id.nct_id_aliases.0 {
        push(&mut t.secondary_ids, a);
    }
    t.acronym = text(&id.acronym);
    t.title = text(&id.brief_title);
    t.official_title = text(&id.official_title);

    let st = &p.status_module.0;
    t.status = st.overall_status.get().and_then(parse_status);
    t.why_stopped = text(&st.why_stopped);
    let date = |d: &Obj<DateStruct>| d.0.date.get().and_then(parse_date);
    t.start_date = date(&st.start_date_struct);
    t.completion_date = date(&st.completion_date_struct);
    t.first_posted = date(&st.study_first_post_date_struct);
    t.last_updated = date(&st.last_update_post_date_struct);

    let sp = &p.sponsor_collaborators_module.0;
    t.sponsor = text(&sp.lead_sponsor.0.name);
    for c in &sp.collaborators.0 {
        push(&mut t.collaborators, &c.0.name);
    }

    let ds = &p.description_module.0;
    t.summary = ds.brief_summary.get().and_then(clean_block);
    t.description = ds.detailed_description.get().and_then(clean_block);

    let cm = &p.conditions_module.0;
    for c in &cm.conditions.0 {
        push(&mut t.conditions, c);
    }
    for k in &cm.keywords.0 {
        push(&mut t.keywords, k);
    }

    let dm = &p.design_module.0;
    t.study_type = dm.study_type.get().and_then(parse_study_type);
    for ph in &dm.phases.0 {
        if let Some(s) = ph.get() {
            t.phases.extend(parse_phases(s));
        }
    }
    let di = &dm.design_info.0;
    t.design.allocation = di.allocation.get().and_then(design_value);
    t.design.model = di.intervention_model.get().and_then(design_value);
    t.design.masking = di.masking_info.0.masking.get().and_then(design_value);
    t.design.purpose = di.primary_purpose.get().and_then(design_value);
    t.enrollment = dm.enrollment_info.0.count.0;

    for i in &p.arms_interventions_module.0.interventions.0 {
        let i = &i.0;
        let Some(name) = text(&i.name) else { continue };
        let mut other_names = Vec::new();
        for o in &i.other_names.0 {
            push(&mut other_names, o);
        }
        t.interventions.push(Intervention {
            kind: i.kind.get().and_then(intervention_type),
            name,
            other_names,
            description: i.description.get().and_then(clean_block),
        });
    }

    let om = &p.outcomes_module.0;
    for m in om.primary_outcomes.0.iter().chain(&om.secondary_outcomes.0) {
        push(&mut t.outcomes, &m.0.measure);
    }

    let el = &p.eligibility_module.0;
    if let Some(c) = el.eligibility_criteria.get() {
        let (inc, exc) = split_criteria(c);
        t.inclusion_criteria = inc;
        t.exclusion_criteria = exc;
    }
    t.sex = el.sex.get().and_then(parse_sex);
    t.min_age_years = el.minimum_age.get().and_then(parse_age);
    t.max_age_years = el.maximum_age.get().and_then(parse_age);
    t.healthy_volunteers = el.healthy_volunteers.0;
    for a in &el.std_ages.0 {
        if let Some(g) = a.get().and_then(age_group) {
            t.age_groups.push(g);
        }
    }

    let cl = &p.contacts_locations_module.0;
    for l in cl.locations.0.iter().chain(&cl.locations_nested.0) {
        let l = &l.0;
        let loc = Location {
            facility: text(&l.facility),
            city: text(&l.city),
            state: text(&l.state),
            country: l.country.get().and_then(normalize_country),
            status: text(&l.status).map(|s| site_status(&s)),
        };
        if loc != Location::default() {
            t.locations.push(loc);
        }
    }
    let contact = |c: &ContactJson| {
        Some(Contact {
            name: text(&c.name)?,
            role: text(&c.role).map(|r| display_enum(&r)),
            affiliation: text(&c.affiliation),
            email: text(&c.email),
            phone: text(&c.phone),
        })
    };
    t.contacts = cl
        .central_contacts
        .0
        .iter()
        .filter_map(|c| contact(&c.0))
        .collect();
    t.officials = cl
        .overall_officials
        .0
        .iter()
        .filter_map(|c| contact(&c.0))
        .collect();

    let terms = |v: &List<Obj<Term>>| {
        let mut out = Vec::new();
        for x in &v.0 {
            push(&mut out, &x.0.term);
        }
        out
    };
    t.condition_mesh = terms(&d.condition_browse_module.0.meshes);
    t.condition_mesh_ancestors = terms(&d.condition_browse_module.0.ancestors);
    t.intervention_mesh = terms(&d.intervention_browse_module.0.meshes);
    t.intervention_mesh_ancestors = terms(&d.intervention_browse_module.0.ancestors);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> (Vec<Trial>, Vec<String>, Result<(), SkipReason>) {
        let mut trials = Vec::new();
        let mut warnings = Vec::new();
        let r = read(s.as_bytes(), &Limits::default(), &mut |item| match item {
            Item::Trial(t) => trials.push(*t),
            Item::Warning(w) => warnings.push(w),
        });
        (trials, warnings, r)
    }

    const STUDY: &str = r#"{"protocolSection":{"identificationModule":{"nctId":"NCT00000001","briefTitle":"A"},"designModule":{"phases":["PHASE1","PHASE2"],"enrollmentInfo":{"count":"12"}},"eligibilityModule":{"minimumAge":"6 Months","stdAges":["CHILD","OLDER_ADULT"]}}}"#;

    #[test]
    fn wrong_types_drop_the_value_not_the_study() {
        let s = r#"[{"protocolSection":{"identificationModule":{"nctId":"NCT00000002","briefTitle":["x"]},"statusModule":"oops","designModule":{"phases":"PHASE3","enrollmentInfo":{"count":null}}}}, 5, {"x":1}]"#;
        let (t, w, r) = read_str(s);
        assert!(r.is_ok());
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].nct_id.as_deref(), Some("NCT00000002"));
        assert_eq!(t[0].title, None);
        assert_eq!(t[0].phases, vec![crate::trial::Phase::Phase3]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("record 2:"));
    }

    #[test]
    fn values_convert() {
        let (t, _, r) = read_str(STUDY);
        assert!(r.is_ok());
        assert_eq!(t[0].enrollment, Some(12));
        assert_eq!(t[0].min_age_years, Some(0.5));
        assert_eq!(t[0].age_groups, vec!["Child", "Older Adult"]);
        assert_eq!(t[0].phases.len(), 2);
        assert_eq!(site_status("NOT_YET_RECRUITING"), "Not yet recruiting");
        assert_eq!(design_value("NONE").as_deref(), Some("None (Open Label)"));
        assert_eq!(design_value("NA").as_deref(), Some("N/A"));
        assert_eq!(
            design_value("Non-Randomized").as_deref(),
            Some("Non-Randomized")
        );
        assert_eq!(
            design_value("SINGLE_GROUP").as_deref(),
            Some("Single Group Assignment")
        );
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        // Unclosed: a clean "cut short", no stack overflow.
        let deep = "[".repeat(10_000);
        let (t, _, r) = read_str(&deep);
        assert!(t.is_empty());
        match r {
            Err(SkipReason::Malformed(m)) => assert!(m.contains("cut short"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Closed: valid JSON, but not a study.
        let closed = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let (t, _, r) = read_str(&closed);
        assert!(t.is_empty());
        assert!(matches!(r, Err(SkipReason::Malformed(_))), "{r:?}");
        // Deep inside a study's field, after a good study: the good one stays.
        let inside = format!(
            "[{STUDY}, {{\"protocolSection\":{{\"identificationModule\":{{\"nctId\":{}}}}}}}]",
            "[".repeat(10_000) + &"]".repeat(10_000)
        );
        let (t, w, r) = read_str(&inside);
        assert!(r.is_ok(), "{r:?}");
        // The deep value was dropped, which leaves a study with no id or
        // title: warned about, not indexed as an empty trial.
        assert_eq!(t.len(), 1, "{w:?}");
        assert!(w[0].contains("without an NCT id or a title"), "{w:?}");
        // Deep through the typed modules is stopped by serde_json's recursion limit.
        let typed = format!("[{STUDY}, {}", "{\"protocolSection\":".repeat(200));
        let (t, w, r) = read_str(&typed);
        assert!(r.is_ok());
        assert_eq!(t.len(), 1);
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn impossible_phase_is_dropped_with_a_warning() {
        let s = STUDY.replace("\"PHASE2\"", "\"PHASE7\"");
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok());
        assert_eq!(t[0].phases, vec![crate::trial::Phase::Phase1]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("\"PHASE7\" is not a phase"), "{w:?}");
    }

    #[test]
    fn a_broken_ndjson_line_costs_only_that_line() {
        let one = |n: u32| STUDY.replace("NCT00000001", &format!("NCT0000000{n}"));
        let s = format!(
            "{}\n{{\"protocolSection\": {{\"x\": tru}}}}\n{}\n{{\"a\": \"bro\nken\"}}\n{}\n{{\"a\" 1}}\n{}\n",
            one(1),
            one(2),
            one(3),
            one(4)
        );
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok(), "{r:?}");
        let ids: Vec<_> = t.iter().filter_map(|t| t.nct_id.as_deref()).collect();
        assert_eq!(
            ids,
            ["NCT00000001", "NCT00000002", "NCT00000003", "NCT00000004"],
            "{w:?}"
        );
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].starts_with("record 2:") && w[0].contains("skipped to the next line"));
        // The first line broken: the rest is still read.
        let s = format!("{{\"oops\": [1, }}\n{}\n", one(5));
        let (t, w, r) = read_str(&s);
        assert!(r.is_ok(), "{r:?} {w:?}");
        assert_eq!(t.len(), 1);
        // A pretty-printed object broken in the middle is still malformed.
        let (t, _, r) = read_str("{\n  \"protocolSection\": {\n    \"x\": tru\n  }\n}\n");
        assert!(t.is_empty());
        assert!(matches!(r, Err(SkipReason::Malformed(_))), "{r:?}");
    }

    #[test]
    fn garbage_is_malformed() {
        for s in ["{", "[1,", "{\"a\": tru}", "x", "[]", "{}"] {
            let (t, _, r) = read_str(s);
            assert!(t.is_empty());
            assert!(matches!(r, Err(SkipReason::Malformed(_))), "{s}: {r:?}");
        }
    }
}
