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
//!
//! ```
//! use trialsearch::index::{build, IndexDir};
//! use trialsearch::search::{Request, Searcher};
//!
//! let tmp = tempfile::tempdir()?;
//! let pages = tmp.path().join("pages");
//! std::fs::create_dir(&pages)?;
//! std::fs::write(
//!     pages.join("a.txt"),
//!     "Viewing Study NCT06416709\n\nStudy NCT ID: NCT06416709\nStatus: RECRUITING\n\
//!      Brief Title: Stem Cell Treatment for Lung Injury\nSponsor: Cell Energy\n\
//!      Brief Summary: Mesenchymal stem cells for lung injury\nFirst Post: 2024-05-11\n",
//! )?;
//! let dir = IndexDir::new(tmp.path().join("index"));
//! let opts = build::BuildOptions { paths: vec![pages], ..Default::default() };
//! let summary = build::build(&dir, &opts, &mut |_| {})?;
//! assert_eq!(summary.trials, 1);
//!
//! let searcher = Searcher::open(&dir)?;
//! let found = searcher.search(&Request { text: "MSC lung".into(), ..Default::default() })?;
//! assert_eq!(found.hits[0].trial.id, "NCT06416709");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod alloc;
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
