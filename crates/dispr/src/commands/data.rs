//! `dispr data info` and `dispr data folds`.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use dispr_core::data::dataset::Dataset;
use dispr_core::data::inspect::{DatasetReport, inspect_cell};
use dispr_core::grid::format_shape;
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::text::count;
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::cli::{FoldsArgs, InfoArgs, PreviewArgs};
use crate::output::print;
use crate::progress;

/// Reads every file of the dataset and prints the report; fails when problems exist.
pub fn info(args: &InfoArgs) -> anyhow::Result<()> {
    let dataset = Dataset::scan(args.dir.path())?;
    let bar = progress::bar(dataset.cells.len(), "cells");
    bar.set_message("reading");
    let cells: Vec<_> = dataset
        .cells
        .par_iter()
        .progress_with(bar.clone())
        .map(inspect_cell)
        .collect();
    bar.finish_and_clear();
    let report = DatasetReport::new(&dataset, cells);
    if args.json {
        print(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    } else {
        print(&render_info(&report))?;
    }
    match report.problems.len() {
        0 => Ok(()),
        1 => bail!("{}: 1 problem found", args.dir.path().display()),
        n => bail!("{}: {n} problems found", args.dir.path().display()),
    }
}

/// The human-readable report.
fn render_info(r: &DatasetReport) -> String {
    let mut s = String::new();
    let layout = match (r.layout, r.has_shapes) {
        (dispr_core::data::dataset::Layout::Flat, true) => "image/ mask/ obj/",
        (dispr_core::data::dataset::Layout::Flat, false) => "image/ mask/",
        (dispr_core::data::dataset::Layout::TrainTest, _) => "train/ test/",
    };
    let shapes = if r.has_shapes {
        "with 3D shapes"
    } else {
        "no 3D shapes (prediction only)"
    };
    let _ = writeln!(
        s,
        "dataset   {} ({layout}; {}, {shapes})",
        r.root,
        count(r.cell_count, "cell")
    );
    let classes: Vec<String> = r
        .classes
        .iter()
        .map(|c| format!("{} {}", c.cells, c.class))
        .collect();
    let _ = writeln!(s, "classes   {}", classes.join(", "));
    for (what, grids) in [("image", &r.image_grids), ("obj", &r.obj_grids)] {
        if !grids.is_empty() {
            let list: Vec<String> = grids
                .iter()
                .map(|g| format!("{} ({})", format_shape(&g.shape), count(g.cells, "cell")))
                .collect();
            let _ = writeln!(s, "grid      {what:<5} {}", list.join(", "));
        }
    }
    for (kind, v) in &r.values {
        let dtypes: Vec<String> = v.dtypes.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            s,
            "values    {kind:<5} {} {}–{}",
            dtypes.join("/"),
            v.min,
            v.max
        );
    }
    let mut encodings: Vec<(&str, usize)> = Vec::new();
    for e in r.cells.iter().filter_map(|c| c.encoding) {
        match encodings.iter_mut().find(|(name, _)| *name == e.name()) {
            Some((_, n)) => *n += 1,
            None => encodings.push((e.name(), 1)),
        }
    }
    if !encodings.is_empty() {
        let list: Vec<String> = encodings
            .iter()
            .map(|(name, n)| format!("{name} ({})", count(*n, "cell")))
            .collect();
        let _ = writeln!(
            s,
            "intensity read as {} (see docs/intensity.md)",
            list.join(", ")
        );
    }
    if let Some(a) = &r.mask_area {
        let _ = writeln!(s, "mask area {} px median ({}–{})", a.median, a.min, a.max);
    }
    if let Some(v) = &r.obj_volume {
        let _ = writeln!(
            s,
            "volume    {} voxels median ({}–{})",
            v.median, v.min, v.max
        );
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "notes     {}", r.notes.len());
        for n in &r.notes {
            let _ = writeln!(s, "  {}: {}", n.path, n.problem);
        }
    }
    if r.problems.is_empty() {
        let _ = writeln!(s, "problems  none");
    } else {
        let _ = writeln!(s, "problems  {}", r.problems.len());
        for p in &r.problems {
            let _ = writeln!(s, "  {}: {}", p.path, p.problem);
        }
    }
    s
}

/// Writes the fold of every cell as CSV.
pub fn folds(args: &FoldsArgs) -> anyhow::Result<()> {
    let dataset = super::open_dataset(args.dir.path())?;
    // (Its error names the dataset folder.)
    let folds = dataset.folds(args.folds as usize, args.seed)?;
    let mut csv = String::from("name,class,fold\n");
    for (cell, fold) in dataset.cells.iter().zip(folds) {
        let _ = writeln!(csv, "{},{},{fold}", cell.name, cell.label.name());
    }
    match &args.out {
        Some(path) => write_text_atomic(path, &csv).context("writing folds")?,
        None => print(&csv)?,
    }
    Ok(())
}

/// `dispr data preview`: a gallery of the first cells of each class.
pub fn preview(args: &PreviewArgs) -> anyhow::Result<()> {
    let rows = crate::preview::dataset_cells(args.dir.path(), args.per_class)?;
    let title = format!(
        "{} — image, mask and shape projections",
        args.dir.path().display()
    );
    crate::preview::draw_gallery(&args.out, &title, &rows)?;
    print(&format!(
        "wrote {} ({} cells)\n",
        args.out.display(),
        rows.len()
    ))
}
