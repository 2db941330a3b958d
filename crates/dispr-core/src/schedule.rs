//! Noise schedules of the diffusion process (DDPM, Ho et al. 2020; improved DDPM,
//! Nichol & Dhariwal 2021) as plain f64 tables, with the posterior coefficients and
//! timestep respacing for few-step sampling. Numbers only: the tensors, losses and
//! samplers that use them belong to the neural crate, which takes its schedule from here
//! (one definition for training, sampling and tests).
//!
//! Indexing: `t` runs over 0..T; "step 500" of the papers is `t = 499`.

/// A noise schedule and every coefficient derived from it (index t = 0..T).
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseSchedule {
    /// βₜ.
    pub betas: Vec<f64>,
    /// ᾱₜ = Π_{s ≤ t} (1 − βₛ).
    pub alphas_cumprod: Vec<f64>,
    /// ᾱ_{t−1} (1 at t = 0).
    pub alphas_cumprod_prev: Vec<f64>,
    /// Variance of q(x_{t−1} | x_t, x_0): βₜ (1 − ᾱ_{t−1}) / (1 − ᾱₜ); 0 at t = 0.
    pub posterior_variance: Vec<f64>,
    /// Its logarithm with t = 0 clipped to t = 1's value (the reference code's choice:
    /// log 0 is −∞).
    pub posterior_log_variance_clipped: Vec<f64>,
    /// Coefficient of x₀ in the posterior mean.
    pub posterior_mean_coef1: Vec<f64>,
    /// Coefficient of x_t in the posterior mean.
    pub posterior_mean_coef2: Vec<f64>,
    /// For a respaced schedule, the original timestep of each step (else 0..T).
    pub timesteps: Vec<usize>,
}

impl NoiseSchedule {
    /// βₜ linear from `start` to `end` over `steps` (the paper: 1e-4 to 0.02, T = 1000).
    pub fn linear(steps: usize, start: f64, end: f64) -> NoiseSchedule {
        assert!(steps >= 2, "a schedule needs at least two steps");
        let betas = (0..steps)
            .map(|i| start + (end - start) * i as f64 / (steps - 1) as f64)
            .collect();
        Self::from_betas(betas, (0..steps).collect())
    }

