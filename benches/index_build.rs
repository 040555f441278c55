//! Criterion bench: building an index of a generated ~1,000-study corpus
//! (API JSON, one study a file, from `examples/gencorpus`) in a temporary
//! folder, end to end: walk, read, merge, write, final merge, swap.
//! Throughput is in bytes of raw JSON, so criterion reports MB/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::process::Command;
use trialsearch::index::build::{build, BuildOptions};
use trialsearch::index::IndexDir;

// The allocator the `trialsearch` binary ships with (src/alloc.rs), switched
// to mimalloc as `index` switches it, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: trialsearch::alloc::Allocator = trialsearch::alloc::Allocator::new();

/// Generate the corpus with the gencorpus example, run through cargo once
/// (examples are not built for benches); fall back to the JSON fixtures if
/// that fails, so the bench still runs.
fn corpus(dir: &Path) -> u64 {
    let status = Command::new(env!("CARGO"))
        .args([
            "run",
            "--release",
            "--quiet",
            "--example",
            "gencorpus",
            "--",
        ])
        .args(["--count", "1000", "--format", "json", "--out"])
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ctgov/json");
        for e in std::fs::read_dir(src).into_iter().flatten().flatten() {
            let _ = std::fs::copy(e.path(), dir.join(e.file_name()));
        }
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn index_build(c: &mut Criterion) {
    ALLOCATOR.use_mimalloc();
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("corpus");
    std::fs::create_dir_all(&src).expect("corpus dir");
    let bytes = corpus(&src);
    let mut g = c.benchmark_group("index_build");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    let mut n = 0;
    g.bench_function("1000 JSON studies, full build", |b| {
        b.iter(|| {
            n += 1;
            let dir = IndexDir::new(tmp.path().join(format!("index-{n}")));
            let opts = BuildOptions {
                paths: vec![src.clone()],
                full: true,
                ..Default::default()
            };
            let s = build(&dir, &opts, &mut |_| {}).expect("build");
            assert!(s.trials > 0);
            let _ = std::fs::remove_dir_all(dir.root());
        })
    });
    g.finish();
}

criterion_group!(benches, index_build);
criterion_main!(benches);
