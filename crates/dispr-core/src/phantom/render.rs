//! Image formation (PHANTOMS.md, "Image formation"): a cell's signed distance field
//! becomes a membrane stain, is blurred by an anisotropic point-spread function, and
//! gives the 2D fluorescence slice (with photon and read noise), the 3D ground truth
//! (the hole-filled blurred stain above a threshold, elongated along z like the real
//! segmentations) and its central-slice mask, centred as the real data are.

use rand::{Rng, RngExt};

use super::sdf::V3;
use super::shapes::{CellShape, normal, uniform};
use crate::grid::{Grid, Image, Volume};
use crate::shape::filters::{fill_holes_3d, gaussian_filter_axes_owned};

/// Voxel size of the reference data (µm): cells are 40–55 voxels across.
pub const VOXEL_UM: f64 = 0.17;

/// The imaging parameters drawn for one cell.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Imaging {
    /// PSF σ in y and x (voxels).
    pub sigma_xy: f64,
    /// PSF σ in z (voxels).
    pub sigma_z: f64,
    /// Threshold of the ground truth, as a fraction of the stain maximum.
    pub tau: f64,
    /// Photons at the brightest voxel.
    pub peak_photons: f64,
    /// Background offset (grey levels).
    pub background: f64,
    /// Shift of the cell's xy centre from the grid centre (voxels).
    pub xy_offset: [f64; 2],
    /// Brightness: the slice's maximum in grey levels is 255 × gain (real slices peak at
    /// 138–251, median 205, whatever the cell's shape).
    pub gain: f64,
    /// Weight of the membrane stain against a uniform cytoplasm stain (the real images
    /// are brightest inside the cell, not at its rim).
    pub membrane: f64,
}

impl Imaging {
    /// Draws the parameters (ranges from PHANTOMS.md, tuned against the real sample).
    pub fn sample(rng: &mut impl Rng) -> Imaging {
        let sigma_xy = uniform(rng, 1.4, 1.6);
        Imaging {
            sigma_xy,
            // PHANTOMS.md estimates U(2.5, 3.5)·σ_xy; real cells are taller in z than
            // that gives (knizocytes 40 of 47 slices), hence U(2.8, 3.8).
            sigma_z: uniform(rng, 2.8, 3.8) * sigma_xy,
            tau: uniform(rng, 0.25, 0.4),
            peak_photons: uniform(rng, 300.0, 1000.0),
            background: uniform(rng, 1.0, 6.0),
            xy_offset: [uniform(rng, -1.5, 1.5), uniform(rng, -1.5, 1.5)],
            membrane: uniform(rng, 0.3, 0.5),
            gain: uniform(rng, 0.55, 0.9),
        }
    }
}

/// A rendered cell on an n³ grid.
pub struct Rendered {
    /// The fluorescence slice through the centre, 0–255.
    pub image: Image<u8>,
    /// The ground-truth shape's central slice.
    pub mask: Image<bool>,
    /// The ground-truth shape.
    pub obj: Volume<bool>,
}

/// Half-width of the membrane stain profile (µm): the 0.05 µm membrane widened to half a
/// voxel so that the thin shell is sampled without aliasing.
const MEMBRANE_UM: f64 = 0.1;

