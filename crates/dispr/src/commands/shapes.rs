//! `dispr measure`, `dispr metrics` and `dispr mesh`: shapes in, numbers or meshes out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use dispr_core::data::class::Label;
use dispr_core::data::dataset::shape_files;
use dispr_core::experiment::evaluation::{Record, evaluate_cell};
use dispr_core::io::prediction_dir::prediction_files;
use dispr_core::io::tiff::read_pixel_size;
use dispr_core::io::tiff::read_shape;
use dispr_core::scale::{Units, VoxelSize, resolve_voxel};
use dispr_core::shape::mesh::io::write_mesh;
use dispr_core::shape::metrics::{ScaledMeasurements, measure as measure_shape, measure_at};
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{MeasureArgs, MeshArgs, MetricsArgs, ScaleArgs};
use crate::output::print;
use crate::progress;

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

/// The voxel of a volume file: the flags over its metadata.
fn voxel_of(path: &Path, flags: &ScaleArgs) -> Result<Option<VoxelSize>, dispr_core::Error> {
    let stated = if flags.pixel_size.is_some() && flags.z_step.is_some() {
        None
    } else {
        read_pixel_size(path)?
    };
    Ok(resolve_voxel(stated, flags.pixel_size, flags.z_step))
}

/// The voxel of each file of one table (flags over metadata), and a note when the
/// table falls back to voxels. One table has one set of units: µm only when every
/// file's scale is known, so the scales (metadata only) are read before any volume is.
pub(crate) fn table_voxels(
    files: &[PathBuf],
    flags: &ScaleArgs,
) -> anyhow::Result<(Vec<Option<VoxelSize>>, Option<String>)> {
    let mut voxels: Vec<Option<VoxelSize>> = files
        .iter()
        .map(|path| voxel_of(path, flags))
        .collect::<Result<_, dispr_core::Error>>()?;
    let unscaled: Vec<&PathBuf> = files
        .iter()
        .zip(&voxels)
        .filter(|(_, v)| v.is_none())
        .map(|(p, _)| p)
        .collect();
    let note = match unscaled.first() {
        Some(first) if unscaled.len() < files.len() => Some(format!(
            "note: {} states no pixel size ({} of {}), so every value is in voxels; give --pixel-size",
            first.display(),
            unscaled.len(),
            files.len()
        )),
        _ => None,
    };
    if note.is_some() {
        voxels.iter_mut().for_each(|v| *v = None);
    }
    Ok((voxels, note))
}

/// `dispr measure`.
pub fn measure(args: &MeasureArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(shape_files(path)?);
    }
    let (voxels, note) = table_voxels(&files, &args.scale)?;
    let bar = progress::bar(files.len(), "volumes");
    let results: Vec<(PathBuf, ScaledMeasurements)> = files
        .par_iter()
        .zip(&voxels)
        .progress_with(bar.clone())
        .map(|(path, &voxel)| Ok((path.clone(), measure_at(&read_shape(path)?, voxel).0)))
        .collect::<Result<_, dispr_core::Error>>()?;
    bar.finish_and_clear();
    let units = results.first().map_or(Units::Voxels, |(_, m)| m.units);
    let mut out = String::new();
    if args.json {
        for (path, m) in &results {
            let mut obj = serde_json::to_value(m)?;
            obj["file"] = json!(path.display().to_string());
            obj["sphericity"] = json!(m.sphericity());
            out.push_str(&serde_json::to_string(&obj)?);
            out.push('\n');
        }
    } else {
        let column = |name: &str, dimension: i32| format!("{name}{}", units.suffix(dimension));
        let _ = writeln!(
            out,
            "{:<40} {:>12} {:>16} {:>14} {:>17} {:>15}",
            "file",
            column("volume", 3),
            column("surface_area", 2),
            column("roughness", 3),
            column("curvature", -1),
            column("mesh_volume", 3)
        );
        for (path, m) in &results {
            let _ = writeln!(
                out,
                "{:<40} {:>12.2} {:>16.2} {:>14.2} {:>17} {:>15.2}",
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                m.volume,
                m.surface_area,
                m.roughness,
                fmt_opt(m.curvature, 5),
                m.mesh_volume
            );
        }
        if let Some((_, m)) = results.first()
            && let Some(voxel) = m.voxel
            && results.iter().all(|(_, r)| r.voxel == Some(voxel))
        {
            let _ = writeln!(out, "(voxel {voxel})");
        }
    }
    if let Some(note) = note {
        crate::output::note(&note);
    }
    print(&out)
}

