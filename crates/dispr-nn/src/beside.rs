//! Files kept beside a model file and bound to it by its SHA-256 (its level calibration
//! [`crate::calibration`], its interval calibration [`crate::intervals`]): one way to
//! name, read and check them.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file beside `model_file`: its name with `suffix` appended (e.g.
/// `checkpoint.dispr` → `checkpoint.dispr.calibration.json`).
pub fn file_for(model_file: &Path, suffix: &str) -> PathBuf {
    let mut name = model_file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads and parses the file beside `model_file` with `suffix`, `None` when there is
/// none; a file that cannot be read (`action`, e.g. `cannot read calibration`) or that
/// `parse` refuses is an error naming it.
pub fn read<T>(
    model_file: &Path,
    suffix: &str,
    action: &'static str,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> Result<Option<T>> {
    let path = file_for(model_file, suffix);
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| dispr_core::Error::io(&path, action, e))?;
    parse(&text)
        .map(Some)
        .map_err(|problem| Error::from(dispr_core::Error::new(&path, problem)))
}

/// Refuses a file written for the model of SHA-256 `written_for` when the model is
/// `sha256`: `it` says what the file does (e.g. `calibrates another model`), `command`
/// what makes it anew.
pub fn check_model(
    written_for: &str,
    sha256: &str,
    it: &str,
    command: &str,
) -> std::result::Result<(), String> {
    if written_for == sha256 {
        return Ok(());
    }
    let short = |s: &str| s.chars().take(12).collect::<String>();
    Err(format!(
        "{it} (SHA-256 {}…, this one is {}…); run `{command}` again",
        short(written_for),
        short(sha256)
    ))
}
