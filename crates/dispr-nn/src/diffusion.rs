//! The Gaussian diffusion process, independent of any network: forward noising
//! q(x_t | x₀), the posterior q(x_{t−1} | x_t, x₀), the model's reverse distribution from
//! its output (ε-prediction, fixed or learned-range variance — Nichol & Dhariwal 2021), and
//! the training losses (plain MSE on ε, or the hybrid MSE + variational bound with ε
//! detached for the bound term). Schedules come from [`dispr_core::schedule`].
//!
//! Targets live in [-1, 1]: a shape is +1 inside and −1 outside, and a sample is a shape
//! after thresholding at 0 (the midpoint). Per-batch-element coefficients are gathered on
//! the CPU from the f64 schedule and sent as `[B, 1, 1, 1, 1]` tensors.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;
use serde::{Deserialize, Serialize};

/// Which noise schedule the process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// β linear from 1e-4 to 0.02 (the paper).
    Linear,
    /// The cosine schedule with s = 0.008.
    Cosine,
}

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// MSE between true and predicted ε.
    Mse,
    /// MSE(ε or v) + the variational-bound term for the learned variance (the paper).
    Hybrid,
}

/// What the network's first output channel predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// The noise ε (the paper; Ho et al. 2020).
    #[default]
    Epsilon,
    /// The velocity v = √ᾱ ε − √(1 − ᾱ) x₀ (Salimans & Ho 2022): at high noise it is
    /// ≈ −x₀, so the shape is learned from the conditioning from the first steps, where
    /// ε carries only √ᾱ (0.6 % at t = T) of x₀.
    V,
}

/// The process's settings, stored in checkpoints beside the U-Net config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffusionConfig {
    /// Noise schedule.
    pub schedule: ScheduleKind,
    /// Number of diffusion steps T.
    pub steps: usize,
    /// Training loss.
    pub loss: LossKind,
    /// Whether the network predicts the variance (2 output channels).
    pub learned_variance: bool,
    /// What the first output channel predicts.
    #[serde(default)]
    pub prediction: Prediction,
}

impl DiffusionConfig {
    /// The schedule table.
    pub fn schedule(&self) -> NoiseSchedule {
        match self.schedule {
            ScheduleKind::Linear => {
                // β range scaled for T ≠ 1000 as in improved DDPM, so 1000 is the paper's.
                let scale = 1000.0 / self.steps as f64;
                NoiseSchedule::linear(self.steps, scale * 1e-4, scale * 0.02)
            }
            ScheduleKind::Cosine => NoiseSchedule::cosine(self.steps, 0.008),
        }
    }

    /// Checks the settings fit together.
    pub fn validate(&self) -> crate::Result<()> {
        if !(2..=100_000).contains(&self.steps) {
            return Err(format!("a diffusion needs 2 to 100000 steps, got {}", self.steps).into());
        }
        if self.loss == LossKind::Hybrid && !self.learned_variance {
            return Err("the hybrid loss needs a learned variance".into());
        }
        Ok(())
    }
}

/// Per-batch-element coefficient `values[t_b]` as a `[B, 1, 1, 1, 1]` tensor.
pub fn gather(values: &[f64], t: &[usize], device: &Device) -> Tensor<5> {
    let data: Vec<f32> = t.iter().map(|&i| values[i] as f32).collect();
    Tensor::from_data(TensorData::new(data, [t.len(), 1, 1, 1, 1]), device)
}

/// Per-batch-element `f(ᾱ_{t_b})` as a `[B, 1, 1, 1, 1]` tensor (only the B values
/// needed are computed).
fn of_alpha_bar(
    s: &NoiseSchedule,
    t: &[usize],
    device: &Device,
    f: impl Fn(f64) -> f64,
) -> Tensor<5> {
    let data: Vec<f32> = t.iter().map(|&i| f(s.alphas_cumprod[i]) as f32).collect();
    Tensor::from_data(TensorData::new(data, [t.len(), 1, 1, 1, 1]), device)
}

/// x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε.
pub fn q_sample(s: &NoiseSchedule, x0: Tensor<5>, noise: Tensor<5>, t: &[usize]) -> Tensor<5> {
    let device = x0.device();
    x0 * of_alpha_bar(s, t, &device, f64::sqrt)
        + noise * of_alpha_bar(s, t, &device, |a| (1.0 - a).sqrt())
}

