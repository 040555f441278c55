#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::sources::{detect_page, parse_page, text};
use trialsearch::trial::Format;

fuzz_target!(|data: &[u8]| {
    let s = text::decode_all(data, true);
    let _ = detect_page(&s);
    for f in [
        Format::Ignite,
        Format::Veeva,
        Format::Clinconnect,
        Format::Trialx,
        Format::Generic,
    ] {
        if let Some(mut t) = parse_page(f, &s) {
            let _ = trialsearch::normalize::sanitize(&mut t);
            t.finalize();
        }
    }
});
