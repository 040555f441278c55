//! Stage 1 adapter: ClinicalTrials.gov CSV exports → [`Trial`]s. (Stub.)

use super::{Item, SkipReason};
use crate::trial::Format;
use std::io::BufRead;

/// Which CSV export a header line is, if any.
pub fn detect_header(text: &str) -> Option<Format> {
    let first = text.lines().next()?;
    if !first.contains("NCT Number") {
        return None;
    }
    if first.contains("Study Title") {
        Some(Format::CtgovCsv)
    } else {
        Some(Format::CtgovCsvClassic)
    }
}

/// Read every row of a CSV export.
pub fn read<R: BufRead>(
    _reader: R,
    _format: Format,
    _emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    Ok(())
}
