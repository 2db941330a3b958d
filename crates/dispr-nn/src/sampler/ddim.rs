//! DDIM sampling (Song et al. 2021), η = 0 deterministic.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;

use super::{Denoiser, Sampler, walk};
use crate::diffusion::{Prediction, eps_from_x0, reverse_step};
use crate::noise::gaussian_tensor;

/// DDIM along a (respaced) schedule; η = 0 is deterministic given the initial noise.
pub struct Ddim {
    /// The schedule it steps along.
    pub schedule: NoiseSchedule,
    /// What the model predicts.
    pub prediction: Prediction,
    /// Stochasticity η ∈ [0, 1] (1 ≈ DDPM's variance).
    pub eta: f64,
}

impl Sampler for Ddim {
    fn name(&self) -> String {
        format!("ddim-{}-eta{}", self.schedule.len(), self.eta)
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
        walk(
            s,
            denoiser,
            shape,
            origin,
            seed,
            device,
            on_step,
            |i, t, output, x, rng| {
                // Only ε is used; x₀ is clipped and ε re-derived from it (as the reference).
                let step = reverse_step(s, output, x.clone(), t, self.prediction, false);
                let eps = eps_from_x0(s, x, step.x0.clone(), t);
                let a = s.alphas_cumprod[i];
                let a_prev = s.alphas_cumprod_prev[i];
                let sigma =
                    self.eta * ((1.0 - a_prev) / (1.0 - a)).sqrt() * (1.0 - a / a_prev).sqrt();
                let dir = (1.0 - a_prev - sigma * sigma).max(0.0).sqrt();
                let x = step.x0.mul_scalar(a_prev.sqrt()) + eps.mul_scalar(dir);
                if i > 0 && sigma > 0.0 {
                    x + gaussian_tensor(rng, shape, device).mul_scalar(sigma)
                } else {
                    x
                }
            },
        )
    }
}
