//! The one error type of the core: every failure names the file (or folder) it is about
//! and says what is wrong in one line, so the CLI can print it as is; the underlying
//! I/O or TIFF error stays attached as the [`std::error::Error::source`] (shared, so
//! that an error can be cloned into a dataset's list of problems).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong in the core, as `PATH: problem`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read, written, created or removed.
    #[error("{}: {}", path.display(), io_problem(action, source))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done, e.g. `cannot write` (empty: reading).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A TIFF file could not be decoded or encoded.
    #[error("{}: {problem}", path.display())]
    Tiff {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words a user understands.
        problem: String,
        /// The decoder's error.
        #[source]
        source: Arc<tiff::TiffError>,
    },
    /// A file's content, or a folder's layout, is not what dispr needs.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The file or folder the problem is about.
        path: PathBuf,
        /// What is wrong, one line, lower case, no trailing period.
        problem: String,
    },
    /// Settings or inputs that cannot work, not tied to one file.
    #[error("{0}")]
    Settings(String),
}

impl Error {
    /// A problem with the content of `path`.
    pub fn new(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.as_ref().to_path_buf(),
            problem: problem.into(),
        }
    }

    /// An I/O failure on `path` while doing `action` (e.g. `cannot write`; empty when
    /// reading).
    pub fn io(path: impl AsRef<Path>, action: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().to_path_buf(),
            action,
            source: Arc::new(source),
        }
    }

    /// Settings that cannot work, not tied to one file.
    pub fn invalid(problem: impl Into<String>) -> Self {
        Self::Settings(problem.into())
    }

    /// The file or folder the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. } | Self::Tiff { path, .. } | Self::Invalid { path, .. } => {
                Some(path)
            }
            Self::Settings(_) => None,
        }
    }

    /// What is wrong, without the path.
    pub fn problem(&self) -> String {
        match self {
            Self::Io { action, source, .. } => io_problem(action, source),
            Self::Tiff { problem, .. } | Self::Invalid { problem, .. } => problem.clone(),
            Self::Settings(problem) => problem.clone(),
        }
    }
}

/// `action: description` (or the description alone).
fn io_problem(action: &str, source: &std::io::Error) -> String {
    match action {
        "" => describe_io(source),
        _ => format!("{action}: {}", describe_io(source)),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_errors_keep_their_source_and_read_as_one_line() {
        let e = Error::io(
            "a/b.tif",
            "cannot write",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.to_string(), "a/b.tif: cannot write: permission denied");
        assert_eq!(e.problem(), "cannot write: permission denied");
        assert_eq!(e.path(), Some(Path::new("a/b.tif")));
        assert!(e.source().is_some());
        let read = Error::io("x", "", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(read.to_string(), "x: not found");
        assert_eq!(Error::invalid("k must be ≥ 1").to_string(), "k must be ≥ 1");
        assert!(Error::new("d", "empty").source().is_none());
    }
}
