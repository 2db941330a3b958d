//! Where the real red-blood-cell sample lives, for benchmarks (`dispr bench` takes it
//! when no data is given).
//!
//! The sample (108 cells, BSD licence) is not part of the project; it sits at
//! `../shared/data/rbc-sample` beside the checkout, or wherever `DISPR_REAL_SAMPLE`
//! points. Tests find it through the `dispr-testkit` crate, which skips (or, under
//! `CI=true`, fails) without it.

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
