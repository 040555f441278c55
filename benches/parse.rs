//! Criterion bench: reading records from the fixture files of `tests/data`
//! (API JSON, legacy XML, CSV export, page dumps), embedded with
//! `include_str!` so the bench needs no files at run time. Throughput is in
//! bytes; records/s = bytes/s ÷ the bytes per record printed at start.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trialsearch::sources::{self, ctgov_csv, ctgov_json, ctgov_xml, Item, Limits};
use trialsearch::trial::Format;

// The allocator the `trialsearch` binary ships with (src/alloc.rs), switched
// to mimalloc as `index` switches it, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: trialsearch::alloc::Allocator = trialsearch::alloc::Allocator::new();

const JSON: &[&str] = &[
    include_str!("../tests/data/ctgov/json/NCT04042844.json"),
    include_str!("../tests/data/ctgov/json/NCT05144971.json"),
    include_str!("../tests/data/ctgov/json/NCT05326516.json"),
    include_str!("../tests/data/ctgov/json/NCT05863234.json"),
    include_str!("../tests/data/ctgov/json/NCT05896215.json"),
];
const XML: &[&str] = &[
    include_str!("../tests/data/ctgov/xml/NCT00739739.xml"),
    include_str!("../tests/data/ctgov/xml/NCT00739908.xml"),
    include_str!("../tests/data/ctgov/xml/NCT05381285.xml"),
    include_str!("../tests/data/ctgov/xml/NCT05482568.xml"),
];
const CSV: &str = include_str!("../tests/data/ctgov/csv/msc-classic-slice.csv");
const PAGES: &[&str] = &[
    include_str!("../tests/data/seeds/000_b98159c7e3ac08a1.txt"),
    include_str!("../tests/data/seeds/001_e2fe424d55c8b684.txt"),
    include_str!("../tests/data/seeds/002_f5081cd50c029928.txt"),
    include_str!("../tests/data/seeds/003_7284cf7870ad5061.txt"),
    include_str!("../tests/data/seeds/004_27b02498670dfb49.txt"),
];

fn count(items: &mut usize) -> impl FnMut(Item) + '_ {
    move |i| {
        if let Item::Trial(t) = i {
            black_box(&t);
            *items += 1;
        }
    }
}

fn bytes(v: &[&str]) -> u64 {
    v.iter().map(|s| s.len() as u64).sum()
}

fn parse(c: &mut Criterion) {
    ALLOCATOR.use_mimalloc();
    let limits = Limits::default();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes(JSON)));
    g.bench_function("ctgov_json (5 studies)", |b| {
        b.iter(|| {
            let mut n = 0;
            for s in JSON {
                let _ = ctgov_json::read(s.as_bytes(), &limits, &mut count(&mut n));
            }
            assert_eq!(n, JSON.len());
        })
    });
    g.throughput(Throughput::Bytes(bytes(XML)));
    g.bench_function("ctgov_xml (4 studies)", |b| {
        b.iter(|| {
            let mut n = 0;
            for s in XML {
                let _ = ctgov_xml::read(s.as_bytes(), &limits, &mut count(&mut n));
            }
            assert_eq!(n, XML.len());
        })
    });
    g.throughput(Throughput::Bytes(CSV.len() as u64));
    g.bench_function("ctgov_csv classic slice", |b| {
        b.iter(|| {
            let mut n = 0;
            let _ = ctgov_csv::read(CSV.as_bytes(), Format::CtgovCsvClassic, &mut count(&mut n));
            assert!(n > 0);
        })
    });
    g.throughput(Throughput::Bytes(bytes(PAGES)));
    g.bench_function("page dumps (5 pages)", |b| {
        b.iter(|| {
            for p in PAGES {
                let f = sources::detect_page(p);
                black_box(sources::parse_page(f, p));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
