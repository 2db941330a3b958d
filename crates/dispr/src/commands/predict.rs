//! `dispr predict`: sample 3D shapes of every cell with a trained DISPR model (or predict
//! one shape per cell with a SHAPR model).

use std::path::Path;

use anyhow::{Context, bail};
use dispr_core::data::dataset::{Cell, Dataset, load_cell};
use dispr_core::data::field::{
    CELL_TABLE, CellRow, FieldCell, FieldCells, ImageSource, cell_table_csv, cell_table_json,
    cellpose_labels, cut_cell, cut_cells, image_reading, label_named,
};
use dispr_core::data::framing::Fit;
use dispr_core::io::outdir::check_not_input;
use dispr_core::io::prediction_dir::{
    PredictReport, PredictionDir, cell_uncertainty, earlier_cells,
};
use dispr_core::io::shards::merge_shards;
use dispr_nn::pipeline::{
    CellSelection, LoadedModel, PredictSettings, frame_cell, predict_cells, predict_dataset,
    select_cells,
};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{MergeArgs, PredictArgs};
use crate::output::{detail, note, print, print_json};
use crate::progress;
use crate::report::predictions;

/// Runs `dispr predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let request = args.draw.sampling.request();
    let mut model = LoadedModel::load_drawing(args.model.as_deref(), request, args.device)?;
    if let Some(dir) = &args.prior_shapes {
        model = model.with_prior_shapes(dir)?;
    }
    if let Some(n) = model.calibration_note() {
        note(&n);
    }
    let Some(data) = &args.data else {
        return predict_own_cells(args, &model);
    };
    let dataset = super::open_dataset(data)?;
    let mut inputs = vec![data.as_path()];
    if args.model.is_some() {
        inputs.push(model.source.as_path());
    }
    inputs.extend(args.prior_shapes.as_deref());
    // A shard writes a prediction folder of its own inside --out (dispr merge joins them).
    let out_dir = match args.shard {
        Some(shard) => args.out.join(shard.folder()),
        None => args.out.clone(),
    };
    // The output is checked first, but made only once the cells are chosen (a refused
    // shard leaves no folder behind).
    check_not_input(&out_dir, &inputs)?;
    let selection = CellSelection {
        names: args.cells.clone(),
        include_trained: args.all_cells,
        shard: args.shard,
    };
    let selected =
        select_cells(&dataset, &model.header.train_cells, &selection).map_err(|e| match e {
            dispr_nn::Error::AllTrained(_) => {
                anyhow::anyhow!("{e}; pass --all-cells to predict them anyway")
            }
            e => e.into(),
        })?;
    let out = PredictionDir::create(&out_dir, &inputs)?;
    let cells = selected.indices.len();
    if let Some(shard) = args.shard {
        note(&format!(
            "shard {shard}: {cells} of the run's {} cells, into {}",
            selected.shard.as_ref().map_or(cells, |s| s.run_cells.len()),
            out_dir.display()
        ));
    }
    if selected.skipped_trained > 0 {
        note(&format!(
            "predicting {cells} cells; skipping {} the model trained on (--all-cells includes them)",
            selected.skipped_trained
        ));
    }
    let settings = PredictSettings {
        samples: args.draw.samples as usize,
        seed: args.draw.seed,
        command_line: std::env::args().collect(),
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        pixel_size: args.pixel_size,
        downscale: args.downscale,
        shard: selected.shard.clone(),
    };
    let report = predict_with_progress(&model, &dataset, &selected.indices, settings, &out)?;
    let rows = write_cell_table(&out, &report)?;
    let loaded: Vec<Cell> = selected
        .indices
        .iter()
        .map(|&i| load_cell(&dataset.cells[i]))
        .collect::<Result<_, _>>()?;
    let shown: Vec<&Cell> = loaded.iter().collect();
    finish(
        args,
        (&out, &report),
        &rows,
        &shown,
        &format!(
            "per cell, the samples' mean, sd and 90 % intervals: {}\n{}",
            out_dir.join(CELL_TABLE).display(),
            model.interval_note(report.samples)
        ),
    )
}

