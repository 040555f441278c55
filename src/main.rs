//! The `trialsearch` binary: parse the command line, run it, map the outcome
//! to an exit status (0 results, 1 none, 2 error). Everything else is in the
//! library.

use clap::Parser;
use std::process::ExitCode;
use trialsearch::app::{self, Outcome};
use trialsearch::cli::Cli;

/// mimalloc, not glibc's malloc. A build allocates and frees small strings
/// by the million on every thread at once (parsed records, their JSON,
/// documents handed from the readers to the writer's threads, tokens), and
/// glibc's arenas made that ~7% of its CPU and kept freed memory scattered.
/// With mimalloc a build's user CPU fell by 7–15% (100,000 and 500,000
/// studies), and building the full L (500,000) peaked at 796–841 MB
/// instead of 962–1,020 MB (BENCHMARKS.md). Without transparent huge
/// pages (`no_thp`): mimalloc asks for them on its arenas, and zeroing 2
/// MiB pages cost a short query ~1 ms at start, for no gain in a build.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
