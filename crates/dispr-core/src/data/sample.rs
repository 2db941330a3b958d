//! Where the real red-blood-cell sample lives, for tests, benchmarks and examples.
//!
//! The sample (108 cells, BSD licence) is not part of the project; it sits at
//! `../shared/data/rbc-sample` beside the checkout, or wherever `DISPR_REAL_SAMPLE`
//! points. Tests that need it call [`real_sample_or_skip`]: they skip with a message
//! when it is absent, except under `CI=true`, where its absence fails the test.

use std::path::PathBuf;

/// Environment variable that overrides the sample's location.
pub const REAL_SAMPLE_ENV: &str = "DISPR_REAL_SAMPLE";

/// Path of the sample relative to the repository root.
pub const REAL_SAMPLE_RELATIVE: &str = "../shared/data/rbc-sample";

/// The real sample's folder, if it can be found (env variable, then beside the
/// repository this crate was built from, then beside the working directory).
pub fn real_sample_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(REAL_SAMPLE_ENV) {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        repo_root.join(REAL_SAMPLE_RELATIVE),
        PathBuf::from(REAL_SAMPLE_RELATIVE),
    ]
    .into_iter()
    .find(|p| p.join("obj").is_dir())
}

/// For tests: the sample's folder, or `None` after printing
/// "skipped: real sample not found". Under `CI=true` a missing sample panics, so that
/// CI can never pass by skipping the real-data tests.
pub fn real_sample_or_skip(test: &str) -> Option<PathBuf> {
    match real_sample_dir() {
        Some(dir) => Some(dir),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{test}: real sample not found at {REAL_SAMPLE_RELATIVE} (required under CI=true)"
            )
        }
        None => {
            // Straight to the stream: the test harness captures eprintln!, and a skip
            // must be visible in `cargo test` output (and to .ci/run).
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{test}: skipped: real sample not found");
            None
        }
    }
}
