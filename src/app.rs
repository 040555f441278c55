//! The command layer: runs one parsed [`Cli`] command against the library
//! stages and decides the exit status (0: results, 1: none, 2: error).
//! Results go to stdout; progress, warnings and errors to stderr, each line
//! starting with `trialsearch: `.

use crate::cli::{self, Cli, Command, ExportFormat, QueryFormat};
use crate::error::{Error, Result};
use crate::index::build::{self, BuildOptions, Message};
use crate::index::IndexDir;
use crate::render::{self, text::Style, ColorChoice};
use crate::search::{Request, Searcher};
use std::io::{self, IsTerminal, Write};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Something was found / done.
    Found,
    /// Nothing matched.
    NothingFound,
}

/// Print a message on stderr with the program's prefix.
pub fn warn(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "trialsearch: {msg}");
}

fn style(color: ColorChoice) -> Style {
    let tty = io::stdout().is_terminal();
    let width = if tty {
        terminal_size::terminal_size()
            .map(|(w, _)| w.0 as usize)
            .unwrap_or(100)
            .clamp(40, 160)
    } else {
        usize::MAX
    };
    Style {
        color: color.resolve(tty),
        width,
    }
}

/// Errors that mean "stdout went away": not a failure of ours.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            // `query --json` writes through serde_json, whose error wraps
            // the I/O error: `| head -1` printed "Broken pipe" and exited 2.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|je| je.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
            || c.downcast_ref::<csv::Error>().is_some_and(|ce| {
                matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe)
            })
    })
}

/// The one line to print for an error. The library's errors already name
/// their cause (an I/O error's reason is part of the message), so printing
/// the whole chain would say it twice; other errors print their chain.
pub fn error_message(e: &anyhow::Error) -> String {
    match e.downcast_ref::<Error>() {
        Some(err) => err.to_string(),
        None => format!("{e:#}"),
    }
    .replace('\n', " ")
}

/// A command-line mistake as one line, like every other error. `-word`
/// outside quotes is the likely one: the query syntax excludes words that
/// way, but the shell hands `-sepsis` to the option parser, which reads it
/// as `-s -e -p ...`; say how to write it instead.
pub fn usage_error(e: &clap::Error, args: &[String]) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let sub = args.iter().skip(1).find_map(|a| {
        Cli::command()
            .get_subcommands()
            .find(|c| c.get_name() == a)
            .map(|c| c.get_name().to_string())
    });
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(flag)) = e.get(ContextKind::InvalidArg) {
            let word = args
                .iter()
                .skip(1)
                .find(|a| !a.starts_with("--") && a.len() > 2 && a.starts_with(flag.as_str()));
            if let (Some(word), false) = (word, flag.starts_with("--")) {
                let bare = &word[1..];
                return format!(
                    "'{word}' is not an option; to leave out trials with '{bare}', put the whole \
                     query in quotes (\"stem cells {word}\") or write NOT {bare}"
                );
            }
        }
    }
    // clap's message and tips, without the usage block, on one line.
    let rendered = e.render().to_string();
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .map(|l| l.trim_start_matches("error: "))
        .collect();
    let help = match sub {
        Some(s) => format!("trialsearch {s} --help"),
        None => "trialsearch --help".to_string(),
    };
    let mut line = String::new();
    for p in parts {
        if !line.is_empty() {
            // "not provided:" introduces the next part; others are separate.
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(p);
    }
    format!("{line}; see `{help}`")
}

fn query_text(words: &[String]) -> String {
    words.join(" ")
}

