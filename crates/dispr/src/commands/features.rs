//! `dispr features`: the morphological features of shapes, as CSV.

use anyhow::{Context, bail};
use dispr_core::data::dataset::{CellFiles, load_cell};
use std::path::PathBuf;

use dispr_core::experiment::features::{feature_columns, feature_names, features_at};
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::io::prediction_dir::prediction_files;
use dispr_core::io::tiff::read_shape;
use dispr_core::scale::Units;
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::cli::FeaturesArgs;
use crate::output::print;
use crate::progress;

use super::shapes::table_voxels;

/// `dispr features`.
pub fn run(args: &FeaturesArgs) -> anyhow::Result<()> {
    let dataset = super::open_dataset(&args.data)?;
    // (row name, cell files, shape file or None for the cell's own obj)
    let mut jobs: Vec<(String, &CellFiles, Option<std::path::PathBuf>)> = Vec::new();
    for cell in &dataset.cells {
        match &args.pred {
            Some(dir) => {
                for file in prediction_files(dir, &cell.name)? {
                    let stem = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    jobs.push((stem, cell, Some(file)));
                }
            }
            None if cell.obj.is_some() => jobs.push((cell.name.clone(), cell, None)),
            None => bail!(
                "{}: no 3D shape for cell '{}' (obj/); pass --pred",
                args.data.display(),
                cell.name
            ),
        }
    }
    // One table, one set of units (see `table_voxels`); features need cubic voxels.
    let files: Vec<PathBuf> = jobs
        .iter()
        .map(|(_, cell, file)| file.clone().or_else(|| cell.obj.clone()).expect("a file"))
        .collect();
    let (voxels, mut note) = table_voxels(&files, &args.scale)?;
    let mut side = voxels.first().copied().flatten().map(|v| v.x);
    if let Some((file, v)) = files.iter().zip(&voxels).find_map(|(f, v)| {
        v.filter(|v| !v.is_cube() || side.is_some_and(|s| (v.x - s).abs() > 1e-3 * s))
            .map(|v| (f, v))
    }) {
        note = Some(format!(
            "note: {}: voxels of {} are not cubes of {}, so every feature is in voxels; give --pixel-size and --z-step",
            file.display(),
            v,
            side.map_or("one size".into(), |s| format!("{s} µm"))
        ));
        side = None;
    }
    let units = if side.is_some() {
        Units::Micrometres
    } else {
        Units::Voxels
    };
    if let Some(note) = &note {
        crate::output::note(note);
    }
    let bar = progress::bar(jobs.len(), "shapes");
    bar.set_message("features");
    let rows: Vec<Vec<String>> = jobs
        .par_iter()
        .progress_with(bar.clone())
        .map(|(name, cell, file)| {
            let shape = match file {
                Some(path) => read_shape(path)?,
                None => load_cell(cell)?.shape.expect("checked above"),
            };
            let values = features_at(&shape, side).with_context(|| {
                format!(
                    "{}: the shape is empty",
                    file.as_ref()
                        .or(cell.obj.as_ref())
                        .expect("a file")
                        .display()
                )
            })?;
            let mut row = vec![name.clone(), cell.label.name().into(), cell.name.clone()];
            row.extend(values.iter().map(f64::to_string));
            Ok(row)
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["name".to_string(), "class".into(), "source".into()];
    header.extend(feature_columns(units));
    csv.write_record(&header)?;
    for row in &rows {
        csv.write_record(row)?;
    }
    write_text_atomic(&args.out, &String::from_utf8(csv.into_inner()?)?)?;
    print(&format!(
        "wrote {} rows × {} features ({}) to {}\n",
        rows.len(),
        feature_names().len(),
        match side {
            Some(s) => format!("in µm, voxels of {s} µm"),
            None => "in voxels".into(),
        },
        args.out.display()
    ))
}
