//! Stage 6, render: search results and records → text for people
//! ([`text`]), JSON for programs ([`json`]), and CSV/TSV rows ([`table`]).

pub mod json;
pub mod table;
pub mod text;

/// Whether to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Resolve against the environment: `NO_COLOR` (non-empty) and whether
    /// stdout is a terminal.
    pub fn resolve(self, stdout_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}
