//! Image filters with scipy.ndimage's exact conventions, so that measurements built on
//! them equal the reference tools: Gaussian smoothing and hole filling.

use std::collections::VecDeque;

use crate::grid::{Grid, Image};

/// The normalised 1D Gaussian kernel of scipy (`_gaussian_kernel1d`): radius
/// `⌊truncate·σ + 0.5⌋`, weights `exp(−x² / 2σ²)` summed from −r to r.
pub fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|x| libm::exp(-0.5 / (sigma * sigma) * (x * x) as f64))
        .collect();
    let sum: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / sum).collect()
}

/// Index into 0..n after scipy's `reflect` boundary (d c b a | a b c d | d c b a).
fn reflect(i: i64, n: i64) -> usize {
    let period = 2 * n;
    let mut j = i.rem_euclid(period);
    if j >= n {
        j = period - 1 - j;
    }
    j as usize
}

/// `scipy.ndimage.gaussian_filter(input.astype(float64), sigma, mode="reflect",
/// truncate=truncate)`: separable correlation along each axis in order, in f64, each
/// output summed as scipy sums it (centre, then symmetric pairs outward), so results are
/// bitwise equal. (Filter a float copy: scipy returns the input's dtype, so filtering a
/// bool array there silently yields all-False.)
pub fn gaussian_filter<const N: usize>(
    input: &Grid<f64, N>,
    sigma: f64,
    truncate: f64,
) -> Grid<f64, N> {
    gaussian_filter_axes(input, [sigma; N], truncate)
}

/// [`gaussian_filter`] with its own σ per axis (an anisotropic point-spread function);
/// σ = 0 leaves that axis alone.
pub fn gaussian_filter_axes<const N: usize>(
    input: &Grid<f64, N>,
    sigmas: [f64; N],
    truncate: f64,
) -> Grid<f64, N> {
    gaussian_filter_axes_owned(input.clone(), sigmas, truncate)
}

/// [`gaussian_filter_axes`] that reuses `input`'s memory: the passes ping-pong between
/// it and one more buffer, so a whole filter touches two fresh buffers at most (page
/// faults on new memory cost as much as the arithmetic here).
pub fn gaussian_filter_axes_owned<const N: usize>(
    input: Grid<f64, N>,
    sigmas: [f64; N],
    truncate: f64,
) -> Grid<f64, N> {
    let shape = input.shape();
    let mut current = input.into_data();
    gaussian_filter_in_place(&mut current, &mut Vec::new(), &shape, sigmas, truncate);
    Grid::new(shape, current).expect("same shape")
}

/// The filter on a row-major buffer of `shape`, in place, using `spare` as the second
/// buffer (callers that filter often keep both, so no fresh memory is touched).
pub fn gaussian_filter_in_place<const N: usize>(
    data: &mut Vec<f64>,
    spare: &mut Vec<f64>,
    shape: &[usize; N],
    sigmas: [f64; N],
    truncate: f64,
) {
    for (axis, &sigma) in sigmas.iter().enumerate() {
        if sigma > 0.0 {
            spare.resize(data.len(), 0.0);
            correlate_axis(data, spare, shape, axis, &gaussian_kernel(sigma, truncate));
            std::mem::swap(data, spare);
        }
    }
}

/// One separable pass. Work is arranged so the innermost loop runs over contiguous
/// memory (whole rows for outer axes, a reflected copy of the line for the last axis),
/// which the compiler vectorises.
fn correlate_axis<const N: usize>(
    data: &[f64],
    out: &mut [f64],
    shape: &[usize; N],
    axis: usize,
    kernel: &[f64],
) {
    let radius = kernel.len() / 2;
    let n = shape[axis];
    let stride: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    if stride == 1 {
        // Last axis: pad each line by reflection, then sum shifted copies.
        let mut padded = vec![0.0; n + 2 * radius];
        for (line, out_line) in data.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            for (j, p) in padded.iter_mut().enumerate() {
                *p = line[reflect(j as i64 - radius as i64, n as i64)];
            }
            for (o, &v) in out_line.iter_mut().zip(&padded[radius..]) {
                *o = v * kernel[radius];
            }
            for k in 1..=radius {
                let (lo, hi) = (&padded[radius - k..], &padded[radius + k..]);
                for ((o, &a), &b) in out_line.iter_mut().zip(lo).zip(hi) {
                    *o += (a + b) * kernel[radius + k];
                }
            }
        }
        return;
    }
    for block in 0..outer {
        let base = block * n * stride;
        let row = |i: i64| {
            let r = reflect(i, n as i64);
            &data[base + r * stride..base + (r + 1) * stride]
        };
        for i in 0..n {
            let out_row = &mut out[base + i * stride..base + (i + 1) * stride];
            for (o, &v) in out_row.iter_mut().zip(row(i as i64)) {
                *o = v * kernel[radius];
            }
            for k in 1..=radius {
                let (lo, hi) = (row(i as i64 - k as i64), row((i + k) as i64));
                for ((o, &a), &b) in out_row.iter_mut().zip(lo).zip(hi) {
                    *o += (a + b) * kernel[radius + k];
                }
            }
        }
    }
}

