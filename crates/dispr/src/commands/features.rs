//! `dispr features`: the morphological features of shapes, as CSV.

use std::path::PathBuf;

use dispr_core::experiment::feature_table::{feature_jobs, feature_table, feature_table_csv};
use dispr_core::experiment::features::feature_names;
use dispr_core::io::atomic::write_text_atomic;

use crate::cli::FeaturesArgs;
use crate::output::print;
use crate::progress;

use super::shapes::table_voxels;

/// `dispr features`.
pub fn run(args: &FeaturesArgs) -> anyhow::Result<()> {
    let dataset = super::open_dataset(&args.data)?;
    let jobs = feature_jobs(&dataset, args.pred.as_deref()).map_err(|e| match args.pred {
        None => anyhow::anyhow!("{e}; pass --pred"),
        Some(_) => e.into(),
    })?;
    // One table, one set of units (see `table_voxels`); features need cubic voxels.
    let files: Vec<PathBuf> = jobs.iter().map(|j| j.path().to_path_buf()).collect();
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
    if let Some(note) = &note {
        crate::output::note(note);
    }
    let bar = progress::bar(jobs.len(), "shapes");
    bar.set_message("features");
    let table = feature_table(&jobs, side, &|| bar.inc(1))?;
    bar.finish_and_clear();
    write_text_atomic(&args.out, &feature_table_csv(&table)?)?;
    print(&format!(
        "wrote {} rows × {} features ({}) to {}\n",
        table.rows.len(),
        feature_names().len(),
        match side {
            Some(s) => format!("in µm, voxels of {s} µm"),
            None => "in voxels".into(),
        },
        args.out.display()
    ))
}
