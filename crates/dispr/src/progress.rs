//! Progress on standard error, in one style for every command: a bar on a terminal, and
//! plain lines (done/total, rate, ETA) at most every [`LOG_INTERVAL`] (or every
//! `DISPR_PROGRESS_INTERVAL` seconds) when standard error is a file or a pipe (scripts,
//! CI, SLURM logs), so a log never stays empty for an hour. `-q` hides it; `-v` makes the
//! log lines come every [`VERBOSE_LOG_INTERVAL`].

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::output::{self, Verbosity};

/// The least time between two progress lines in a log, by default.
pub const LOG_INTERVAL: Duration = Duration::from_secs(30);

/// The least time between two progress lines in a log with `-v`.
pub const VERBOSE_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Environment variable that sets the interval between progress lines, in seconds.
pub const LOG_INTERVAL_ENV: &str = "DISPR_PROGRESS_INTERVAL";

fn log_interval() -> Duration {
    std::env::var(LOG_INTERVAL_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(
            if output::verbosity() == Verbosity::Verbose {
                VERBOSE_LOG_INTERVAL
            } else {
                LOG_INTERVAL
            },
            Duration::from_secs_f64,
        )
}

/// A bar counting `len` items of `what` (e.g. "cells").
pub fn bar(len: usize, what: &str) -> ProgressBar {
    if output::verbosity() == Verbosity::Quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {what} ({{elapsed}}, eta {{eta}})"
            ))
            .expect("static template is valid")
            .progress_chars("=> "),
        );
    } else {
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "progress: {{msg}} {{pos}}/{{len}} {what} ({{percent}} %, {{per_sec}}, elapsed {{elapsed}}, eta {{eta}})"
            ))
            .expect("static template is valid"),
        );
        bar.set_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(LogLines {
                interval: log_interval(),
                state: Mutex::new(LogState {
                    line: String::new(),
                    last: Instant::now(),
                }),
            }),
            1,
        ));
    }
    bar
}

/// A [`TermLike`] that turns each redraw of a bar into one plain line on standard error,
/// at most one every `interval` (the first one `interval` after the start, so a quick
/// command prints none).
#[derive(Debug)]
struct LogLines {
    interval: Duration,
    state: Mutex<LogState>,
}

#[derive(Debug)]
struct LogState {
    line: String,
    last: Instant,
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        200
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().expect("progress state");
        state.line.push_str(s);
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        let mut state = self.state.lock().expect("progress state");
        let line = std::mem::take(&mut state.line);
        let line = line.trim();
        let due = state.last.elapsed() >= self.interval;
        if !line.is_empty() && due {
            state.last = Instant::now();
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            writeln!(err, "{line}")?;
        }
        Ok(())
    }
}
