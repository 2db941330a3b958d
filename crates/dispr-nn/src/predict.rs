//! One cell's prediction: conditioning → sampler(model) → samples on the working grid →
//! resampled to the data grid → thresholded shapes, and their distribution
//! ([`ShapeDistribution`]: voxel-wise mean and standard deviation, majority ensemble).
//! All samples of a cell run as one batch.

use std::time::Instant;

use burn::prelude::*;
use dispr_core::grid::Volume;
pub use dispr_core::io::prediction_dir::ShapeDistribution;
use dispr_core::size_correction::SizeCorrection;

use crate::data::Example;
use crate::model::{Model, ShaprModel};
use crate::sampler::Sampler;

/// The predicted distribution of one cell's shape, and the time it took.
pub struct CellPrediction {
    /// The shapes on the data grid and their distribution.
    pub shapes: ShapeDistribution,
    /// Seconds spent predicting.
    pub seconds: f64,
}

/// The sampling seed of a cell: the run seed mixed with the cell name (FNV-1a), so a
/// cell gets the same samples whatever else is in the folder.
pub fn cell_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed
}

/// A cell's conditioning channels on the working grid `[d, h, w]` as a `[1, C, d, h, w]`
/// tensor.
fn conditioning(example: &Example, grid: [usize; 3], device: &Device) -> Tensor<5> {
    let [d, h, w] = grid;
    Tensor::from_data(
        TensorData::new(
            example.conditioning.clone(),
            [1, example.conditioning.len() / (d * h * w), d, h, w],
        ),
        device,
    )
}

/// How to sample: which sampler, how many samples per cell, which seed.
#[derive(Clone, Copy)]
pub struct Sampling<'a> {
    /// The sampler.
    pub sampler: &'a dyn Sampler,
    /// Samples per cell (one batch).
    pub samples: usize,
    /// Run seed, mixed with each cell's name ([`cell_seed`]).
    pub seed: u64,
    /// How the soft samples become shapes: the model's size correction, or none
    /// ([`crate::calibration`]).
    pub size: SizeCorrection,
}

/// Samples the shapes of one cell, made shapes by the sampling's size correction.
/// `data_grid` is the grid the shapes are returned on.
pub fn predict_cell(
    model: &Model,
    example: &Example,
    sampling: Sampling,
    data_grid: [usize; 3],
    device: &Device,
    on_step: &mut dyn FnMut(usize, usize),
) -> CellPrediction {
    let began = Instant::now();
    let size = sampling.size;
    let samples = sample_soft(model, example, sampling, data_grid, device, on_step)
        .iter()
        .map(|v| size.apply(v))
        .collect();
    CellPrediction {
        shapes: ShapeDistribution::from_samples(samples),
        seconds: began.elapsed().as_secs_f64(),
    }
}

/// The soft samples of one cell (about −1 outside, +1 inside), resampled to
/// `data_grid` (trilinear), before any threshold.
pub fn sample_soft(
    model: &Model,
    example: &Example,
    sampling: Sampling,
    data_grid: [usize; 3],
    device: &Device,
    on_step: &mut dyn FnMut(usize, usize),
) -> Vec<Volume<f32>> {
    let Sampling {
        sampler,
        samples: n,
        seed,
        size: _,
    } = sampling;
    let [d, h, w] = model.config.grid;
    let cond = conditioning(example, model.config.grid, device).repeat_dim(0, n);
    // The prior shape, the last conditioning channel (occupancy), as a clean sample.
    let origin = sampler.begins_from_origin().then(|| {
        let channels = cond.dims()[1];
        cond.clone()
            .narrow(1, channels - 1, 1)
            .mul_scalar(2.0)
            .sub_scalar(1.0)
    });
    let denoiser = |xt: Tensor<5>, t: &[usize]| model.denoise(cond.clone(), xt, t);
    let x = sampler.sample(
        &denoiser,
        [n, 1, d, h, w],
        origin,
        cell_seed(seed, &example.name),
        device,
        on_step,
    );
    let values: Vec<f32> = x
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 samples");
    let voxels = d * h * w;
    values
        .chunks(voxels)
        .map(|chunk| {
            let v = Volume::new([d, h, w], chunk.to_vec()).expect("sample shape");
            if [d, h, w] == data_grid {
                v
            } else {
                v.resample(data_grid)
            }
        })
        .collect()
}

/// SHAPR's prediction of one cell: one deterministic shape, the network's sigmoid output
/// resampled to `data_grid` as the probability and thresholded at ½.
pub fn predict_shapr(
    model: &ShaprModel,
    example: &Example,
    data_grid: [usize; 3],
    device: &Device,
) -> CellPrediction {
    let began = Instant::now();
    let [d, h, w] = model.config.grid;
    let cond = conditioning(example, model.config.grid, device);
    let logits = model.net.forward(crate::shapr::image_of(cond));
    let values: Vec<f32> = burn::tensor::activation::sigmoid(logits)
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 output");
    let p = Volume::new([d, h, w], values).expect("output shape");
    let probability = if [d, h, w] == data_grid {
        p
    } else {
        p.resample(data_grid)
    };
    CellPrediction {
        shapes: ShapeDistribution::deterministic(probability),
        seconds: began.elapsed().as_secs_f64(),
    }
}
