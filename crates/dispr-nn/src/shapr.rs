//! SHAPR (Waibel et al., 2022), the deterministic learned baseline of the DISPR paper:
//! an encoder of the 2-channel image (mask, masked image) down to a sigmoid latent of
//! 1 × h/4 × w/4, and a decoder of transposed 3D convolutions that grows it into a
//! volume — first along z alone, then along all axes — ending in one sigmoid channel.
//! Trained with (1 − Dice) + binary cross-entropy, optionally plus the topological loss
//! of Waibel et al. (MICCAI 2022): the q = 2 Wasserstein distance between the
//! persistence diagrams of the downsampled prediction and truth ([`topo_loss`]).
//!
//! The encoder's (1,3,3) convolutions and (1,2,2) pooling of the original act on a
//! volume of depth 1, so they are written here as the identical 2D convolutions and 2D
//! pooling.

use burn::nn::conv::{
    Conv2d, Conv2dConfig, Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig,
};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d, PaddingConfig3d,
};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, log_sigmoid, relu, sigmoid};
use dispr_core::grid::Volume;
use dispr_core::topology;
use serde::{Deserialize, Serialize};

use crate::config::Preset;

/// GroupNorm groups of every SHAPR layer.
const GROUPS: usize = 4;

/// Everything that defines a SHAPR model besides its weights (stored in checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShaprConfig {
    /// The preset it started from (informative).
    pub preset: String,
    /// Working grid (z, y, x): the image is resampled to (y, x), the output is this grid.
    pub grid: [usize; 3],
    /// The data grid (z, y, x): predictions are returned on it.
    pub data_grid: [usize; 3],
    /// Channels of the first encoder level (then 2× and 4×).
    pub filters: usize,
    /// Weight λ of the topological loss (0: plain SHAPR).
    pub topo_weight: f64,
    /// Homology dimensions the topological loss compares.
    pub topo_dims: Vec<usize>,
    /// Edge of the cubic grid the volumes are averaged down to for the topological loss.
    pub topo_grid: usize,
    /// Adversarial fine-tuning with a 3D discriminator, if on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<AdversarialConfig>,
}

/// SHAPR's adversarial fine-tuning: from step `after` on, a 3D discriminator learns to
/// tell true shapes from predicted ones, and the generator's loss becomes
/// `supervised_weight · (segmentation + λ·topological) + adversarial_weight · adversarial`
/// (10 : 1 in the SHAPR paper).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdversarialConfig {
    /// The step from which the discriminator trains and the adversarial term counts.
    pub after: usize,
    /// Weight of the supervised loss.
    pub supervised_weight: f64,
    /// Weight of the adversarial loss.
    pub adversarial_weight: f64,
    /// Channels of the discriminator's first layer (then 2×, 4×).
    pub filters: usize,
}

impl AdversarialConfig {
    /// The SHAPR paper's weights (10 : 1), starting at step `after`.
    pub fn starting_at(after: usize) -> Self {
        Self {
            after,
            supervised_weight: 10.0,
            adversarial_weight: 1.0,
            filters: 8,
        }
    }
}

/// The SHAPR presets (SHAPR is fast already: it has no `fast` preset).
pub const PRESETS: [Preset; 3] = [Preset::Paper, Preset::Small, Preset::Tiny];

/// The SHAPR presets: the same names as DISPR's.
pub fn preset(preset: Preset) -> Result<ShaprConfig, String> {
    let name = preset.name();
    let (grid, filters) = match preset {
        Preset::Paper => (64, 16),
        Preset::Small => (32, 16),
        Preset::Tiny => (16, 4),
        Preset::Fast => {
            return Err(format!(
                "SHAPR has no preset '{name}' (it has: paper, small, tiny)"
            ));
        }
    };
    Ok(ShaprConfig {
        preset: name.to_string(),
        grid: [grid; 3],
        data_grid: [64, 64, 64],
        filters,
        topo_weight: 0.0,
        topo_dims: vec![0, 1, 2],
        topo_grid: 16.min(grid),
        adversarial: None,
    })
}

