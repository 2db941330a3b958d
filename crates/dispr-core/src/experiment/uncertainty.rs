//! What a cell's samples say about its shape, with their spread: per measure the mean,
//! the standard deviation and the 90 % interval (5th to 95th percentile of the samples,
//! linear interpolation as numpy), and the samples' mean pairwise 1 − IoU. The interval
//! is the samples' own: with 5 samples it is coarse (`dispr predict --samples N` for
//! more), and it is as honest as the model's calibration (docs/accuracy.md), not a
//! guarantee. A model with interval calibration ([`crate::experiment::intervals`],
//! measured on held-out cells) adds its calibrated 90 % interval beside it. Units: µm, µm², µm³ and 1/µm when the voxel size is known, voxels
//! otherwise ([`CellUncertainty::columns`] names them).

use rayon::prelude::*;

use crate::experiment::intervals::MeasureFit;
use crate::grid::Volume;
use crate::scale::{Units, VoxelSize};
use crate::shape::metrics::{Measure, measure_at, overlap};

/// Mean, standard deviation and 90 % interval of one measure over the samples.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one sample).
    pub sd: f64,
    /// 5th percentile.
    pub low: f64,
    /// 95th percentile.
    pub high: f64,
    /// The calibrated 90 % interval, when the model has one for this measure
    /// ([`CellUncertainty::calibrate`]).
    pub calibrated: Option<[f64; 2]>,
}

impl Spread {
    /// The spread of `values` (not empty).
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let at = |q: f64| {
            let pos = q * (n - 1) as f64;
            let (i, frac) = (pos.floor() as usize, pos - pos.floor());
            if i + 1 < n {
                v[i] + frac * (v[i + 1] - v[i])
            } else {
                v[i]
            }
        };
        Self {
            mean,
            sd,
            low: at(0.05),
            high: at(0.95),
            calibrated: None,
        }
    }
}

/// The measures summarised, in table order, with their dimension (length to that
/// power).
pub const MEASURES: [(&str, i32); 5] = [
    ("volume", 3),
    ("surface_area", 2),
    ("roughness", 3),
    ("curvature", -1),
    ("sphericity", 0),
];

/// Each sample's [`MEASURES`] (curvature 0 for an empty sample) with voxels `voxel`
/// (µm; `None`: voxel units).
pub fn measure_samples(samples: &[Volume<bool>], voxel: Option<VoxelSize>) -> Vec<[f64; 5]> {
    samples
        .par_iter()
        .map(|s| {
            let (m, _) = measure_at(s, voxel);
            [
                m.volume,
                m.surface_area,
                m.roughness,
                m.curvature.unwrap_or(0.0),
                m.sphericity(),
            ]
        })
        .collect()
}

/// A cell's samples summarised.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CellUncertainty {
    /// Samples summarised.
    pub samples: usize,
    /// The units of the measures.
    pub units: Units,
    /// One spread per entry of [`MEASURES`].
    pub measures: Vec<Spread>,
    /// Mean over pairs of samples of 1 − IoU (0 for one sample).
    pub pairwise_distance: f64,
    /// Samples with no voxel (their curvature counts as 0 in the spread).
    pub empty_samples: usize,
}

impl CellUncertainty {
    /// The summary of a cell's samples (at least one, on one grid) whose voxels are
    /// `voxel` (`None`: unknown, voxel units).
    pub fn of_samples(samples: &[Volume<bool>], voxel: Option<VoxelSize>) -> Self {
        Self::of_measured(samples, &measure_samples(samples, voxel), voxel)
    }

    /// The summary of samples whose [`measure_samples`] are `values`.
    pub fn of_measured(
        samples: &[Volume<bool>],
        values: &[[f64; 5]],
        voxel: Option<VoxelSize>,
    ) -> Self {
        let measures = (0..MEASURES.len())
            .map(|i| Spread::of(&values.iter().map(|v| v[i]).collect::<Vec<_>>()))
            .collect();
        let mut distances = Vec::new();
        for i in 0..samples.len() {
            for j in i + 1..samples.len() {
                distances.push(1.0 - overlap(&samples[i], &samples[j]).iou);
            }
        }
        Self {
            samples: samples.len(),
            units: if voxel.is_some() {
                Units::Micrometres
            } else {
                Units::Voxels
            },
            measures,
            empty_samples: samples.iter().filter(|s| s.count() == 0).count(),
            pairwise_distance: if distances.is_empty() {
                0.0
            } else {
                distances.iter().sum::<f64>() / distances.len() as f64
            },
        }
    }

    /// Column names of [`CellUncertainty::values`] in `units`: `samples`, then for each
    /// measure `M_U_mean`, `M_U_sd`, `M_U_p05`, `M_U_p95`, `M_U_lo90`, `M_U_hi90` (U
    /// its unit, e.g. `volume_um3_mean` or `volume_vox3_mean`; lo90/hi90 the calibrated
    /// interval, empty without one), then `pairwise_1_minus_iou`.
    pub fn columns(units: Units) -> Vec<String> {
        let mut c = vec!["samples".to_string()];
        for (m, dimension) in MEASURES {
            let unit = units.suffix(dimension);
            c.extend(
                ["mean", "sd", "p05", "p95", "lo90", "hi90"].map(|s| format!("{m}{unit}_{s}")),
            );
        }
        c.push("pairwise_1_minus_iou".into());
        c
    }

    /// Adds the calibrated 90 % interval of each measure that `fits` has a fit for —
    /// but not curvature when a sample is empty (such cells are not scored when fitting:
    /// an empty shape has no curvature).
    pub fn calibrate(&mut self, fits: &[MeasureFit]) {
        let empty = self.empty_samples > 0;
        for ((name, _), spread) in MEASURES.iter().zip(&mut self.measures) {
            spread.calibrated = fits
                .iter()
                .filter(|f| !(empty && f.measure == Measure::Curvature))
                .find(|f| f.measure.name() == *name)
                .and_then(|f| f.interval(spread));
        }
    }

    /// The values, in [`CellUncertainty::columns`] order (NaN: no calibrated interval).
    pub fn values(&self) -> Vec<f64> {
        let mut v = vec![self.samples as f64];
        for s in &self.measures {
            let [lo, hi] = s.calibrated.unwrap_or([f64::NAN; 2]);
            v.extend([s.mean, s.sd, s.low, s.high, lo, hi]);
        }
        v.push(self.pairwise_distance);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_match_numpy() {
        // numpy: v = [4, 1, 16, 2, 8]; np.percentile(v, [5, 95]) = [1.2, 14.4];
        // v.std(ddof=1) = 6.099180272790763
        let s = Spread::of(&[4.0, 1.0, 16.0, 2.0, 8.0]);
        assert!((s.low - 1.2).abs() < 1e-12 && (s.high - 14.4).abs() < 1e-12);
        assert!((s.mean - 6.2).abs() < 1e-12);
        assert!((s.sd - 6.099180272790763).abs() < 1e-12);
        assert_eq!(Spread::of(&[3.0]).sd, 0.0);
    }

    #[test]
    fn identical_samples_have_no_spread() {
        let cube = Volume::from_fn([8, 8, 8], |[z, y, x]| {
            (2..6).contains(&z) && (2..6).contains(&y) && (2..6).contains(&x)
        });
        let u = CellUncertainty::of_samples(&[cube.clone(), cube], None);
        assert_eq!(u.pairwise_distance, 0.0);
        assert_eq!(u.measures[0].mean, 64.0);
        assert_eq!(u.measures[0].sd, 0.0);
        assert_eq!(u.values().len(), CellUncertainty::columns(u.units).len());
    }
}
