//! Progress bars on standard error, in one style for every command. They hide
//! themselves when standard error is not a terminal (scripts, CI, SLURM logs).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` items of `what` (e.g. "cells").
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{elapsed}}, eta {{eta}})"
        ))
        .expect("static template is valid")
        .progress_chars("=> "),
    );
    bar
}
