//! The one error type of the core: every failure names the file (or folder) it is about
//! and says what is wrong in one line, so the CLI can print it as is.

use std::fmt;
use std::path::{Path, PathBuf};

/// A failure tied to a path: `PATH: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file or folder the problem is about.
    pub path: PathBuf,
    /// What is wrong, one line, lower case, no trailing period.
    pub problem: String,
}

impl Error {
    /// An error about `path`.
    pub fn new(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for Error {}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Describes an I/O error in words a user understands (no "os error 2").
pub fn describe_io(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "not found".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::UnexpectedEof => "file ends early (truncated)".into(),
        ErrorKind::IsADirectory => "is a folder, not a file".into(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_lowercase(),
                None => text,
            }
        }
    }
}
