//! DPM-Solver++(2M) (Lu et al. 2022): a second-order multistep solver of the
//! probability-flow ODE in data (x₀) prediction.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;

use super::{Denoiser, Sampler, walk};
use crate::diffusion::{Prediction, reverse_step};

/// DPM-Solver++(2M) along a (respaced) schedule: deterministic given the start noise.
/// With α = √ᾱ, σ = √(1 − ᾱ) and λ = ln(α/σ), one step from s to the next level t is
/// x_t = (σ_t/σ_s) x_s − α_t (e^{−h} − 1) D with h = λ_t − λ_s and D the x₀ estimate,
/// extrapolated linearly from the previous step's estimate (second order) after the first
/// step; the last step, to the clean level, returns the x₀ estimate (first order).
pub struct DpmSolver2M {
    /// The schedule it steps along.
    pub schedule: NoiseSchedule,
    /// What the model predicts.
    pub prediction: Prediction,
}

impl Sampler for DpmSolver2M {
    fn name(&self) -> String {
        format!("dpm++2m-{}", self.schedule.len())
    }

    fn evaluations(&self) -> usize {
        self.schedule.len()
    }

    fn sample(
        &self,
        denoiser: &Denoiser,
        shape: [usize; 5],
        origin: Option<Tensor<5>>,
        seed: u64,
        device: &Device,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Tensor<5> {
        let s = &self.schedule;
        let lambda = |a: f64| 0.5 * (a / (1.0 - a)).ln();
        // (x₀ estimate, λ) of the previous step.
        let mut previous: Option<(Tensor<5>, f64)> = None;
        walk(
            s,
            denoiser,
            shape,
            origin,
            seed,
            device,
            on_step,
            |i, t, output, x, _| {
                let x0 = reverse_step(s, output, x.clone(), t, self.prediction, false).x0;
                let (a, a_next) = (s.alphas_cumprod[i], s.alphas_cumprod_prev[i]);
                if a_next >= 1.0 {
                    return x0;
                }
                let (lambda_s, lambda_t) = (lambda(a), lambda(a_next));
                let h = lambda_t - lambda_s;
                let d = match previous.take() {
                    Some((x0_prev, lambda_prev)) => {
                        let r = (lambda_s - lambda_prev) / h;
                        x0.clone().mul_scalar(1.0 + 0.5 / r) - x0_prev.mul_scalar(0.5 / r)
                    }
                    None => x0.clone(),
                };
                previous = Some((x0, lambda_s));
                let ratio = ((1.0 - a_next) / (1.0 - a)).sqrt();
                x.mul_scalar(ratio) - d.mul_scalar(a_next.sqrt() * ((-h).exp() - 1.0))
            },
        )
    }
}
