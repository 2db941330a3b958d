//! `dispr baseline cylinder|ellipsoid|nearest`: shapes that need no training.

use anyhow::bail;
use dispr_core::baseline::nearest::{self, References};
use dispr_core::baseline::{Baseline, depth_of, predict_dataset};
use dispr_core::data::dataset::Dataset;
use dispr_core::io::outdir::same_path;
use dispr_core::io::prediction_dir::PredictionDir;

use crate::cli::BaselineArgs;
use crate::output::print;
use crate::progress;

/// Runs `dispr baseline`.
pub fn run(args: &BaselineArgs) -> anyhow::Result<()> {
    if args.kind == "nearest" {
        return run_nearest(args);
    }
    let baseline: Baseline = args.kind.parse().map_err(anyhow::Error::msg)?;
    let dataset = super::open_dataset(&args.data)?;
    let out = lock_output(args)?;
    let depth = match args.depth {
        Some(d) => d as usize,
        None => depth_of(&dataset)?,
    };
    let bar = progress::bar(dataset.cells.len(), "cells");
    bar.set_message(baseline.name());
    let failures = predict_dataset(baseline, &dataset, depth, &out, &|| bar.inc(1));
    bar.finish_and_clear();
    report(args, &dataset, &failures, &format!("({depth} slices deep)"))
}

/// Refuses an output folder that is (or holds) an input, and locks it for this run.
fn lock_output(args: &BaselineArgs) -> anyhow::Result<PredictionDir> {
    let mut inputs = vec![args.data.as_path()];
    inputs.extend(args.reference.as_deref());
    Ok(PredictionDir::create(&args.out, &inputs)?)
}

/// Prints what was written and fails if any cell failed.
fn report(
    args: &BaselineArgs,
    dataset: &Dataset,
    failures: &[dispr_core::Error],
    detail: &str,
) -> anyhow::Result<()> {
    for f in failures {
        eprintln!("error: {f}");
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} cells failed; {} wrote nothing for them",
            failures.len(),
            dataset.cells.len(),
            args.kind
        );
    }
    print(&format!(
        "wrote {} {} shapes {detail} to {}\n",
        dataset.cells.len(),
        args.kind,
        args.out.display()
    ))?;
    Ok(())
}

/// `dispr baseline nearest`: the retrieval baseline ([`dispr_core::baseline::nearest`]).
fn run_nearest(args: &BaselineArgs) -> anyhow::Result<()> {
    if args.depth.is_some() {
        bail!("--depth applies to cylinder and ellipsoid; nearest takes the references' depth");
    }
    if let Some(n) = args.samples
        && n > args.k
    {
        bail!(
            "--samples {n} needs at least as many neighbours, but --k is {}",
            args.k
        );
    }
    let dataset = super::open_dataset(&args.data)?;
    let out = lock_output(args)?;
    if args.samples.is_some() {
        let names: Vec<&str> = dataset.cells.iter().map(|c| c.name.as_str()).collect();
        PredictionDir::check_names(&args.data, &names)?;
    }
    let reference_dir = args.reference.as_deref().unwrap_or(&args.data);
    let other = match same_path(reference_dir, &args.data) {
        true => None,
        false => Some(super::open_dataset(reference_dir)?),
    };
    let references = match &other {
        Some(r) => References::Dataset(r),
        None => References::OtherFolds {
            folds: args.folds as usize,
            seed: args.split_seed,
        },
    };
    let k = args.k as usize;
    let bar = progress::bar(dataset.cells.len(), "cells");
    bar.set_message(format!("nearest {k}"));
    let samples = args.samples.map(|n| n as usize);
    let run = nearest::predict_dataset(&dataset, references, k, samples, &out, &|| bar.inc(1));
    bar.finish_and_clear();
    let run = run?;
    let detail = match other {
        None => format!(
            "(k = {k}; references: the other folds of a {}-fold split, seed {})",
            args.folds, args.split_seed
        ),
        Some(_) => format!(
            "(k = {k}; references: {} cells of {})",
            run.references,
            reference_dir.display()
        ),
    };
    report(args, &dataset, &run.failures, &detail)
}
