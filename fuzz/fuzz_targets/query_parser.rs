#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::search::query::parse;
use trialsearch::search::synonyms::Synonyms;

fuzz_target!(|data: &[u8]| {
    let q = String::from_utf8_lossy(data);
    let _ = parse(&q, Synonyms::builtin());
});
