//! `dispr demo`: the main job on built-in defaults, end to end, in seconds.

use std::path::{Path, PathBuf};

use anyhow::bail;
use dispr_core::class::CellClass;
use dispr_core::dataset::{Dataset, load_cell};
use dispr_core::fsio::write_text_atomic;
use dispr_core::grid::Volume;
use dispr_core::mesh::io::write_mesh;
use dispr_core::mesh::marching_cubes;
use dispr_core::tiff_io::read_shape;

use crate::cli::{BaselineArgs, DemoArgs, EvaluateArgs, PredictArgs};
use crate::output::print;
use crate::preview::Tile;

/// Marks a folder as made by `dispr demo`, so a later demo may reuse it.
const MARKER: &str = ".dispr-demo";

/// `dispr demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let out = &args.out;
    let reused = out.join(MARKER).is_file();
    if out.exists()
        && !reused
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: not empty and not made by `dispr demo`; pass --out with a new folder",
            out.display()
        );
    }
    if reused {
        // Only what an earlier demo wrote is replaced.
        for sub in ["cells", "predictions", "meshes", "report"] {
            let dir = out.join(sub);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
    }
    write_text_atomic(&out.join(MARKER), "made by dispr demo\n")?;
    let started = std::time::Instant::now();

    // 1. Synthetic cells of every class.
    let data = out.join("cells");
    let plan: Vec<CellClass> = CellClass::ALL
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, args.per_class as usize))
        .collect();
    print(&format!(
        "1/5 synthesizing {} cells ({} per class) …\n",
        plan.len(),
        args.per_class
    ))?;
    let csv = super::synth::synthesize_plan(&data, &plan, args.seed, true)?;
    write_text_atomic(&data.join("synth.csv"), &csv)?;
    let gallery = out.join("report").join("cells.png");
    let rows = crate::preview::dataset_cells(&data, 1)?;
    crate::preview::draw_gallery(
        &gallery,
        "synthetic cells: image, mask and true shape",
        &rows,
    )?;

    // 2. Predictions: the shipped DISPR model, and the geometric baselines to compare.
    print(&format!(
        "2/5 predicting 3D shapes from the 2D images and masks: {} samples per cell with the built-in DISPR model …\n",
        args.samples
    ))?;
    let predictions = out.join("predictions");
    super::predict::run(&PredictArgs {
        model: None,
        data: data.clone(),
        out: predictions.join("dispr"),
        samples: args.samples,
        sampler: "ddim".into(),
        steps: args.steps,
        eta: 0.0,
        seed: args.seed,
        // The shipped model never saw these cells (other seeds), but synthetic names
        // repeat across seeds.
        all_cells: true,
        cells: Vec::new(),
        device: "cpu".into(),
    })?;
    let mut preds = vec![format!("dispr={}", predictions.join("dispr").display())];
    for kind in ["cylinder", "ellipsoid"] {
        let dir = predictions.join(kind);
        super::baseline::run(&BaselineArgs {
            kind: kind.into(),
            data: data.clone(),
            out: dir.clone(),
            depth: None,
            reference: None,
            k: dispr_core::nearest::DEFAULT_K as u32,
            samples: None,
            folds: 5,
            split_seed: 0,
        })?;
        preds.push(format!("{kind}={}", dir.display()));
    }

    // 3. Meshes of the true shapes, one per class, for any 3D viewer (the predicted
    // ones are in predictions/dispr/mesh).
    print("3/5 writing meshes …\n")?;
    write_meshes(&data, &out.join("meshes"))?;

    // 4. What the model predicted, beside the truth.
    print("4/5 drawing the predictions …\n")?;
    let report = out.join("report");
    draw_predictions(
        &data,
        &predictions,
        args.samples as usize,
        &report.join("predictions.png"),
    )?;

    // 5. Evaluation: Table 1, box plots, HTML.
    print("5/5 evaluating …\n")?;
    super::evaluate::run(&EvaluateArgs {
        data,
        preds,
        fold: None,
        folds: 5,
        split_seed: 0,
        baselines: Vec::new(),
        out: report.clone(),
    })?;
    print(&format!(
        "\ndemo finished in {:.1} s. Open {} (cells: {}, predictions: {}, meshes: {} and {})\n",
        started.elapsed().as_secs_f64(),
        report.join("index.html").display(),
        gallery.display(),
        report.join("predictions.png").display(),
        out.join("meshes").display(),
        predictions.join("dispr").join("mesh").display()
    ))
}

/// The predictions gallery: per cell (the first of each class) its image and mask, then
/// side views (xz sum projections) of the true shape, of up to three DISPR samples, of
/// their ensemble and of the cylinder baseline.
fn draw_predictions(
    data: &Path,
    predictions: &Path,
    samples: usize,
    png: &Path,
) -> anyhow::Result<()> {
    let read = |path: PathBuf| -> anyhow::Result<Volume<bool>> { Ok(read_shape(&path)?) };
    let shown = samples.min(3);
    let sample_headers = ["sample 1", "sample 2", "sample 3"];
    let mut headers = vec!["image", "mask", "true shape"];
    headers.extend(&sample_headers[..shown]);
    headers.extend(["ensemble", "cylinder"]);
    let mut rows = Vec::new();
    for cell in crate::preview::dataset_cells(data, 1)? {
        let name = &cell.label;
        let mut tiles = vec![Tile::fluorescence(&cell.image), Tile::mask(&cell.mask)];
        if let Some(obj) = &cell.obj {
            tiles.push(Tile::projection(obj, 1));
        }
        let dispr = predictions.join("dispr");
        for k in 0..shown {
            tiles.push(Tile::projection(
                &read(dispr.join(format!("{name}_{k}.tif")))?,
                1,
            ));
        }
        tiles.push(Tile::projection(
            &read(dispr.join("ensemble").join(format!("{name}.tif")))?,
            1,
        ));
        tiles.push(Tile::projection(
            &read(predictions.join("cylinder").join(format!("{name}.tif")))?,
            1,
        ));
        rows.push((name.clone(), tiles));
    }
    crate::preview::draw_tiles(
        png,
        "side views (x across, z down) of the true shape and of the predictions",
        &headers,
        &rows,
    )
}

/// The STL mesh of the first cell of each class.
fn write_meshes(data: &Path, out: &Path) -> anyhow::Result<()> {
    let dataset = Dataset::scan(data)?;
    for (class, _) in dataset.class_counts() {
        if let Some(files) = dataset.cells.iter().find(|c| c.label.name() == class) {
            let cell = load_cell(files)?;
            if let Some(shape) = cell.shape {
                write_mesh(
                    &out.join(format!("{}.stl", cell.name)),
                    &marching_cubes(&shape),
                )?;
            }
        }
    }
    Ok(())
}