/// Writes the run's per-cell table (`cells.csv`) into `out`, from what the report says
/// of each cell's samples; its rows.
fn write_cell_table(out: &PredictionDir, report: &PredictReport) -> anyhow::Result<Vec<CellRow>> {
    let rows: Vec<CellRow> = report
        .uncertainty
        .iter()
        .map(|(name, u)| CellRow::predicted(name, u.clone()))
        .collect();
    out.write_text(CELL_TABLE, &cell_table_csv(&rows))?;
    Ok(rows)
}

/// `dispr merge OUT`: the shards of a sharded run gathered into OUT, with the whole
/// run's cells.csv, predict.json and page, as one unsharded run writes them.
pub fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    if !args.out.is_dir() {
        bail!(
            "{}: no such folder (give the --out folder of dispr predict --shard K/N)",
            args.out.display()
        );
    }
    let out = PredictionDir::create(&args.out, &[])?;
    let mut report = merge_shards(&out)?;
    report.uncertainty = report
        .per_cell
        .par_iter()
        .map(|t| {
            let mut u = cell_uncertainty(out.path(), t)?;
            // The calibrated intervals every shard applied (merge_shards checks that
            // they agree).
            if let Some(fits) = &report.intervals {
                u.calibrate(fits);
            }
            Ok::<_, dispr_core::Error>((t.cell.clone(), u))
        })
        .collect::<Result<_, _>>()?;
    out.write_report(&report)?;
    let rows = write_cell_table(&out, &report)?;
    let data = match &args.data {
        Some(d) => d.clone(),
        None => report
            .inputs
            .first()
            .map(std::path::PathBuf::from)
            .context("the shards' predict.json names no dataset: pass --data DIR")?,
    };
    let dataset = super::open_dataset(&data).with_context(|| {
        format!(
            "the dataset of the run (for its page; --data DIR): {}",
            data.display()
        )
    })?;
    let by_name: std::collections::HashMap<&str, _> =
        dataset.cells.iter().map(|c| (c.name.as_str(), c)).collect();
    let loaded: Vec<Cell> = report
        .per_cell
        .iter()
        .map(|t| {
            let files = by_name
                .get(t.cell.as_str())
                .with_context(|| format!("{}: no cell named '{}'", data.display(), t.cell))?;
            Ok(load_cell(files)?)
        })
        .collect::<anyhow::Result<_>>()?;
    let shown: Vec<&Cell> = loaded.iter().collect();
    predictions::write_page(&out, &report, &rows, &shown)?;
    if args.json {
        return print_json(&json!({
            "out": args.out,
            "cells_csv": args.out.join(CELL_TABLE),
            "page": args.out.join(predictions::PAGE),
            "report": report,
            "cells": cell_table_json(&rows),
        }));
    }
    print(&format!(
        "merged {} shards: {} cells into {}\nreport: {}\n",
        report.merged_shards,
        report.cells,
        args.out.display(),
        args.out.join(predictions::PAGE).display()
    ))
}

