//! Test helpers: a scrubbed `trialsearch` command and temporary indexes.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under tests/data.
pub fn data(p: &str) -> PathBuf {
    root().join("tests/data").join(p)
}

/// `trialsearch` with an environment that cannot leak into the output.
pub fn ts() -> Command {
    let mut c = Command::cargo_bin("trialsearch").expect("binary built");
    c.env_remove("NO_COLOR")
        .env_remove("TRIALSEARCH_INDEX")
        .env_remove("TRIALSEARCH_ABORT_AFTER")
        .current_dir(root());
    c
}

/// `trialsearch --index DIR ...`.
pub fn ts_at(index: &Path) -> Command {
    let mut c = ts();
    c.arg("--index").arg(index);
    c
}

/// A temporary index built from `paths`.
pub struct TestIndex {
    pub dir: tempfile::TempDir,
}

impl TestIndex {
    pub fn build(paths: &[PathBuf]) -> TestIndex {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = ts_at(&dir.path().join("index"));
        c.arg("index").arg("--quiet");
        for p in paths {
            c.arg(p);
        }
        c.assert().success();
        TestIndex { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("index")
    }

    pub fn cmd(&self) -> Command {
        ts_at(&self.path())
    }

    /// Run `query ARGS --json` and decode the object.
    pub fn query_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd()
            .arg("query")
            .args(args)
            .arg("--json")
            .output()
            .expect("runs");
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "query {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("query --json prints one JSON object")
    }
}

/// The ids of a `query --json` answer, in order.
pub fn ids(v: &serde_json::Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}
