//! Shape measurements and comparisons, exactly as METRICS.md defines them.
//!
//! | name | definition |
//! |---|---|
//! | volume | voxels in the shape |
//! | surface_area | area of the marching-cubes mesh (zero-padded, level 0.5, Lewiner) |
//! | roughness | voxels where (Gaussian σ = 2, reflect, truncate 4, of the shape as float) > 0.5 differs from the shape |
//! | curvature | integral mean curvature of that mesh / its area (≈ 1/r for a sphere) |
//! | mesh_volume | volume enclosed by the mesh (sanity check: ≈ volume) |
//!
//! In physical units ([`measure_at`]): volume and roughness times a voxel's volume,
//! area, curvature and enclosed volume of the mesh scaled to µm (exact for any voxel,
//! cubic or not); the roughness smoothing stays σ = 2 voxels.
//!
//! Comparisons: relative error `|m(P) − m(G)| / m(G)` (undefined when m(G) = 0), IoU,
//! Dice.

use crate::grid::Volume;
use crate::scale::{Units, VoxelSize};
use crate::shape::filters::gaussian_filter_in_place;
use crate::shape::mesh::{Mesh, marching_cubes};

/// σ of the roughness smoothing, in voxels.
pub const ROUGHNESS_SIGMA: f64 = 2.0;
/// Gaussian kernel truncation, in σ (scipy's default).
pub const GAUSSIAN_TRUNCATE: f64 = 4.0;

/// The per-shape measurements.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measurements {
    /// Voxels in the shape.
    pub volume: u64,
    /// Area of the marching-cubes mesh, in voxel faces.
    pub surface_area: f64,
    /// Voxels changed by Gaussian smoothing and re-thresholding.
    pub roughness: u64,
    /// Integral mean curvature / area, per voxel; `None` for an empty shape.
    pub curvature: Option<f64>,
    /// Volume enclosed by the mesh.
    pub mesh_volume: f64,
}

/// The measurements the paper compares (Table 1), in its order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// [`Measurements::volume`].
    Volume,
    /// [`Measurements::surface_area`].
    SurfaceArea,
    /// [`Measurements::roughness`].
    Roughness,
    /// [`Measurements::curvature`].
    Curvature,
}

impl Measure {
    /// All four, in Table 1's order.
    pub const ALL: [Measure; 4] = [
        Measure::Volume,
        Measure::SurfaceArea,
        Measure::Roughness,
        Measure::Curvature,
    ];

    /// Column name (`volume`, `surface_area`, `roughness`, `curvature`).
    pub fn name(self) -> &'static str {
        match self {
            Measure::Volume => "volume",
            Measure::SurfaceArea => "surface_area",
            Measure::Roughness => "roughness",
            Measure::Curvature => "curvature",
        }
    }

    /// The value of this measurement.
    pub fn of(self, m: &Measurements) -> Option<f64> {
        match self {
            Measure::Volume => Some(m.volume as f64),
            Measure::SurfaceArea => Some(m.surface_area),
            Measure::Roughness => Some(m.roughness as f64),
            Measure::Curvature => m.curvature,
        }
    }
}

/// Measures a shape; also returns its mesh (for writing or further use).
pub fn measure_with_mesh(shape: &Volume<bool>) -> (Measurements, Mesh) {
    // The smoothing and the mesh are independent: compute them side by side.
    let (roughness, (mesh, area, curvature, mesh_volume)) = rayon::join(
        || roughness(shape),
        || {
            let mesh = marching_cubes(shape);
            let s = mesh.surface_measures();
            let curvature = (s.area > 0.0).then(|| s.integral_mean_curvature / s.area);
            (mesh, s.area, curvature, s.volume)
        },
    );
    let measurements = Measurements {
        volume: shape.count() as u64,
        surface_area: area,
        roughness: roughness as u64,
        curvature,
        mesh_volume,
    };
    (measurements, mesh)
}

/// Measures a shape.
pub fn measure(shape: &Volume<bool>) -> Measurements {
    measure_with_mesh(shape).0
}

/// The measurements in the units of a scale: µm³, µm², 1/µm when the voxel size is
/// known, voxels otherwise (then the same numbers as [`Measurements`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ScaledMeasurements {
    /// The units of every field.
    pub units: Units,
    /// The voxel the shape was measured at, when known.
    pub voxel: Option<VoxelSize>,
    /// The shape's volume.
    pub volume: f64,
    /// The mesh's area.
    pub surface_area: f64,
    /// The volume of the voxels smoothing changes.
    pub roughness: f64,
    /// Integral mean curvature / area; `None` for an empty shape.
    pub curvature: Option<f64>,
    /// Volume enclosed by the mesh.
    pub mesh_volume: f64,
}

