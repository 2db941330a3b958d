//! The diffusion process, the samplers and the network on the `tiny` preset: closed-form
//! values, shapes, determinism, and samplers that recover x₀ exactly from an oracle.

use burn::prelude::*;
use dispr_nn::config::preset;
use dispr_nn::diffusion::{
    DiffusionConfig, LossKind, Prediction, ScheduleKind, q_posterior, q_sample, reverse_step,
    training_loss,
};
use dispr_nn::model::Model;
use dispr_nn::sampler::{self, SamplerKind};

fn device() -> Device {
    Device::flex()
}

fn values(t: Tensor<5>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn paper() -> DiffusionConfig {
    preset("paper").unwrap().0.diffusion
}

fn filled(v: f32, shape: [usize; 5]) -> Tensor<5> {
    Tensor::<5>::ones(shape, &device()).mul_scalar(v)
}

#[test]
fn q_sample_and_posterior_match_closed_forms() {
    let s = paper().schedule();
    // ᾱ at the last step of the paper's schedule (numpy: 4.0358e-5).
    assert!((s.alphas_cumprod[999] - 4.0358e-5).abs() < 1e-8);
    let shape = [2, 1, 2, 2, 2];
    let x0 = filled(1.0, shape);
    let noise = filled(0.5, shape);
    let t = [10, 700];
    let xt = values(q_sample(&s, x0.clone(), noise, &t));
    for (b, &ti) in t.iter().enumerate() {
        let a = s.alphas_cumprod[ti];
        let expected = a.sqrt() + 0.5 * (1.0 - a).sqrt();
        assert!((xt[b * 8] as f64 - expected).abs() < 1e-6, "t={ti}");
    }
    // Posterior at t = 0: mean is x₀ exactly, variance 0 (its log clipped to t = 1's).
    let (mean, log_var) = q_posterior(&s, x0, filled(-0.3, shape), &[0, 0]);
    assert!(values(mean).iter().all(|&m| (m - 1.0).abs() < 1e-6));
    let lv = values(log_var)[0] as f64;
    assert!((lv - s.posterior_variance[1].ln()).abs() < 1e-5, "{lv}");
}

#[test]
fn learned_variance_spans_posterior_to_beta() {
    let s = paper().schedule();
    let shape = [1, 2, 1, 1, 2];
    let xt = filled(0.2, [1, 1, 1, 1, 2]);
    let t = [400];
    let with_v = |v: f32| {
        let eps = filled(0.1, [1, 1, 1, 1, 2]);
        let out = Tensor::cat(vec![eps, filled(v, [1, 1, 1, 1, 2])], 1);
        assert_eq!(out.dims(), shape);
        values(reverse_step(&s, out, xt.clone(), &t, Prediction::Epsilon, true).log_variance)[0]
            as f64
    };
    assert!((with_v(1.0) - s.betas[400].ln()).abs() < 1e-5);
    assert!((with_v(-1.0) - s.posterior_log_variance_clipped[400]).abs() < 1e-5);
    let mid = with_v(0.0);
    let expected = 0.5 * (s.betas[400].ln() + s.posterior_log_variance_clipped[400]);
    assert!((mid - expected).abs() < 1e-5);
}

#[test]
fn losses_vanish_for_a_perfect_prediction_and_grow_otherwise() {
    let config = paper();
    let s = config.schedule();
    let shape = [2, 1, 4, 4, 4];
    let x0 = filled(1.0, shape);
    let noise = Tensor::<5>::random(
        shape,
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device(),
    );
    let t = [3, 600];
    let xt = q_sample(&s, x0.clone(), noise.clone(), &t);
    // ε exact and v = −1 (the true posterior variance): MSE 0 and the bound's KL 0.
    let perfect = Tensor::cat(vec![noise.clone(), filled(-1.0, shape)], 1);
    let loss = training_loss(
        &config,
        &s,
        perfect,
        x0.clone(),
        xt.clone(),
        noise.clone(),
        &t,
    );
    let mse: f32 = loss.mse.into_scalar();
    let vb: f32 = loss.vb.into_scalar();
    assert!(mse.abs() < 1e-10, "{mse}");
    assert!(vb.abs() < 1e-4, "{vb}");
    // A wrong ε costs its squared error.
    let wrong = Tensor::cat(vec![noise.clone() + 0.5, filled(-1.0, shape)], 1);
    let loss = training_loss(
        &config,
        &s,
        wrong,
        x0.clone(),
        xt.clone(),
        noise.clone(),
        &t,
    );
    let mse: f32 = loss.mse.into_scalar();
    assert!((mse - 0.25).abs() < 1e-5, "{mse}");
    // Plain MSE loss has no bound term.
    let mut plain = config.clone();
    plain.loss = LossKind::Mse;
    let output = Tensor::cat(vec![noise.clone(), filled(0.0, shape)], 1);
    let loss = training_loss(&plain, &s, output, x0, xt, noise, &t);
    let vb: f32 = loss.vb.into_scalar();
    assert_eq!(vb, 0.0);
}

#[test]
fn cosine_schedule_has_no_nan_in_any_coefficient() {
    let config = DiffusionConfig {
        schedule: ScheduleKind::Cosine,
        steps: 1000,
        loss: LossKind::Hybrid,
        learned_variance: true,
        prediction: Prediction::Epsilon,
    };
    let s = config.schedule();
    let shape = [3, 2, 1, 2, 2];
    let xt = filled(0.7, [3, 1, 1, 2, 2]);
    for t in [[0, 500, 999]] {
        let out = Tensor::cat(
            vec![filled(0.3, [3, 1, 1, 2, 2]), filled(0.9, [3, 1, 1, 2, 2])],
            1,
        );
        assert_eq!(out.dims(), shape);
        let step = reverse_step(&s, out, xt.clone(), &t, Prediction::Epsilon, true);
        for v in values(step.mean)
            .into_iter()
            .chain(values(step.log_variance))
        {
            assert!(v.is_finite());
        }
    }
}

/// A denoiser that knows x₀ (all +1 in the upper half of x, −1 elsewhere) and returns
/// the exact ε for any x_t: every sampler must land on x₀.
#[test]
fn samplers_recover_x0_from_an_oracle_and_are_seeded() {
    let config = paper();
    let s = config.schedule();
    let shape = [3, 1, 2, 4, 4];
    let target: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|i| if i % 4 >= 2 { 1.0 } else { -1.0 })
        .collect();
    let x0 = Tensor::<5>::from_data(TensorData::new(target.clone(), shape), &device());
    let oracle = |xt: Tensor<5>, t: &[usize]| {
        let a = s.alphas_cumprod[t[0]];
        let eps = (xt - x0.clone().mul_scalar(a.sqrt())).div_scalar((1.0 - a).sqrt());
        let v = Tensor::zeros(eps.dims(), &eps.device());
        Tensor::cat(vec![eps, v], 1)
    };
    for (kind, steps) in [
        (SamplerKind::Ddim, 10),
        (SamplerKind::DpmSolver2M, 10),
        (SamplerKind::Ddpm, 25),
        (SamplerKind::Ddpm, 1000),
    ] {
        let sampler = sampler::build(kind, &config, steps, 0.0).unwrap();
        assert_eq!(sampler.evaluations(), steps);
        let mut calls = 0;
        let out = sampler.sample(&oracle, shape, None, 7, &device(), &mut |done, total| {
            calls += 1;
            assert!(done <= total);
        });
        assert_eq!(calls, steps);
        assert_eq!(out.dims(), shape);
        for (o, e) in values(out).iter().zip(&target) {
            assert!(
                (o - e).abs() < 1e-3,
                "{} with {steps} steps: {o} vs {e}",
                sampler.name()
            );
        }
    }
    // Begun from a wrong shape at 70 % of the way, the walk still lands on x₀, in 7 of
    // its 10 steps.
    let origin = Tensor::<5>::from_data(
        TensorData::new(target.iter().map(|v| -v).collect::<Vec<f32>>(), shape),
        &device(),
    );
    for kind in [
        SamplerKind::Ddim,
        SamplerKind::Ddpm,
        SamplerKind::DpmSolver2M,
    ] {
        let sampler = sampler::build_from_prior(kind, &config, 10, 0.0, 0.7).unwrap();
        assert!(sampler.begins_from_origin());
        assert_eq!(sampler.evaluations(), 7);
        assert!(sampler.name().ends_with("-from0.7"), "{}", sampler.name());
        let out = sampler.sample(
            &oracle,
            shape,
            Some(origin.clone()),
            7,
            &device(),
            &mut |_, _| {},
        );
        for (o, e) in values(out).iter().zip(&target) {
            assert!((o - e).abs() < 1e-3, "{}: {o} vs {e}", sampler.name());
        }
    }
    for (fraction, steps) in [(0.0, 10), (1.0, 10), (0.1, 10), (0.5, 2)] {
        assert!(
            sampler::build_from_prior(SamplerKind::Ddim, &config, steps, 0.0, fraction).is_err(),
            "{fraction} of {steps}"
        );
    }
    assert!(sampler::build(SamplerKind::Ddim, &config, 1, 0.0).is_err());
    assert!(sampler::build(SamplerKind::Ddim, &config, 10, 1.5).is_err());
    assert!("euler".parse::<SamplerKind>().is_err());
}

