//! trialsearch: offline full-text search for clinical-trial records.
//!
//! The pipeline runs in one direction, each stage handing the next a typed value:
//!
//! 1. [`sources`] (read): a file → [`Trial`] records with their [`trial::Source`];
//!    the format is recognised from the content.
//! 2. [`normalize`]: site labels → the vocabularies of [`trial`]; ages → years;
//!    dates → ISO; impossible values dropped.
//! 3. [`merge`]: records of one trial from several files → one [`Trial`].
//! 4. [`index`]: [`Trial`]s → a tantivy index (schema, analyzers, build).
//! 5. [`search`]: query text and filters → [`search::SearchResult`] (hits and facets).
//! 6. [`render`]: results → text for people, JSON for programs.
#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod error;
pub mod eval;
pub mod index;
pub mod merge;
pub mod normalize;
#[cfg(test)]
mod proptests;
pub mod render;
pub mod search;
pub mod sources;
pub mod trial;

pub use error::{Error, Result};
pub use trial::Trial;
