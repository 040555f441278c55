//! The `trialsearch` binary: parse the command line, run it, map the outcome
//! to an exit status (0 results, 1 none, 2 error). Everything else is in the
//! library.

use clap::Parser;
use std::process::ExitCode;
use trialsearch::app::{self, Outcome};
use trialsearch::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(Outcome::Found) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        // `trialsearch query ... | head -1`: the reader left; not an error.
        Err(e) if app::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // `{e}`, not `{e:#}`: every error of ours already ends with its
            // cause, and the alternate form repeated it ("...: stream did
            // not contain valid UTF-8: stream did not contain valid UTF-8").
            app::warn(&format!("{e}"));
            ExitCode::from(2)
        }
    }
}