/// Writes the run's page (table and gallery of the `shown` cells) into `out`, then
/// prints the run's summary: each cell's time with `-v`, then one paragraph, or with
/// `--json` the report (as `predict.json`) and the cell table (as `cells.csv`).
fn finish(
    args: &PredictArgs,
    (out, report): (&PredictionDir, &PredictReport),
    rows: &[CellRow],
    shown: &[&Cell],
    table_line: &str,
) -> anyhow::Result<()> {
    predictions::write_page(out, report, rows, shown)?;
    // A shard's folder is inside --out: name the folder this run wrote.
    let dir = out.path();
    if report.resumed > 0 {
        note(&format!(
            "kept {} an earlier run of this prediction had finished in {}",
            dispr_core::text::count(report.resumed, "cell"),
            dir.display()
        ));
    }
    // Advisory: a folder whose journal cannot be read has no earlier cells to name.
    let earlier = earlier_cells(dir, &report.per_cell).unwrap_or_default();
    if !earlier.is_empty() {
        note(&format!(
            "{}: {} from an earlier run ({}) {} still there but not in this run's cells.csv, predict.json or {}; to predict cells together, put their crops in DIR/image and DIR/mask and run --data DIR (or give each run its own --out)",
            dir.display(),
            dispr_core::text::count(earlier.len(), "cell"),
            dispr_core::text::first_few(&earlier),
            if earlier.len() == 1 { "is" } else { "are" },
            predictions::PAGE
        ));
    }
    for t in &report.per_cell {
        detail(&format!("{}: {:.2} s", t.cell, t.seconds));
        if t.downscale > 1 {
            note(&format!(
                "cell {} was shrunk {}× to fit the model's field ({:.3} input pixels per model pixel); its outputs are enlarged back (z too)",
                t.cell, t.downscale, t.scale
            ));
        } else if t.scale != 1.0 {
            detail(&format!(
                "{}: resampled to the model's pixel size ({:.3} input pixels per model pixel)",
                t.cell, t.scale
            ));
        }
    }
    if args.json {
        return print_json(&json!({
            "out": dir,
            "cells_csv": dir.join(CELL_TABLE),
            "page": dir.join(predictions::PAGE),
            "report": report,
            "cells": cell_table_json(rows),
            "earlier_cells": earlier,
        }));
    }
    print(&format!(
        "{}\n{table_line}\nreport: {}\n",
        report.summary(dir),
        dir.join(predictions::PAGE).display()
    ))
}

/// Predicts the cells `indices` of `dataset` into `out` with a progress bar of network
/// evaluations (also `dispr demo`'s prediction step).
pub fn predict_with_progress(
    model: &LoadedModel,
    dataset: &Dataset,
    indices: &[usize],
    settings: PredictSettings,
    out: &PredictionDir,
) -> anyhow::Result<PredictReport> {
    let report = with_progress(model, indices.len(), |on_progress| {
        predict_dataset(model, dataset, indices, settings, out, on_progress)
    });
    Ok(report?)
}

/// Runs `predict` with a progress bar of the network evaluations of `cells` cells.
fn with_progress<T>(
    model: &LoadedModel,
    cells: usize,
    predict: impl FnOnce(&mut dyn FnMut(usize)) -> T,
) -> T {
    let bar = progress::bar(cells * model.predictor.evaluations(), "network evaluations");
    bar.set_message(model.predictor.method());
    let result = predict(&mut |done| bar.set_position(done as u64));
    bar.finish_and_clear();
    result
}