/// A walk begun part-way starts from q(x_t | origin) at its first step: the network's
/// first input is √ᾱ·origin + √(1 − ᾱ)·ε, with ε the seeded start noise and ᾱ that of
/// the 7th of 10 respaced steps.
#[test]
fn a_walk_from_the_prior_begins_at_the_noised_prior() {
    let config = paper();
    let shape = [2, 1, 1, 2, 4];
    let seed = 5;
    let origin: Vec<f32> = (0..16)
        .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    let noise: Vec<f32> = {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        values(dispr_nn::noise::gaussian_tensor(&mut rng, shape, &device()))
    };
    let respaced = config.schedule().respaced(10);
    let a = respaced.alphas_cumprod[6];
    let first = std::cell::RefCell::new(None);
    let denoiser = |xt: Tensor<5>, t: &[usize]| {
        first.borrow_mut().get_or_insert((values(xt.clone()), t[0]));
        Tensor::cat(vec![xt.zeros_like(), xt.zeros_like()], 1)
    };
    let sampler = sampler::build_from_prior(SamplerKind::Ddim, &config, 10, 0.0, 0.7).unwrap();
    let origin_tensor = Tensor::<5>::from_data(TensorData::new(origin.clone(), shape), &device());
    sampler.sample(
        &denoiser,
        shape,
        Some(origin_tensor),
        seed,
        &device(),
        &mut |_, _| {},
    );
    let (input, t) = first.into_inner().unwrap();
    assert_eq!(t, respaced.timesteps[6]);
    for ((x, o), e) in input.iter().zip(&origin).zip(&noise) {
        let expected = a.sqrt() as f32 * o + (1.0 - a).sqrt() as f32 * e;
        assert!((x - expected).abs() < 1e-5, "{x} vs {expected}");
    }
}