impl ShaprConfig {
    /// Checks that the numbers fit together; the message says which does not.
    pub fn validate(&self) -> Result<(), String> {
        let [d, h, w] = self.grid;
        if h != w || h % 4 != 0 || h < 8 {
            return Err(format!(
                "SHAPR needs a square image grid divisible by 4 (at least 8), got {h}×{w}"
            ));
        }
        if !d.is_power_of_two() || d < 4 {
            return Err(format!(
                "SHAPR's decoder doubles z from 1: the grid depth must be a power of two ≥ 4, got {d}"
            ));
        }
        if self.filters == 0 || !self.filters.is_multiple_of(GROUPS) {
            return Err(format!(
                "filters must be a positive multiple of {GROUPS}, got {}",
                self.filters
            ));
        }
        if self.topo_weight < 0.0 || !self.topo_weight.is_finite() {
            return Err(format!(
                "the topological weight must be ≥ 0, got {}",
                self.topo_weight
            ));
        }
        if self.topo_dims.iter().any(|&k| k > 2) {
            return Err(format!(
                "homology dimensions are 0, 1 and 2, got {:?}",
                self.topo_dims
            ));
        }
        if let Some(a) = &self.adversarial {
            if a.filters == 0 || !a.filters.is_multiple_of(GROUPS) {
                return Err(format!(
                    "discriminator filters must be a positive multiple of {GROUPS}, got {}",
                    a.filters
                ));
            }
            if self.grid.iter().any(|&g| g < 8) {
                return Err("the discriminator needs a grid of at least 8³".into());
            }
            if !(a.supervised_weight >= 0.0 && a.adversarial_weight >= 0.0) {
                return Err("adversarial loss weights must be ≥ 0".into());
            }
        }
        if self.topo_weight > 0.0
            && (self.topo_grid == 0 || self.grid.iter().any(|g| g % self.topo_grid != 0))
        {
            return Err(format!(
                "the topological grid {} must divide the grid {:?}",
                self.topo_grid, self.grid
            ));
        }
        Ok(())
    }

    /// Builds the network with fresh weights on `device`.
    pub fn init(&self, device: &Device) -> Shapr {
        self.validate().expect("invalid SHAPR config");
        let f = self.filters;
        let conv2 = |i: usize, o: usize| ConvBlock2d {
            conv: Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        let conv3 = |i: usize, o: usize| ConvBlock3d {
            conv: Conv3dConfig::new([i, o], [3, 3, 3])
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        let encoder = vec![
            conv2(2, f),
            conv2(f, f),
            conv2(f, 2 * f),
            conv2(2 * f, 2 * f),
            conv2(2 * f, 4 * f),
            conv2(4 * f, 4 * f),
        ];
        let latent = Conv2dConfig::new([4 * f, 1], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device);
        // z grows from 1 to d: log2(d) doublings, the last two also doubling y and x.
        let doublings = self.grid[0].trailing_zeros() as usize;
        let mut decoder = Vec::new();
        let mut ch = 4 * f;
        let mut input = 1;
        for k in 0..doublings {
            let full = k + 2 >= doublings;
            let out = if full { ch / 2 } else { ch };
            let stride = if full { [2, 2, 2] } else { [2, 1, 1] };
            decoder.push(UpBlock {
                up: ConvTranspose3dConfig::new([input, out], stride)
                    .with_stride(stride)
                    .init(device),
                conv: conv3(out, out),
            });
            ch = out;
            input = out;
        }
        let output = Conv3dConfig::new([ch, 1], [1, 1, 1]).init(device);
        Shapr {
            encoder,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            latent,
            decoder,
            output,
        }
    }
}

/// SHAPR's 3D discriminator: three stride-2 convolutions (GroupNorm, leaky ReLU), a
/// global average and a linear layer to one logit per volume ("true shape").
#[derive(Module, Debug)]
pub struct Discriminator {
    convs: Vec<ConvBlock3dStrided>,
    head: Linear,
}

#[derive(Module, Debug)]
struct ConvBlock3dStrided {
    conv: Conv3d,
    norm: GroupNorm,
}

impl AdversarialConfig {
    /// Builds the discriminator with fresh weights on `device`.
    pub fn init(&self, device: &Device) -> Discriminator {
        let f = self.filters;
        let block = |i: usize, o: usize| ConvBlock3dStrided {
            conv: Conv3dConfig::new([i, o], [4, 4, 4])
                .with_stride([2, 2, 2])
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .init(device),
            norm: GroupNormConfig::new(GROUPS, o).init(device),
        };
        Discriminator {
            convs: vec![block(1, f), block(f, 2 * f), block(2 * f, 4 * f)],
            head: LinearConfig::new(4 * f, 1).init(device),
        }
    }
}

impl Discriminator {
    /// Logits `[B, 1]` that each volume `[B, 1, D, H, W]` (values in [0, 1]) is a true
    /// shape.
    pub fn forward(&self, volume: Tensor<5>) -> Tensor<2> {
        let mut x = volume;
        for block in &self.convs {
            x = leaky_relu(block.norm.forward(block.conv.forward(x)), 0.2);
        }
        let [b, c, d, h, w] = x.dims();
        let pooled: Tensor<2> = x.reshape([b, c, d * h * w]).mean_dim(2).reshape([b, c]);
        self.head.forward(pooled)
    }
}

/// −log σ(x) averaged: the loss of logits `x` that should say "true".
pub fn says_true(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).neg().mean().reshape([1])
}

/// −log(1 − σ(x)) averaged: the loss of logits `x` that should say "predicted".
pub fn says_predicted(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits.neg()).neg().mean().reshape([1])
}

