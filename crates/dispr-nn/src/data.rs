//! Training and prediction inputs on the model's working grid: conditioning channels
//! (mask, masked image — [`dispr_core::data::conditioning`]) repeated along z, and targets in
//! [-1, 1] (+1 inside the shape). Plain `f32` arrays; tensors are made per batch. Data
//! augmentation applies the same xy flip/rotation to image, mask and volume.

use burn::prelude::*;
use dispr_core::data::conditioning::Conditioning;
use dispr_core::data::dataset::Cell;
use dispr_core::data::prior::PriorSource;
use dispr_core::grid::{Image, Volume};

/// One cell on the working grid.
#[derive(Clone, Debug)]
pub struct Example {
    /// The cell's name.
    pub name: String,
    /// `[C, D, H, W]` conditioning channels, flat: the two 2D channels repeated along z,
    /// then the prior shape when the model has one.
    pub conditioning: Vec<f32>,
    /// `[D, H, W]` target in [-1, 1], flat (absent for prediction-only data).
    pub target: Option<Vec<f32>>,
}

/// Resamples a cell to `grid` (z, y, x) and builds its example, with its prior from
/// `prior` as a third channel when given.
pub fn example(
    cell: &Cell,
    grid: [usize; 3],
    prior: Option<&PriorSource>,
) -> crate::Result<Example> {
    let prior = prior
        .map(|source| source.prior(&cell.name, &cell.mask, grid))
        .transpose()
        .map_err(|e| format!("its prior: {e}"))?;
    example_with_prior(cell, grid, prior.as_ref())
}

/// [`example`] with the cell's prior shape already made (occupancy in [0, 1] on `grid`).
pub fn example_with_prior(
    cell: &Cell,
    grid: [usize; 3],
    prior: Option<&Volume<f32>>,
) -> crate::Result<Example> {
    let [d, h, w] = grid;
    let image: Image<f32> = if cell.image.shape() == [h, w] {
        cell.image.clone()
    } else {
        cell.image.resample([h, w])
    };
    let mask = if cell.mask.shape() == [h, w] {
        cell.mask.clone()
    } else {
        cell.mask.resample_shape([h, w])
    };
    let mut conditioning = Conditioning::new(&image, &mask)?.to_channels(d);
    if let Some(shape) = prior {
        if shape.shape() != grid {
            return Err(format!(
                "its prior is on a {:?} grid, the model works on {grid:?}",
                shape.shape()
            )
            .into());
        }
        conditioning.extend_from_slice(shape.data());
    }
    let target = cell.shape.as_ref().map(|shape| {
        shape
            .occupancy(grid)
            .data()
            .iter()
            .map(|&o| 2.0 * o - 1.0)
            .collect()
    });
    Ok(Example {
        name: cell.name.clone(),
        conditioning,
        target,
    })
}

/// The eight symmetries of the xy square (four rotations, each optionally mirrored),
/// applied to every z slice of a `[channels·D, H, W]` array. Transform 0 is the identity;
/// only 0 and the mirror 4 are used on non-square grids.
pub fn transform_xy(data: &[f32], h: usize, w: usize, transform: usize) -> Vec<f32> {
    if transform == 0 {
        return data.to_vec();
    }
    let slices = data.len() / (h * w);
    let mut out = vec![0f32; data.len()];
    for s in 0..slices {
        let src = &data[s * h * w..(s + 1) * h * w];
        let dst = &mut out[s * h * w..(s + 1) * h * w];
        for y in 0..h {
            for x in 0..w {
                // Mirror first, then rotate by 90° (transform % 4) times.
                let (mut yy, mut xx) = (y, if transform >= 4 { w - 1 - x } else { x });
                for _ in 0..transform % 4 {
                    (yy, xx) = (xx, h - 1 - yy);
                }
                dst[yy * w + xx] = src[y * w + x];
            }
        }
    }
    out
}

/// How many xy transforms a grid allows (8 on a square, 2 otherwise).
pub fn transform_count(h: usize, w: usize) -> usize {
    if h == w { 8 } else { 2 }
}

/// A batch: conditioning `[B, C, D, H, W]` and targets `[B, 1, D, H, W]` as tensors.
pub fn batch(
    examples: &[&Example],
    transforms: &[usize],
    grid: [usize; 3],
    device: &Device,
) -> (Tensor<5>, Tensor<5>) {
    let [d, h, w] = grid;
    let b = examples.len();
    let channels = examples
        .first()
        .map_or(0, |e| e.conditioning.len() / (d * h * w));
    let mut cond = Vec::with_capacity(b * channels * d * h * w);
    let mut target = Vec::with_capacity(b * d * h * w);
    for (e, &k) in examples.iter().zip(transforms) {
        let k = if transform_count(h, w) == 2 && k != 0 {
            4
        } else {
            k
        };
        cond.extend(transform_xy(&e.conditioning, h, w, k));
        let t = e.target.as_ref().expect("training examples have targets");
        target.extend(transform_xy(t, h, w, k));
    }
    (
        Tensor::from_data(TensorData::new(cond, [b, channels, d, h, w]), device),
        Tensor::from_data(TensorData::new(target, [b, 1, d, h, w]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_transforms_are_distinct_symmetries() {
        let (h, w) = (3, 3);
        let img: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let mut seen = Vec::new();
        for k in 0..8 {
            let t = transform_xy(&img, h, w, k);
            let mut sorted = t.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, img, "a permutation");
            assert!(!seen.contains(&t), "transform {k} repeats another");
            seen.push(t);
        }
        // Transform 1 is a 90° rotation: four of them give the identity.
        let mut r = img.clone();
        for _ in 0..4 {
            r = transform_xy(&r, h, w, 1);
        }
        assert_eq!(r, img);
        // Same transform on two slices (e.g. image and volume) stays consistent.
        let two: Vec<f32> = img.iter().chain(img.iter()).copied().collect();
        let t = transform_xy(&two, h, w, 5);
        assert_eq!(t[..9], t[9..]);
    }
}