/// Data x₀ ~ N(0, s²) (one value per voxel) has the exact x₀ predictor
/// E[x₀ | x_t] = √ᾱ s² x_t / (ᾱ s² + 1 − ᾱ), and its probability-flow ODE maps the start
/// noise x_T to x_T · s / √(ᾱ_T s² + 1 − ᾱ_T). The deterministic samplers solve that ODE:
/// DDIM to first order, DPM-Solver++(2M) to second order in the step size (its error
/// falls 25× when the steps grow 5×). At very few uniform steps the second-order
/// extrapolation is not always the better one (20 steps above), which is why the
/// samplers are compared on real predictions too (docs/model.md).
#[test]
fn deterministic_samplers_solve_the_gaussian_ode() {
    let mut config = paper();
    config.learned_variance = false;
    config.loss = dispr_nn::diffusion::LossKind::Mse;
    let s = config.schedule();
    let std = 0.3f64;
    let shape = [1, 1, 1, 2, 8];
    let seed = 11;
    let start: Vec<f32> = {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        values(dispr_nn::noise::gaussian_tensor(&mut rng, shape, &device()))
    };
    let error = |kind: SamplerKind, steps: usize| -> f64 {
        let sampler = sampler::build(kind, &config, steps, 0.0).unwrap();
        let respaced = s.respaced(steps);
        let a_t = respaced.alphas_cumprod[steps - 1];
        let scale = std / (a_t * std * std + 1.0 - a_t).sqrt();
        let oracle = |xt: Tensor<5>, t: &[usize]| {
            let a = s.alphas_cumprod[t[0]];
            let x0 = xt
                .clone()
                .mul_scalar(a.sqrt() * std * std / (a * std * std + 1.0 - a));
            (xt - x0.mul_scalar(a.sqrt())).div_scalar((1.0 - a).sqrt())
        };
        let out = values(sampler.sample(&oracle, shape, None, seed, &device(), &mut |_, _| {}));
        out.iter()
            .zip(&start)
            .map(|(o, x)| (*o as f64 - *x as f64 * scale).abs())
            .fold(0.0, f64::max)
    };
    // Measured (max error over 16 values of about ±0.6):
    //   steps       20       100      200      1000
    //   DDIM     1.2e-1   2.6e-2   1.3e-2   2.9e-3   (first order: ×5 steps → ÷5)
    //   DPM++2M  1.8e-1   1.8e-2   4.4e-3   1.5e-4   (second order: ×5 steps → ÷25)
    let ddim = [
        error(SamplerKind::Ddim, 200),
        error(SamplerKind::Ddim, 1000),
    ];
    let dpm = [
        error(SamplerKind::DpmSolver2M, 200),
        error(SamplerKind::DpmSolver2M, 1000),
    ];
    eprintln!("max error at 200 / 1000 steps: DDIM {ddim:?}, DPM-Solver++(2M) {dpm:?}");
    assert!(
        ddim[1] < 5e-3 && ddim[0] / ddim[1] > 3.0,
        "DDIM converges: {ddim:?}"
    );
    assert!(
        dpm[0] / dpm[1] > 15.0,
        "DPM-Solver++ is second order: {dpm:?}"
    );
    assert!(dpm[0] < ddim[0] && dpm[1] < ddim[1] / 10.0);
}

