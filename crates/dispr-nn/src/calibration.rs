//! The size correction of a model's soft samples, learnt on its training cells.
//!
//! A sample leaves the sampler as soft values on the working grid (about −1 outside,
//! +1 inside), is resampled to the data grid and thresholded. At the midpoint 0 the
//! samples of the models trained so far are systematically too small — the shipped
//! model's median cell, held out or trained on, gets about 0.85 of its true volume
//! (docs/accuracy.md). A calibration corrects that on the model's own training cells, so
//! the cells a model is evaluated on stay unseen; it matches the median over those cells
//! of (mean sample volume / true volume) to 1 in one of two ways
//! ([`dispr_core::size_correction`]):
//!
//! - **scale** (the default): each sample is enlarged about its centroid before the
//!   threshold at 0, by a factor found from `ratio^(−1/3)` ([`fit_scale`]); the surface
//!   the network drew is kept;
//! - **level**: the threshold is lowered instead, which lets the `fast` network's noisy
//!   fringes through (curvature 0.29 → 1.24 on fold 0).
//!
//! A calibration is a small JSON file beside the model file (`checkpoint.dispr` →
//! `checkpoint.dispr.calibration.json`), bound to the model by its SHA-256: a
//! calibration of another model is refused. Training a run further removes it (its
//! checkpoint changes); `dispr model export` carries it over to the exported file.

use std::path::{Path, PathBuf};

use dispr_core::experiment::evaluation::median;
use dispr_core::grid::Volume;
pub use dispr_core::size_correction::{SizeCorrection, SizeFit};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The levels searched, from −0.9 to 0.9 in steps of 0.01.
pub const LEVELS: std::ops::RangeInclusive<i32> = -90..=90;

/// Bins of the histogram of soft values that the search counts from (0.01 wide).
const BIN: f32 = 0.01;

/// [`Calibration::method`] of one learnt on the model's training cells.
pub const ON_TRAINING_CELLS: &str = "median volume ratio on training cells";

/// [`Calibration::method`] of one learnt on cells the model did not all train on (`dispr
/// model calibrate --all-cells`: the user's own cells with 3D truth).
pub const ON_GIVEN_CELLS: &str = "median volume ratio on given cells";

/// A model's size correction and how it was found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The correction: its level and scale, and which of them was learnt.
    #[serde(flatten)]
    pub size: SizeCorrection,
    /// What was matched, on which cells: [`ON_TRAINING_CELLS`] or [`ON_GIVEN_CELLS`].
    pub method: String,
    /// The SHA-256 of the model file it belongs to.
    pub model_sha256: String,
    /// The sampler it was measured with (e.g. `ddim-10-eta0`).
    pub sampler: String,
    /// Samples per cell.
    pub samples: usize,
    /// The cells it was measured on.
    pub cells: Vec<String>,
    /// Median over those cells of mean sample volume / true volume, uncorrected.
    pub median_volume_ratio_at_0: f64,
    /// The same with the correction.
    pub median_volume_ratio: f64,
}

impl Calibration {
    /// What its cells were, in words: `training cells`, or `cells` (not all trained on).
    pub fn cells_kind(&self) -> &'static str {
        match self.method.as_str() {
            ON_TRAINING_CELLS => "training cells",
            _ => "cells",
        }
    }
}

/// The size correction a model predicts with: its calibration's, else none.
pub fn size_of(calibration: Option<&Calibration>) -> SizeCorrection {
    calibration.map_or(SizeCorrection::NONE, |c| c.size)
}

/// What the calibration file of a model file appends to its name.
const SUFFIX: &str = ".calibration.json";

/// The calibration file of a model file: its name with `.calibration.json` appended.
pub fn file_for(model_file: &Path) -> PathBuf {
    crate::beside::file_for(model_file, SUFFIX)
}

impl Calibration {
    /// Reads the calibration beside `model_file`, `None` when there is none; a file
    /// that cannot be read, or belongs to another model (`sha256`), is an error.
    pub fn load_for(model_file: &Path, sha256: &str) -> Result<Option<Self>> {
        crate::beside::read(model_file, SUFFIX, "cannot read calibration", |text| {
            Self::parse(text, sha256)
        })
    }

