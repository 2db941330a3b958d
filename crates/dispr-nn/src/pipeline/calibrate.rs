//! Calibrating the size of a DISPR model's samples on its own training cells
//! ([`crate::calibration`]): sample each cell's soft shapes once, then find the scale
//! (or the level) at which their median volume matches the truth's.

use dispr_core::data::dataset::Dataset;

use crate::calibration::{Calibration, SizeCorrection, SizeFit, SoftCounts, fit_level, fit_scale};
use crate::error::{Error, Result};
use crate::pipeline::plan::load_cells;
use crate::pipeline::predictor::{LoadedModel, Predictor};

/// What to calibrate on.
#[derive(Clone, Copy, Debug)]
pub struct CalibrateSettings {
    /// Samples per cell.
    pub samples: usize,
    /// Run seed, mixed with each cell's name.
    pub seed: u64,
    /// What to learn: the scale or the level ([`SizeFit::None`] is refused).
    pub by: SizeFit,
}

/// The cells of `dataset` that have a 3D shape and that `model` trained on (every one
/// with `any`: the user's own cells), by name; at most `max` of them, evenly spread.
pub fn calibration_cells(
    model: &LoadedModel,
    dataset: &Dataset,
    max: usize,
    any: bool,
) -> Vec<usize> {
    let trained: std::collections::HashSet<&str> = model
        .header
        .train_cells
        .iter()
        .map(String::as_str)
        .collect();
    let mut all: Vec<usize> = (0..dataset.cells.len())
        .filter(|&i| {
            let c = &dataset.cells[i];
            c.obj.is_some() && (any || trained.contains(c.name.as_str()))
        })
        .collect();
    all.sort_by(|&a, &b| dataset.cells[a].name.cmp(&dataset.cells[b].name));
    if all.len() <= max {
        return all;
    }
    (0..max).map(|k| all[k * all.len() / max]).collect()
}

/// Calibrates `model` on the training cells `indices` of `dataset`; `on_progress(done)`
/// counts network evaluations (`indices.len() × model.predictor.evaluations()`).
pub fn calibrate(
    model: &LoadedModel,
    dataset: &Dataset,
    indices: &[usize],
    settings: CalibrateSettings,
    on_progress: &mut dyn FnMut(usize),
) -> Result<Calibration> {
    let Predictor::Dispr(_, sampler) = &model.predictor else {
        return Err(Error::Invalid(
            "only a DISPR model's samples have a size to calibrate (SHAPR predicts one shape)"
                .into(),
        ));
    };
    let too_few = |n: usize| {
        Error::Invalid(format!(
            "{n} cells of {} can calibrate the model (with a 3D shape, and trained on unless --all-cells); calibration needs at least 5",
            dataset.root.display()
        ))
    };
    if indices.len() < 5 {
        return Err(too_few(indices.len()));
    }
    if settings.by == SizeFit::None {
        return Err(Error::Invalid(
            "a calibration learns the scale or the level, not none".into(),
        ));
    }
    let network = &model.header.model;
    let evaluations = model.predictor.evaluations();
    let mut measured = Vec::new();
    let mut kept = Vec::new();
    let mut names = Vec::new();
    for (k, cell) in load_cells(dataset, indices)?.iter().enumerate() {
        let truth = cell.shape.as_ref().map_or(0, |s| s.count()) as f64;
        if truth == 0.0 {
            continue;
        }
        let example = model.example(cell)?;
        let soft = model
            .predictor
            .soft_samples(
                &example,
                settings.samples,
                settings.seed,
                network.data_grid(),
                &model.device,
                &mut |done, _| on_progress(k * evaluations + done),
            )
            .expect("a DISPR predictor");
        match settings.by {
            SizeFit::Level => measured.push((SoftCounts::of(&soft), truth)),
            _ => kept.push((soft, truth)),
        }
        names.push(cell.name.clone());
    }
    if names.len() < 5 {
        return Err(too_few(names.len()));
    }
    let (size, at_0, after) = match settings.by {
        SizeFit::Level => {
            let (level, at_0, after) = fit_level(&measured);
            (SizeCorrection::level(level), at_0, after)
        }
        _ => {
            let (scale, at_0, after) = fit_scale(&kept);
            (SizeCorrection::scale(scale), at_0, after)
        }
    };
    let trained = |name: &String| model.header.train_cells.contains(name);
    Ok(Calibration {
        size,
        method: match names.iter().all(trained) {
            true => crate::calibration::ON_TRAINING_CELLS,
            false => crate::calibration::ON_GIVEN_CELLS,
        }
        .into(),
        model_sha256: model.sha256.clone(),
        sampler: sampler.name(),
        samples: settings.samples,
        cells: names,
        median_volume_ratio_at_0: at_0,
        median_volume_ratio: after,
    })
}