/// `dispr metrics`.
pub fn metrics(args: &MetricsArgs) -> anyhow::Result<()> {
    // (cell name, truth file, prediction files)
    let pairs: Vec<(String, PathBuf, Vec<PathBuf>)> =
        match (args.pred.is_file(), args.truth.is_file()) {
            (true, true) => vec![(
                file_stem(&args.truth),
                args.truth.clone(),
                vec![args.pred.clone()],
            )],
            (false, false) => shape_files(&args.truth)?
                .into_iter()
                .map(|truth| {
                    let name = file_stem(&truth);
                    let preds = prediction_files(&args.pred, &name)?;
                    Ok((name, truth, preds))
                })
                .collect::<Result<_, dispr_core::Error>>()?,
            _ => {
                for p in [&args.pred, &args.truth] {
                    std::fs::metadata(p).with_context(|| format!("{}", p.display()))?;
                }
                bail!(
                    "give two files or two folders (PRED {}, TRUTH {})",
                    kind(&args.pred),
                    kind(&args.truth)
                )
            }
        };
    let bar = progress::bar(pairs.len(), "cells");
    let records: Vec<Vec<Record>> = pairs
        .par_iter()
        .progress_with(bar.clone())
        .map(|(name, truth_path, preds)| {
            let truth = read_shape(truth_path)?;
            let truth_m = measure_shape(&truth);
            let class = Label::from_file_stem(name).name();
            Ok(evaluate_cell("prediction", name, class, &truth, &truth_m, preds)?.records)
        })
        .collect::<Result<_, dispr_core::Error>>()?;
    bar.finish_and_clear();
    let mut out = String::new();
    if args.json {
        for r in records.iter().flatten() {
            out.push_str(&serde_json::to_string(r)?);
            out.push('\n');
        }
    } else {
        let _ = writeln!(
            out,
            "{:<36} {:<10} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6}",
            "cell", "pred", "volume", "area", "rough", "curv", "IoU", "Dice"
        );
        for r in records.iter().flatten() {
            let e = &r.errors;
            let _ = writeln!(
                out,
                "{:<36} {:<10} {:>8} {:>8} {:>8} {:>8} {:>6.3} {:>6.3}",
                r.cell,
                r.prediction.label(),
                fmt_opt(e.volume, 4),
                fmt_opt(e.surface_area, 4),
                fmt_opt(e.roughness, 4),
                fmt_opt(e.curvature, 4),
                e.iou,
                e.dice
            );
        }
        out.push_str("(relative errors |pred − truth| / truth; – where the truth is 0)\n");
    }
    print(&out)
}

fn kind(p: &Path) -> &'static str {
    if p.is_dir() {
        "is a folder"
    } else {
        "is a file"
    }
}

/// `dispr mesh`.
pub fn mesh(args: &MeshArgs) -> anyhow::Result<()> {
    dispr_core::shape::mesh::io::MeshFormat::from_path(&args.out)?;
    let shape = read_shape(&args.volume)?;
    if shape.count() == 0 {
        bail!(
            "{}: the shape is empty (no voxel above half the maximum)",
            args.volume.display()
        );
    }
    let voxel = voxel_of(&args.volume, &args.scale)?;
    let (m, mesh) = measure_at(&shape, voxel);
    write_mesh(&args.out, &mesh, m.units)?;
    let (area, volume) = (m.units.of_dimension(2), m.units.of_dimension(3));
    print(&format!(
        "wrote {}: {} vertices, {} faces, {}; surface area {:.2} {area}, enclosed volume {:.1} {volume} (voxels inside: {:.1} {volume})\n",
        args.out.display(),
        mesh.vertices.len(),
        mesh.faces.len(),
        if mesh.is_closed() {
            "closed"
        } else {
            "NOT closed"
        },
        m.surface_area,
        m.mesh_volume,
        m.volume
    ))
}
