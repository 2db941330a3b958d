//! `dispr baseline cylinder|ellipsoid`: shapes from the 2D mask alone.

use anyhow::bail;
use dispr_core::baseline::{Baseline, predict};
use dispr_core::dataset::load_cell;
use dispr_core::tiff_io::{read_volume, write_shape};
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::cli::BaselineArgs;
use crate::output::print;
use crate::progress;

/// Writes the baseline shape of every cell; cells that fail are listed at the end.
pub fn run(args: &BaselineArgs) -> anyhow::Result<()> {
    let baseline: Baseline = args.kind.parse().map_err(anyhow::Error::msg)?;
    let dataset = super::open_dataset(&args.data)?;
    let depth = match args.depth {
        Some(0) => bail!("--depth must be at least 1"),
        Some(d) => d,
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
                    write_shape(&args.out.join(format!("{}.tif", cell.name)), &shape)
                        .map_err(|e| e.to_string())
                });
            result.err()
        })
        .collect();
    bar.finish_and_clear();
    let written = dataset.cells.len() - failures.len();
    print(&format!(
        "wrote {written} {} shapes ({depth} slices deep) to {}\n",
        baseline.name(),
        args.out.display()
    ))?;
    for f in &failures {
        eprintln!("error: {f}");
    }
    if !failures.is_empty() {
        bail!("{} of {} cells failed", failures.len(), dataset.cells.len());
    }
    Ok(())
}