/// Run a command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let dir = IndexDir::new(&cli.index);
    let color: ColorChoice = cli.color.into();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let outcome = match cli.command {
        Command::Index(a) => run_index(&dir, a, &mut out)?,
        Command::Query(a) => run_query(&dir, a, color, &mut out)?,
        Command::Show(a) => {
            let s = Searcher::open(&dir)?;
            match s.get(&a.id)? {
                Some(t) if a.json => {
                    serde_json::to_writer_pretty(&mut out, &render::json::trial(&t))?;
                    writeln!(out)?;
                    Outcome::Found
                }
                Some(t) => {
                    render::text::write_trial(&mut out, &t, &style(color))?;
                    Outcome::Found
                }
                None => {
                    warn(&Error::NotFound(a.id.clone()).to_string());
                    Outcome::NothingFound
                }
            }
        }
        Command::Stats(a) => run_stats(&dir, a.json, &mut out)?,
        Command::Facets(a) => {
            let field = cli::parse_facet(&a.field)?;
            let s = Searcher::open(&dir)?;
            let req = Request {
                text: query_text(&a.text),
                filters: a.filters.to_filters()?,
                limit: 1,
                facets: vec![field],
                facet_limit: a.limit,
                snippets: false,
                ..Default::default()
            };
            let r = s.search(&req)?;
            let mut values = r.facets.get(field.name()).cloned().unwrap_or_default();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(a.limit.max(1));
            if a.json {
                let v = serde_json::json!({
                    "field": field.name(),
                    "query": r.query,
                    "total": r.total,
                    "values": values.iter().map(|(v, n)| serde_json::json!({"value": v, "count": n})).collect::<Vec<_>>(),
                });
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else {
                let w = values
                    .iter()
                    .map(|(_, n)| n.to_string().len())
                    .max()
                    .unwrap_or(1);
                for (v, n) in &values {
                    writeln!(out, "{n:>w$}  {v}")?;
                }
            }
            if values.is_empty() {
                Outcome::NothingFound
            } else {
                Outcome::Found
            }
        }
        Command::Export(a) => run_export(&dir, a, &mut out)?,
        Command::Eval(a) => crate::eval::run_eval(&dir, &a, &mut out)?,
        Command::Completions(a) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "trialsearch", &mut out);
            Outcome::Found
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            Outcome::Found
        }
    };
    out.flush()?;
    Ok(outcome)
}

fn run_index(dir: &IndexDir, a: cli::IndexArgs, out: &mut dyn Write) -> Result<Outcome> {
    let opts = BuildOptions {
        paths: a.paths.clone(),
        follow_links: a.follow,
        progress: !a.quiet && io::stderr().is_terminal(),
        full: a.full,
        ..Default::default()
    };
    let mut opts = opts;
    opts.tune_from_env();
    let quiet = a.quiet;
    let summary = build::build(dir, &opts, &mut |m| {
        if quiet {
            return;
        }
        match m {
            Message::Skip(s) => warn(&format!("{}: skipped: {}", s.path, s.reason)),
            Message::Warning(path, w) => warn(&format!("{path}: {w}")),
        }
    })?;
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out).map_err(|e| Error::io("writing", e))?;
    } else {
        let w = |out: &mut dyn Write, s: String| {
            writeln!(out, "{s}").map_err(|e| Error::io("writing", e))
        };
        if summary.up_to_date {
            w(
                out,
                format!(
                    "index is up to date: {} trials from {} files, 0 files re-read ({:.2}s) in {}",
                    summary.trials, summary.files_seen, summary.seconds, summary.index
                ),
            )?;
        } else {
            w(
                out,
                format!(
                    "indexed {} trial{} from {} record{} in {} of {} files ({:.2}s) into {}",
                    summary.trials,
                    if summary.trials == 1 { "" } else { "s" },
                    summary.records.values().sum::<usize>(),
                    if summary.records.values().sum::<usize>() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    summary.files_read,
                    summary.files_seen,
                    summary.seconds,
                    summary.index
                ),
            )?;
            for (f, n) in &summary.records {
                w(out, format!("  {n:>7} records  {f}"))?;
            }
            if !summary.skipped.is_empty() {
                w(
                    out,
                    format!(
                        "  {:>7} skipped  (reasons above; `trialsearch stats` lists them)",
                        summary.skipped.len()
                    ),
                )?;
            }
            if summary.warnings > 0 {
                w(out, format!("  {:>7} warnings", summary.warnings))?;
            }
            if summary.files_cached > 0 {
                w(
                    out,
                    format!(
                        "  {:>7} files re-read (the others unchanged, from the cache)",
                        summary.files_parsed
                    ),
                )?;
            }
            if summary.in_place {
                w(
                    out,
                    format!(
                        "  index updated in place: {} trial{} removed, {} added",
                        summary.trials_removed,
                        if summary.trials_removed == 1 { "" } else { "s" },
                        summary.trials_added
                    ),
                )?;
            }
        }
    }
    if a.strict && !summary.skipped.is_empty() {
        return Err(Error::Input {
            path: a.paths.first().cloned().unwrap_or_default(),
            reason: format!(
                "{} file(s) skipped and --strict was given",
                summary.skipped.len()
            ),
        });
    }
    if summary.trials == 0 {
        warn("no trial records found; the index is empty");
        return Ok(Outcome::NothingFound);
    }
    Ok(Outcome::Found)
}