    /// The cosine schedule: ᾱ(t) = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2),
    /// βₜ = min(1 − ᾱ((t+1)/T) / ᾱ(t/T), 0.999) — with floating-point t/T (an integer
    /// division there silently makes every β but the last zero).
    pub fn cosine(steps: usize, s: f64) -> NoiseSchedule {
        assert!(steps >= 2, "a schedule needs at least two steps");
        let f = |t: f64| libm::cos((t + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2).powi(2);
        let betas = (0..steps)
            .map(|i| {
                let (t0, t1) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
                (1.0 - f(t1) / f(t0)).min(0.999)
            })
            .collect();
        Self::from_betas(betas, (0..steps).collect())
    }

    /// Every coefficient from the βs.
    fn from_betas(betas: Vec<f64>, timesteps: Vec<usize>) -> NoiseSchedule {
        let mut alphas_cumprod = Vec::with_capacity(betas.len());
        let mut product = 1.0;
        for b in &betas {
            product *= 1.0 - b;
            alphas_cumprod.push(product);
        }
        let alphas_cumprod_prev: Vec<f64> = std::iter::once(1.0)
            .chain(alphas_cumprod[..betas.len() - 1].iter().copied())
            .collect();
        let posterior_variance: Vec<f64> = (0..betas.len())
            .map(|t| betas[t] * (1.0 - alphas_cumprod_prev[t]) / (1.0 - alphas_cumprod[t]))
            .collect();
        let posterior_log_variance_clipped = (0..betas.len())
            .map(|t| {
                libm::log(if t == 0 {
                    posterior_variance[1]
                } else {
                    posterior_variance[t]
                })
            })
            .collect();
        let posterior_mean_coef1 = (0..betas.len())
            .map(|t| betas[t] * alphas_cumprod_prev[t].sqrt() / (1.0 - alphas_cumprod[t]))
            .collect();
        let posterior_mean_coef2 = (0..betas.len())
            .map(|t| {
                (1.0 - alphas_cumprod_prev[t]) * (1.0 - betas[t]).sqrt() / (1.0 - alphas_cumprod[t])
            })
            .collect();
        NoiseSchedule {
            betas,
            alphas_cumprod,
            alphas_cumprod_prev,
            posterior_variance,
            posterior_log_variance_clipped,
            posterior_mean_coef1,
            posterior_mean_coef2,
            timesteps,
        }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Always false: a schedule has at least two steps.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }

    /// √ᾱₜ and √(1 − ᾱₜ): x_t = √ᾱₜ x₀ + √(1 − ᾱₜ) ε.
    pub fn q_sample_coefficients(&self, t: usize) -> (f64, f64) {
        (
            self.alphas_cumprod[t].sqrt(),
            (1.0 - self.alphas_cumprod[t]).sqrt(),
        )
    }

    /// The schedule restricted to `steps` evenly spaced timesteps (improved DDPM's
    /// respacing): the kept steps keep their ᾱ, and β_i = 1 − ᾱ_i / ᾱ_{i−1} between
    /// them, so a model trained on the full schedule samples in fewer steps.
    pub fn respaced(&self, steps: usize) -> NoiseSchedule {
        let total = self.len();
        assert!(
            (2..=total).contains(&steps),
            "respacing {total} steps to {steps}"
        );
        let kept: Vec<usize> = (0..steps)
            .map(|i| ((i as f64 * (total - 1) as f64 / (steps - 1) as f64).round()) as usize)
            .collect();
        let mut last = 1.0;
        let betas = kept
            .iter()
            .map(|&t| {
                let a = self.alphas_cumprod[t];
                let beta = 1.0 - a / last;
                last = a;
                beta
            })
            .collect();
        let original: Vec<usize> = kept.iter().map(|&t| self.timesteps[t]).collect();
        Self::from_betas(betas, original)
    }

    /// Its first `steps` steps, the least noisy (all coefficients as they were): the part
    /// of the walk that remains when it begins part-way (SDEdit).
    pub fn truncated(&self, steps: usize) -> NoiseSchedule {
        assert!(
            (2..=self.len()).contains(&steps),
            "truncating {} steps to {steps}",
            self.len()
        );
        Self::from_betas(
            self.betas[..steps].to_vec(),
            self.timesteps[..steps].to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn linear_schedule_values() {
        // numpy: cumprod(1 − linspace(1e-4, 0.02, 1000)).
        let s = NoiseSchedule::linear(1000, 1e-4, 0.02);
        assert!(
            rel(s.alphas_cumprod[999], 4.035_829_765_375_676e-5) < 1e-9,
            "{}",
            s.alphas_cumprod[999]
        );
        assert!(rel(s.alphas_cumprod[499], 0.078_587_242_881_778_24) < 1e-9);
        assert_eq!(s.posterior_variance[0], 0.0);
        assert_eq!(
            s.posterior_log_variance_clipped[0],
            s.posterior_log_variance_clipped[1]
        );
        assert!(
            s.posterior_log_variance_clipped
                .iter()
                .all(|v| v.is_finite())
        );
        let (a, b) = s.q_sample_coefficients(999);
        assert!((a * a + b * b - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cosine_schedule_values_and_no_nan() {
        let s = NoiseSchedule::cosine(1000, 0.008);
        assert!(
            rel(s.alphas_cumprod[499], 0.493_843_590_440_638_2) < 1e-9,
            "{}",
            s.alphas_cumprod[499]
        );
        assert_eq!(s.betas[999], 0.999);
        assert!(
            s.betas
                .iter()
                .all(|b| b.is_finite() && *b > 0.0 && *b <= 0.999)
        );
        assert!(
            s.posterior_log_variance_clipped
                .iter()
                .all(|v| v.is_finite())
        );
        // The integer-division bug would leave β₀ = 0 and ᾱ₄₉₉ = 1.
        assert!(s.betas[0] > 0.0 && s.alphas_cumprod[499] < 0.9);
    }

    #[test]
    fn respacing_keeps_the_cumulative_products() {
        let s = NoiseSchedule::linear(1000, 1e-4, 0.02);
        let same = s.respaced(1000);
        assert_eq!(same.timesteps, s.timesteps);
        assert!(
            same.betas
                .iter()
                .zip(&s.betas)
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        let r = s.respaced(50);
        assert_eq!(r.len(), 50);
        assert_eq!((r.timesteps[0], r.timesteps[49]), (0, 999));
        for (i, &t) in r.timesteps.iter().enumerate() {
            assert!(rel(r.alphas_cumprod[i], s.alphas_cumprod[t]) < 1e-12);
        }
        let twice = r.respaced(10);
        assert_eq!(
            twice.timesteps[9], 999,
            "respacing a respaced schedule keeps original steps"
        );
    }

    #[test]
    fn truncating_keeps_the_first_steps_as_they_were() {
        let r = NoiseSchedule::linear(1000, 1e-4, 0.02).respaced(10);
        let t = r.truncated(7);
        assert_eq!(t.len(), 7);
        assert_eq!(t.timesteps, r.timesteps[..7]);
        for i in 0..7 {
            assert!(rel(t.alphas_cumprod[i], r.alphas_cumprod[i]) < 1e-12);
            assert!(
                rel(
                    t.posterior_variance[i].max(1e-300),
                    r.posterior_variance[i].max(1e-300)
                ) < 1e-12
            );
        }
    }
}
