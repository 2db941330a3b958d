//! Predicting a dataset: choose its cells, prepare them as the model was trained, predict
//! each and write the prediction folder ([`PredictionDir`]).

use std::collections::HashSet;
use std::time::Instant;

use dispr_core::data::dataset::{Cell, Dataset};
use dispr_core::data::framing::{Fit, Framing};
use dispr_core::data::shard::Shard;
use dispr_core::experiment::uncertainty::{CellUncertainty, measure_samples};
use dispr_core::io::journal::{Journal, JournalEntry};
use dispr_core::io::prediction_dir::{
    CellTiming, PredictReport, PredictionDir, ShapeDistribution, ShardRun, cell_is_complete,
    cell_uncertainty,
};
use dispr_core::scale::VoxelSize;
use sha2::{Digest, Sha256};

use crate::config::Network;

use crate::error::{Error, Result};
use crate::pipeline::plan::load_cells;
use crate::pipeline::predictor::{Draw, LoadedModel};

/// Which cells of a dataset to predict.
#[derive(Clone, Debug, Default)]
pub struct CellSelection {
    /// Only these cells (all when empty).
    pub names: Vec<String>,
    /// Also the cells the model was trained on (skipped otherwise).
    pub include_trained: bool,
    /// Only this shard of the cells chosen (`--shard K/N`; all when `None`).
    pub shard: Option<Shard>,
}

/// The cells chosen: their indices in the dataset, how many trained-on cells were
/// skipped and, for a shard, the whole run's cells.
#[derive(Clone, Debug)]
pub struct Selected {
    /// Indices into the dataset's cells.
    pub indices: Vec<usize>,
    /// Cells skipped because the model trained on them.
    pub skipped_trained: usize,
    /// With a shard: the shard and all the cells of the run, of which `indices` are its
    /// part.
    pub shard: Option<ShardRun>,
}

/// Chooses the cells of `dataset` to predict with a model trained on `trained`.
pub fn select_cells(
    dataset: &Dataset,
    trained: &[String],
    selection: &CellSelection,
) -> Result<Selected> {
    let trained: HashSet<&str> = trained.iter().map(String::as_str).collect();
    let wanted: HashSet<&str> = selection.names.iter().map(String::as_str).collect();
    if let Some(missing) = dataset.unknown_name(&selection.names) {
        // The names are the user's setting (`--cells`): a bad value, not a bad file.
        return Err(Error::BadSetting(format!(
            "--cells: {} has no cell named '{missing}'",
            dataset.root.display()
        )));
    }
    let mut skipped_trained = 0;
    let indices: Vec<usize> = (0..dataset.cells.len())
        .filter(|&i| {
            let name = dataset.cells[i].name.as_str();
            if !wanted.is_empty() && !wanted.contains(name) {
                return false;
            }
            if !selection.include_trained && trained.contains(name) {
                skipped_trained += 1;
                return false;
            }
            true
        })
        .collect();
    if indices.is_empty() {
        return Err(Error::AllTrained(dataset.root.clone()));
    }
    let names: Vec<&str> = indices
        .iter()
        .map(|&i| dataset.cells[i].name.as_str())
        .collect();
    PredictionDir::check_names(&dataset.root, &names)?;
    let Some(shard) = selection.shard else {
        return Ok(Selected {
            indices,
            skipped_trained,
            shard: None,
        });
    };
    if shard.count > names.len() {
        return Err(Error::Invalid(format!(
            "--shard {shard}: the run has {} cells, so at most {} shards (K/N with N ≤ {})",
            names.len(),
            names.len(),
            names.len()
        )));
    }
    let run_cells = names.iter().map(|n| n.to_string()).collect();
    let mine = indices
        .iter()
        .zip(shard.take(&names))
        .filter_map(|(&i, m)| m.then_some(i))
        .collect();
    Ok(Selected {
        indices: mine,
        skipped_trained,
        shard: Some(ShardRun { shard, run_cells }),
    })
}