fn run_query(
    dir: &IndexDir,
    a: cli::QueryArgs,
    color: ColorChoice,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let filters = a.filters.to_filters()?;
    let facets = a
        .facet
        .iter()
        .map(|f| cli::parse_facet(f))
        .collect::<Result<Vec<_>>>()?;
    let s = Searcher::open(dir)?;
    let req = Request {
        text: query_text(&a.text),
        filters,
        limit: a.limit.max(1),
        offset: a.offset,
        sort: a.sort.into(),
        facets,
        explain: a.explain,
        ..Default::default()
    };
    let r = s.search(&req)?;
    let format = if a.json { QueryFormat::Json } else { a.format };
    match format {
        QueryFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &render::json::result(&r))?;
            writeln!(out)?;
        }
        QueryFormat::Csv => render::table::write_hits(out, &r, false)?,
        QueryFormat::Tsv => render::table::write_hits(out, &r, true)?,
        QueryFormat::Text => {
            render::text::write_results(out, &r, &style(color))?;
        }
    }
    Ok(if r.hits.is_empty() {
        Outcome::NothingFound
    } else {
        Outcome::Found
    })
}

/// `export`: records are written as they are loaded, so memory stays flat
/// whatever the number of trials.
fn run_export(dir: &IndexDir, a: cli::ExportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let s = Searcher::open(dir)?;
    let req = Request {
        text: query_text(&a.text),
        filters: a.filters.to_filters()?,
        sort: a.sort.into(),
        snippets: false,
        ..Default::default()
    };
    // A write error (a closed pipe) must stop the walk and keep its kind, so
    // it is carried out of the callback rather than turned into a library error.
    let mut write_err: Option<anyhow::Error> = None;
    let mut keep = |r: anyhow::Result<()>| -> crate::error::Result<()> {
        r.map_err(|e| {
            write_err = Some(e);
            Error::Query("export stopped".into())
        })
    };
    let n = match a.format {
        ExportFormat::Ndjson => s.for_each_matching(&req, |t| {
            keep((|| {
                serde_json::to_writer(&mut *out, &t)?;
                writeln!(out)?;
                Ok(())
            })())
        }),
        ExportFormat::Json => {
            // One record per line inside the array: valid JSON that streams
            // and still diffs line by line.
            write!(out, "[")?;
            let mut first = true;
            let r = s.for_each_matching(&req, |t| {
                keep((|| {
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    first = false;
                    serde_json::to_writer(&mut *out, &t)?;
                    Ok(())
                })())
            });
            if r.is_ok() {
                writeln!(out, "{}]", if first { "" } else { "\n" })?;
            }
            r
        }
        ExportFormat::Csv | ExportFormat::Tsv => {
            let mut wr = render::table::ExportWriter::new(out, a.format == ExportFormat::Tsv)?;
            let r = s.for_each_matching(&req, |t| keep(wr.write(&t).map_err(Into::into)));
            if r.is_ok() {
                wr.finish()?;
            }
            r
        }
    };
    let n = match (n, write_err) {
        (_, Some(e)) => return Err(e),
        (r, None) => r?,
    };
    Ok(if n == 0 {
        Outcome::NothingFound
    } else {
        Outcome::Found
    })
}

fn run_stats(dir: &IndexDir, json: bool, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let s = Searcher::open(dir)?;
    let m = s.meta();
    if json {
        let v = serde_json::json!({
            "index": dir.root().display().to_string(),
            "trials": m.trials,
            "files_seen": m.files_seen,
            "files_read": m.files_read,
            "records": m.records,
            "trials_per_format": m.trials_per_format,
            "fill_rates": m.fill_rates,
            "skipped": m.skipped,
            "warnings": m.warnings,
            "built_by": m.built_by,
        });
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{} trials in {}", m.trials, dir.root().display())?;
        writeln!(
            out,
            "files: {} seen, {} read, {} skipped",
            m.files_seen,
            m.files_read,
            m.skipped.len()
        )?;
        writeln!(out, "\nrecords per format:")?;
        for (f, n) in &m.records {
            writeln!(out, "  {n:>8}  {f}")?;
        }
        writeln!(out, "\ntrials per source format:")?;
        for (f, n) in &m.trials_per_format {
            writeln!(out, "  {n:>8}  {f}")?;
        }
        writeln!(out, "\nfield fill rates:")?;
        for (f, r) in &m.fill_rates {
            let bar = "#".repeat((r * 20.0).round() as usize);
            writeln!(out, "  {f:<20} {:>5.1}%  {bar}", r * 100.0)?;
        }
        if !m.skipped.is_empty() {
            writeln!(out, "\nskipped:")?;
            for sk in &m.skipped {
                writeln!(out, "  {}: {}", sk.path, sk.reason)?;
            }
        }
    }
    Ok(if m.trials > 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
