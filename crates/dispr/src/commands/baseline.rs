//! `dispr baseline cylinder|ellipsoid|nearest`: shapes that need no training.

use anyhow::{Context, bail};
use dispr_core::baseline::{Baseline, predict};
use dispr_core::dataset::{Dataset, load_cell};
use dispr_core::fsio::write_text_atomic;
use dispr_core::nearest::{self, Reference};
use dispr_core::outdir::{OutputDir, check_not_input, same_path, sample_name_clash};
use dispr_core::tiff_io::{read_volume, write_shape};
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
        None => match dataset.cells.iter().find_map(|c| c.obj.as_ref()) {
            Some(obj) => read_volume(obj)?.shape()[0],
            None => 64,
        },
    };
    let bar = progress::bar(dataset.cells.len(), "cells");
    bar.set_message(baseline.name());
    let failures: Vec<String> = dataset
        .cells
        .par_iter()
        .progress_with(bar.clone())
        .filter_map(|files| {
            let result = load_cell(files)
                .map_err(|e| e.to_string())
                .and_then(|cell| {
                    let shape = predict(baseline, &cell.mask, depth)
                        .map_err(|p| format!("{}: {p}", files.mask.display()))?;
                    let file = out
                        .file(format!("{}.tif", cell.name))
                        .map_err(|e| e.to_string())?;
                    write_shape(&file, &shape).map_err(|e| e.to_string())?;
                    out.remove_stale_samples(&cell.name, 0)
                        .map_err(|e| e.to_string())
                });
            result.err()
        })
        .collect();
    bar.finish_and_clear();
    report(args, &dataset, &failures, &format!("({depth} slices deep)"))
}

/// Refuses an output folder that is (or holds) an input, and locks it for this run.
fn lock_output(args: &BaselineArgs) -> anyhow::Result<OutputDir> {
    let mut inputs = vec![args.data.as_path()];
    inputs.extend(args.reference.as_deref());
    check_not_input(&args.out, &inputs)?;
    Ok(OutputDir::acquire(&args.out)?)
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

/// `dispr baseline nearest`: the retrieval baseline ([`dispr_core::nearest`]).
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
        if let Some((a, b)) = sample_name_clash(&names) {
            bail!(
                "{}: cells '{a}' and '{b}' cannot share one folder of samples: '{b}.tif' would read as a sample of '{a}'",
                args.data.display()
            );
        }
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
    let all = |d: &Dataset| super::train::load_cells(d, &(0..d.cells.len()).collect::<Vec<_>>());
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
                None => out.file(format!("{name}.tif")).and_then(|f| {
                    write_shape(&f, &shape)?;
                    out.remove_stale_samples(name, 0)
                }),
                Some(n) => {
                    let n = n as usize;
                    neighbours
                        .iter()
                        .take(n)
                        .enumerate()
                        .try_for_each(|(s, nb)| {
                            let f = out.file(format!("{name}_{s}.tif"))?;
                            write_shape(&f, candidates[nb.index].shape)
                        })
                        .and_then(|_| out.remove_stale_samples(name, n))
                        .and_then(|_| out.remove_if_ours(format!("{name}.tif")).map(|_| ()))
                }
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
        write_text_atomic(&out.file("neighbours.csv")?, &csv)
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
