//! Criterion bench: latency of the fixed query list of `bench/queries.txt`
//! (top 10 with snippets and status/phase facets, as `trialsearch query`)
//! on an index of the test fixtures built once in a temporary folder.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use trialsearch::index::build::{build, BuildOptions};
use trialsearch::index::IndexDir;
use trialsearch::search::{Request, Searcher};

// The allocator the `trialsearch` binary ships with (src/alloc.rs), left on
// glibc's malloc as `query` leaves it, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: trialsearch::alloc::Allocator = trialsearch::alloc::Allocator::new();

const QUERIES: &str = include_str!("../bench/queries.txt");

fn query(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = IndexDir::new(tmp.path().join("index"));
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let opts = BuildOptions {
        paths: vec![data],
        ..Default::default()
    };
    build(&dir, &opts, &mut |_| {}).expect("build");
    let s = Searcher::open(&dir).expect("open");
    let queries: Vec<&str> = QUERIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .chain(["msc sepsis", "\"umbilical cord\" ARDS", "NCT05689008"])
        .collect();
    let mut g = c.benchmark_group("query");
    for q in queries {
        let req = Request {
            text: q.to_string(),
            ..Default::default()
        };
        g.bench_function(q, |b| b.iter(|| black_box(s.search(&req).expect("search"))));
    }
    g.finish();
}

criterion_group!(benches, query);
criterion_main!(benches);