/// Mean and log-variance of the posterior q(x_{t−1} | x_t, x₀).
pub fn q_posterior(
    s: &NoiseSchedule,
    x0: Tensor<5>,
    xt: Tensor<5>,
    t: &[usize],
) -> (Tensor<5>, Tensor<5>) {
    let device = x0.device();
    let mean = x0 * gather(&s.posterior_mean_coef1, t, &device)
        + xt * gather(&s.posterior_mean_coef2, t, &device);
    (mean, gather(&s.posterior_log_variance_clipped, t, &device))
}

/// x₀ from x_t and ε: (x_t − √(1 − ᾱ) ε) / √ᾱ.
pub fn predict_x0(s: &NoiseSchedule, xt: Tensor<5>, eps: Tensor<5>, t: &[usize]) -> Tensor<5> {
    let device = xt.device();
    xt * of_alpha_bar(s, t, &device, |a| (1.0 / a).sqrt())
        - eps * of_alpha_bar(s, t, &device, |a| (1.0 / a - 1.0).sqrt())
}

/// ε from x_t and x₀ (the inverse of [`predict_x0`]).
pub fn eps_from_x0(s: &NoiseSchedule, xt: Tensor<5>, x0: Tensor<5>, t: &[usize]) -> Tensor<5> {
    let device = xt.device();
    (xt * of_alpha_bar(s, t, &device, |a| (1.0 / a).sqrt()) - x0)
        / of_alpha_bar(s, t, &device, |a| (1.0 / a - 1.0).sqrt())
}

/// The model's reverse step p(x_{t−1} | x_t) from its raw output.
pub struct ReverseStep {
    /// Predicted ε.
    pub eps: Tensor<5>,
    /// Predicted x₀, clipped to [-1, 1].
    pub x0: Tensor<5>,
    /// Mean of p(x_{t−1} | x_t).
    pub mean: Tensor<5>,
    /// Log-variance of p(x_{t−1} | x_t).
    pub log_variance: Tensor<5>,
}

/// Splits the network output into ε and the variance, and derives x₀ and the reverse
/// mean. `s` is the (possibly respaced) schedule the sampler steps along, `t` are indices
/// into it. Learned variance: log σ² = f·log β_t + (1 − f)·log β̃_t with f = (v + 1)/2.
/// Fixed variance: β_t (β̃₁ at t = 0), improved DDPM's "fixed large".
pub fn reverse_step(
    s: &NoiseSchedule,
    output: Tensor<5>,
    xt: Tensor<5>,
    t: &[usize],
    prediction: Prediction,
    learned_variance: bool,
) -> ReverseStep {
    let device = xt.device();
    let [b, _, d, h, w] = output.dims();
    let first = output.clone().narrow(1, 0, 1);
    let eps = match prediction {
        Prediction::Epsilon => first,
        Prediction::V => {
            // ε = √(1 − ᾱ) x_t + √ᾱ v.
            xt.clone() * of_alpha_bar(s, t, &device, |a| (1.0 - a).sqrt())
                + first * of_alpha_bar(s, t, &device, f64::sqrt)
        }
    };
    let log_variance = if learned_variance {
        let v = output.narrow(1, 1, 1);
        let min_log = gather(&s.posterior_log_variance_clipped, t, &device);
        let log_betas: Vec<f32> = t.iter().map(|&i| s.betas[i].ln() as f32).collect();
        let max_log = Tensor::from_data(TensorData::new(log_betas, [t.len(), 1, 1, 1, 1]), &device);
        let frac = (v + 1.0) / 2.0;
        frac.clone() * max_log + (frac.neg() + 1.0) * min_log
    } else {
        let mut large: Vec<f64> = s.betas.clone();
        large[0] = s.posterior_variance.get(1).copied().unwrap_or(s.betas[0]);
        let log_large: Vec<f64> = large.iter().map(|v| v.ln()).collect();
        gather(&log_large, t, &device).expand([b, 1, d, h, w])
    };
    let x0 = predict_x0(s, xt.clone(), eps.clone(), t).clamp(-1.0, 1.0);
    let (mean, _) = q_posterior(s, x0.clone(), xt, t);
    ReverseStep {
        eps,
        x0,
        mean,
        log_variance,
    }
}

/// KL(N(m1, e^lv1) ‖ N(m2, e^lv2)) per element, in nats:
/// ½(−1 + lv2 − lv1 + e^{lv1 − lv2} + (m1 − m2)² e^{−lv2}).
fn normal_kl(m1: Tensor<5>, lv1: Tensor<5>, m2: Tensor<5>, lv2: Tensor<5>) -> Tensor<5> {
    let ratio = (lv1.clone() - lv2.clone()).exp();
    ((lv2.clone() - lv1) + ratio + (m1 - m2).powi_scalar(2) * lv2.neg().exp() - 1.0).mul_scalar(0.5)
}

