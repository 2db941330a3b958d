//! What goes to the terminal: results on standard output (without panicking on a closed
//! pipe, `dispr … | head`), notes and details on standard error as `-q`/`-v` ask.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much a command prints besides its results (the global `-q` / `-v` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Results and errors only.
    Quiet = 0,
    /// Results, progress and notes (skipped cells, fallbacks).
    Normal = 1,
    /// Also details: each cell's time, frequent progress lines in logs.
    Verbose = 2,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets the verbosity for the rest of the run.
pub fn set_verbosity(verbosity: Verbosity) {
    VERBOSITY.store(verbosity as u8, Ordering::Relaxed);
}

/// The verbosity of this run.
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Writes `text` to standard output.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Prints `value` as pretty JSON on standard output (the `--json` summaries).
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    print(&format!("{}\n", serde_json::to_string_pretty(value)?))
}

/// A note on standard error (a skipped cell, a fallback), unless `-q`.
pub fn note(text: &str) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("{text}");
    }
}

/// A detail on standard error, only with `-v`.
pub fn detail(text: &str) {
    if verbosity() >= Verbosity::Verbose {
        eprintln!("{text}");
    }
}

/// True when the error is a closed standard output (the reader went away): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