#[test]
fn tiny_network_shapes_and_seeded_sampling() {
    let (config, _) = preset("tiny").unwrap();
    let model = Model::new(config.clone(), 1, &device());
    let [d, h, w] = config.grid;
    let cond = Tensor::<5>::zeros([3, 2, d, h, w], &device());
    let xt = Tensor::<5>::random(
        [3, 1, d, h, w],
        burn::tensor::Distribution::Default,
        &device(),
    );
    let out = model.denoise(cond.clone(), xt, &[0, 10, 999]);
    assert_eq!(out.dims(), [3, 2, d, h, w]);

    let sampler = sampler::build(SamplerKind::Ddpm, &config.diffusion, 5, 0.0).unwrap();
    let denoiser = |x: Tensor<5>, t: &[usize]| model.denoise(cond.clone(), x, t);
    let draw = |seed| {
        values(sampler.sample(
            &denoiser,
            [3, 1, d, h, w],
            None,
            seed,
            &device(),
            &mut |_, _| {},
        ))
    };
    let a = draw(11);
    assert_eq!(a, draw(11), "same seed, same samples");
    assert_ne!(a, draw(12), "another seed, other samples");
    // The three samples of one batch differ from each other.
    let n = d * h * w;
    assert_ne!(a[..n], a[n..2 * n]);
}

#[test]
fn paper_preset_has_the_reference_parameter_count() {
    use burn::module::Module;
    let (config, _) = preset("paper").unwrap();
    let params = config.unet.init(&device()).num_params();
    // DESIGN.md: the paper's U-Net has 9.77 M parameters.
    assert!((9_700_000..9_850_000).contains(&params), "{params}");
}
