#![no_main]
use libfuzzer_sys::fuzz_target;
use trialsearch::sources::{read_file, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile_dir() else { return };
    let p = dir.join("input");
    if std::fs::write(&p, data).is_ok() {
        let _ = read_file(&p, "input", &Limits::default(), &mut |_| {});
    }
});

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("trialsearch-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
