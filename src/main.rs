//! The `trialsearch` binary: parse the command line, run it, map the outcome
//! to an exit status (0 results, 1 none, 2 error). Everything else is in the
//! library.

use clap::Parser;
use std::process::ExitCode;
use trialsearch::app::{self, Outcome};
use trialsearch::cli::Cli;

/// glibc's malloc, switched to mimalloc for `index` (src/alloc.rs says why).
#[global_allocator]
static ALLOCATOR: trialsearch::alloc::Allocator = trialsearch::alloc::Allocator::new();

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            // Help and --version are not errors: clap prints them and exits 0.
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            let args: Vec<String> = std::env::args().collect();
            app::warn(&app::usage_error(&e, &args));
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, trialsearch::cli::Command::Index(_)) {
        ALLOCATOR.use_mimalloc();
    }
    match app::run(cli) {
        Ok(Outcome::Found) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        // `trialsearch query ... | head -1`: the reader left; not an error.
        Err(e) if app::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            app::warn(&app::error_message(&e));
            ExitCode::from(2)
        }
    }
}
