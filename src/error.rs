//! The library's error type: what failed, and where, in words a user can act on.

use std::path::PathBuf;

/// Errors of the library stages. Per-file problems while indexing are not
/// errors (they are [`crate::sources::SkipReason`]s); these stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No index where one was expected.
    #[error(
        "no index at {path}; build one with `trialsearch index corpus/` (or pass --index DIR)"
    )]
    NoIndex {
        /// The directory looked in.
        path: PathBuf,
    },
    /// The index exists but cannot be used.
    #[error("the index at {path} cannot be read ({reason}); rebuild it with `trialsearch index <folders>`")]
    BadIndex {
        /// The index directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another `index` run holds the index directory.
    #[error("another `trialsearch index` is already building {path}; wait for it to finish")]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// The query text could not be understood.
    #[error("bad query: {0}")]
    Query(String),
    /// A filter value is not one of the accepted ones.
    #[error("invalid {flag} value '{value}'; accepted: {accepted}")]
    Filter {
        /// The flag (`--status`).
        flag: &'static str,
        /// What was given.
        value: String,
        /// The accepted values.
        accepted: String,
    },
    /// A file or folder given on the command line cannot be used.
    #[error("{path}: {reason}")]
    Input {
        /// The path as given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No trial has the id given to `show`.
    #[error("no trial with id {0} in the index; search for it with `trialsearch query {0}`")]
    NotFound(String),
    /// An I/O error with what was being done. The reason is a short phrase
    /// ("no such file or folder"), not Rust's `(os error 2)` form.
    #[error("{context}: {}", crate::sources::io_reason(.source))]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error inside tantivy.
    #[error("search engine: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// JSON (de)serialization failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
