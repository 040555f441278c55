#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::sources::{ctgov_xml, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = ctgov_xml::read(std::io::Cursor::new(data), &Limits::default(), &mut |_| {});
});