impl ScaledMeasurements {
    /// Sphericity π^⅓ (6V)^⅔ / A of the mesh (1 for a ball, dimensionless); 0 for an
    /// empty shape.
    pub fn sphericity(&self) -> f64 {
        if self.surface_area <= 0.0 {
            return 0.0;
        }
        let v = self.mesh_volume.max(0.0);
        std::f64::consts::PI.cbrt() * (6.0 * v).powf(2.0 / 3.0) / self.surface_area
    }
}

/// Measures a shape whose voxels are `voxel` (µm; `None`: unknown, voxel units); also
/// returns its mesh, in the same units.
pub fn measure_at(shape: &Volume<bool>, voxel: Option<VoxelSize>) -> (ScaledMeasurements, Mesh) {
    let (m, mesh) = measure_with_mesh(shape);
    let Some(voxel) = voxel else {
        let scaled = ScaledMeasurements {
            units: Units::Voxels,
            voxel: None,
            volume: m.volume as f64,
            surface_area: m.surface_area,
            roughness: m.roughness as f64,
            curvature: m.curvature,
            mesh_volume: m.mesh_volume,
        };
        return (scaled, mesh);
    };
    let mesh = mesh.scaled(voxel.xyz());
    let s = mesh.surface_measures();
    let scaled = ScaledMeasurements {
        units: Units::Micrometres,
        voxel: Some(voxel),
        volume: m.volume as f64 * voxel.voxel_volume(),
        surface_area: s.area,
        roughness: m.roughness as f64 * voxel.voxel_volume(),
        curvature: (s.area > 0.0).then(|| s.integral_mean_curvature / s.area),
        mesh_volume: s.volume,
    };
    (scaled, mesh)
}

/// Voxels where the smoothed shape, thresholded at 0.5, differs from the shape.
///
/// Only the shape's bounding box grown by the kernel radius is filtered: beyond it both
/// the shape and its smoothing are exactly 0, and scipy's reflection at the cropped
/// faces only ever brings in zeros, so the count is the same as on the whole volume.
pub fn roughness(shape: &Volume<bool>) -> usize {
    let Some((lo, hi)) = shape.bounding_box() else {
        return 0;
    };
    let radius = (GAUSSIAN_TRUNCATE * ROUGHNESS_SIGMA + 0.5) as usize;
    let dims = shape.shape();
    let lo = lo.map(|l| l.saturating_sub(radius));
    let hi = std::array::from_fn(|a| (hi[a] + radius).min(dims[a]));
    let crop = shape.crop(lo, hi);
    // Two f64 buffers per thread, kept between calls: fresh memory costs a page fault
    // per 4 KiB, as much as the filtering itself.
    thread_local! {
        static BUFFERS: std::cell::RefCell<(Vec<f64>, Vec<f64>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    BUFFERS.with(|buffers| {
        let (data, spare) = &mut *buffers.borrow_mut();
        data.clear();
        data.extend(crop.data().iter().map(|&v| if v { 1.0 } else { 0.0 }));
        gaussian_filter_in_place(
            data,
            spare,
            &crop.shape(),
            [ROUGHNESS_SIGMA; 3],
            GAUSSIAN_TRUNCATE,
        );
        data.iter()
            .zip(crop.data())
            .filter(|&(&s, &b)| (s > 0.5) != b)
            .count()
    })
}

/// `|predicted − truth| / truth`; `None` when the truth is 0 or either is missing.
pub fn relative_error(predicted: Option<f64>, truth: Option<f64>) -> Option<f64> {
    let (p, t) = (predicted?, truth?);
    (t != 0.0 && p.is_finite() && t.is_finite()).then(|| (p - t).abs() / t.abs())
}

/// Overlap of two shapes of the same grid.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Overlap {
    /// |P ∩ G| / |P ∪ G| (1 for two empty shapes).
    pub iou: f64,
    /// 2|P ∩ G| / (|P| + |G|) (1 for two empty shapes).
    pub dice: f64,
}

/// IoU and Dice of two shapes. Panics when their grids differ (check before calling).
pub fn overlap(predicted: &Volume<bool>, truth: &Volume<bool>) -> Overlap {
    assert_eq!(
        predicted.shape(),
        truth.shape(),
        "overlap of different grids"
    );
    let (mut both, mut either, mut sizes) = (0usize, 0usize, 0usize);
    for (&p, &t) in predicted.data().iter().zip(truth.data()) {
        both += (p && t) as usize;
        either += (p || t) as usize;
        sizes += p as usize + t as usize;
    }
    if either == 0 {
        return Overlap {
            iou: 1.0,
            dice: 1.0,
        };
    }
    Overlap {
        iou: both as f64 / either as f64,
        dice: 2.0 * both as f64 / sizes as f64,
    }
}

/// A prediction's errors against the ground truth.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Relative error of the volume.
    pub volume: Option<f64>,
    /// Relative error of the surface area.
    pub surface_area: Option<f64>,
    /// Relative error of the roughness.
    pub roughness: Option<f64>,
    /// Relative error of the curvature.
    pub curvature: Option<f64>,
    /// Overlap.
    pub iou: f64,
    /// Overlap.
    pub dice: f64,
}

