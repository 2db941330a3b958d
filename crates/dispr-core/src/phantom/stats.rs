//! The statistics by which synthetic cells are compared with real ones (PHANTOMS.md,
//! "Matching the real sample"); computed the same way for both.

use crate::grid::{Image, Volume};

/// Distances (pixels, negative outside the mask) of the edge profile.
pub const EDGE_PROFILE_DISTANCES: [i32; 7] = [-3, -2, -1, 1, 2, 3, 4];

/// Statistics of one cell.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CellStats {
    /// Voxels in the 3D shape.
    pub volume: f64,
    /// Pixels in the mask.
    pub mask_area: f64,
    /// Slices spanned by the shape.
    pub z_extent: f64,
    /// Larger of the y and x extents of the shape.
    pub xy_extent: f64,
    /// Centre of the z bounding box.
    pub z_centre: f64,
    /// Centre of the y and x bounding box.
    pub xy_centre: [f64; 2],
    /// Median image value outside the mask, beyond 5 pixels from it.
    pub background: f64,
    /// Mean image value inside the mask.
    pub inside_mean: f64,
    /// Image maximum.
    pub slice_max: f64,
    /// Mean image value at each of [`EDGE_PROFILE_DISTANCES`] from the mask edge,
    /// relative to the value 4 pixels inside.
    pub edge_profile: [f64; 7],
}

/// Rounded Euclidean distance from each pixel to the nearest pixel of the other side of
/// the mask, negative outside, searched within ±`reach` pixels (beyond: ±(reach + 1)).
fn signed_edge_distance(mask: &Image<bool>, reach: i32) -> Image<i32> {
    let [h, w] = mask.shape();
    Image::from_fn([h, w], |[y, x]| {
        let inside = mask.at([y, x]);
        let mut best = i32::MAX;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (yy, xx) = (y as i32 + dy, x as i32 + dx);
                if yy < 0 || xx < 0 || yy >= h as i32 || xx >= w as i32 {
                    continue;
                }
                if mask.at([yy as usize, xx as usize]) != inside {
                    best = best.min(dy * dy + dx * dx);
                }
            }
        }
        let d = if best == i32::MAX {
            reach + 1
        } else {
            (best as f64).sqrt().round() as i32
        };
        if inside { d } else { -d }
    })
}

/// Computes the statistics of a cell from its image, mask and 3D shape.
pub fn cell_stats(image: &Image<u8>, mask: &Image<bool>, obj: &Volume<bool>) -> CellStats {
    let (lo, hi) = obj.bounding_box().unwrap_or(([0; 3], [0; 3]));
    let centre = |a: usize| (lo[a] + hi[a]) as f64 / 2.0 - 0.5;
    let distance = signed_edge_distance(mask, 6);
    let mut background: Vec<f64> = Vec::new();
    let (mut inside_sum, mut inside_n) = (0.0, 0usize);
    let mut profile_sum = [0.0; 7];
    let mut profile_n = [0usize; 7];
    for ((&v, &m), &d) in image.data().iter().zip(mask.data()).zip(distance.data()) {
        let v = v as f64;
        if m {
            inside_sum += v;
            inside_n += 1;
        } else if d < -5 {
            background.push(v);
        }
        if let Some(i) = EDGE_PROFILE_DISTANCES.iter().position(|&e| e == d) {
            profile_sum[i] += v;
            profile_n[i] += 1;
        }
    }
    background.sort_by(f64::total_cmp);
    let mean = |i: usize| {
        if profile_n[i] > 0 {
            profile_sum[i] / profile_n[i] as f64
        } else {
            0.0
        }
    };
    let plateau = mean(6).max(1e-9);
    CellStats {
        volume: obj.count() as f64,
        mask_area: mask.count() as f64,
        z_extent: (hi[0] - lo[0]) as f64,
        xy_extent: (hi[1] - lo[1]).max(hi[2] - lo[2]) as f64,
        z_centre: centre(0),
        xy_centre: [centre(1), centre(2)],
        background: background.get(background.len() / 2).copied().unwrap_or(0.0),
        inside_mean: if inside_n > 0 {
            inside_sum / inside_n as f64
        } else {
            0.0
        },
        slice_max: image.data().iter().copied().max().unwrap_or(0) as f64,
        edge_profile: std::array::from_fn(|i| mean(i) / plateau),
    }
}

/// The median of each statistic over several cells.
pub fn median_stats(cells: &[CellStats]) -> CellStats {
    let med = |f: &dyn Fn(&CellStats) -> f64| {
        let mut v: Vec<f64> = cells.iter().map(f).collect();
        crate::experiment::evaluation::describe(&mut v).0
    };
    CellStats {
        volume: med(&|c| c.volume),
        mask_area: med(&|c| c.mask_area),
        z_extent: med(&|c| c.z_extent),
        xy_extent: med(&|c| c.xy_extent),
        z_centre: med(&|c| c.z_centre),
        xy_centre: [med(&|c| c.xy_centre[0]), med(&|c| c.xy_centre[1])],
        background: med(&|c| c.background),
        inside_mean: med(&|c| c.inside_mean),
        slice_max: med(&|c| c.slice_max),
        edge_profile: std::array::from_fn(|i| med(&|c| c.edge_profile[i])),
    }
}
