//! Helpers for dispr's tests only: a dev-dependency of the crates, never part of their
//! public API.
#![warn(missing_docs)]

use std::path::PathBuf;

use dispr_core::data::sample::{REAL_SAMPLE_RELATIVE, real_sample_dir};

/// The sample's folder, or `None` after printing "skipped: real sample not found".
/// Under `CI=true` a missing sample panics, so that CI can never pass by skipping the
/// real-data tests.
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