/// How to predict: samples per cell and the run seed.
#[derive(Clone, Debug, Default)]
pub struct PredictSettings {
    /// Samples per cell (SHAPR: always one).
    pub samples: usize,
    /// Run seed, mixed with each cell's name.
    pub seed: u64,
    /// The command line, recorded in `predict.json` (empty when not from a command).
    pub command_line: Vec<String>,
    /// The inputs, recorded in `predict.json`.
    pub inputs: Vec<String>,
    /// µm per pixel of every input image (`--pixel-size`), over what their metadata
    /// states.
    pub pixel_size: Option<f64>,
    /// Shrink a cell larger than the model's field to fit (`--downscale`; see
    /// [`Framing`]) instead of refusing it.
    pub downscale: bool,
    /// The shard of a sharded run these cells are, recorded in `predict.json`.
    pub shard: Option<ShardRun>,
}

impl PredictSettings {
    /// How `model` fits cells: at its training pixel size (when known), the flag's
    /// pixel size over the files', shrinking when allowed.
    pub fn fit(&self, model: &LoadedModel) -> Fit {
        Fit {
            model_pixel_um: model.header.pixel_size_um,
            pixel_size_um: self.pixel_size,
            downscale: self.downscale,
        }
    }
}

/// Predicts the `indices` cells of `dataset` with `model` and writes them to `out`,
/// with its `predict.json`. `on_progress(done)` counts network evaluations over all
/// cells (`indices.len() × model.predictor.evaluations()` in all).
pub fn predict_dataset(
    model: &LoadedModel,
    dataset: &Dataset,
    indices: &[usize],
    settings: PredictSettings,
    out: &PredictionDir,
    on_progress: &mut dyn FnMut(usize),
) -> Result<PredictReport> {
    let network = &model.header.model;
    let files: Vec<_> = indices.iter().map(|&i| &dataset.cells[i]).collect();
    let (cells, framings): (Vec<Cell>, Vec<Framing>) = load_cells(dataset, indices)?
        .iter()
        .zip(&files)
        .map(|(cell, files)| {
            frame_cell(cell, network, settings.fit(model)).map_err(|problem| {
                dispr_core::Error::new(&files.mask, format!("cell '{}': {problem}", cell.name))
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    let framed: Vec<(Cell, Framing)> = cells.into_iter().zip(framings).collect();
    predict_cells(model, &framed, settings, out, on_progress)
}

/// Predicts `cells`, each already placed in the model's field by its [`Framing`] (see
/// [`frame_cell`]), writes their distributions placed back by it into `out` and the
/// folder's `predict.json`. A cell that an interrupted run of the same prediction
/// finished in `out` (its [`Journal`]) is kept, not predicted again. `on_progress(done)`
/// counts network evaluations over all cells.
pub fn predict_cells(
    model: &LoadedModel,
    cells: &[(Cell, Framing)],
    settings: PredictSettings,
    out: &PredictionDir,
    on_progress: &mut dyn FnMut(usize),
) -> Result<PredictReport> {
    if settings.samples == 0 {
        return Err(Error::Invalid(
            "at least one sample per cell is needed".into(),
        ));
    }
    if cells.is_empty() {
        return Err(Error::Invalid("no cell to predict".into()));
    }
    let predictor = &model.predictor;
    let evaluations = predictor.evaluations();
    let samples = predictor.samples(settings.samples);
    let began = Instant::now();
    let started = std::time::SystemTime::now();
    let mut per_cell = Vec::new();
    let mut uncertainty = Vec::new();
    // One run's outputs share their units: µm when every cell's pixel size is known.
    let pixel_sizes: Vec<Option<f64>> = cells
        .iter()
        .map(|(cell, _)| settings.pixel_size.or(cell.pixel_size))
        .collect();
    let all_known = pixel_sizes.iter().all(Option::is_some);
    let mut journal = Journal::open(out)?;
    // An earlier run's report would make this folder look finished (to `dispr merge`)
    // while this run is under way; it is written again at the end.
    out.remove_report()?;
    let mut resumed = 0;
    let draw = Draw {
        samples,
        seed: settings.seed,
        size: model.size(),
    };
    for (i, (cell, framing)) in cells.iter().enumerate() {
        // The model's voxels are cubes: the prediction's z step is the pixel size.
        let scale = pixel_sizes[i].filter(|_| all_known).map(VoxelSize::cube);
        let example = model.framed_example(cell, framing)?;
        let base = i * evaluations;
        let key = cell_key(model, draw, &example, framing, scale);
        if let Some(timing) = journal.finished(&cell.name, &key) {
            // Its files are checked and read back; one deleted since: the cell is
            // predicted again.
            if cell_is_complete(out.path(), &cell.name, samples)
                && let Ok(mut u) = cell_uncertainty(out.path(), timing)
                && u.samples == samples
            {
                if let Some(fits) = model.interval_fits(samples)
                    && timing.downscale <= 1
                    && timing.scale == 1.0
                {
                    u.calibrate(fits);
                }
                uncertainty.push((cell.name.clone(), u));
                per_cell.push(timing.clone());
                resumed += 1;
                on_progress(base + evaluations);
                continue;
            }
        }
        let predicted = predict_example(model, &example, framing, draw, scale, &mut |done| {
            on_progress(base + done)
        });
        let shapes = predicted.shapes;
        uncertainty.push((cell.name.clone(), predicted.uncertainty));
        journal.start(&example.name)?;
        out.write_distribution(&example.name, &shapes, scale)?;
        let timing = CellTiming {
            cell: example.name.clone(),
            seconds: predicted.seconds,
            pixel_size_um: scale.map(|s| s.x),
            downscale: framing.factor,
            scale: framing.scale,
        };
        journal.record(JournalEntry {
            key,
            timing: timing.clone(),
        })?;
        per_cell.push(timing);
    }
    let seconds = began.elapsed().as_secs_f64();
    let header = &model.header;
    let report = PredictReport {
        dispr_version: env!("CARGO_PKG_VERSION").to_string(),
        started: dispr_core::text::utc_iso8601(started),
        command_line: settings.command_line.clone(),
        inputs: settings.inputs.clone(),
        model: model.source.display().to_string(),
        model_sha256: model.sha256.clone(),
        model_kind: header.model.kind().to_string(),
        preset: header.model.preset().to_string(),
        trained_steps: header.step,
        sampler: predictor.method(),
        size: model.size(),
        network_evaluations_per_cell: evaluations,
        samples,
        seed: settings.seed,
        device: model.device_kind.to_string(),
        threads: crate::device::cpu_threads(),
        cells: per_cell.len(),
        seconds_total: seconds,
        // Over the cells this run predicted, not those it kept.
        seconds_per_cell: seconds / (per_cell.len() - resumed).max(1) as f64,
        per_cell,
        resumed,
        shard: settings.shard.clone(),
        merged_shards: 0,
        intervals: model.interval_fits(samples).map(<[_]>::to_vec),
        uncertainty,
    };
    out.write_report(&report)?;
    Ok(report)
}

/// One cell's prediction in memory: its shapes placed back in the cell's own frame, the
/// summary of its samples and the seconds it took.
pub struct PredictedCell {
    /// The samples, probability, standard deviation and ensemble over the cell's crop.
    pub shapes: ShapeDistribution,
    /// Each sample's measures ([`dispr_core::experiment::uncertainty::MEASURES`], in
    /// µm when the voxel size is known).
    pub sample_measures: Vec<[f64; 5]>,
    /// The samples' measures summarised.
    pub uncertainty: CellUncertainty,
    /// Seconds spent predicting.
    pub seconds: f64,
}

/// Predicts one cell placed in the model's field by `framing` (see [`frame_cell`]) as
/// `dispr predict` does, in memory: `samples` shapes (one for SHAPR) with the run `seed`
/// mixed with the cell's name, with the model's size correction, measured with voxels `scale` (µm;
/// `None`: voxel units). `on_step(done)` follows the network evaluations.
pub fn predict_framed(
    model: &LoadedModel,
    cell: &Cell,
    framing: &Framing,
    samples: usize,
    seed: u64,
    scale: Option<VoxelSize>,
    on_step: &mut dyn FnMut(usize),
) -> Result<PredictedCell> {
    if samples == 0 {
        return Err(Error::Invalid(
            "at least one sample per cell is needed".into(),
        ));
    }
    let example = model.framed_example(cell, framing)?;
    let draw = Draw {
        samples: model.predictor.samples(samples),
        seed,
        size: model.size(),
    };
    Ok(predict_example(
        model, &example, framing, draw, scale, on_step,
    ))
}

/// The prediction of one framed cell's example, placed back by its framing and
/// summarised.
fn predict_example(
    model: &LoadedModel,
    example: &crate::data::Example,
    framing: &Framing,
    draw: Draw,
    scale: Option<VoxelSize>,
    on_step: &mut dyn FnMut(usize),
) -> PredictedCell {
    let data_grid = model.header.model.data_grid();
    let prediction =
        model
            .predictor
            .predict(example, draw, data_grid, &model.device, &mut |done, _| {
                on_step(done)
            });
    let shapes = unframe(prediction.shapes, framing);
    let sample_measures = measure_samples(&shapes.samples, scale);
    let mut uncertainty = CellUncertainty::of_measured(&shapes.samples, &sample_measures, scale);
    // Intervals hold for cells taken at their own pixels, as the held-out ones were: a
    // cell resampled to the model's pixel size or shrunk to fit is measured on shapes
    // brought back by nearest-voxel upsampling, which the calibration never saw.
    if let Some(fits) = model.interval_fits(draw.samples)
        && framing.factor <= 1
        && framing.scale == 1.0
    {
        uncertainty.calibrate(fits);
    }
    PredictedCell {
        shapes,
        sample_measures,
        uncertainty,
        seconds: prediction.seconds,
    }
}

/// What a cell's files are predicted from, as a SHA-256 (hex): the model, the sampler,
/// the draw (samples, seed, size correction), the cell's name (its seed) and its network input,
/// its framing and voxel size, and dispr's version. Two runs with the same key write
/// the same files.
fn cell_key(
    model: &LoadedModel,
    draw: Draw,
    example: &crate::data::Example,
    framing: &Framing,
    scale: Option<VoxelSize>,
) -> String {
    let mut h = Sha256::new();
    let settings = format!(
        "dispr {}\nmodel {}\nsampler {}\nsamples {} seed {} level {} scale {}\ncell {}\nframing {:?} {:?} {} {} {:?}\nvoxel {:?}\n",
        env!("CARGO_PKG_VERSION"),
        model.sha256,
        model.predictor.method(),
        draw.samples,
        draw.seed,
        draw.size.level.to_bits(),
        draw.size.scale.to_bits(),
        example.name,
        framing.input,
        framing.origin,
        framing.scale.to_bits(),
        framing.factor,
        framing.field,
        scale.map(|s| s.xyz().map(f64::to_bits)),
    );
    h.update(settings.as_bytes());
    for v in &example.conditioning {
        h.update(v.to_le_bytes());
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}
/// A cell of any crop placed in `network`'s field as `fit` asks ([`Framing`]: at the
/// model's pixel size, shrunk to fit when allowed): the framed cell and its framing;
/// the problem when it cannot be (an empty mask, a cell larger than the field).
pub fn frame_cell(
    cell: &Cell,
    network: &Network,
    fit: Fit,
) -> std::result::Result<(Cell, Framing), String> {
    let [_, h, w] = network.data_grid();
    if cell.image.shape() != cell.mask.shape() {
        return Err("the image and the mask differ in size".into());
    }
    let framing = Framing::of(&cell.mask, [h, w], fit, cell.pixel_size)?;
    let framed = Cell {
        image: framing.to_field(&cell.image),
        mask: framing.to_field(&cell.mask),
        shape: None,
        ..cell.clone()
    };
    Ok((framed, framing))
}

/// A prediction on the model's field placed back into the cell's own xy frame.
pub fn unframe(shapes: ShapeDistribution, framing: &Framing) -> ShapeDistribution {
    if framing.is_identity() {
        return shapes;
    }
    ShapeDistribution {
        samples: shapes.samples.iter().map(|s| framing.to_input(s)).collect(),
        probability: framing.to_input(&shapes.probability),
        std: shapes.std.as_ref().map(|s| framing.to_input(s)),
        ensemble: framing.to_input(&shapes.ensemble),
    }
}
