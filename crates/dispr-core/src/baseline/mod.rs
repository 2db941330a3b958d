//! The geometric baselines of the SHAPR and DISPR papers: 3D shapes guessed from the 2D
//! mask alone, following the reference notebooks (the full z extent equals the mean
//! semi-axis of the ellipse fitted to the mask outline), and the retrieval baseline
//! that learns nothing ([`nearest`]).

pub mod nearest;

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::grid::{Image, Volume};
use crate::shape::ellipse::{Ellipse, fit_ellipse, mask_outline};

/// A geometric baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// The mask extruded along z over a height of (a + b)/2, centred at the middle slice.
    Cylinder,
    /// Semi-axes a, b in xy (rotated as the ellipse) and (a + b)/4 along z, centred at
    /// (ellipse centre, middle slice).
    Ellipsoid,
}

impl Baseline {
    /// `cylinder` or `ellipsoid`.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Cylinder => "cylinder",
            Baseline::Ellipsoid => "ellipsoid",
        }
    }
}

impl FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cylinder" => Ok(Baseline::Cylinder),
            "ellipsoid" => Ok(Baseline::Ellipsoid),
            other => Err(format!(
                "unknown baseline '{other}' (expected cylinder or ellipsoid)"
            )),
        }
    }
}

/// The ellipse fitted to the mask's (hole-filled) outline.
pub fn mask_ellipse(mask: &Image<bool>) -> Result<Ellipse> {
    let outline = mask_outline(mask);
    if outline.is_empty() {
        return Err(Error::invalid("mask is empty"));
    }
    fit_ellipse(&outline).ok_or_else(|| {
        Error::invalid(format!(
            "no ellipse fits the mask outline ({} points)",
            outline.len()
        ))
    })
}

/// The baseline's 3D shape for `mask` on a grid `depth` slices deep, centred on slice
/// `depth / 2` (z = 32 for the reference 64³ data).
pub fn predict(baseline: Baseline, mask: &Image<bool>, depth: usize) -> Result<Volume<bool>> {
    let e = mask_ellipse(mask)?;
    let [h, w] = mask.shape();
    let zc = (depth / 2) as f64;
    Ok(match baseline {
        Baseline::Cylinder => {
            let half = (e.a + e.b) / 4.0;
            Volume::from_fn([depth, h, w], |[z, y, x]| {
                (z as f64 - zc).abs() <= half && mask.at([y, x])
            })
        }
        Baseline::Ellipsoid => {
            let c = (e.a + e.b) / 4.0;
            let (sin, cos) = e.theta.sin_cos();
            Volume::from_fn([depth, h, w], |[z, y, x]| {
                let (dx, dy) = (x as f64 - e.xc, y as f64 - e.yc);
                let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
                (u / e.a).powi(2) + (v / e.b).powi(2) + ((z as f64 - zc) / c).powi(2) <= 1.0
            })
        }
    })
}

/// Slices of a baseline shape when the dataset has no 3D shapes to take the depth from
/// (the real sample's depth).
pub const DEFAULT_DEPTH: usize = 64;

/// The depth of the baselines' shapes for `dataset`: that of its 3D shapes, or
/// [`DEFAULT_DEPTH`] without any.
pub fn depth_of(dataset: &crate::data::dataset::Dataset) -> crate::Result<usize> {
    match dataset.cells.iter().find_map(|c| c.obj.as_ref()) {
        Some(obj) => Ok(crate::io::tiff::read_volume(obj)?.shape()[0]),
        None => Ok(DEFAULT_DEPTH),
    }
}

/// Predicts every cell of `dataset` with a geometric baseline (in parallel) into
/// `out`, `depth` slices deep; `on_cell` is called after each cell. Returns the error of
/// every cell that failed (the others are written).
pub fn predict_dataset(
    baseline: Baseline,
    dataset: &crate::data::dataset::Dataset,
    depth: usize,
    out: &crate::io::prediction_dir::PredictionDir,
    on_cell: &(dyn Fn() + Sync),
) -> Vec<Error> {
    use rayon::prelude::*;
    dataset
        .cells
        .par_iter()
        .filter_map(|files| {
            let result = crate::data::dataset::load_cell(files).and_then(|cell| {
                let shape = predict(baseline, &cell.mask, depth)
                    .map_err(|e| Error::new(&files.mask, e.problem()))?;
                out.write_single(&cell.name, &shape)
            });
            on_cell();
            result.err()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(r: f64) -> Image<bool> {
        Image::from_fn([64, 64], |[y, x]| {
            (y as f64 - 32.0).powi(2) + (x as f64 - 30.0).powi(2) <= r * r
        })
    }

    #[test]
    fn cylinder_extrudes_the_mask() {
        let mask = disc(12.0);
        let e = mask_ellipse(&mask).unwrap();
        let cyl = predict(Baseline::Cylinder, &mask, 64).unwrap();
        assert_eq!(cyl.slice_z(32), mask);
        let slices = (0..64).filter(|&z| cyl.slice_z(z).count() > 0).count();
        let height = (e.a + e.b) / 2.0;
        assert!(
            (slices as f64 - height).abs() <= 1.0,
            "{slices} vs {height}"
        );
        assert_eq!(cyl.count(), slices * mask.count());
    }

    #[test]
    fn ellipsoid_has_the_fitted_axes() {
        let mask = disc(12.0);
        let ell = predict(Baseline::Ellipsoid, &mask, 64).unwrap();
        let e = mask_ellipse(&mask).unwrap();
        let expected = 4.0 / 3.0 * std::f64::consts::PI * e.a * e.b * (e.a + e.b) / 4.0;
        assert!(
            (ell.count() as f64 / expected - 1.0).abs() < 0.05,
            "{} vs {expected}",
            ell.count()
        );
        assert!(predict(Baseline::Ellipsoid, &Image::filled([8, 8], false), 8).is_err());
        assert_eq!("cylinder".parse(), Ok(Baseline::Cylinder));
        assert!("sphere".parse::<Baseline>().is_err());
    }
}
