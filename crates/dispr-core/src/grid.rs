//! Dense voxel and pixel grids: [`Volume`] (z, y, x) and [`Image`] (y, x).
//!
//! Both are the same type, [`Grid`], over a different number of axes, so that every
//! operation (shape checks, value ranges, dtype conversion, binarization, resampling) is
//! written once. Data are stored row-major with the last axis (x) fastest, which is the
//! order of TIFF pages and of numpy's default layout.

use std::fmt;

/// An N-dimensional dense grid stored row-major (last axis fastest).
#[derive(Clone, PartialEq)]
pub struct Grid<T, const N: usize> {
    shape: [usize; N],
    data: Vec<T>,
}

/// A 3D volume indexed (z, y, x).
pub type Volume<T> = Grid<T, 3>;

/// A 2D image indexed (y, x).
pub type Image<T> = Grid<T, 2>;

/// The pixel types dispr reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 8-bit unsigned integer (the reference data).
    U8,
    /// 16-bit unsigned integer (raw microscope images).
    U16,
    /// 32-bit unsigned integer (label images of many cells; int32 and int16 files
    /// without negative values read as this and uint16).
    U32,
    /// 32-bit IEEE float (probability and uncertainty maps).
    F32,
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::F32 => "float32",
        })
    }
}

/// A numeric pixel type: what can be converted, compared and written to TIFF.
pub trait Element: Copy + Default + PartialOrd + Send + Sync + fmt::Debug + 'static {
    /// The matching [`Dtype`].
    const DTYPE: Dtype;
    /// The value as f64 (exact for every supported type).
    fn to_f64(self) -> f64;
    /// The nearest representable value: rounded to nearest and clamped to the type's
    /// range for integers; NaN becomes 0.
    fn from_f64(v: f64) -> Self;
}

macro_rules! integer_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: Dtype = $d;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                // `as` saturates and maps NaN to 0, which is the rule we document.
                v.round() as $t
            }
        }
    };
}
integer_element!(u8, Dtype::U8);
integer_element!(u16, Dtype::U16);
integer_element!(u32, Dtype::U32);

impl Element for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        if v.is_nan() { 0.0 } else { v as f32 }
    }
}

/// A grid whose data length does not match its shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data length {len} does not match shape {shape:?} ({expected} elements)")]
pub struct ShapeMismatch {
    /// The requested shape.
    pub shape: Vec<usize>,
    /// The number of elements the shape needs.
    pub expected: usize,
    /// The number of elements given.
    pub len: usize,
}

