//! `dispr`: predict the 3D shape of a cell from a 2D microscopy image.
//!
//! This file only wires the command line to the commands: parse flags, run, and turn
//! any failure into one line on stderr and a non-zero exit (1 for bad input or a failed
//! run, 2 for a bad flag, as clap reports it or as the library finds it).

mod cli;
mod commands;
mod output;
mod preview;
mod progress;
mod report;
mod reproduce;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    // A bug must not print a stack trace at a user: one line, and a plea to report it.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error{place}: {} (this is a bug in dispr; please report it)",
            message.replace('\n', " ")
        );
    }));
    let cli = parse_command_line();
    output::set_verbosity(match (cli.quiet, cli.verbose) {
        (true, _) => output::Verbosity::Quiet,
        (_, true) => output::Verbosity::Verbose,
        _ => output::Verbosity::Normal,
    });
    if let Some(threads) = cli.threads {
        // The first use of rayon's global pool fixes its size; nothing has run yet.
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.into())
            .build_global()
        {
            eprintln!("error: --threads {threads}: {e}");
            std::process::exit(1);
        }
    }
    if let Err(err) = commands::run(cli) {
        if output::is_broken_pipe(&err) {
            std::process::exit(0);
        }
        eprintln!("error: {}", one_line(&err));
        std::process::exit(if is_bad_setting(&err) { 2 } else { 1 });
    }
}

/// True when the failure is a flag that has no meaning here, found only once the model
/// was read (e.g. `--eta` for a model whose own sampler is DDPM): exit 2, as for a flag
/// that clap refuses.
fn is_bad_setting(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<dispr_nn::Error>(),
            Some(dispr_nn::Error::BadSetting(_))
        )
    })
}

/// The error and its causes on one line, `outer: inner`, without repeating a cause the
/// outer message already contains.
fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text.replace('\n', " ")
}

/// Parses the command line; `dispr features --help` lists every feature with its
/// definition, from the one table that also names the CSV columns.
fn parse_command_line() -> cli::Cli {
    let mut table = String::from(
        "Features (in µm when every shape's voxels are cubes of known size, else in voxels;\n\
         the columns of features with a dimension carry its unit, e.g. volume_um3):\n",
    );
    for (name, _, definition) in dispr_core::experiment::features::FEATURES {
        table.push_str(&format!("  {name:<28} {definition}\n"));
    }
    let command = cli::Cli::command().mut_subcommand("features", |c| c.after_long_help(table));
    let matches = command.get_matches();
    cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