/// `dispr predict --image FIELD [--labels LABELS]` and `dispr predict IMAGE MASK`: the
/// cells cut out of the user's own images, predicted on their crops, and OUT/cells.csv.
fn predict_own_cells(args: &PredictArgs, model: &LoadedModel) -> anyhow::Result<()> {
    if args.prior_shapes.is_some() {
        // The cells are cut out around themselves: no file can know that frame.
        bail!(
            "--prior-shapes takes --data DIR (crops the shapes are drawn in); for IMAGE MASK or --image use a model that carries its SHAPR (dispr model export --prior-model)"
        );
    }
    let [_, h, w] = model.header.model.data_grid();
    let fit = Fit {
        model_pixel_um: model.header.pixel_size_um,
        pixel_size_um: args.pixel_size,
        downscale: args.downscale,
    };
    if let Some(image) = args.image.as_ref().or(args.cell.first()) {
        check_channel(image, args.channel)?;
    }
    let (field, labels, cells) = match (&args.image, args.cell.as_slice()) {
        (Some(image), _) => {
            let labels = match &args.labels {
                Some(l) => l.clone(),
                None => cellpose_labels(image).with_context(|| {
                    format!(
                        "{}: no --labels given and no cellpose label image (NAME_cp_masks.tif) beside it",
                        image.display()
                    )
                })?,
            };
            let name = stem(image);
            let source = ImageSource {
                path: image,
                channel: args.channel,
            };
            let mut cells = cut_cells(source, &labels, &name, [h, w], true, fit)?;
            if !args.cells.is_empty() {
                keep_cells(&mut cells, &args.cells, &name, &labels)?;
            }
            (image.clone(), labels, cells)
        }
        (None, [image, mask]) => {
            let source = ImageSource {
                path: image,
                channel: args.channel,
            };
            let cell = cut_cell(source, mask, &stem(image), [h, w], fit)?;
            let cells = FieldCells {
                cells: vec![cell],
                skipped: Vec::new(),
            };
            (image.clone(), mask.clone(), cells)
        }
        _ => bail!("pass --data DIR, --image FIELD.tif or IMAGE MASK"),
    };
    let mut inputs = vec![field.as_path(), labels.as_path()];
    if args.model.is_some() {
        inputs.push(model.source.as_path());
    }
    check_names_free(&args.out, &cells, &inputs)?;
    let source = ImageSource {
        path: &field,
        channel: args.channel,
    };
    if let Some(n) = image_reading(source)?.saturation_note() {
        note(&format!("{}: {n}", field.display()));
    }
    for n in cells.cells.iter().flat_map(FieldCell::notes) {
        note(&format!("{}: {n}", labels.display()));
    }
    // The single-cell route has no --all-cells gate (the names are the user's own), but a
    // name the model trained on makes any evaluation of it in-sample: say so.
    for c in &cells.cells {
        if model.header.train_cells.contains(&c.cell.name) {
            note(&format!(
                "cell '{}' has the name of a cell the model trained on: its prediction is not a held-out one, so it measures nothing about new cells",
                c.cell.name
            ));
        }
    }
    for s in &cells.skipped {
        note(&format!(
            "skipping cell {} (label {}): {}",
            s.name, s.label, s.reason
        ));
    }
    if cells.cells.is_empty() {
        let Some(first) = cells.skipped.first() else {
            bail!("{}: no labelled cell (every pixel is 0)", labels.display());
        };
        // Self-contained: with -q the notes above are not printed.
        // A binary mask given as the label image: one "cell" of label 255 or 65535.
        let chosen = if args.cells.is_empty() {
            "labelled cells"
        } else {
            "cells chosen with --cells"
        };
        let hint = match (cells.skipped.len(), first.label, args.cells.is_empty()) {
            (1, 255 | 65535, true) => {
                " (a label image holds 1, 2, 3, … for its cells; this one holds a single value, as a binary mask does: give one cell as IMAGE MASK)"
            }
            _ => "",
        };
        bail!(
            "{}: none of the {} {chosen} can be predicted; cell {} (label {}): {}{hint}",
            labels.display(),
            cells.skipped.len(),
            first.name,
            first.label,
            first.reason
        );
    }
    // Made only now: a run refused above leaves no folder behind.
    let out = PredictionDir::create(&args.out, &inputs)?;
    let framed: Vec<_> = cells
        .cells
        .iter()
        .map(|c| frame_cell(&c.cell, &model.header.model, fit).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let settings = PredictSettings {
        samples: args.draw.samples as usize,
        seed: args.draw.seed,
        command_line: std::env::args().collect(),
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        pixel_size: args.pixel_size,
        downscale: args.downscale,
        shard: None,
    };
    let report = with_progress(model, framed.len(), |on_progress| {
        predict_cells(model, &framed, settings, &out, on_progress)
    });
    let report = report?;
    let rows = cells.rows(|name| {
        report
            .uncertainty
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| u.clone())
    });
    out.write_text(CELL_TABLE, &cell_table_csv(&rows))?;
    let shown: Vec<&Cell> = cells.cells.iter().map(|c| &c.cell).collect();
    finish(
        args,
        (&out, &report),
        &rows,
        &shown,
        &format!(
            "cells: {} predicted, {} skipped; per-cell table: {}\n{}",
            cells.cells.len(),
            cells.skipped.len(),
            args.out.join(CELL_TABLE).display(),
            model.interval_note(report.samples)
        ),
    )
}

