//! Fitting a model's 90 % intervals ([`crate::intervals`]) on held-out predictions of
//! its recipe: prediction folders of `dispr predict`, one per fold, each by a model
//! that never trained on the cells it predicted (checked), all drawn alike.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use dispr_core::data::dataset::Dataset;
use dispr_core::experiment::study::{self, Method};
use dispr_core::io::prediction_dir::{PredictReport, read_report};

use crate::checkpoint::{self, Checkpoint};
use crate::error::{Error, Result};
use crate::intervals::{IntervalCalibration, METHOD};

/// The interval calibration of the model file `model` (its SHA-256 `sha256`, preset
/// `preset`) from the held-out predictions in `preds` of cells of `dataset` (which has
/// their true shapes). `on_progress` is called after each unit of
/// [`study::work`]`(cells, 1)`.
pub fn fit_intervals(
    (model, sha256, preset): (&Path, &str, &str),
    dataset: &Dataset,
    preds: &[PathBuf],
    on_progress: &(dyn Fn() + Sync),
) -> Result<IntervalCalibration> {
    if preds.len() < 2 {
        return Err(Error::Invalid(format!(
            "{} prediction folder given: the coverage of the intervals is measured fold by fold, so give each fold's held-out predictions (--pred, at least two)",
            preds.len()
        )));
    }
    let reports: Vec<PredictReport> = preds
        .iter()
        .map(|d| read_report(d))
        .collect::<dispr_core::Result<_>>()?;
    let (first_dir, first) = (&preds[0], &reports[0]);
    for (dir, r) in preds.iter().zip(&reports) {
        let problem = |what: String| Err(dispr_core::Error::new(dir, what).into());
        if r.preset != preset {
            return problem(format!(
                "predicted by a `{}` model; {} is `{preset}`: intervals are measured on the model's own recipe",
                r.preset,
                model.display()
            ));
        }
        if r.samples < 2 {
            return problem("one sample per cell: intervals need several".to_string());
        }
        if (r.sampler.as_str(), r.samples) != (first.sampler.as_str(), first.samples)
            || !r.size.same_rule(&first.size)
        {
            return problem(format!(
                "drawn with {} × {} ({}), but {} with {} × {} ({}): every fold must be drawn alike",
                r.sampler,
                r.samples,
                r.size.describe(),
                first_dir.display(),
                first.sampler,
                first.samples,
                first.size.describe()
            ));
        }
        check_held_out(dir, r)?;
    }
    let predicted: HashSet<&str> = reports
        .iter()
        .flat_map(|r| r.per_cell.iter().map(|t| t.cell.as_str()))
        .collect();
    let mut held_out = dataset.clone();
    held_out
        .cells
        .retain(|c| predicted.contains(c.name.as_str()));
    if held_out.cells.len() < predicted.len() {
        return Err(dispr_core::Error::new(
            &dataset.root,
            format!(
                "{} of the {} predicted cells are not in this dataset (give the dataset they were predicted from)",
                predicted.len() - held_out.cells.len(),
                predicted.len()
            ),
        )
        .into());
    }
    let method = Method::pooled("held-out", preds.to_vec())?;
    let found = study::evaluate(&held_out, &[method], Some(&[]), on_progress)?;
    if found.intervals.is_empty() {
        return Err(Error::Invalid(format!(
            "{} held-out cells: too few to fit a 90 % interval on (at least {} with non-empty shapes)",
            held_out.cells.len(),
            dispr_core::experiment::intervals::min_cells()
        )));
    }
    let coverage: Vec<_> = found.intervals.into_iter().map(|(_, c)| c).collect();
    Ok(IntervalCalibration {
        model_sha256: sha256.to_string(),
        method: METHOD.to_string(),
        sampler: first.sampler.clone(),
        samples: first.samples,
        size: first.size,
        preset: preset.to_string(),
        predictions: preds.iter().map(|p| p.display().to_string()).collect(),
        cells: held_out.cells.len(),
        fold_steps: reports.iter().map(|r| r.trained_steps).collect(),
        fits: coverage.iter().map(|c| c.fit).collect(),
        coverage,
    })
}

/// Refuses a prediction folder whose model trained on a cell it predicted, or whose
/// model cannot be found to check.
fn check_held_out(dir: &Path, report: &PredictReport) -> Result<()> {
    let cannot = |why: String| -> Result<()> {
        Err(dispr_core::Error::new(
            dir,
            format!("cannot check that its model held out the cells it predicted: {why}"),
        )
        .into())
    };
    let (file, header) = if report.model == crate::shipped::NAME {
        if report.model_sha256 != crate::shipped::sha256_hex(crate::shipped::BYTES) {
            return cannot("it names the built-in model of another dispr version".into());
        }
        (
            crate::shipped::label().to_path_buf(),
            crate::shipped::checkpoint()?.header,
        )
    } else {
        let file = checkpoint::resolve(Path::new(&report.model));
        let Ok(bytes) = std::fs::read(&file) else {
            return cannot(format!("{} is not there", file.display()));
        };
        if crate::shipped::sha256_hex(&bytes) != report.model_sha256 {
            return cannot(format!(
                "{} is not the model that predicted (its SHA-256 differs)",
                file.display()
            ));
        }
        let header = Checkpoint::load(&file)?.header;
        (file, header)
    };
    let trained: HashSet<String> = header.train_cells.into_iter().collect();
    match report.per_cell.iter().find(|t| trained.contains(&t.cell)) {
        Some(t) => Err(dispr_core::Error::new(
            dir,
            format!(
                "its model {} trained on cell '{}': intervals must be measured on cells the model never saw",
                file.display(),
                t.cell
            ),
        )
        .into()),
        None => Ok(()),
    }
}
