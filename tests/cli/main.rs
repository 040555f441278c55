//! End-to-end tests of the `trialsearch` binary, in one test crate so there
//! is one link step. Each module builds its own index in a temporary folder.

mod formats;
mod foundation;
mod incremental;
mod quality;
mod reliability;
mod util;
mod ux;
