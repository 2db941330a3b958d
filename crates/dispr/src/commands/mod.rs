//! One module per command; [`run`] dispatches.

mod baseline;
mod bench;
mod classify;
mod data;
mod demo;
mod evaluate;
mod features;
mod model;
mod predict;
mod reproduce;
mod shapes;
pub(crate) mod synth;
mod train;

use std::path::Path;

use dispr_core::data::dataset::Dataset;

use crate::cli::{BenchCommand, Cli, Command, DataCommand, ModelCommand};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(DataCommand::Info(args)) => data::info(&args),
        Command::Data(DataCommand::Folds(args)) => data::folds(&args),
        Command::Data(DataCommand::Preview(args)) => data::preview(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Bench(BenchCommand::Synth(args)) => bench::synth(&args),
        Command::Measure(args) => shapes::measure(&args),
        Command::Metrics(args) => shapes::metrics(&args),
        Command::Mesh(args) => shapes::mesh(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Bench(BenchCommand::Metrics(args)) => bench::metrics(&args),
        Command::Bench(BenchCommand::Model(args)) => model::bench(&args),
        Command::Bench(BenchCommand::Throughput(args)) => bench::throughput(&args),
        Command::Model(ModelCommand::Info(args)) => model::info(&args),
        Command::Model(ModelCommand::Export(args)) => model::export(&args),
        Command::Model(ModelCommand::Calibrate(args)) => model::calibrate(&args),
        Command::Model(ModelCommand::Intervals(args)) => model::intervals(&args),
        Command::Train(args) => train::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Merge(args) => predict::merge(&args),
    }
}

/// Scans a dataset for a command that needs every cell: the first problem found is the
/// error, with a pointer to the command that lists them all.
pub(crate) fn open_dataset(dir: &Path) -> anyhow::Result<Dataset> {
    let dataset = Dataset::scan(dir)?;
    if let Some(first) = dataset.problems.first() {
        anyhow::bail!("{first} (run `dispr data info` to list every problem)");
    }
    Ok(dataset)
}