/// Checks `--channel` against the image's pages: a multi-page image without it is
/// refused, saying how to choose one; a channel the image lacks is a bad value (exit 2).
fn check_channel(image: &Path, channel: Option<usize>) -> anyhow::Result<()> {
    use dispr_core::io::tiff::{channel_range, count_pages, not_channels, pages_text};
    let (pages, axes) = count_pages(image)?;
    match channel {
        None if pages > 1 => {
            let image = image.display();
            if let Some(problem) = not_channels(pages, axes) {
                bail!("{image}: {problem}");
            }
            if pages > dispr_core::io::tiff::MAX_PAGES {
                bail!("{image}: holds {}, not one 2D image", pages_text(pages));
            }
            let choose = format!(
                "choose the one to read with --channel K (0 to {}; Fiji's C=1 is 0)",
                pages - 1
            );
            match axes.channels {
                Some(c) => bail!("{image}: holds {c} channels, not one 2D image: {choose}"),
                None => bail!(
                    "{image}: holds {pages} pages, not one 2D image: if they are channels, {choose}; if z-slices, save the one to read as a 2D TIFF"
                ),
            }
        }
        Some(k) if k >= pages && not_channels(pages, axes).is_none() => {
            Err(dispr_nn::Error::BadSetting(format!(
                "--channel {k}: {} has {}",
                image.display(),
                channel_range(pages)
            ))
            .into())
        }
        _ => Ok(()),
    }
}

/// Keeps only the field's cells `--cells` names (labels, or names `{name}_{label}`);
/// a bad setting (exit 2) naming the first that is neither or that no cell has.
fn keep_cells(
    cells: &mut FieldCells,
    given: &[String],
    name: &str,
    labels: &Path,
) -> anyhow::Result<()> {
    let bad = |problem: String| dispr_nn::Error::BadSetting(format!("--cells: {problem}"));
    let wanted = given
        .iter()
        .map(|g| match label_named(name, g) {
            Some(0) => Err(bad("0 is the background, not a cell's label".into())),
            Some(k) => Ok(k),
            None if g.trim().is_empty() => Err(bad("an empty entry (e.g. '2,,5' or '2,')".into())),
            None => Err(bad(format!(
                "'{g}' is neither a label of {} nor a name like {name}_5",
                labels.display()
            ))),
        })
        .collect::<Result<Vec<u32>, _>>()?;
    cells.keep_labels(&wanted).map_err(|missing| {
        bad(format!(
            "{} has no cell labelled {missing}",
            labels.display()
        ))
    })?;
    Ok(())
}

/// Refuses an output folder where a cell's `NAME.tif` is one of the inputs (`--out .`
/// beside `NAME.tif MASK.tif`): its samples `NAME_0.tif` … would be written beside it,
/// and the input would read as the cell's prediction.
fn check_names_free(out: &Path, cells: &FieldCells, inputs: &[&Path]) -> anyhow::Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for c in &cells.cells {
        let file = out.join(format!("{}.tif", c.cell.name));
        if let Some(input) = inputs.iter().find(|i| same(&file, i)) {
            bail!(
                "{}: this output folder holds the input {}, which would read as the prediction of cell '{}' (its samples are {}_0.tif …); choose another output folder",
                out.display(),
                input.display(),
                c.cell.name,
                c.cell.name
            );
        }
    }
    Ok(())
}

/// A file's name without its extension.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cell".into())
}
