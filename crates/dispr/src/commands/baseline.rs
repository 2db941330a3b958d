//! `dispr baseline cylinder|ellipsoid|nearest`: shapes that need no training.

use anyhow::{Context, bail};
use dispr_core::baseline::nearest::{self, Reference};
use dispr_core::baseline::{Baseline, depth_of, predict_dataset};
use dispr_core::data::dataset::Dataset;
use dispr_core::io::outdir::same_path;
use dispr_core::io::prediction_dir::PredictionDir;
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

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
    failures: &[String],
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
    let k = args.k as usize;
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
    let cross_validated = same_path(reference_dir, &args.data);
    let (reference, folds) = if cross_validated {
        let folds = dataset
            .folds(args.folds as usize, args.split_seed)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.data.display()))?;
        (None, Some(folds))
    } else {
        (Some(super::open_dataset(reference_dir)?), None)
    };
    let ref_set = reference.as_ref().unwrap_or(&dataset);
    if !ref_set.has_shapes() {
        bail!(
            "{}: the reference needs 3D shapes in obj/ for every cell",
            reference_dir.display()
        );
    }
    let all = |d: &Dataset| {
        dispr_nn::pipeline::plan::load_cells(d, &(0..d.cells.len()).collect::<Vec<_>>())
    };
    let queries = all(&dataset)?;
    let ref_cells = match &reference {
        Some(r) => all(r)?,
        None => queries.clone(),
    };
    let references: Vec<Reference> = ref_cells
        .iter()
        .map(|c| Reference {
            name: &c.name,
            mask: &c.mask,
            shape: c.shape.as_ref().expect("reference cells have shapes"),
        })
        .collect();

    let bar = progress::bar(queries.len(), "cells");
    bar.set_message(format!("nearest {k}"));
    let results: Vec<Result<String, String>> = queries
        .par_iter()
        .enumerate()
        .progress_with(bar.clone())
        .map(|(i, cell)| {
            let files = &dataset.cells[i];
            // Cross-validated: only the training folds of the cell's test fold.
            let candidates: Vec<Reference> = match &folds {
                Some(folds) => references
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| folds[j] != folds[i])
                    .map(|(_, r)| *r)
                    .collect(),
                None => references.clone(),
            };
            let (shape, neighbours) = nearest::predict(&cell.name, &cell.mask, &candidates, k)
                .map_err(|p| format!("{}: {p}", files.mask.display()))?;
            let name = &cell.name;
            let written = match args.samples {
                None => out.write_single(name, &shape),
                Some(n) => out.write_samples(
                    name,
                    neighbours
                        .iter()
                        .take(n as usize)
                        .map(|nb| candidates[nb.index].shape),
                ),
            };
            written.map_err(|e| e.to_string())?;
            let row: Vec<String> = neighbours
                .iter()
                .map(|n| format!("{}:{:.4}", candidates[n.index].name, n.iou))
                .collect();
            Ok(format!("{},{}", cell.name, row.join(" ")))
        })
        .collect();
    bar.finish_and_clear();
    let failures: Vec<String> = results.iter().filter_map(|r| r.clone().err()).collect();
    if failures.is_empty() {
        let mut csv = String::from("name,neighbours (name:mask IoU, best first)\n");
        for row in results.iter().flatten() {
            csv.push_str(row);
            csv.push('\n');
        }
        out.write_text("neighbours.csv", &csv)
            .context("cannot write the neighbour list")?;
    }
    let detail = if cross_validated {
        format!(
            "(k = {k}; references: the other folds of a {}-fold split, seed {})",
            args.folds, args.split_seed
        )
    } else {
        format!(
            "(k = {k}; references: {} cells of {})",
            ref_cells.len(),
            reference_dir.display()
        )
    };
    report(args, &dataset, &failures, &detail)
}
