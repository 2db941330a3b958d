//! `dispr demo`: the main job on built-in defaults, end to end, in seconds.

use std::path::{Path, PathBuf};

use anyhow::bail;
use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::{Dataset, load_cell};
use dispr_core::grid::Volume;
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::io::tiff::read_shape;
use dispr_core::scale::Units;
use dispr_core::shape::mesh::io::write_mesh;
use dispr_core::shape::mesh::marching_cubes;

use dispr_core::baseline::Baseline;
use dispr_core::experiment::study::Method;
use dispr_core::io::prediction_dir::{PredictionDir, ensemble_file};
use dispr_nn::pipeline::{
    CellSelection, LoadedModel, PredictSettings, SamplerRequest, select_cells,
};

use crate::cli::DemoArgs;
use crate::output::print;
use crate::preview::Tile;

/// Marks a folder as made by `dispr demo`, so a later demo may reuse it.
const MARKER: &str = ".dispr-demo";

/// `dispr demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let out = &args.out;
    take_folder(out)?;
    let started = std::time::Instant::now();
    let data = out.join("cells");
    let report = out.join("report");
    let predictions = out.join("predictions");
    let gallery = report.join("cells.png");
    synthesize(&data, &gallery, args)?;
    let (dataset, methods) = predict(&data, &predictions, args)?;
    // Meshes of the true shapes, one per class, for any 3D viewer (the predicted ones are
    // in predictions/dispr/mesh).
    print("3/5 writing meshes …\n")?;
    write_meshes(&data, &out.join("meshes"))?;
    print("4/5 drawing the predictions …\n")?;
    draw_predictions(
        &data,
        &predictions,
        args.samples as usize,
        &report.join("predictions.png"),
    )?;
    print("5/5 evaluating …\n")?;
    let study = super::evaluate::evaluate_into(&dataset, &methods, None, &report)?;
    print(&study.summary(&report))?;
    print(&format!(
        "\ndemo finished in {:.1} s. Open {} (cells: {}, predictions: {}, meshes: {} and {})\n",
        started.elapsed().as_secs_f64(),
        report.join(crate::report::page::PAGE).display(),
        gallery.display(),
        report.join("predictions.png").display(),
        out.join("meshes").display(),
        predictions.join("dispr").join("mesh").display()
    ))
}

/// Takes `out` for the demo: a new or empty folder, or one an earlier demo made (whose
/// outputs, and only those, are replaced).
fn take_folder(out: &Path) -> anyhow::Result<()> {
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
        for sub in ["cells", "predictions", "meshes", "report"] {
            let dir = out.join(sub);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
    }
    write_text_atomic(&out.join(MARKER), "made by dispr demo\n")?;
    Ok(())
}

/// Step 1: synthetic cells of every class into `data`, and their gallery.
fn synthesize(data: &Path, gallery: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    let plan: Vec<CellClass> = CellClass::ALL
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, args.per_class as usize))
        .collect();
    print(&format!(
        "1/5 synthesizing {} cells ({} per class) …\n",
        plan.len(),
        args.per_class
    ))?;
    let csv = super::synth::synthesize_plan(data, &plan, args.seed, true)?;
    write_text_atomic(&data.join("synth.csv"), &csv)?;
    let rows = crate::preview::dataset_cells(data, Some(1))?;
    crate::preview::draw_gallery(
        gallery,
        "synthetic cells: image, mask and true shape",
        &rows,
    )
}

/// Step 2: the shipped DISPR model's predictions and the geometric baselines' shapes, one
/// folder each under `predictions`; returns the dataset and the methods to evaluate.
fn predict(
    data: &Path,
    predictions: &Path,
    args: &DemoArgs,
) -> anyhow::Result<(Dataset, Vec<Method>)> {
    print(&format!(
        "2/5 predicting 3D shapes from the 2D images and masks: {} samples per cell with the built-in DISPR model …\n",
        args.samples
    ))?;
    let dispr_dir = predictions.join("dispr");
    predict_built_in(data, &dispr_dir, args)?;
    let mut methods = vec![Method::new("dispr", &dispr_dir)?];
    let dataset = super::open_dataset(data)?;
    let depth = dispr_core::baseline::depth_of(&dataset)?;
    for baseline in [Baseline::Cylinder, Baseline::Ellipsoid] {
        let dir = predictions.join(baseline.name());
        let failures = dispr_core::baseline::predict_dataset(
            baseline,
            &dataset,
            depth,
            &PredictionDir::create(&dir, &[data])?,
            &|| {},
        );
        if let Some(first) = failures.first() {
            bail!(
                "{} of {} cells failed for the {} baseline; the first: {first}",
                failures.len(),
                dataset.cells.len(),
                baseline.name()
            );
        }
        print(&format!(
            "wrote {} {} shapes ({depth} slices deep) to {}\n",
            dataset.cells.len(),
            baseline.name(),
            dir.display()
        ))?;
        methods.push(Method::new(baseline.name(), &dir)?);
    }
    Ok((dataset, methods))
}

/// The built-in DISPR model's samples of every cell of `data`, written to `out`.
fn predict_built_in(data: &Path, out: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    // The built-in model's own sampler (the one it was calibrated with), at --steps.
    let request = SamplerRequest {
        steps: args.steps.map(|s| s as usize),
        ..SamplerRequest::default()
    };
    let model = LoadedModel::load_drawing(None, request, args.device)?;
    let dataset = super::open_dataset(data)?;
    // The shipped model never saw these cells (other seeds), but synthetic names repeat
    // across seeds: every cell is predicted.
    let selection = CellSelection {
        names: Vec::new(),
        include_trained: true,
        shard: None,
    };
    let selected = select_cells(&dataset, &model.header.train_cells, &selection)?;
    let settings = PredictSettings {
        samples: args.samples as usize,
        seed: args.seed,
        command_line: std::env::args().collect(),
        inputs: vec![data.display().to_string()],
        pixel_size: None,
        downscale: false,
        shard: None,
    };
    let dir = PredictionDir::create(out, &[data])?;
    let report =
        super::predict::predict_with_progress(&model, &dataset, &selected.indices, settings, &dir)?;
    print(&format!("{}\n", report.summary(out)))
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
    for cell in crate::preview::dataset_cells(data, Some(1))? {
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
        tiles.push(Tile::projection(&read(ensemble_file(&dispr, name))?, 1));
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
                    Units::Voxels,
                )?;
            }
        }
    }
    Ok(())
}
