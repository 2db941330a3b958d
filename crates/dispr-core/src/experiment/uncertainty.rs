//! What a cell's samples say about its shape, with their spread: per measure the mean,
//! the standard deviation and the 90 % interval (5th to 95th percentile of the samples,
//! linear interpolation as numpy), and the samples' mean pairwise 1 − IoU. The interval
//! is the samples' own: with 5 samples it is coarse (`dispr predict --samples N` for
//! more), and it is as honest as the model's calibration (docs/accuracy.md), not a
//! guarantee. Units: voxels.

use rayon::prelude::*;

use crate::grid::Volume;
use crate::shape::metrics::{measure_with_mesh, overlap};

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
        }
    }
}

/// The measures summarised, in table order.
pub const MEASURES: [&str; 5] = [
    "volume",
    "surface_area",
    "roughness",
    "curvature",
    "sphericity",
];

/// A cell's samples summarised.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CellUncertainty {
    /// Samples summarised.
    pub samples: usize,
    /// One spread per entry of [`MEASURES`].
    pub measures: Vec<Spread>,
    /// Mean over pairs of samples of 1 − IoU (0 for one sample).
    pub pairwise_distance: f64,
}

impl CellUncertainty {
    /// The summary of a cell's samples (at least one, on one grid).
    pub fn of_samples(samples: &[Volume<bool>]) -> Self {
        let values: Vec<[f64; 5]> = samples
            .par_iter()
            .map(|s| {
                let (m, _) = measure_with_mesh(s);
                let (v, a) = (m.mesh_volume.max(1e-9), m.surface_area.max(1e-9));
                let pi = std::f64::consts::PI;
                [
                    m.volume as f64,
                    m.surface_area,
                    m.roughness as f64,
                    m.curvature.unwrap_or(0.0),
                    pi.cbrt() * (6.0 * v).powf(2.0 / 3.0) / a,
                ]
            })
            .collect();
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
            measures,
            pairwise_distance: if distances.is_empty() {
                0.0
            } else {
                distances.iter().sum::<f64>() / distances.len() as f64
            },
        }
    }

    /// Column names of [`CellUncertainty::values`]: `samples`, then for each measure
    /// `M_mean`, `M_sd`, `M_p05`, `M_p95`, then `pairwise_1_minus_iou`.
    pub fn columns() -> Vec<String> {
        let mut c = vec!["samples".to_string()];
        for m in MEASURES {
            c.extend(["mean", "sd", "p05", "p95"].map(|s| format!("{m}_{s}")));
        }
        c.push("pairwise_1_minus_iou".into());
        c
    }

    /// The values, in [`CellUncertainty::columns`] order.
    pub fn values(&self) -> Vec<f64> {
        let mut v = vec![self.samples as f64];
        for s in &self.measures {
            v.extend([s.mean, s.sd, s.low, s.high]);
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
        let u = CellUncertainty::of_samples(&[cube.clone(), cube]);
        assert_eq!(u.pairwise_distance, 0.0);
        assert_eq!(u.measures[0].mean, 64.0);
        assert_eq!(u.measures[0].sd, 0.0);
        assert_eq!(u.values().len(), CellUncertainty::columns().len());
    }
}
