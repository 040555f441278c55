//! Stage 1 adapter: ctgov_xml → [`Trial`]s, streamed. (Stub.)

use super::{Item, Limits, SkipReason};
use std::io::BufRead;

/// Read every study in `reader`, handing each to `emit`.
pub fn read<R: BufRead>(
    _reader: R,
    _limits: &Limits,
    _emit: &mut dyn FnMut(Item),
) -> Result<(), SkipReason> {
    Ok(())
}
