//! Samplers: ways to walk the reverse process from noise to a shape, each its own piece
//! behind one [`Sampler`] interface and independent of the network, which they see only
//! as a denoiser function `(x_t, original timesteps) → network output`.
//!
//! - [`Ddpm`]: ancestral sampling (Ho et al. 2020) on a respaced schedule, using the
//!   learned variance when the model has one (improved DDPM).
//! - [`Ddim`]: DDIM (Song et al. 2021) with configurable η (0 = deterministic).
//! - [`DpmSolver2M`]: DPM-Solver++(2M) (Lu et al. 2022), a second-order multistep solver
//!   of the probability-flow ODE in data (x₀) prediction: more accurate than DDIM at the
//!   same few network evaluations.
//! - [`FromPrior`]: any of them begun part-way, from the model's prior shape noised to
//!   that step instead of from pure noise (SDEdit, Meng et al. 2022).
//!
//! All randomness comes from a seeded ChaCha8 stream: the same seed gives the same shapes.
//! One file per sampler; this module holds the interface, [`build`] and the loop they
//! share.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::diffusion::DiffusionConfig;
use crate::noise::gaussian_tensor;

mod ddim;
mod ddpm;
mod dpm_solver;
mod from_prior;

pub use ddim::Ddim;
pub use ddpm::Ddpm;
pub use dpm_solver::DpmSolver2M;
pub use from_prior::{FromPrior, MIN_WALKED_STEPS, begin_fraction, build_from_prior, walked_steps};

/// The network as the samplers see it: output for x_t at original timesteps t.
pub type Denoiser<'a> = dyn Fn(Tensor<5>, &[usize]) -> Tensor<5> + 'a;

/// A reverse-process sampler.
pub trait Sampler: Send + Sync {
    /// A short name with its settings, e.g. `ddim-50-eta0`.
    fn name(&self) -> String;
    /// Number of network evaluations per sample batch.
    fn evaluations(&self) -> usize;
    /// Whether it begins from a given shape ([`FromPrior`]): then [`Sampler::sample`]
    /// needs an `origin`.
    fn begins_from_origin(&self) -> bool {
        false
    }
    /// Draws a batch of `shape[0]` samples of `shape`. `origin`, a clean shape of `shape`
    /// (−1 outside, +1 inside), is noised to the schedule's last step to begin the walk;
    /// `None` begins it from pure noise. `on_step(done, total)` reports progress after
    /// each network evaluation.
    fn sample(
        &self,
        denoiser: &Denoiser,
        shape: [usize; 5],
        origin: Option<Tensor<5>>,
        seed: u64,
        device: &Device,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Tensor<5>;
}

/// Which sampler, as the command line and configs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SamplerKind {
    /// Ancestral DDPM.
    Ddpm,
    /// DDIM.
    Ddim,
    /// DPM-Solver++(2M).
    #[cfg_attr(feature = "clap", value(name = "dpm++2m", alias = "dpmpp2m"))]
    DpmSolver2M,
}

impl SamplerKind {
    /// The name as the flag spells it (`ddpm`, `ddim`, `dpm++2m`; [`std::str::FromStr`]
    /// reads it back).
    pub fn name(self) -> &'static str {
        match self {
            Self::Ddpm => "ddpm",
            Self::Ddim => "ddim",
            Self::DpmSolver2M => "dpm++2m",
        }
    }
}

impl std::str::FromStr for SamplerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ddpm" => Ok(Self::Ddpm),
            "ddim" => Ok(Self::Ddim),
            "dpm++2m" | "dpmpp2m" => Ok(Self::DpmSolver2M),
            other => Err(format!(
                "unknown sampler '{other}' (expected ddpm, ddim or dpm++2m)"
            )),
        }
    }
}

/// Builds a sampler for a model trained with `diffusion`, stepping along `steps`
/// respaced timesteps.
pub fn build(
    kind: SamplerKind,
    diffusion: &DiffusionConfig,
    steps: usize,
    eta: f64,
) -> crate::Result<Box<dyn Sampler>> {
    let schedule = checked_schedule(kind, diffusion, steps, eta)?;
    Ok(on_schedule(kind, diffusion, schedule, eta))
}

/// The model's schedule respaced to `steps`, once the settings are checked.
fn checked_schedule(
    kind: SamplerKind,
    diffusion: &DiffusionConfig,
    steps: usize,
    eta: f64,
) -> crate::Result<NoiseSchedule> {
    let schedule = diffusion.schedule();
    if steps < 2 || steps > schedule.len() {
        return Err(format!(
            "sampling steps must be between 2 and the model's {} diffusion steps, got {steps}",
            schedule.len()
        )
        .into());
    }
    if kind == SamplerKind::Ddim && !(0.0..=1.0).contains(&eta) {
        return Err(format!("DDIM's η must be in [0, 1], got {eta}").into());
    }
    Ok(if steps == schedule.len() {
        schedule
    } else {
        schedule.respaced(steps)
    })
}

/// The sampler `kind` stepping along `schedule` (settings already checked).
fn on_schedule(
    kind: SamplerKind,
    diffusion: &DiffusionConfig,
    schedule: NoiseSchedule,
    eta: f64,
) -> Box<dyn Sampler> {
    let (prediction, learned_variance) = (diffusion.prediction, diffusion.learned_variance);
    match kind {
        SamplerKind::Ddpm => Box::new(Ddpm {
            schedule,
            prediction,
            learned_variance,
        }),
        SamplerKind::Ddim => Box::new(Ddim {
            schedule,
            prediction,
            eta,
        }),
        SamplerKind::DpmSolver2M => Box::new(DpmSolver2M {
            schedule,
            prediction,
        }),
    }
}

/// The loop every sampler shares: seeded initial noise (mixed with the `origin` shape,
/// when given, as q(x_T | x₀) at the schedule's last step), then for each step of the
/// respaced `schedule` from the last to the first, one network evaluation (at the
/// original timestep) and the sampler's `update(i, respaced t, output, x_t, rng) → x_{t−1}`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn walk(
    schedule: &NoiseSchedule,
    denoiser: &Denoiser,
    shape: [usize; 5],
    origin: Option<Tensor<5>>,
    seed: u64,
    device: &Device,
    on_step: &mut dyn FnMut(usize, usize),
    mut update: impl FnMut(usize, &[usize], Tensor<5>, Tensor<5>, &mut ChaCha8Rng) -> Tensor<5>,
) -> Tensor<5> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b = shape[0];
    let total = schedule.len();
    let mut x = gaussian_tensor(&mut rng, shape, device);
    if let Some(x0) = origin {
        let (signal, noise) = schedule.q_sample_coefficients(total - 1);
        x = x0.mul_scalar(signal) + x.mul_scalar(noise);
    }
    for (done, i) in (0..total).rev().enumerate() {
        let t = vec![i; b];
        let original = vec![schedule.timesteps[i]; b];
        let output = denoiser(x.clone(), &original);
        x = update(i, &t, output, x, &mut rng);
        on_step(done + 1, total);
    }
    x
}
