//! dispr-nn's error: a file problem from the core (it names the file), settings that
//! cannot work, or a run that diverged — each one line a user can act on.

use std::path::PathBuf;

/// What went wrong in dispr-nn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written, or is damaged.
    #[error(transparent)]
    File(#[from] dispr_core::Error),
    /// Settings or inputs that cannot work together.
    #[error("{0}")]
    Invalid(String),
    /// A setting the user gave that has no meaning here (a bad flag: `dispr` exits 2).
    #[error("{0}")]
    BadSetting(String),
    /// Every selected cell was in the model's training set.
    #[error("{}: every selected cell was in the model's training set", .0.display())]
    AllTrained(PathBuf),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at step {step}: the loss is {loss}; the last good checkpoint (step {kept}) is kept in {checkpoint}; lower the learning rate and resume"
    )]
    Diverged {
        /// The failing step (1-based).
        step: usize,
        /// The loss value.
        loss: f32,
        /// Step of the checkpoint on disk.
        kept: usize,
        /// Its path.
        checkpoint: String,
    },
}

/// dispr-nn's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<String> for Error {
    fn from(problem: String) -> Self {
        Self::Invalid(problem)
    }
}

impl From<&str> for Error {
    fn from(problem: &str) -> Self {
        Self::Invalid(problem.to_string())
    }
}
