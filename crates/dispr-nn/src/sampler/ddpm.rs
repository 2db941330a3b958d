//! Ancestral DDPM sampling (Ho et al. 2020), with the learned variance of improved
//! DDPM when the model has one.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;

use super::{Denoiser, Sampler, walk};
use crate::diffusion::{Prediction, reverse_step};
use crate::noise::gaussian_tensor;

/// Ancestral sampling along a (respaced) schedule.
pub struct Ddpm {
    /// The schedule it steps along; `timesteps` maps its steps to the model's.
    pub schedule: NoiseSchedule,
    /// What the model predicts.
    pub prediction: Prediction,
    /// Use the model's variance output.
    pub learned_variance: bool,
}

impl Sampler for Ddpm {
    fn name(&self) -> String {
        format!("ddpm-{}", self.schedule.len())
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
        walk(
            &self.schedule,
            denoiser,
            shape,
            origin,
            seed,
            device,
            on_step,
            |i, t, output, x, rng| {
                let step = reverse_step(
                    &self.schedule,
                    output,
                    x,
                    t,
                    self.prediction,
                    self.learned_variance,
                );
                if i > 0 {
                    let z = gaussian_tensor(rng, shape, device);
                    step.mean + step.log_variance.mul_scalar(0.5).exp() * z
                } else {
                    step.mean
                }
            },
        )
    }
}