/// Standard normal CDF, tanh approximation (as the reference implementation).
fn approx_std_normal_cdf(x: Tensor<5>) -> Tensor<5> {
    let c = (2.0f64 / std::f64::consts::PI).sqrt();
    ((x.clone() + x.powi_scalar(3).mul_scalar(0.044715))
        .mul_scalar(c)
        .tanh()
        + 1.0)
        .mul_scalar(0.5)
}

/// −log p(x₀ | x₁) for data discretized into 256 bins on [-1, 1] (the reference's
/// decoder likelihood), per element, in nats.
fn discretized_gaussian_nll(x: Tensor<5>, mean: Tensor<5>, log_scale: Tensor<5>) -> Tensor<5> {
    let centered = x.clone() - mean;
    let inv_stdv = log_scale.neg().exp();
    let plus_in = (centered.clone() + 1.0 / 255.0) * inv_stdv.clone();
    let min_in = (centered - 1.0 / 255.0) * inv_stdv;
    let cdf_plus = approx_std_normal_cdf(plus_in);
    let cdf_min = approx_std_normal_cdf(min_in);
    let log_cdf_plus = cdf_plus.clone().clamp_min(1e-12).log();
    let log_one_minus_cdf_min = (cdf_min.clone().neg() + 1.0).clamp_min(1e-12).log();
    let log_delta = (cdf_plus - cdf_min).clamp_min(1e-12).log();
    let low = x.clone().lower_elem(-0.999);
    let high = x.greater_elem(0.999);
    log_delta
        .mask_where(high, log_one_minus_cdf_min)
        .mask_where(low, log_cdf_plus)
        .neg()
}

/// The training loss of one batch and its parts (for logging).
pub struct Loss {
    /// The scalar to minimise.
    pub total: Tensor<1>,
    /// MSE(ε) part.
    pub mse: Tensor<1>,
    /// Variational-bound part (zero for the MSE loss), in bits per voxel.
    pub vb: Tensor<1>,
}

/// The loss for a network output on x_t = q_sample(x₀, ε, t).
pub fn training_loss(
    config: &DiffusionConfig,
    s: &NoiseSchedule,
    output: Tensor<5>,
    x0: Tensor<5>,
    xt: Tensor<5>,
    noise: Tensor<5>,
    t: &[usize],
) -> Loss {
    let device = x0.device();
    let eps = output.clone().narrow(1, 0, 1);
    let target = match config.prediction {
        Prediction::Epsilon => noise,
        // v = √ᾱ ε − √(1 − ᾱ) x₀.
        Prediction::V => {
            noise * of_alpha_bar(s, t, &device, f64::sqrt)
                - x0.clone() * of_alpha_bar(s, t, &device, |a| (1.0 - a).sqrt())
        }
    };
    let mse = (eps.clone() - target).powi_scalar(2).mean();
    if config.loss == LossKind::Mse {
        return Loss {
            total: mse.clone(),
            mse,
            vb: Tensor::zeros([1], &device),
        };
    }
    // Variational bound with ε frozen: only the variance learns from it.
    let frozen = Tensor::cat(vec![eps.detach(), output.narrow(1, 1, 1)], 1);
    let step = reverse_step(s, frozen, xt.clone(), t, config.prediction, true);
    let (true_mean, true_log_var) = q_posterior(s, x0.clone(), xt, t);
    let [b, _, d, h, w] = x0.dims();
    let kl = normal_kl(
        true_mean,
        true_log_var.expand([b, 1, d, h, w]),
        step.mean.clone(),
        step.log_variance.clone(),
    );
    let nll = discretized_gaussian_nll(x0, step.mean, step.log_variance.mul_scalar(0.5));
    let is_first: Vec<f32> = t.iter().map(|&i| if i == 0 { 1.0 } else { 0.0 }).collect();
    let first = Tensor::<5>::from_data(TensorData::new(is_first, [b, 1, 1, 1, 1]), &device);
    let per_voxel = kl * (first.clone().neg() + 1.0) + nll * first;
    // Mean over voxels, in bits; scaled by T/1000 as the reference does for the bound.
    let vb = per_voxel
        .mean()
        .mul_scalar(config.steps as f64 / 1000.0 / std::f64::consts::LN_2);
    Loss {
        total: mse.clone() + vb.clone(),
        mse,
        vb,
    }
}
