//! Stage 1 adapter: pages of unknown layout → [`Trial`]. (Stub.)

use crate::trial::Trial;

/// Extract what can be found in a page of unknown layout.
pub fn parse(text: &str) -> Option<Trial> {
    if text.trim().is_empty() {
        return None;
    }
    Some(Trial {
        other_text: Some(text.to_string()),
        ..Default::default()
    })
}