/// `scipy.ndimage.binary_fill_holes` in 2D: background not 4-connected to the border
/// becomes foreground.
pub fn fill_holes(mask: &Image<bool>) -> Image<bool> {
    let [h, w] = mask.shape();
    let mut outside = vec![false; h * w];
    let mut queue = VecDeque::new();
    for y in 0..h {
        for x in 0..w {
            if (y == 0 || x == 0 || y + 1 == h || x + 1 == w) && !mask.data()[y * w + x] {
                outside[y * w + x] = true;
                queue.push_back((y, x));
            }
        }
    }
    while let Some((y, x)) = queue.pop_front() {
        let neighbours = [
            (y.wrapping_sub(1), x),
            (y + 1, x),
            (y, x.wrapping_sub(1)),
            (y, x + 1),
        ];
        for (ny, nx) in neighbours {
            if ny < h && nx < w && !outside[ny * w + nx] && !mask.data()[ny * w + nx] {
                outside[ny * w + nx] = true;
                queue.push_back((ny, nx));
            }
        }
    }
    Image::new([h, w], outside.into_iter().map(|o| !o).collect()).expect("same shape")
}

/// 3D hole filling: background not 6-connected to the volume's border becomes
/// foreground (`scipy.ndimage.binary_fill_holes` in 3D).
pub fn fill_holes_3d(shape: &crate::grid::Volume<bool>) -> crate::grid::Volume<bool> {
    let [nz, ny, nx] = shape.shape();
    let data = shape.data();
    let index = |z: usize, y: usize, x: usize| (z * ny + y) * nx + x;
    let mut outside = vec![false; data.len()];
    let mut stack = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let border =
                    z == 0 || y == 0 || x == 0 || z + 1 == nz || y + 1 == ny || x + 1 == nx;
                if border && !data[index(z, y, x)] {
                    outside[index(z, y, x)] = true;
                    stack.push((z, y, x));
                }
            }
        }
    }
    while let Some((z, y, x)) = stack.pop() {
        let neighbours = [
            (z.wrapping_sub(1), y, x),
            (z + 1, y, x),
            (z, y.wrapping_sub(1), x),
            (z, y + 1, x),
            (z, y, x.wrapping_sub(1)),
            (z, y, x + 1),
        ];
        for (a, b, c) in neighbours {
            if a < nz && b < ny && c < nx {
                let i = index(a, b, c);
                if !outside[i] && !data[i] {
                    outside[i] = true;
                    stack.push((a, b, c));
                }
            }
        }
    }
    crate::grid::Volume::new([nz, ny, nx], outside.into_iter().map(|o| !o).collect())
        .expect("same shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_matches_scipy_for_sigma_2() {
        let k = gaussian_kernel(2.0, 4.0);
        assert_eq!(k.len(), 17);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        // scipy.ndimage._filters._gaussian_kernel1d(2.0, 0, 8)[8]
        assert!((k[8] - 0.199_474_647_864_745).abs() < 1e-14, "{}", k[8]);
    }

    #[test]
    fn reflect_boundary() {
        let v: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(v, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
    }

    #[test]
    fn constant_stays_constant() {
        let g = Grid::filled([5, 6, 7], 3.0f64);
        let s = gaussian_filter(&g, 2.0, 4.0);
        assert!(s.data().iter().all(|&v| (v - 3.0).abs() < 1e-12));
    }

    #[test]
    fn hollow_ball_is_filled() {
        let shell = crate::grid::Volume::from_fn([12, 12, 12], |[z, y, x]| {
            let r =
                ((z as f64 - 5.5).powi(2) + (y as f64 - 5.5).powi(2) + (x as f64 - 5.5).powi(2))
                    .sqrt();
            (3.0..4.5).contains(&r)
        });
        let filled = fill_holes_3d(&shell);
        assert!(filled.at([6, 6, 6]) && filled.count() > shell.count());
        assert!(!filled.at([0, 0, 0]));
    }

    #[test]
    fn anisotropic_blur_leaves_unblurred_axes() {
        let mut g = Grid::filled([9, 9, 9], 0.0f64);
        g.set([4, 4, 4], 1.0);
        let b = gaussian_filter_axes(&g, [2.0, 0.0, 0.0], 4.0);
        assert_eq!(b.at([4, 4, 5]), 0.0);
        assert!(b.at([6, 4, 4]) > 0.0);
        assert!((b.data().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn holes_are_filled_but_open_bays_are_not() {
        let ring = Image::from_fn([7, 7], |[y, x]| {
            (1..=5).contains(&y) && (1..=5).contains(&x) && (y == 1 || y == 5 || x == 1 || x == 5)
        });
        assert_eq!(fill_holes(&ring).count(), 25);
        let bay = Image::from_fn([7, 7], |[y, x]| ring.at([y, x]) && !(y == 5 && x == 3));
        assert_eq!(fill_holes(&bay).count(), bay.count());
    }
}
