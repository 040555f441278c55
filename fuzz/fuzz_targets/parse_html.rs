#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::sources::{detect_page, parse_page, text};

fuzz_target!(|data: &[u8]| {
    let s = text::html_to_text(&String::from_utf8_lossy(data));
    let _ = parse_page(detect_page(&s), &s);
});
