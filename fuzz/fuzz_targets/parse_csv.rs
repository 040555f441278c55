#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::sources::ctgov_csv;
use trialsearch::trial::Format;

fuzz_target!(|data: &[u8]| {
    // Behind a real header, so rows are read, not only the header check.
    let mut input = b"NCT Number,Study Title,Study Status,Conditions,Phases,Age,Locations\n".to_vec();
    input.extend_from_slice(data);
    let _ = ctgov_csv::read(std::io::Cursor::new(&input), Format::CtgovCsv, &mut |_| {});
    let _ = ctgov_csv::read(std::io::Cursor::new(data), Format::CtgovCsvClassic, &mut |_| {});
});
