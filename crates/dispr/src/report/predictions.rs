//! The page of a prediction folder, `OUT/index.html`: what was run, every cell's
//! summary over its samples (cells.csv), and a gallery row per predicted cell
//! (`OUT/gallery/NAME.png`: image, mask, side views of samples, ensemble and
//! probability) with links to its files.

use std::path::Path;

use anyhow::Context;
use dispr_core::data::dataset::Cell;
use dispr_core::data::field::{CELL_TABLE, CellRow};
use dispr_core::experiment::uncertainty::MEASURES;
use dispr_core::io::prediction_dir::{
    ENSEMBLE_DIR, MESH_DIR, PROBABILITY_DIR, PredictReport, PredictionDir, REPORT_FILE, STD_DIR,
    ensemble_file, prediction_files,
};
use dispr_core::io::tiff::{read_shape, read_volume};
use serde_json::json;

use crate::preview::{Tile, draw_tiles};

/// The page's template (minijinja; auto-escaped as HTML).
const TEMPLATE: &str = include_str!("../../templates/predictions.html");

/// File name of the page in a prediction folder.
pub const PAGE: &str = "index.html";

/// Folder of the gallery rows in a prediction folder.
pub const GALLERY_DIR: &str = "gallery";

/// Side views of at most this many samples per cell in the gallery.
const SHOWN_SAMPLES: usize = 3;

/// Draws every cell's gallery row and writes the page into `out`; `cells` are the
/// predicted cells with their 2D input on the frame of their outputs.
pub fn write_page(
    out: &PredictionDir,
    report: &PredictReport,
    rows: &[CellRow],
    cells: &[&Cell],
) -> anyhow::Result<()> {
    for cell in cells {
        draw_row(out, cell).with_context(|| format!("gallery of cell {}", cell.name))?;
    }
    let mut env = minijinja::Environment::new();
    env.add_template("predictions.html", TEMPLATE)
        .context("the predictions template")?;
    let html = env
        .get_template("predictions.html")
        .and_then(|t| t.render(page(out.path(), report, rows, cells)))
        .context("rendering the predictions page")?;
    dispr_core::io::atomic::write_text_atomic(&out.file(PAGE)?, &html)?;
    Ok(())
}

/// One cell's gallery row: image, mask, xz side views of up to three samples, of the
/// ensemble and of the probability, and the ensemble's top view.
fn draw_row(out: &PredictionDir, cell: &Cell) -> anyhow::Result<()> {
    let dir = out.path();
    let samples = prediction_files(dir, &cell.name)?;
    let mut headers = vec!["image", "mask"];
    let mut tiles = vec![Tile::fluorescence(&cell.image), Tile::mask(&cell.mask)];
    let sample_headers = ["sample 1", "sample 2", "sample 3"];
    let shown = samples.len().min(SHOWN_SAMPLES);
    if samples.len() > 1 {
        headers.extend(&sample_headers[..shown]);
        for file in &samples[..shown] {
            tiles.push(Tile::projection(&read_shape(file)?, 1));
        }
    }
    headers.extend(["ensemble", "probability", "ensemble, top"]);
    let ensemble = read_shape(&ensemble_file(dir, &cell.name))?;
    let probability =
        read_volume(&dir.join(PROBABILITY_DIR).join(format!("{}.tif", cell.name)))?.to_f32();
    tiles.push(Tile::projection(&ensemble, 1));
    tiles.push(Tile::probability(&probability, 1));
    tiles.push(Tile::projection(&ensemble, 0));
    draw_tiles(
        &out.file(Path::new(GALLERY_DIR).join(format!("{}.png", cell.name)))?,
        &format!(
            "{}: image and mask; side views (x across, z down); the ensemble from above",
            cell.name
        ),
        &headers,
        &[(cell.name.clone(), tiles)],
    )
}

/// What the template shows.
fn page(
    out: &Path,
    report: &PredictReport,
    rows: &[CellRow],
    cells: &[&Cell],
) -> serde_json::Value {
    let units = rows
        .iter()
        .find_map(|r| r.uncertainty.as_ref().map(|u| u.units))
        .unwrap_or(dispr_core::scale::Units::Voxels);
    let columns: Vec<String> = MEASURES
        .iter()
        .map(|(m, dimension)| format!("{}{}", m.replace('_', " "), unit_label(units, *dimension)))
        .collect();
    let table: Vec<_> = rows
        .iter()
        .map(|r| {
            let values: Vec<String> = r.uncertainty.as_ref().map_or_else(Vec::new, |u| {
                u.measures
                    .iter()
                    .map(|s| {
                        let [low, high] = s.calibrated.unwrap_or([s.low, s.high]);
                        format!("{} [{}, {}]", num(s.mean), num(low), num(high))
                    })
                    .collect()
            });
            json!({
                "name": r.name,
                "status": r.status,
                "reason": r.reason,
                "values": values,
                "spread": r.uncertainty.as_ref().map(|u| num(u.pairwise_distance)),
                "shown": cells.iter().any(|c| c.name == r.name),
            })
        })
        .collect();
    let gallery: Vec<_> = cells
        .iter()
        .map(|c| {
            let name = c.name.as_str();
            let samples = prediction_files(out, name).map_or(0, |f| f.len());
            let file = |dir: &str, ext: &str| format!("{dir}/{name}.{ext}");
            json!({
                "name": name,
                "png": file(GALLERY_DIR, "png"),
                "samples": (0..samples).map(|k| if samples > 1 { format!("{name}_{k}.tif") } else { format!("{name}.tif") }).collect::<Vec<_>>(),
                "ensemble": file(ENSEMBLE_DIR, "tif"),
                "probability": file(PROBABILITY_DIR, "tif"),
                "std": out.join(STD_DIR).join(format!("{name}.tif")).is_file().then(|| file(STD_DIR, "tif")),
                "mesh": file(MESH_DIR, "stl"),
            })
        })
        .collect();
    json!({
        "out": out.display().to_string(),
        "model": report.model,
        "model_sha256": report.model_sha256,
        "preset": report.preset,
        "sampler": report.sampler,
        "samples": report.samples,
        "seed": report.seed,
        "cells": report.cells,
        "skipped": rows.iter().filter(|r| r.status != "predicted").count(),
        "seconds_per_cell": format!("{:.2}", report.seconds_per_cell),
        "threads": report.threads,
        "merged_shards": report.merged_shards,
        "started": report.started,
        "version": report.dispr_version,
        "units": match units {
            dispr_core::scale::Units::Micrometres => "µm (the images' pixel size)",
            dispr_core::scale::Units::Voxels => "voxels (no pixel size known; pass --pixel-size)",
        },
        "columns": columns,
        "table": table,
        "gallery": gallery,
        "cell_table": CELL_TABLE,
        "report_file": REPORT_FILE,
        "calibrated": report.intervals.is_some(),
    })
}

/// A measure's unit for a column title, e.g. ` (µm³)`; nothing for dimensionless ones.
fn unit_label(units: dispr_core::scale::Units, dimension: i32) -> String {
    let base = match units {
        dispr_core::scale::Units::Micrometres => "µm",
        dispr_core::scale::Units::Voxels => "vox",
    };
    match dimension {
        0 => String::new(),
        1 => format!(" ({base})"),
        2 => format!(" ({base}²)"),
        3 => format!(" ({base}³)"),
        -1 => format!(" (1/{base})"),
        d => format!(" ({base}^{d})"),
    }
}

/// A number as the page shows it: three significant digits.
fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}
