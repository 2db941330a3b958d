//! A model's interval calibration: the 90 % interval `dispr predict` reports for each
//! cell and measure, fitted on held-out predictions of the model's recipe
//! ([`dispr_core::experiment::intervals`]: split-conformal, with its coverage measured
//! by cross-fitting over the folds).
//!
//! It is a small JSON file beside the model file (`checkpoint.dispr` →
//! `checkpoint.dispr.intervals.json`), written by `dispr model intervals` and bound to
//! the model by its SHA-256. It holds for predictions drawn as the held-out ones were:
//! the same sampler, number of samples and size correction (none, or learnt the same
//! way on each model's own training cells). A prediction drawn otherwise gets the
//! samples' own range only, and says why ([`IntervalCalibration::applies_to`]).

use std::path::{Path, PathBuf};

use dispr_core::experiment::intervals::{Coverage, MeasureFit};
use dispr_core::size_correction::{SizeCorrection, SizeFit};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A model's calibrated 90 % intervals and how they were measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalCalibration {
    /// The SHA-256 of the model file it belongs to.
    pub model_sha256: String,
    /// How the intervals are made.
    pub method: String,
    /// The sampler of the held-out predictions (e.g. `ddim-10-eta0`).
    pub sampler: String,
    /// Their samples per cell.
    pub samples: usize,
    /// Their size correction (of the first fold's model: each fold's model learnt its
    /// own values by the same rule).
    #[serde(flatten)]
    pub size: SizeCorrection,
    /// The preset of the models that predicted them.
    pub preset: String,
    /// The prediction folders, one per fold.
    pub predictions: Vec<String>,
    /// Held-out cells.
    pub cells: usize,
    /// The training steps of each fold's model.
    #[serde(default)]
    pub fold_steps: Vec<usize>,
    /// One fit per measure (those with enough cells).
    pub fits: Vec<MeasureFit>,
    /// Per measure, the coverage of the samples' range and, cross-fitted, of the
    /// calibrated interval on those cells.
    pub coverage: Vec<Coverage>,
}

/// `1 sample`, `5 samples`.
fn plural(samples: usize) -> String {
    match samples {
        1 => "1 sample".to_string(),
        n => format!("{n} samples"),
    }
}

/// How a draw's size correction reads in a message: `at level 0`, `with a scale
/// learnt on the model's training cells`.
fn rule(size: &SizeCorrection) -> String {
    match size.fit {
        SizeFit::None => format!("at {}", size.describe()),
        fit => format!("with a {} learnt on the model's training cells", fit.name()),
    }
}

/// What [`IntervalCalibration::method`] says.
pub const METHOD: &str = "split-conformal on held-out cells: mean · exp(±q · (cv + floor))";

/// What the interval file of a model file appends to its name.
const SUFFIX: &str = ".intervals.json";

/// The interval file of a model file: its name with `.intervals.json` appended.
pub fn file_for(model_file: &Path) -> PathBuf {
    crate::beside::file_for(model_file, SUFFIX)
}

impl IntervalCalibration {
    /// Reads the interval calibration beside `model_file`, `None` when there is none; a
    /// file that cannot be read, or belongs to another model (`sha256`), is an error.
    pub fn load_for(model_file: &Path, sha256: &str) -> Result<Option<Self>> {
        crate::beside::read(
            model_file,
            SUFFIX,
            "cannot read interval calibration",
            |text| Self::parse(text, sha256),
        )
    }

    /// Parses an interval calibration for the model of SHA-256 `sha256`.
    pub fn parse(text: &str, sha256: &str) -> std::result::Result<Self, String> {
        let c: Self = serde_json::from_str(text)
            .map_err(|e| format!("not a dispr interval calibration: {e}"))?;
        crate::beside::check_model(
            &c.model_sha256,
            sha256,
            "calibrates the intervals of another model",
            "dispr model intervals",
        )?;
        if let Some(f) = c
            .fits
            .iter()
            .find(|f| !(f.q.is_finite() && f.q >= 0.0 && f.floor.is_finite() && f.floor > 0.0))
        {
            return Err(format!(
                "{}: q {} and floor {} must be finite, q ≥ 0 and floor > 0",
                f.measure.name(),
                f.q,
                f.floor
            ));
        }
        Ok(c)
    }

    /// Why a prediction drawn with `sampler`, `samples` per cell and `size` is not what
    /// these intervals were measured on; `None` when it is.
    pub fn mismatch(&self, sampler: &str, samples: usize, size: &SizeCorrection) -> Option<String> {
        let mut differ = Vec::new();
        if sampler != self.sampler {
            differ.push(format!("sampler {sampler}, not {}", self.sampler));
        }
        if samples != self.samples {
            differ.push(format!(
                "{} per cell, not {}",
                plural(samples),
                self.samples
            ));
        }
        if !size.same_rule(&self.size) {
            differ.push(format!("{}, not {}", rule(size), rule(&self.size)));
        }
        (!differ.is_empty()).then(|| differ.join(", "))
    }

    /// The draw these intervals hold for, e.g. `ddim-10-eta0 with 5 samples per cell
    /// at level 0`.
    pub fn draw(&self) -> String {
        format!(
            "{} with {} per cell {}",
            self.sampler,
            plural(self.samples),
            rule(&self.size)
        )
    }

    /// The fits, when a prediction drawn with `sampler`, `samples` and `size` is what
    /// they were measured on.
    pub fn applies_to(
        &self,
        sampler: &str,
        samples: usize,
        size: &SizeCorrection,
    ) -> Option<&[MeasureFit]> {
        self.mismatch(sampler, samples, size)
            .is_none()
            .then_some(self.fits.as_slice())
    }

    /// One line: what was measured, e.g. `calibrated on 108 held-out cells (5 folds,
    /// ddim-10-eta0 × 5): cross-fitted coverage volume 0.91, surface_area 0.89, …`.
    pub fn summary(&self) -> String {
        let coverage: Vec<String> = self
            .coverage
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.measure.name(),
                    c.calibrated
                        .map_or_else(|| "not measured".to_string(), |v| format!("{v:.2}"))
                )
            })
            .collect();
        format!(
            "calibrated on {} held-out cells ({} folds, {} × {}): cross-fitted coverage {}",
            self.cells,
            self.predictions.len(),
            self.sampler,
            self.samples,
            coverage.join(", ")
        )
    }
}
