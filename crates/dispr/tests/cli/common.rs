//! Helpers shared by the command-line tests: run the binary, read its output, and check
//! that a failure is the clean kind users are promised (exit status, one `error:` line
//! naming the problem, never a panic).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `dispr` with `args`.
pub fn dispr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the dispr binary runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Asserts a clean failure with exit status `code`, no panic, and an `error:` line on
/// stderr holding every one of `needles`; returns that line.
pub fn assert_fails(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(!errors.is_empty(), "no error line in: {stderr}");
    errors
        .iter()
        .rev()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .unwrap_or_else(|| panic!("no error line holds {needles:?}: {stderr}"))
        .to_string()
}

/// Runs `dispr` with `args` and asserts it succeeded; returns its output.
pub fn ok(args: &[&str]) -> Output {
    let out = dispr(args);
    assert!(
        out.status.success(),
        "dispr {args:?} failed: {}",
        text(&out.stderr)
    );
    out
}