/// Renders `shape` (µm, centred at the origin) on an `n`³ grid.
pub fn render(shape: &CellShape, imaging: &Imaging, rng: &mut impl Rng, n: usize) -> Rendered {
    let c = (n as f64 - 1.0) / 2.0;
    let world = |i: usize| (i as f64 - c) * VOXEL_UM;
    // 1. Membrane stain around the surface, with ±10 % smooth density noise.
    let reach = shape.parts.iter().map(|p| {
        let (centre, r) = p.bounds();
        super::sdf::length(centre) + r
    });
    let reach = reach.fold(0.0, f64::max) + 1.0;
    let mut stain = Grid::filled([n, n, n], 0.0f64);
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let p: V3 = [world(x), world(y), world(z)];
                if super::sdf::length(p) > reach {
                    continue;
                }
                let d = shape.distance(p);
                let membrane = if d.abs() < 4.0 * MEMBRANE_UM {
                    libm::exp(-d * d / (2.0 * MEMBRANE_UM * MEMBRANE_UM))
                } else {
                    0.0
                };
                let occupancy = (0.5 - d / VOXEL_UM).clamp(0.0, 1.0);
                stain.set(
                    [z, y, x],
                    imaging.membrane * membrane + (1.0 - imaging.membrane) * occupancy,
                );
            }
        }
    }
    let noise = Grid::from_fn([n, n, n], |_| uniform(rng, -1.0, 1.0));
    let noise = gaussian_filter_axes_owned(noise, [2.0; 3], 4.0);
    let sd = (noise.data().iter().map(|v| v * v).sum::<f64>() / noise.len() as f64)
        .sqrt()
        .max(1e-12);
    for (s, v) in stain.data_mut().iter_mut().zip(noise.data()) {
        *s *= 1.0 + 0.1 * v / sd;
    }
    // 2. Anisotropic point-spread function; scale to a maximum of 1.
    let sigmas = [imaging.sigma_z, imaging.sigma_xy, imaging.sigma_xy];
    let mut blurred = gaussian_filter_axes_owned(stain, sigmas, 4.0);
    let max = blurred
        .data()
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(1e-12);
    blurred.data_mut().iter_mut().for_each(|v| *v /= max);
    // 3. Ground truth: the hole-filled blurred stain above τ.
    let obj = fill_holes_3d(&blurred.map(|v| v > imaging.tau));
    // 4. Centre: z bounding box at the middle, xy centre near it.
    let (dz, dy, dx) = match obj.bounding_box() {
        Some((lo, hi)) => {
            // First plus last index: moving it to n puts the z centre at n/2 (or half a
            // voxel below, when the extent is even).
            let ends = |a: usize| (lo[a] + hi[a] - 1) as i64;
            let dz = (n as i64 - ends(0)).div_euclid(2);
            let target = n as f64 / 2.0;
            let dy = (target + imaging.xy_offset[0] - ends(1) as f64 / 2.0).round() as i64;
            let dx = (target + imaging.xy_offset[1] - ends(2) as f64 / 2.0).round() as i64;
            (dz, dy, dx)
        }
        None => (0, 0, 0),
    };
    let obj = shift(&obj, [dz, dy, dx], false);
    let mid = n / 2;
    let slice = shift(&blurred, [dz, dy, dx], 0.0).slice_z(mid);
    // 5. The 2D image: photon noise, read noise, background, light smoothing.
    let peak = imaging.peak_photons;
    let slice_max = slice.data().iter().copied().fold(0.0, f64::max).max(1e-12);
    let noisy = slice.data().iter().map(|&v| {
        let v = v / slice_max;
        let photons = poisson(rng, v * peak);
        photons / peak * 255.0 * imaging.gain + normal(rng, 0.0, 0.5) + imaging.background
    });
    let noisy = Grid::new([n, n], noisy.collect()).expect("n×n");
    let smooth = gaussian_filter_axes_owned(noisy, [0.5, 0.5], 4.0);
    let image = smooth.map(|v| v.round().clamp(0.0, 255.0) as u8);
    let mask = obj.slice_z(mid);
    Rendered { image, mask, obj }
}

/// Moves a volume by whole voxels, filling with `fill`.
fn shift<T: Copy>(v: &Volume<T>, by: [i64; 3], fill: T) -> Volume<T> {
    let shape = v.shape();
    Volume::from_fn(shape, |idx| {
        let src: [i64; 3] = std::array::from_fn(|a| idx[a] as i64 - by[a]);
        if (0..3).all(|a| src[a] >= 0 && (src[a] as usize) < shape[a]) {
            v.at(src.map(|s| s as usize))
        } else {
            fill
        }
    })
}

/// A Poisson sample (Knuth's method below 30, the normal approximation above).
fn poisson(rng: &mut impl Rng, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda > 30.0 {
        return normal(rng, lambda, lambda.sqrt()).round().max(0.0);
    }
    let limit = libm::exp(-lambda);
    let mut k = 0.0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1.0;
        p *= rng.random::<f64>();
    }
    k
}