    /// Parses a calibration for the model of SHA-256 `sha256`.
    pub fn parse(text: &str, sha256: &str) -> std::result::Result<Self, String> {
        let c: Self =
            serde_json::from_str(text).map_err(|e| format!("not a dispr calibration: {e}"))?;
        crate::beside::check_model(
            &c.model_sha256,
            sha256,
            "calibrates another model",
            "dispr model calibrate",
        )?;
        let mut c = c;
        // Files from before the scale hold a learnt level without saying so.
        if c.size.fit == SizeFit::None && c.size.level != 0.0 {
            c.size.fit = SizeFit::Level;
        }
        c.size.check()?;
        Ok(c)
    }
}

/// Histograms of one cell's soft samples, to count voxels above any level fast.
pub struct SoftCounts {
    /// Per sample, voxels per bin of width [`BIN`] from −1.5 (values beyond are clamped
    /// into the end bins).
    bins: Vec<Vec<u64>>,
}

impl SoftCounts {
    const LOW: f32 = -1.5;
    const BINS: usize = 300;

    /// The counts of `samples` (soft values on the data grid).
    pub fn of(samples: &[Volume<f32>]) -> Self {
        let bins = samples
            .iter()
            .map(|s| {
                let mut h = vec![0u64; Self::BINS];
                for &v in s.data() {
                    let b = ((v - Self::LOW) / BIN).floor();
                    h[(b.max(0.0) as usize).min(Self::BINS - 1)] += 1;
                }
                h
            })
            .collect();
        Self { bins }
    }

    /// Mean over samples of the voxels above `level` (to the bin: `level` is taken at
    /// the bin edge at or below it).
    pub fn mean_volume_above(&self, level: f32) -> f64 {
        let first = (((level - Self::LOW) / BIN).round().max(0.0) as usize).min(Self::BINS);
        let total: u64 = self
            .bins
            .iter()
            .map(|h| h[first..].iter().sum::<u64>())
            .sum();
        total as f64 / self.bins.len() as f64
    }
}

/// The level of [`LEVELS`] at which the median over cells of (mean sample volume /
/// true volume) is closest to 1, given each cell's counts and true volume; with the
/// median ratio at 0 and at that level.
pub fn fit_level(cells: &[(SoftCounts, f64)]) -> (f32, f64, f64) {
    let ratio_at = |level: f32| {
        median(
            &mut cells
                .iter()
                .map(|(c, truth)| c.mean_volume_above(level) / truth)
                .collect::<Vec<_>>(),
        )
    };
    let mut best = (0.0f32, ratio_at(0.0));
    for i in LEVELS {
        let level = i as f32 * BIN;
        let r = ratio_at(level);
        if (r - 1.0).abs() < (best.1 - 1.0).abs() - 1e-12 {
            best = (level, r);
        }
    }
    (best.0, ratio_at(0.0), best.1)
}

/// The scales tried are clamped to this range: a model whose samples are off by more
/// than a factor of about 2.4 in volume needs training, not a correction.
pub const SCALES: std::ops::RangeInclusive<f64> = 0.75..=1.35;