/// Convolution, GroupNorm, ReLU on images.
#[derive(Module, Debug)]
struct ConvBlock2d {
    conv: Conv2d,
    norm: GroupNorm,
}

impl ConvBlock2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// Convolution, GroupNorm, ReLU on volumes.
#[derive(Module, Debug)]
struct ConvBlock3d {
    conv: Conv3d,
    norm: GroupNorm,
}

impl ConvBlock3d {
    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// A transposed convolution that doubles z (or every axis), then a convolution block.
#[derive(Module, Debug)]
struct UpBlock {
    up: ConvTranspose3d,
    conv: ConvBlock3d,
}

/// The SHAPR network.
#[derive(Module, Debug)]
pub struct Shapr {
    encoder: Vec<ConvBlock2d>,
    pool: MaxPool2d,
    latent: Conv2d,
    decoder: Vec<UpBlock>,
    output: Conv3d,
}

impl Shapr {
    /// Logits `[B, 1, D, H, W]` of the shape from the conditioning image `[B, 2, H, W]`.
    pub fn forward(&self, image: Tensor<4>) -> Tensor<5> {
        let mut x = image;
        for (i, block) in self.encoder.iter().enumerate() {
            x = block.forward(x);
            if i == 1 || i == 3 {
                x = self.pool.forward(x);
            }
        }
        let z = sigmoid(self.latent.forward(x));
        let [b, _, h, w] = z.dims();
        let mut v: Tensor<5> = z.reshape([b, 1, 1, h, w]);
        for block in &self.decoder {
            v = block.conv.forward(block.up.forward(v));
        }
        self.output.forward(v)
    }
}

/// SHAPR's input from DISPR's conditioning `[B, 2, D, H, W]` (the 2D channels repeated
/// along z): its first slice, `[B, 2, H, W]`.
pub fn image_of(conditioning: Tensor<5>) -> Tensor<4> {
    let [b, c, _, h, w] = conditioning.dims();
    conditioning
        .slice([0..b, 0..c, 0..1, 0..h, 0..w])
        .reshape([b, c, h, w])
}

/// The per-sample segmentation loss (1 − Dice) + BCE of logits against a 0/1 target,
/// averaged over the batch (Dice smoothed by 1 voxel).
pub fn segmentation_loss(logits: Tensor<5>, target: Tensor<5>) -> Tensor<1> {
    let [b, _, d, h, w] = logits.dims();
    let n = d * h * w;
    let logits: Tensor<2> = logits.reshape([b, n]);
    let target: Tensor<2> = target.reshape([b, n]);
    let p = sigmoid(logits.clone());
    let overlap = (p.clone() * target.clone()).sum_dim(1);
    let total = p.sum_dim(1) + target.clone().sum_dim(1);
    let dice = (overlap.mul_scalar(2.0) + 1.0) / (total + 1.0);
    let bce = -(target.clone() * log_sigmoid(logits.clone())
        + (target.neg() + 1.0) * log_sigmoid(logits.neg()))
    .mean_dim(1);
    (dice.neg() + 1.0 + bce).mean().reshape([1])
}

/// Averages `[B, 1, D, H, W]` over blocks down to `edge³`, as `[B, edge³]`.
fn block_mean(x: Tensor<5>, edge: usize) -> Tensor<2> {
    let [b, _, d, h, w] = x.dims();
    let (fz, fy, fx) = (d / edge, h / edge, w / edge);
    let x: Tensor<3> = x.reshape([b * edge * fz * edge * fy, edge, fx]).mean_dim(2);
    let x: Tensor<4> = x.reshape([b * edge * fz, edge, fy, edge]);
    let x = x.swap_dims(2, 3).mean_dim(3);
    let x: Tensor<4> = x.reshape([b * edge, fz, edge * edge, 1]);
    let x = x.mean_dim(1);
    x.reshape([b, edge * edge * edge])
}

/// The topological loss of a batch: for each sample, the persistence diagrams of the
/// sublevel filtrations of 1 − p (p: the prediction averaged down to `grid³`) and of the
/// truth, matched in `dims`; returns the mean over the batch of Σ (f[v] − target)² over
/// the critical voxels — the squared Wasserstein distance, whose gradient reaches the
/// prediction through exactly those voxels.
pub fn topo_loss(logits: Tensor<5>, target: Tensor<5>, dims: &[usize], grid: usize) -> Tensor<1> {
    let b = logits.dims()[0];
    let device = logits.device();
    let field = block_mean(sigmoid(logits), grid).neg() + 1.0;
    let truth = block_mean(target, grid).neg() + 1.0;
    let values = |t: Tensor<2>| -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 field")
    };
    let pred_values = values(field.clone().detach());
    let true_values = values(truth);
    let n = grid * grid * grid;
    let mut index = Vec::new();
    let mut goal = Vec::new();
    for s in 0..b {
        let pred =
            Volume::new([grid; 3], pred_values[s * n..(s + 1) * n].to_vec()).expect("field shape");
        let truth =
            Volume::new([grid; 3], true_values[s * n..(s + 1) * n].to_vec()).expect("truth shape");
        for pull in topology::targets(&pred, &truth, dims, 1.0).pulls {
            index.push((s * n + pull.voxel) as i64);
            goal.push(pull.target);
        }
    }
    if index.is_empty() {
        return Tensor::zeros([1], &device);
    }
    let k = index.len();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [k]), &device);
    let goal = Tensor::<1>::from_data(TensorData::new(goal, [k]), &device);
    let picked = field.reshape([b * n]).select(0, index);
    (picked - goal)
        .powi_scalar(2)
        .sum()
        .div_scalar(b as f64)
        .reshape([1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_has_the_grid_shape_for_every_preset() {
        let device = Device::flex();
        for name in [Preset::Tiny, Preset::Small] {
            let cfg = preset(name).unwrap();
            let net = cfg.init(&device);
            let [d, h, w] = cfg.grid;
            let out = net.forward(Tensor::zeros([2, 2, h, w], &device));
            assert_eq!(out.dims(), [2, 1, d, h, w], "{name}");
        }
        assert!(
            preset(Preset::Fast)
                .unwrap_err()
                .contains("no preset 'fast'")
        );
    }

    #[test]
    fn block_mean_averages_blocks() {
        let device = Device::flex();
        // 4³ volume with value = z·16 + y·4 + x, averaged to 2³.
        let data: Vec<f32> = (0..64).map(|v| v as f32).collect();
        let x = Tensor::<5>::from_data(TensorData::new(data.clone(), [1, 1, 4, 4, 4]), &device);
        let got: Vec<f32> = block_mean(x, 2)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        let v = Volume::new([4, 4, 4], data).unwrap();
        for (i, g) in got.iter().enumerate() {
            let [bz, by, bx] = [i / 4, (i / 2) % 2, i % 2];
            let mut s = 0.0;
            for dz in 0..2 {
                for dy in 0..2 {
                    for dx in 0..2 {
                        s += v.at([2 * bz + dz, 2 * by + dy, 2 * bx + dx]);
                    }
                }
            }
            assert!((g - s / 8.0).abs() < 1e-5, "block {i}: {g} vs {}", s / 8.0);
        }
    }

    #[test]
    fn losses_are_small_for_a_confident_right_answer() {
        let device = Device::flex();
        let target = Tensor::<5>::from_data(
            TensorData::new(
                (0..64)
                    .map(|i| if i % 3 == 0 { 1.0f32 } else { 0.0 })
                    .collect(),
                [1, 1, 4, 4, 4],
            ),
            &device,
        );
        let right = target.clone().mul_scalar(40.0).sub_scalar(20.0);
        let wrong = right.clone().neg();
        let l_right: f32 = segmentation_loss(right.clone(), target.clone()).into_scalar();
        let l_wrong: f32 = segmentation_loss(wrong, target.clone()).into_scalar();
        assert!(l_right < 1e-3 && l_wrong > 1.5, "{l_right} {l_wrong}");
        let topo: f32 = topo_loss(right, target, &[0, 1, 2], 4).into_scalar();
        assert!(topo.abs() < 1e-6, "{topo}");
    }
}
