//! In-process query latency: open an index once, then time each query of a
//! list N times (top 10, snippets and status/phase facets, as `query` does),
//! and print per-query medians and the overall p50/p99 in milliseconds.
//!
//! ```text
//! cargo run --release --example querybench -- --index DIR --runs 50 "msc sepsis" "phase 3 knee osteoarthritis"
//! cargo run --release --example querybench -- --index DIR --file bench/queries.txt
//! ```
//!
//! Why an example and not a hidden CLI flag: the benchmark must not change
//! the CLI, and the one-shot latency (process start to output) is measured
//! separately by `bench/run.sh` with the real binary.

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::time::Instant;
use trialsearch::index::IndexDir;
use trialsearch::search::{Request, Searcher};

// The allocator the `trialsearch` binary ships with (src/alloc.rs), left on
// glibc's malloc as `query` leaves it, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: trialsearch::alloc::Allocator = trialsearch::alloc::Allocator::new();

#[derive(Parser, Debug)]
#[command(about = "Time queries on an opened trialsearch index")]
struct Args {
    /// The index directory.
    #[arg(long)]
    index: PathBuf,
    /// Timed runs per query (after one warm-up run).
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// A file with one query per line (blank lines and `#` lines ignored).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Queries.
    queries: Vec<String>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut queries = args.queries.clone();
    if let Some(f) = &args.file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        queries.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    let t0 = Instant::now();
    let s = Searcher::open(&IndexDir::new(&args.index))?;
    let open_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut all = Vec::new();
    let mut per_query = Vec::new();
    for q in &queries {
        let req = Request {
            text: q.clone(),
            ..Default::default()
        };
        let total = s.search(&req)?.total;
        let mut times = Vec::with_capacity(args.runs);
        for _ in 0..args.runs.max(1) {
            let t = Instant::now();
            let r = s.search(&req)?;
            std::hint::black_box(&r);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        all.extend(&times);
        times.sort_by(f64::total_cmp);
        per_query.push((q.clone(), total, pct(&times, 0.5)));
    }
    all.sort_by(f64::total_cmp);
    if args.json {
        let v = serde_json::json!({
            "open_ms": open_ms,
            "p50_ms": pct(&all, 0.5),
            "p99_ms": pct(&all, 0.99),
            "queries": per_query.iter().map(|(q, n, m)| serde_json::json!({"query": q, "total": n, "median_ms": m})).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        println!("open: {open_ms:.2} ms");
        for (q, n, m) in &per_query {
            println!("{m:>8.3} ms  {n:>7} hits  {q}");
        }
        println!(
            "all: p50 {:.3} ms, p99 {:.3} ms over {} runs",
            pct(&all, 0.5),
            pct(&all, 0.99),
            all.len()
        );
    }
    Ok(())
}
