//! Stage 1 adapter: ignite page dumps → [`Trial`]. (Stub: replaced by the real adapter.)

use crate::trial::Trial;

/// Whether `text` follows this site's layout.
pub fn matches(_text: &str) -> bool {
    false
}

/// Extract the trial from a page of this layout.
pub fn parse(_text: &str) -> Option<Trial> {
    None
}