impl<T: Copy, const N: usize> Grid<T, N> {
    /// Wraps `data` (row-major, last axis fastest) as a grid of `shape`.
    pub fn new(shape: [usize; N], data: Vec<T>) -> Result<Self, ShapeMismatch> {
        let expected = shape.iter().product();
        if data.len() != expected {
            return Err(ShapeMismatch {
                shape: shape.to_vec(),
                expected,
                len: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    /// A grid of `shape` with every element set to `value`.
    pub fn filled(shape: [usize; N], value: T) -> Self {
        Self {
            shape,
            data: vec![value; shape.iter().product()],
        }
    }

    /// A grid of `shape` whose element at each index is `f(index)`.
    pub fn from_fn(shape: [usize; N], mut f: impl FnMut([usize; N]) -> T) -> Self {
        let mut data = Vec::with_capacity(shape.iter().product());
        let mut index = [0usize; N];
        for _ in 0..shape.iter().product::<usize>() {
            data.push(f(index));
            for axis in (0..N).rev() {
                index[axis] += 1;
                if index[axis] < shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        Self { shape, data }
    }

    /// The extent along each axis.
    pub fn shape(&self) -> [usize; N] {
        self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the grid has no elements (some axis has length 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The elements, row-major, by value.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// The flat offset of `index`. Panics when out of bounds (a programming error).
    pub fn offset(&self, index: [usize; N]) -> usize {
        let mut offset = 0;
        for axis in 0..N {
            assert!(
                index[axis] < self.shape[axis],
                "index {index:?} out of bounds for shape {:?}",
                self.shape
            );
            offset = offset * self.shape[axis] + index[axis];
        }
        offset
    }

    /// The element at `index`.
    pub fn at(&self, index: [usize; N]) -> T {
        self.data[self.offset(index)]
    }

    /// Sets the element at `index`.
    pub fn set(&mut self, index: [usize; N], value: T) {
        let offset = self.offset(index);
        self.data[offset] = value;
    }

    /// Applies `f` to every element.
    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Grid<U, N> {
        Grid {
            shape: self.shape,
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }
}

impl<T: Element, const N: usize> Grid<T, N> {
    /// The smallest and largest element, ignoring NaN; `None` when there is none.
    pub fn min_max(&self) -> Option<(T, T)> {
        // NaN is the only value not comparable with itself.
        let mut values = self
            .data
            .iter()
            .copied()
            .filter(|v| v.partial_cmp(v).is_some());
        let first = values.next()?;
        Some(values.fold((first, first), |(lo, hi), v| {
            (if v < lo { v } else { lo }, if v > hi { v } else { hi })
        }))
    }

    /// The same values in another pixel type (rounded and clamped, see [`Element::from_f64`]).
    pub fn convert<U: Element>(&self) -> Grid<U, N> {
        self.map(|v| U::from_f64(v.to_f64()))
    }

    /// The values as f32, unchanged in scale.
    pub fn to_f32(&self) -> Grid<f32, N> {
        self.map(|v| v.to_f64() as f32)
    }

    /// The shape this grid stands for: `v / max(v) > 0.5` (METRICS.md). An all-zero (or
    /// all-negative, or all-NaN) grid gives the empty shape.
    pub fn binarize(&self) -> Grid<bool, N> {
        let max = self.min_max().map_or(0.0, |(_, hi)| hi.to_f64());
        if max <= 0.0 {
            return Grid::filled(self.shape, false);
        }
        self.map(|v| v.to_f64() / max > 0.5)
    }

    /// Linear interpolation onto a grid of `shape` covering the same field of view
    /// (pixel centres at `(i + 0.5) · n / m − 0.5`, edges clamped): the convention of
    /// scikit-image `resize` and `scipy.ndimage.zoom(order=1, grid_mode=True,
    /// mode="nearest")`. No anti-aliasing.
    pub fn resample(&self, shape: [usize; N]) -> Grid<f32, N> {
        let mut grid = self.to_f32();
        for (axis, &n) in shape.iter().enumerate() {
            grid = grid.resample_axis(axis, n);
        }
        grid
    }
}

impl<const N: usize> Grid<f32, N> {
    /// Linear resampling along one axis (separable passes give N-linear interpolation).
    fn resample_axis(&self, axis: usize, out_len: usize) -> Self {
        let in_len = self.shape[axis];
        if in_len == out_len {
            return self.clone();
        }
        let mut shape = self.shape;
        shape[axis] = out_len;
        let inner: usize = self.shape[axis + 1..].iter().product();
        let outer: usize = self.shape[..axis].iter().product();
        let taps: Vec<(usize, usize, f32)> = (0..out_len)
            .map(|o| {
                let src = ((o as f64 + 0.5) * in_len as f64 / out_len as f64 - 0.5)
                    .clamp(0.0, (in_len - 1) as f64);
                let i0 = src.floor() as usize;
                let i1 = (i0 + 1).min(in_len - 1);
                (i0, i1, (src - i0 as f64) as f32)
            })
            .collect();
        let mut data = Vec::with_capacity(outer * out_len * inner);
        for block in 0..outer {
            let base = block * in_len * inner;
            for &(i0, i1, w) in &taps {
                let row0 = &self.data[base + i0 * inner..base + (i0 + 1) * inner];
                let row1 = &self.data[base + i1 * inner..base + (i1 + 1) * inner];
                data.extend(row0.iter().zip(row1).map(|(&a, &b)| a + w * (b - a)));
            }
        }
        Grid { shape, data }
    }
}

impl<const N: usize> Grid<bool, N> {
    /// Number of `true` elements (the volume of a shape, in voxels).
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v).count()
    }

    /// The shape on another grid: linear interpolation of the 0/1 indicator, then the
    /// midpoint threshold (> 0.5), so that it agrees with [`Grid::binarize`].
    pub fn resample_shape(&self, shape: [usize; N]) -> Self {
        self.map(|v| if v { 1.0f32 } else { 0.0 })
            .resample(shape)
            .map(|v| v > 0.5)
    }

    /// The shape as an 8-bit mask, 0 outside and 255 inside (the on-disk convention).
    pub fn to_u8_mask(&self) -> Grid<u8, N> {
        self.map(|v| if v { 255 } else { 0 })
    }
}

impl<T: Copy> Volume<T> {
    /// The 2D slice at depth `z`.
    pub fn slice_z(&self, z: usize) -> Image<T> {
        let [depth, height, width] = self.shape;
        assert!(z < depth, "slice {z} out of range for depth {depth}");
        let plane = height * width;
        Grid {
            shape: [height, width],
            data: self.data[z * plane..(z + 1) * plane].to_vec(),
        }
    }

    /// Stacks equally sized 2D slices along z.
    pub fn from_slices(slices: &[Image<T>]) -> Result<Self, ShapeMismatch> {
        let [height, width] = slices.first().map_or([0, 0], |s| s.shape);
        let mut data = Vec::with_capacity(slices.len() * height * width);
        for slice in slices {
            if slice.shape != [height, width] {
                return Err(ShapeMismatch {
                    shape: vec![slices.len(), height, width],
                    expected: slices.len() * height * width,
                    len: data.len() + slice.len(),
                });
            }
            data.extend_from_slice(&slice.data);
        }
        Volume::new([slices.len(), height, width], data)
    }
}

impl<T: Copy> Volume<T> {
    /// The sub-volume `lo..hi` (per axis, end exclusive). Panics when out of range.
    pub fn crop(&self, lo: [usize; 3], hi: [usize; 3]) -> Volume<T> {
        assert!(
            (0..3).all(|a| lo[a] <= hi[a] && hi[a] <= self.shape[a]),
            "crop {lo:?}..{hi:?} of {:?}",
            self.shape
        );
        let [_, ny, nx] = self.shape;
        let mut data = Vec::with_capacity((0..3).map(|a| hi[a] - lo[a]).product());
        for z in lo[0]..hi[0] {
            for y in lo[1]..hi[1] {
                let row = (z * ny + y) * nx;
                data.extend_from_slice(&self.data[row + lo[2]..row + hi[2]]);
            }
        }
        Grid {
            shape: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]],
            data,
        }
    }
}

impl Volume<f32> {
    /// The volume enlarged (`factor` > 1) or shrunk about the point `centre` (voxel
    /// coordinates, `[z, y, x]`), on the same grid: voxel `p` takes the trilinear value
    /// at `centre + (p − centre) / factor`, edges clamped. The convention of
    /// `scipy.ndimage.affine_transform(order=1, mode="nearest")`.
    pub fn scaled_about(&self, centre: [f64; 3], factor: f64) -> Volume<f32> {
        let [nz, ny, nx] = self.shape;
        // Per axis and output index: the two source indices and the weight of the second.
        let taps = |axis: usize, n: usize| -> Vec<(usize, usize, f32)> {
            (0..n)
                .map(|o| {
                    let src = (centre[axis] + (o as f64 - centre[axis]) / factor)
                        .clamp(0.0, (n - 1) as f64);
                    let i0 = src.floor() as usize;
                    (i0, (i0 + 1).min(n - 1), (src - i0 as f64) as f32)
                })
                .collect()
        };
        let (tz, ty, tx) = (taps(0, nz), taps(1, ny), taps(2, nx));
        let at = |z: usize, y: usize, x: usize| self.data[(z * ny + y) * nx + x];
        let mut data = Vec::with_capacity(self.data.len());
        for &(z0, z1, wz) in &tz {
            for &(y0, y1, wy) in &ty {
                for &(x0, x1, wx) in &tx {
                    let lerp = |a: f32, b: f32, w: f32| a + w * (b - a);
                    let plane = |z| {
                        lerp(
                            lerp(at(z, y0, x0), at(z, y0, x1), wx),
                            lerp(at(z, y1, x0), at(z, y1, x1), wx),
                            wy,
                        )
                    };
                    data.push(lerp(plane(z0), plane(z1), wz));
                }
            }
        }
        Grid {
            shape: self.shape,
            data,
        }
    }
}

impl Volume<bool> {
    /// The shape as occupancy (1 inside, 0 outside) on a grid of `shape` (z, y, x):
    /// resampled linearly ([`Grid::resample`]) when the grids differ.
    pub fn occupancy(&self, shape: [usize; 3]) -> Volume<f32> {
        let occupancy = self.map(|v| if v { 1.0f32 } else { 0.0 });
        if occupancy.shape() == shape {
            occupancy
        } else {
            occupancy.resample(shape)
        }
    }

    /// The mean voxel coordinate `[z, y, x]` of the `true` voxels; `None` when the
    /// shape is empty.
    pub fn centroid(&self) -> Option<[f64; 3]> {
        let [_, ny, nx] = self.shape;
        let (mut sum, mut n) = ([0.0f64; 3], 0usize);
        for (i, _) in self.data.iter().enumerate().filter(|(_, v)| **v) {
            let (z, y, x) = (i / (ny * nx), (i / nx) % ny, i % nx);
            sum[0] += z as f64;
            sum[1] += y as f64;
            sum[2] += x as f64;
            n += 1;
        }
        (n > 0).then(|| sum.map(|s| s / n as f64))
    }

    /// The smallest box `lo..hi` (end exclusive) holding every `true` voxel; `None` when
    /// the shape is empty.
    pub fn bounding_box(&self) -> Option<([usize; 3], [usize; 3])> {
        let [nz, ny, nx] = self.shape;
        let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
        for z in 0..nz {
            for y in 0..ny {
                let row = &self.data[(z * ny + y) * nx..(z * ny + y + 1) * nx];
                if let (Some(first), Some(last)) =
                    (row.iter().position(|&v| v), row.iter().rposition(|&v| v))
                {
                    for (axis, (a, b)) in [(z, z), (y, y), (first, last)].into_iter().enumerate() {
                        lo[axis] = lo[axis].min(a);
                        hi[axis] = hi[axis].max(b + 1);
                    }
                }
            }
        }
        (lo[0] != usize::MAX).then_some((lo, hi))
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Grid<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grid")
            .field("shape", &self.shape)
            .field("len", &self.data.len())
            .finish()
    }
}

/// Formats a shape the way users read it: `64×64×64`.
pub fn format_shape(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length() {
        assert!(Volume::new([2, 3, 4], vec![0u8; 24]).is_ok());
        let err = Volume::new([2, 3, 4], vec![0u8; 23]).unwrap_err();
        assert_eq!(err.expected, 24);
        assert!(err.to_string().contains("23"));
    }

    #[test]
    fn indexing_is_row_major() {
        let v = Volume::from_fn([2, 3, 4], |[z, y, x]| (z * 100 + y * 10 + x) as u16);
        assert_eq!(v.at([1, 2, 3]), 123);
        assert_eq!(v.data()[v.offset([1, 0, 0])], 100);
        assert_eq!(v.slice_z(1).at([2, 1]), 121);
        let back = Volume::from_slices(&[v.slice_z(0), v.slice_z(1)]).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn conversion_rounds_and_saturates() {
        let img = Image::new([1, 5], vec![-3.0f32, 0.4, 0.6, 254.5, 1e9]).unwrap();
        assert_eq!(img.convert::<u8>().data(), &[0, 0, 1, 255, 255]);
        assert_eq!(img.convert::<u16>().data()[4], u16::MAX);
        let nan = Image::new([1, 2], vec![f32::NAN, 2.0]).unwrap();
        assert_eq!(nan.convert::<u8>().data(), &[0, 2]);
        assert_eq!(nan.min_max(), Some((2.0, 2.0)));
    }

    #[test]
    fn binarize_follows_metrics_rule() {
        // 254/255 and 128/255 are inside, 127/255 is not; 255 is the maximum.
        let v = Image::new([1, 5], vec![0u8, 127, 128, 254, 255]).unwrap();
        assert_eq!(v.binarize().data(), &[false, false, true, true, true]);
        // The rule is relative to the maximum: a 0/1 volume binarizes too.
        let unit = Image::new([1, 3], vec![0u8, 1, 1]).unwrap();
        assert_eq!(unit.binarize().count(), 2);
        assert_eq!(Image::filled([4, 4], 0u8).binarize().count(), 0);
    }

    #[test]
    fn resample_identity_and_constant() {
        let v = Volume::from_fn([4, 6, 8], |[z, y, x]| (z + y + x) as f32);
        assert_eq!(v.resample([4, 6, 8]), v);
        let c = Volume::filled([8, 8, 8], 7u8).resample([3, 5, 11]);
        assert!(c.data().iter().all(|&x| (x - 7.0).abs() < 1e-6));
    }

    #[test]
    fn resample_linear_matches_hand_values() {
        // 1D ramp 0,1,2,3 upsampled ×2 with half-pixel centres and clamped edges:
        // sources -0.25, 0.25, 0.75, … → 0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.
        let ramp = Image::new([1, 4], vec![0.0f32, 1.0, 2.0, 3.0]).unwrap();
        let up = ramp.resample([1, 8]);
        let want = [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0];
        for (a, b) in up.data().iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", up.data());
        }
        // Downsampling ×2 averages neighbour pairs.
        assert_eq!(ramp.resample([1, 2]).data(), &[0.5, 2.5]);
    }

    #[test]
    fn crop_and_bounding_box() {
        let v = Volume::from_fn([5, 6, 7], |[z, y, x]| {
            (1..3).contains(&z) && y == 4 && (2..6).contains(&x)
        });
        assert_eq!(v.bounding_box(), Some(([1, 4, 2], [3, 5, 6])));
        let c = v.crop([1, 4, 2], [3, 5, 6]);
        assert_eq!(c.shape(), [2, 1, 4]);
        assert_eq!(c.count(), v.count());
        assert_eq!(Volume::filled([2, 2, 2], false).bounding_box(), None);
    }

    #[test]
    fn resample_shape_keeps_a_ball() {
        let ball = Volume::from_fn([32, 32, 32], |[z, y, x]| {
            let d = |a: usize| a as f64 + 0.5 - 16.0;
            d(z).powi(2) + d(y).powi(2) + d(x).powi(2) <= 100.0
        });
        let big = ball.resample_shape([64, 64, 64]);
        let ratio = big.count() as f64 / (ball.count() as f64 * 8.0);
        assert!((ratio - 1.0).abs() < 0.03, "{ratio}");
        let back = big.resample_shape([32, 32, 32]);
        let diff = back
            .data()
            .iter()
            .zip(ball.data())
            .filter(|(a, b)| a != b)
            .count();
        assert!(diff < ball.count() / 50, "{diff}");
    }
}