/// The scale at which each sample, enlarged about its centroid, brings the median over
/// cells of (mean sample volume / true volume) to 1, given each cell's soft samples and
/// true volume; with the median ratio before and after. Starting from `ratio^(−1/3)` of
/// the uncorrected median ratio, a few fixed-point steps `scale · ratio^(−1/3)` take up
/// what the voxel grid adds or loses; the scale stays within [`SCALES`].
pub fn fit_scale(cells: &[(Vec<Volume<f32>>, f64)]) -> (f32, f64, f64) {
    let ratio_with = |size: SizeCorrection| {
        median(
            &mut cells
                .iter()
                .map(|(samples, truth)| {
                    let mean = samples
                        .iter()
                        .map(|s| size.apply(s).count() as f64)
                        .sum::<f64>()
                        / samples.len() as f64;
                    mean / truth
                })
                .collect::<Vec<_>>(),
        )
    };
    let before = ratio_with(SizeCorrection::NONE);
    let mut best = (1.0f64, before);
    let (mut scale, mut ratio) = best;
    for _ in 0..4 {
        if ratio <= 0.0 || (ratio - 1.0).abs() < 0.005 {
            break;
        }
        scale = (scale * ratio.powf(-1.0 / 3.0)).clamp(*SCALES.start(), *SCALES.end());
        ratio = ratio_with(SizeCorrection::scale(scale as f32));
        if (ratio - 1.0).abs() < (best.1 - 1.0).abs() {
            best = (scale, ratio);
        }
    }
    (best.0 as f32, before, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A soft sample: +1 on the first `inside` voxels of 1000, −1 elsewhere, and a
    /// ramp between.
    fn ramp(inside: usize) -> Volume<f32> {
        Volume::from_fn([10, 10, 10], |[z, y, x]| {
            let i = (z * 100 + y * 10 + x) as f32;
            ((inside as f32 - i) / 100.0).clamp(-1.0, 1.0)
        })
    }

    #[test]
    fn counts_above_a_level_match_a_direct_count() {
        let s = ramp(500);
        let c = SoftCounts::of(std::slice::from_ref(&s));
        for level in [-0.5f32, -0.2, 0.0, 0.3] {
            let direct = s.data().iter().filter(|&&v| v >= level).count() as f64;
            assert!(
                (c.mean_volume_above(level) - direct).abs() <= 1.0,
                "{level}: {} vs {direct}",
                c.mean_volume_above(level)
            );
        }
    }

    #[test]
    fn the_level_that_undoes_a_uniform_shrinkage_is_found() {
        // Every cell's samples hold 400 voxels above 0 where the truth has 500: the
        // level that gives 500 is −1.0 × 100 / 100 = −1.0 … the ramp is 0.01 per voxel,
        // so 100 voxels more need a level 1.0 lower; with a steeper ramp, 0.5 lower.
        let cells: Vec<(SoftCounts, f64)> = (0..5)
            .map(|_| {
                let s = Volume::from_fn([10, 10, 10], |[z, y, x]| {
                    let i = (z * 100 + y * 10 + x) as f32;
                    ((400.0 - i) / 200.0).clamp(-1.0, 1.0)
                });
                (SoftCounts::of(&[s]), 500.0)
            })
            .collect();
        let (level, before, after) = fit_level(&cells);
        assert!((before - 401.0 / 500.0).abs() < 0.01, "{before}");
        assert!((level + 0.5).abs() <= 0.011, "{level}");
        assert!((after - 1.0).abs() < 0.01, "{after}");
    }

    /// A soft ball of `radius` in a 24³ grid, with a one-voxel ramp.
    fn ball(radius: f64) -> Volume<f32> {
        Volume::from_fn([24, 24, 24], |[z, y, x]| {
            let d = [z, y, x]
                .map(|c| (c as f64 - 11.5).powi(2))
                .iter()
                .sum::<f64>()
                .sqrt();
            (radius - d).clamp(-1.0, 1.0) as f32
        })
    }

    #[test]
    fn the_scale_that_undoes_a_uniform_shrinkage_is_found() {
        // Samples of radius 5 where the truth has radius 6: scale 6/5 (volume 1.728).
        let truth = ball(6.0).map(|v| v > 0.0).count() as f64;
        let cells: Vec<(Vec<Volume<f32>>, f64)> = (0..5)
            .map(|_| (vec![ball(5.0), ball(5.0)], truth))
            .collect();
        let (scale, before, after) = fit_scale(&cells);
        // On the voxel grid the balls hold 0.61 (not (5/6)³) of the truth's voxels.
        assert!((before - 0.605).abs() < 0.01, "{before}");
        assert!((scale - 1.2).abs() < 0.03, "{scale}");
        assert!((after - 1.0).abs() < 0.02, "{after}");
    }

    #[test]
    fn a_calibration_file_from_before_the_scale_is_a_learnt_level() {
        let sha = "ab".repeat(32);
        let text = format!(
            r#"{{"level": -0.53, "method": "median volume ratio on training cells", "model_sha256": "{sha}", "sampler": "ddim-10-eta0", "samples": 5, "cells": ["a"], "median_volume_ratio_at_0": 0.85, "median_volume_ratio": 1.0}}"#
        );
        let c = Calibration::parse(&text, &sha).unwrap();
        assert_eq!(c.size, SizeCorrection::level(-0.53));
    }

    #[test]
    fn a_calibration_of_another_model_is_refused() {
        let c = Calibration {
            size: SizeCorrection::level(-0.2),
            method: ON_TRAINING_CELLS.into(),
            model_sha256: "ab".repeat(32),
            sampler: "ddim-10-eta0".into(),
            samples: 5,
            cells: vec!["a".into()],
            median_volume_ratio_at_0: 0.87,
            median_volume_ratio: 1.0,
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(Calibration::parse(&text, &"ab".repeat(32)).unwrap(), c);
        let err = Calibration::parse(&text, &"cd".repeat(32)).unwrap_err();
        assert!(err.contains("calibrates another model"), "{err}");
        assert!(
            Calibration::parse("{", "x")
                .unwrap_err()
                .contains("not a dispr calibration")
        );
    }
}
