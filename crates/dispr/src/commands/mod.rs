//! One module per command; [`run`] dispatches.

mod bench;
mod data;

use crate::cli::{BenchCommand, Cli, Command, DataCommand};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(DataCommand::Info(args)) => data::info(&args),
        Command::Data(DataCommand::Folds(args)) => data::folds(&args),
        Command::Bench(BenchCommand::Metrics(args)) => bench::metrics(&args),
    }
}
