//! `dispr reproduce`: the paper's experiments as one resumable run
//! ([`crate::reproduce`]); this shows its progress and prints the tables.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar};

use crate::cli::ReproduceArgs;
use crate::output::{note, print};
use crate::progress;
use crate::reproduce::{self, Event, Settings};

/// Runs `dispr reproduce`.
pub fn run(args: &ReproduceArgs) -> anyhow::Result<()> {
    let settings = Settings {
        data: args.data.clone(),
        out: args.out.clone(),
        budget: args.budget,
        device: args.device,
        command_line: std::env::args().collect(),
        jobs: args.jobs as usize,
    };
    // A line as each unit starts, and a bar per running unit (steps, evaluations, cells;
    // several with --jobs), drawn together on a terminal.
    let bars = std::sync::Mutex::new(std::collections::HashMap::<usize, ProgressBar>::new());
    let multi = std::io::stderr().is_terminal().then(MultiProgress::new);
    let line = |text: &str| match &multi {
        Some(m) => m.suspend(|| note(text)),
        None => note(text),
    };
    let on_event = |event: Event| match event {
        Event::Started {
            index,
            total,
            description,
            eta,
        } => {
            let eta = eta.map_or(String::new(), |s| {
                format!(" (the run: about {} left)", duration(s))
            });
            line(&format!("[{index}/{total}] {description}{eta}"));
        }
        Event::Progress {
            index,
            done,
            total,
            what,
        } => {
            let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
            let bar = bars.entry(index).or_insert_with(|| {
                let bar = progress::bar(total, what);
                bar.set_message(format!("unit {index}"));
                match &multi {
                    Some(m) => m.add(bar),
                    None => bar,
                }
            });
            bar.set_position(done as u64);
        }
        Event::Finished {
            index,
            description,
            seconds,
        } => {
            if let Some(bar) = bars
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&index)
            {
                bar.finish_and_clear();
            }
            crate::output::detail(&format!("{description}: {seconds:.1} s"));
        }
    };
    if args.budget == reproduce::Budget::Full {
        note(
            "--budget full is the real study: hours on 2 cores (interrupt it at any time; the same command goes on where it stopped). --budget quick runs a small version in about a minute.",
        );
    }
    let finished = reproduce::run(&settings, &on_event)?;
    if finished.kept > 0 {
        note(&format!(
            "kept {} of {} units an earlier run of {} had finished",
            finished.kept,
            finished.units,
            args.out.display()
        ));
    }
    print(&format!(
        "Table 1 (pooled, as the paper):\n\n{}\nFig. 5 (random forest, {} budget):\n\n{}\nreproduce finished in {}; report: {}\n",
        finished.table1,
        args.budget,
        finished.fig5,
        duration(finished.seconds),
        finished.page.display()
    ))
}

/// Seconds as `1 h 05 min`, `4 min 10 s` or `12 s`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}
