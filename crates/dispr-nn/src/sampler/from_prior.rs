//! A sampler begun part-way (SDEdit, Meng et al. 2022): instead of walking the whole
//! schedule from pure noise, the walk begins at a fraction of its steps from the model's
//! prior shape noised to that step, so diffusion refines the prior instead of inventing
//! a shape, in fewer network evaluations.

use burn::prelude::*;

use super::{Denoiser, Sampler, SamplerKind};
use crate::diffusion::DiffusionConfig;

/// `inner`, built on the first steps of the schedule, begun from a given shape.
pub struct FromPrior {
    /// The sampler on the truncated schedule.
    pub inner: Box<dyn Sampler>,
    /// Its name: the whole walk's, then `-from` and the fraction (`ddim-10-eta1-from0.7`).
    pub name: String,
}

/// A begin fraction as asked: `Ok(None)` for 1 (from pure noise), `Ok(Some(f))` for f in
/// (0, 1), else what is wrong with it.
pub fn begin_fraction(fraction: f64) -> Result<Option<f64>, String> {
    if fraction > 0.0 && fraction < 1.0 {
        Ok(Some(fraction))
    } else if fraction == 1.0 {
        Ok(None)
    } else {
        Err(format!("{fraction} is not a fraction in (0, 1]"))
    }
}

/// The fewest steps a walk begun from the prior may take.
pub const MIN_WALKED_STEPS: usize = 2;

/// The steps a walk of `steps` begun at `fraction` of them takes: round(fraction · steps),
/// its network evaluations.
pub fn walked_steps(steps: usize, fraction: f64) -> usize {
    (fraction * steps as f64).round() as usize
}

/// The sampler `kind` with `steps` respaced steps and η `eta` ([`super::build`]), begun
/// part-way: it walks the k = round(fraction · steps) least noisy of them (at least 2),
/// from the prior noised to the k-th. Its name states the fraction walked, k / steps
/// (`ddim-10-eta1-from0.7`), so two fractions that walk alike are one draw.
pub fn build_from_prior(
    kind: SamplerKind,
    diffusion: &DiffusionConfig,
    steps: usize,
    eta: f64,
    fraction: f64,
) -> crate::Result<Box<dyn Sampler>> {
    let schedule = super::checked_schedule(kind, diffusion, steps, eta)?;
    let walked = walked_steps(steps, fraction);
    if !matches!(begin_fraction(fraction), Ok(Some(_))) || walked < MIN_WALKED_STEPS {
        return Err(crate::Error::BadSetting(format!(
            "from-prior {fraction}: the walk must begin part-way, at a fraction in (0, 1) of its {steps} steps that leaves at least {MIN_WALKED_STEPS} of them"
        )));
    }
    let whole = super::on_schedule(kind, diffusion, schedule.clone(), eta).name();
    Ok(Box::new(FromPrior {
        inner: super::on_schedule(kind, diffusion, schedule.truncated(walked), eta),
        name: format!("{whole}-from{}", walked as f64 / steps as f64),
    }))
}

impl Sampler for FromPrior {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn evaluations(&self) -> usize {
        self.inner.evaluations()
    }

    fn begins_from_origin(&self) -> bool {
        true
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
        // The predictor gives one whenever the sampler begins from it, and refuses
        // this sampler for a model without a prior channel.
        let origin = origin.expect("a sampler begun from the prior is given the prior");
        self.inner
            .sample(denoiser, shape, Some(origin), seed, device, on_step)
    }
}