impl Comparison {
    /// Relative error of one measurement.
    pub fn error(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::Volume => self.volume,
            Measure::SurfaceArea => self.surface_area,
            Measure::Roughness => self.roughness,
            Measure::Curvature => self.curvature,
        }
    }
}

/// Compares a prediction with the truth, given both shapes and their measurements.
pub fn compare(
    predicted: &Volume<bool>,
    predicted_m: &Measurements,
    truth: &Volume<bool>,
    truth_m: &Measurements,
) -> Comparison {
    let o = overlap(predicted, truth);
    let err = |m: Measure| relative_error(m.of(predicted_m), m.of(truth_m));
    Comparison {
        volume: err(Measure::Volume),
        surface_area: err(Measure::SurfaceArea),
        roughness: err(Measure::Roughness),
        curvature: err(Measure::Curvature),
        iou: o.iou,
        dice: o.dice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball(n: usize, r: f64) -> Volume<bool> {
        let c = (n as f64 - 1.0) / 2.0;
        Volume::from_fn([n, n, n], |[z, y, x]| {
            let d = |a: usize| a as f64 - c;
            d(z).powi(2) + d(y).powi(2) + d(x).powi(2) <= r * r
        })
    }

    #[test]
    fn ball_measurements_are_plausible() {
        let m = measure(&ball(48, 15.0));
        let r = 15.0;
        let volume = m.volume as f64;
        assert!((volume / (4.0 / 3.0 * std::f64::consts::PI * r * r * r) - 1.0).abs() < 0.02);
        // Marching cubes on voxels overestimates the area by ~8 %.
        let ratio = m.surface_area / (4.0 * std::f64::consts::PI * r * r);
        assert!((1.0..1.15).contains(&ratio), "{ratio}");
        assert!(
            (m.curvature.unwrap() * r - 1.0).abs() < 0.1,
            "{:?}",
            m.curvature
        );
        assert!((m.mesh_volume / volume - 1.0).abs() < 0.01);
        // Smoothing shrinks a convex shape by about σ²·H ≈ 0.27 voxel: a thin shell.
        assert!(
            m.roughness > 0 && (m.roughness as f64) < volume * 0.1,
            "{}",
            m.roughness
        );
    }

    #[test]
    fn physical_measurements_scale_with_the_voxel() {
        let shape = ball(40, 12.0);
        let (voxels, _) = measure_at(&shape, None);
        let m = measure(&shape);
        assert_eq!(voxels.volume, m.volume as f64);
        assert_eq!(voxels.surface_area, m.surface_area);
        let (um, mesh) = measure_at(&shape, Some(VoxelSize::cube(0.5)));
        assert_eq!(um.units, Units::Micrometres);
        assert!((um.volume - m.volume as f64 * 0.125).abs() < 1e-9);
        assert!((um.surface_area - m.surface_area * 0.25).abs() < 1e-6);
        assert!((um.curvature.unwrap() - m.curvature.unwrap() * 2.0).abs() < 1e-9);
        assert!((um.roughness - m.roughness as f64 * 0.125).abs() < 1e-9);
        assert!((um.sphericity() - voxels.sphericity()).abs() < 1e-9);
        assert!(mesh.vertices.iter().all(|v| v.iter().all(|&c| c <= 20.0)));
        // Voxels twice as deep: the same ball stretched along z, area between 1× and 2×.
        let deep = VoxelSize {
            x: 1.0,
            y: 1.0,
            z: 2.0,
        };
        let (stretched, _) = measure_at(&shape, Some(deep));
        assert!((stretched.volume - 2.0 * m.volume as f64).abs() < 1e-9);
        let ratio = stretched.surface_area / m.surface_area;
        assert!((1.3..1.8).contains(&ratio), "{ratio}");
        assert!((stretched.mesh_volume / stretched.volume - 1.0).abs() < 0.01);
    }

    #[test]
    fn empty_shape() {
        let m = measure(&Volume::filled([8, 8, 8], false));
        assert_eq!(
            (m.volume, m.surface_area, m.roughness, m.curvature),
            (0, 0.0, 0, None)
        );
    }

    #[test]
    fn comparisons() {
        assert_eq!(relative_error(Some(3.0), Some(2.0)), Some(0.5));
        assert_eq!(relative_error(Some(3.0), Some(0.0)), None);
        assert_eq!(relative_error(None, Some(1.0)), None);
        let a = Volume::from_fn([1, 1, 4], |[_, _, x]| x < 2);
        let b = Volume::from_fn([1, 1, 4], |[_, _, x]| x >= 1);
        let o = overlap(&a, &b);
        assert_eq!(o.iou, 1.0 / 4.0);
        assert_eq!(o.dice, 2.0 / 5.0);
    }
}
