//! SHAPR's losses: segmentation ((1 − Dice) + BCE), the topological loss and the
//! adversarial terms.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use dispr_core::grid::Volume;
use dispr_core::topology;

/// −log σ(x) averaged: the loss of logits `x` that should say "true".
pub fn says_true(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).neg().mean().reshape([1])
}

/// −log(1 − σ(x)) averaged: the loss of logits `x` that should say "predicted".
pub fn says_predicted(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits.neg()).neg().mean().reshape([1])
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
